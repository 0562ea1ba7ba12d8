"""The event and lead API: auth, validation, idempotent all-or-nothing batches, the story."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from .conftest import API_KEY, NOW, Site

ROUTES = [("POST", "/api/leads"), ("POST", "/api/events"), ("GET", "/api/leads/1"),
          ("POST", "/api/leads/1/move")]


def _event(client_id: str, **fields: Any) -> dict[str, Any]:
    return {"client_id": client_id, "type": "form_submitted", "lead_email": "ann@example.com",
            **fields}


def test_requests_without_a_configured_key_get_401(site: Site) -> None:
    site.lead()
    for method, path in ROUTES:
        for authorization in (None, "Bearer wrong-key", f"Basic {API_KEY}", f"Bearer {API_KEY}x",
                              "Bearer ", f"Bearer {API_KEY[:-1]}"):
            headers = {"Authorization": authorization} if authorization else {}
            response = site.call(method, path, headers=headers, json=_event("e1"))
            assert response.status_code == 401, (method, path, authorization)
            assert response.headers["www-authenticate"] == "Bearer"
    assert site.events() == []


def test_with_no_keys_configured_the_api_refuses_everyone(site: Site) -> None:
    site.app.state.nurture.settings.api_keys.clear()
    assert site.api("GET", "/api/leads/1").status_code == 401


def test_the_openapi_document_lists_the_api_and_its_auth(site: Site) -> None:
    document = site.call("GET", "/api/openapi.json").json()
    assert set(document["paths"]) == {
        "/api/leads", "/api/events", "/api/leads/{lead_id}", "/api/leads/{lead_id}/move",
        "/api/inbound/bounce", "/api/inbound/reply", "/api/reps",
        "/api/reps/{email}/out-of-office", "/api/reports/funnel", "/api/reports/velocity",
        "/api/reports/forecast", "/api/reports/sequences", "/api/reports/sources"}
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "EventIn" in document["components"]["schemas"]


def test_a_new_lead_is_created_in_the_entry_stage_and_then_updated(site: Site) -> None:
    created = site.api("POST", "/api/leads", json={
        "email": "Ann@Example.com", "first_name": "Ann", "employees": "1,200",
        "custom": {"plan": "pro"}})
    assert created.status_code == 201
    body = created.json()
    assert body["created"] is True
    assert body["lead"] | {"email": "ann@example.com", "first_name": "Ann", "employees": 1200,
                           "stage": "prospecting", "custom": {"plan": "pro"}} == body["lead"]
    updated = site.api("POST", "/api/leads", json={
        "email": "ann@example.com", "company": "Initech", "custom": {"seats": 5}})
    assert updated.status_code == 200 and updated.json()["created"] is False
    lead = site.get_lead(body["lead"]["id"])
    assert (lead.first_name, lead.company, lead.employees) == ("Ann", "Initech", 1200)
    assert lead.custom == {"plan": "pro", "seats": 5}


def test_a_new_lead_may_start_in_a_named_stage(site: Site) -> None:
    response = site.api("POST", "/api/leads", json={"email": "bo@example.com",
                                                     "stage": "qualification"})
    assert response.json()["lead"]["stage"] == "qualification"


@pytest.mark.parametrize(("payload", "field", "words"), [
    ({"email": "not-an-email"}, "email", "is not valid"),
    ({"email": "ann@example.com", "employees": "many"}, "employees", "whole number"),
    ({"email": "ann@example.com", "country": "Narnia"}, "country", "ISO 3166"),
    ({"email": "ann@example.com", "stage": "heaven"}, "stage", "no stage 'heaven'"),
    ({"email": "ann@example.com", "shoe_size": 44}, "shoe_size", "xtra"),
    ({"first_name": "Ann"}, "email", "required"),
])
def test_a_bad_lead_gets_422_naming_the_field_and_is_not_stored(site: Site, payload: dict,
                                                                 field: str, words: str) -> None:
    response = site.api("POST", "/api/leads", json=payload)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", field] and words in error["msg"]
    assert site.api("GET", "/api/leads/1").status_code == 404


def test_a_single_event_is_stored_through_the_one_event_path(site: Site) -> None:
    lead_id = site.lead()
    site.clock.current = NOW + timedelta(minutes=5)
    response = site.api("POST", "/api/events", json=_event("form-1", data={"form": "demo"}))
    assert response.status_code == 200
    assert response.json() == {"stored": 1, "duplicates": 0, "events": [
        {"client_id": "form-1", "id": response.json()["events"][0]["id"], "duplicate": False}]}
    [event] = site.events()
    assert (event.lead_id, event.type, event.source, event.client_id, event.data, event.at) == (
        lead_id, "form_submitted", "api", "form-1", {"form": "demo"}, site.clock.now())
    assert site.get_lead(lead_id).last_engaged_at == site.clock.now()


def test_a_batch_sent_twice_is_stored_once(site: Site) -> None:
    lead_id = site.lead()
    batch = [_event("a"), _event("b", type="webinar_attended", lead_email="ANN@example.com"),
             {"client_id": "c", "type": "page_visited", "lead_id": lead_id,
              "at": "2026-03-01T12:00:00+01:00", "data": {"url": "/pricing"}}]
    first = site.api("POST", "/api/events", json=batch).json()
    again = site.api("POST", "/api/events", json=batch).json()
    assert (first["stored"], first["duplicates"]) == (3, 0)
    assert (again["stored"], again["duplicates"]) == (0, 3)
    assert [e["id"] for e in again["events"]] == [e["id"] for e in first["events"]]
    assert sorted(e.client_id or "" for e in site.events()) == ["a", "b", "c"]


@pytest.mark.parametrize(("bad", "field", "words"), [
    ({"type": None}, "type", "string"),
    ({"type": "Has Spaces"}, "type", "pattern"),
    ({"lead_email": "nobody@example.com"}, "lead_email", "no lead with lead_email"),
    ({"lead_email": None, "lead_id": 424242}, "lead_id", "no lead with lead_id"),
    ({"at": "2026-03-01T12:00:00"}, "at", "timezone"),
    ({"client_id": "a"}, "client_id", "also event 0"),
])
def test_a_malformed_batch_gets_422_naming_the_field_and_stores_nothing(
    site: Site, bad: dict, field: str, words: str,
) -> None:
    site.lead()
    batch = [_event("a"), {**_event("b"), **bad}, _event("c")]
    response = site.api("POST", "/api/events", json=batch)
    assert response.status_code == 422
    locations = {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}
    assert words in locations[("body", "events", 1, field)]
    assert site.events() == []


def test_an_event_must_name_its_lead_exactly_once(site: Site) -> None:
    site.lead()
    response = site.api("POST", "/api/events", json={"client_id": "x", "type": "replied"})
    assert response.status_code == 422
    assert "lead_id or lead_email" in response.json()["detail"][0]["msg"]


def test_an_unsubscribe_event_from_the_api_stops_the_mail(site: Site) -> None:
    lead_id = site.lead()
    site.sent_email(lead_id)
    site.api("POST", "/api/events", json=_event("crm-9", type="unsubscribed"))
    assert site.get_lead(lead_id).status == "unsubscribed"
    assert [e.status for e in site.enrollments(lead_id)] == ["stopped"]


def test_a_lead_is_returned_with_its_story(site: Site) -> None:
    lead_id = site.lead(first_name="Ann")
    site.sent_email(lead_id)
    site.api("POST", "/api/events", json=_event("form-1"))
    story = site.api("GET", f"/api/leads/{lead_id}").json()
    assert story["lead"]["email"] == "ann@example.com" and story["lead"]["first_name"] == "Ann"
    assert [e["type"] for e in story["events"]] == ["form_submitted"]
    assert [e["sequence_id"] for e in story["enrollments"]] == ["intro"]
    assert [o["status"] for o in story["outbox"]] == ["sent"]
    assert story["stage_changes"] == [] and story["score_changes"] == []
    assert site.api("GET", "/api/leads/999").status_code == 404


def test_a_body_over_the_limit_gets_413(site: Site) -> None:
    site.lead()
    padding = "x" * 1_000_001
    declared = site.api("POST", "/api/events", json=_event("big", data={"pad": padding}))
    assert declared.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"client_id": "big", "type": "replied", "lead_email": "ann@example.com", '
        for _ in range(11):
            yield b'"data": {"pad": "' + b"x" * 100_000 + b'"}, '
        yield b'"x": 1}'

    streamed = site.api("POST", "/api/events", content=chunks(),
                        headers={"Content-Type": "application/json"})
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413
    assert site.events() == []
