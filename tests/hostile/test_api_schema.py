"""schemathesis against the real ASGI app's /api/openapi.json (the app of tests/web/conftest.py:
a migrated database, a valid API key, a lead and a sent email to find): for every operation,
generated requests that fit the schema and requests that break it never get a 5xx, and every
answer conforms to the document (status codes aside: 401, 404, 413 and 415 are deliberate
and described in prose).

The cases come from the schema's Hypothesis strategy under a plain @given: schemathesis's own
pytest parametrization does not run under pytest 9 (it reads the removed `Node._nodeid`)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.web.conftest import API_KEY, Site

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["fitting", "breaking"])
def test_generated_requests_never_get_a_server_error_and_answers_fit_the_schema(
        site: Site, mode: GenerationMode) -> None:
    site.sent_email(site.lead())
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", site.app)
    operations = [operation.ok() for operation in schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    assert {"POST /api/leads", "POST /api/events", "GET /api/leads/{lead_id}"} <= labels
    seen: set[str] = set()
    for operation in operations:  # each its own examples: a random mix can miss one
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
        @given(operation.as_strategy(generation_mode=mode))
        def call(case: Case) -> None:
            seen.add(case.operation.label)
            case.call_and_validate(headers={"Authorization": f"Bearer {API_KEY}"},
                                   checks=CHECKS)

        call()
    assert seen == labels


@pytest.mark.parametrize(("path", "body"), [
    ("/api/leads", {"email": "zed@example.com", "first_name": "Z\u0000d"}),
    ("/api/leads", {"email": "zed@example.com", "custom": {"plan": "pro\u0000"}}),
    ("/api/events", {"client_id": "e\u00001", "type": "form_submitted",
                     "lead_email": "ann@example.com"}),
    ("/api/events", {"client_id": "e2", "type": "form_submitted",
                     "lead_email": "ann@example.com", "data": {"note": "a\u0000b"}}),
], ids=["lead-field", "custom-field", "client-id", "event-data"])
def test_a_nul_character_in_text_is_refused_not_a_server_error(site: Site, path: str,
                                                               body: dict) -> None:
    """PostgreSQL cannot store NUL in text or jsonb; the API must refuse it (422) rather
    than fail the request with a 500 on one database and truncate it on the other."""
    site.lead()
    response = site.api("POST", path, json=body)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("number", [2**31, 2**63], ids=["past-int32", "past-int64"])
def test_an_id_past_the_database_integer_is_a_client_error_not_a_server_error(
        site: Site, number: int) -> None:
    """Found by the test above: an id the database column cannot hold must be answered
    404 or 422, not raise OverflowError (SQLite) or NumericValueOutOfRange (PostgreSQL)."""
    site.lead()
    assert site.api("GET", f"/api/leads/{number}").status_code in (404, 422)
    event = {"client_id": "big", "type": "replied", "lead_id": number}
    assert site.api("POST", "/api/events", json=event).status_code in (404, 422)
    assert site.events() == []
