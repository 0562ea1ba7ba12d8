"""The inbound-mail webhooks, /api/inbound/bounce and /api/inbound/reply, through the real app on
SQLite and PostgreSQL, with the real messages of tests/fixtures/mail."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from nurture.store.models import Outbox, Suppression

from .conftest import API_KEY, NOW, Site

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mail"
OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
RFC822 = {"Content-Type": "message/rfc822"}
# fixture → (the lead it is about, the Message-ID of the email we sent that lead)
ABOUT = {
    "gmail-reply.eml": ("alice@acme.example", "<101.0.5d41402abc4b@relay.example.com>"),
    "outlook-out-of-office.eml": ("bob@globex.example", "<102.1.7d793037a076@relay.example.com>"),
    "vacation-x-autoreply.eml": ("erin@umbrella.example",
                                 "<103.0.9e107d9d372b@relay.example.com>"),
    "postfix-dsn-5.1.1.eml": ("gone@initech.example", "<104.2.e4d909c29087@relay.example.com>"),
    "exchange-ndr-5.1.10.eml": ("carol@contoso.example",
                                "<105.0.a87ff679a2f3@relay.example.com>"),
    "postfix-delayed-4.2.2.eml": ("dave@hooli.example", "<106.1.c4ca4238a0b9@relay.example.com>"),
    "arf-abuse-report.eml": ("frank@piedpiper.example",
                             "<107.0.1679091c5a88@relay.example.com>"),
    "outlook-reply-remove-me.eml": ("heidi@vandelay.example",
                                    "<108.0.8f14e45fceea@relay.example.com>"),
    "qmail-failure-notice.eml": ("ivan@stark.example", "<109.3.45c48cce2e2d@relay.example.com>"),
    "gmail-mailto-unsubscribe.eml": ("alice@acme.example",
                                     "<110.0.aaaaaaaaaaaa@relay.example.com>"),
}
BOUNCES = [
    ("postfix-dsn-5.1.1.eml", "hard_bounce", "bounced", "bounced"),
    ("exchange-ndr-5.1.10.eml", "hard_bounce", "bounced", "bounced"),
    ("qmail-failure-notice.eml", "hard_bounce", "bounced", "bounced"),
    ("postfix-delayed-4.2.2.eml", "soft_bounce", "bounced", "active"),
    ("arf-abuse-report.eml", "complaint", "complained", "suppressed"),
]
REPLIES = [
    ("gmail-reply.eml", "reply", "replied", "active"),
    ("outlook-reply-remove-me.eml", "reply", "replied", "active"),
    ("outlook-out-of-office.eml", "auto_reply", "auto_replied", "active"),
    ("vacation-x-autoreply.eml", "auto_reply", "auto_replied", "active"),
    ("gmail-mailto-unsubscribe.eml", "unsubscribe_request", "unsubscribed", "unsubscribed"),
]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def sent_to(site: Site, name: str) -> int:
    """The lead the fixture `name` is about, with the email it answers (or bounces) sent."""
    email, message_id = ABOUT[name]
    lead_id = site.lead(email)
    ref = site.sent_email(lead_id)
    with site.engine.begin() as connection:
        connection.execute(update(OUTBOX).where(OUTBOX.c.enrollment_id == ref.enrollment_id)
                           .values(message_id=message_id))
    return lead_id


def post(site: Site, endpoint: str, raw: bytes, headers: dict[str, str] | None = None
         ) -> httpx.Response:
    return site.api("POST", f"/api/inbound/{endpoint}", content=raw,
                    headers=RFC822 if headers is None else headers)


@pytest.mark.parametrize(("endpoint", "name", "kind", "event_type", "status"),
                         [("bounce", *case) for case in BOUNCES]
                         + [("reply", *case) for case in REPLIES])
def test_each_real_message_is_recorded_for_its_lead_with_its_consequences(
        site: Site, endpoint: str, name: str, kind: str, event_type: str, status: str) -> None:
    lead_id = sent_to(site, name)
    response = post(site, endpoint, fixture(name))
    assert response.status_code == 200, response.text
    body = response.json()
    [event] = site.events()
    assert body == {"kind": kind, "outcome": "recorded", "event_ids": [event.id],
                    "lead_id": lead_id}
    assert (event.type, event.lead_id, event.source, event.at) == (
        event_type, lead_id, "inbound", NOW)
    assert site.get_lead(lead_id).status == status


def test_a_reply_stops_the_sequence_and_an_unsubscribe_by_email_is_marked_mailto(
        site: Site) -> None:
    alice = sent_to(site, "gmail-reply.eml")
    post(site, "reply", fixture("gmail-reply.eml"))
    assert site.enrollments(alice)[0].status == "stopped"
    post(site, "reply", fixture("gmail-mailto-unsubscribe.eml"))
    assert site.events()[-1].data["via"] == "mailto"
    assert site.get_lead(alice).status == "unsubscribed"


def test_a_complaint_puts_the_address_on_the_suppression_list(site: Site) -> None:
    sent_to(site, "arf-abuse-report.eml")
    post(site, "bounce", fixture("arf-abuse-report.eml"))
    with Session(site.engine) as session:
        [row] = session.exec(select(Suppression)).all()
    assert (row.value, row.reason) == ("frank@piedpiper.example", "complaint")


def test_the_same_message_twice_is_recorded_once_and_then_called_a_duplicate(
        site: Site) -> None:
    sent_to(site, "postfix-dsn-5.1.1.eml")
    first = post(site, "bounce", fixture("postfix-dsn-5.1.1.eml"))
    again = post(site, "bounce", fixture("postfix-dsn-5.1.1.eml").replace(b"\n", b"\r\n"))
    assert first.json()["outcome"] == "recorded"
    assert again.status_code == 200
    assert again.json() | {"event_ids": [], "outcome": "duplicate"} == again.json()
    assert len(site.events()) == 1


@pytest.mark.parametrize("content_type", [
    "message/rfc822", "text/plain; charset=utf-8", "application/octet-stream",
    "Message/RFC822"])
def test_the_raw_message_is_accepted_under_each_content_type(site: Site,
                                                             content_type: str) -> None:
    sent_to(site, "gmail-reply.eml")
    response = post(site, "reply", fixture("gmail-reply.eml"), {"Content-Type": content_type})
    assert (response.status_code, response.json()["kind"]) == (200, "reply")


def test_a_message_wrapped_in_json_is_read_as_the_raw_one(site: Site) -> None:
    lead_id = sent_to(site, "outlook-out-of-office.eml")
    raw = fixture("outlook-out-of-office.eml").decode("utf-8")
    response = site.api("POST", "/api/inbound/reply", json={"raw": raw})
    assert response.status_code == 200
    assert response.json()["kind"] == "auto_reply"
    assert site.get_lead(lead_id).paused_until is not None


def test_a_message_about_no_email_or_lead_we_know_is_answered_unmatched(site: Site) -> None:
    response = post(site, "bounce", fixture("postfix-dsn-5.1.1.eml"))
    assert response.status_code == 200
    assert response.json() == {"kind": "hard_bounce", "outcome": "unmatched", "event_ids": [],
                               "lead_id": None}


@pytest.mark.parametrize(("endpoint", "name", "said"), [
    ("bounce", "gmail-reply.eml", "classified as reply (a person's reply), not as a bounce: "
                                  "post it to /api/inbound/reply"),
    ("bounce", "outlook-out-of-office.eml", "classified as auto_reply"),
    ("bounce", "gmail-mailto-unsubscribe.eml", "classified as unsubscribe_request"),
    ("reply", "postfix-dsn-5.1.1.eml", "classified as hard_bounce (delivery report: failed, "
                                       "status 5.1.1), not as a reply: post it to "
                                       "/api/inbound/bounce"),
    ("reply", "arf-abuse-report.eml", "classified as complaint"),
])
def test_a_message_posted_to_the_other_endpoint_is_refused_saying_what_it_is(
        site: Site, endpoint: str, name: str, said: str) -> None:
    sent_to(site, name)
    response = post(site, endpoint, fixture(name))
    assert response.status_code == 422
    assert said in response.json()["detail"]
    assert site.events() == []


@pytest.mark.parametrize(("raw", "said"), [
    (b"", "the body is empty"),
    (b"  \r\n", "the body is empty"),
    (fixture("garbage.bin"), "not a message nurture can use: not an email: no header found"),
    (b"hello, this is just text\n", "not an email: no header found"),
    (b"From: news@list.example\nSubject: Our newsletter\nList-Id: <news.list.example>\n\nhi\n",
     "mailing-list message, not a person"),
])
def test_a_body_that_is_not_a_usable_message_gets_422_with_the_reason(
        site: Site, raw: bytes, said: str) -> None:
    for endpoint in ("bounce", "reply"):
        response = post(site, endpoint, raw)
        assert response.status_code == 422
        assert said in response.json()["detail"]
    assert site.events() == []


@pytest.mark.parametrize(("body", "said"), [
    ("{not json", "the body is not valid JSON"),
    (json.dumps({"message": "From: a@b.example\n\nhi"}), 'must be an object {"raw"'),
    (json.dumps({"raw": 42}), 'must be an object {"raw"'),
    (json.dumps(["From: a@b.example\n\nhi"]), 'must be an object {"raw"'),
])
def test_a_json_body_without_a_raw_message_gets_422(site: Site, body: str, said: str) -> None:
    response = post(site, "reply", body.encode(), {"Content-Type": "application/json"})
    assert response.status_code == 422
    assert said in response.json()["detail"]


@pytest.mark.parametrize("content_type", [
    None, "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/html"])
def test_other_content_types_get_415_naming_the_accepted_ones(
        site: Site, content_type: str | None) -> None:
    sent_to(site, "gmail-reply.eml")
    headers = {"Content-Type": content_type} if content_type else {}
    response = post(site, "reply", fixture("gmail-reply.eml"), headers)
    assert response.status_code == 415
    assert "message/rfc822, text/plain or application/octet-stream" in response.json()["detail"]
    assert site.events() == []


def test_without_the_api_key_nothing_is_read_or_recorded(site: Site) -> None:
    sent_to(site, "postfix-dsn-5.1.1.eml")
    for endpoint in ("bounce", "reply"):
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            response = site.call("POST", f"/api/inbound/{endpoint}",
                                 content=fixture("postfix-dsn-5.1.1.eml"),
                                 headers={**RFC822, **headers})
            assert response.status_code == 401
    assert site.events() == []


def test_a_message_over_the_body_limit_gets_413(site: Site) -> None:
    huge = fixture("gmail-reply.eml") + b"x" * site.app.state.nurture.max_body_bytes
    assert post(site, "reply", huge).status_code == 413


def test_the_openapi_document_describes_both_webhooks(site: Site) -> None:
    paths = site.call("GET", "/api/openapi.json").json()["paths"]
    for endpoint in ("bounce", "reply"):
        operation = paths[f"/api/inbound/{endpoint}"]["post"]
        assert set(operation["requestBody"]["content"]) == {
            "message/rfc822", "text/plain", "application/octet-stream", "application/json"}
        assert {"200", "401", "415", "422"} <= set(operation["responses"])


def test_the_same_message_posted_concurrently_is_recorded_once(site: Site) -> None:
    sent_to(site, "gmail-reply.eml")

    async def post_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=site.app)
        async with httpx.AsyncClient(transport=transport, base_url="https://t.test") as client:
            return await asyncio.gather(*(client.post(
                "/api/inbound/reply", content=fixture("gmail-reply.eml"),
                headers={**RFC822, "Authorization": f"Bearer {API_KEY}"}) for _ in range(8)))

    responses = asyncio.run(post_all())
    assert [r.status_code for r in responses] == [200] * 8, [r.text for r in responses]
    assert sorted(r.json()["outcome"] for r in responses) == ["duplicate"] * 7 + ["recorded"]
    assert len(site.events()) == 1
