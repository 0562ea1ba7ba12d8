"""A qualifying change reaches the rep within seconds through the running daemon: the lead is
updated through the API, the rule with `handoff = true` fires at once, the handoff job assigns
the rep, and the rep's email with the lead's story arrives at the SMTP sink. The API wakes the
handoff job in its process: the job does not wait for its poll interval."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.harness import PATIENCE, Site, until
from tests.smtp_sink import unused_port

API_KEY = "e2e-key-0123456789"
PIPELINE = """\
[[stage]]
id = "prospecting"
probability = 0.05

[[stage]]
id = "meeting"
team = "sales"
probability = 0.3

[[rule]]
name = "meeting-booked"
from = "prospecting"
to = "meeting"
when = "lead.custom.meeting_status == 'booked'"
handoff = true
"""
REP = {"name": "Rita Rep", "email": "rita@nurture.test", "countries": ["DE"]}


@pytest.fixture(params=["sqlite_site", "postgres_site"])
def any_site(request: pytest.FixtureRequest) -> Iterator[Site]:
    site: Site = request.getfixturevalue(request.param)
    yield site


def test_a_qualifying_update_through_the_api_reaches_the_rep_within_seconds(
        sqlite_site: Site) -> None:
    site = sqlite_site
    site.write("sequences/pipeline.toml", PIPELINE)
    port = unused_port()
    site.start(http_port=port, api_keys=json.dumps([API_KEY]), reps=json.dumps([REP]))
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {API_KEY}"}

    def up() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    until(up, PATIENCE, "the daemon's HTTP port")
    lead = {"email": "ann@example.de", "first_name": "Ann", "country": "DE",
            "company": "Beispiel GmbH"}
    assert httpx.post(f"{base}/api/leads", json=lead, headers=headers).status_code == 201
    started = time.monotonic()
    booked = httpx.post(f"{base}/api/leads", headers=headers,
                        json={**lead, "custom": {"meeting_status": "booked"}})
    assert booked.status_code == 200, booked.text

    def rep_mail() -> list[object]:  # the handoff email: a digest may come too, as at start
        return [m for m in list(site.sink.messages) if m.recipients == ("rita@nurture.test",)
                and str(m.parsed()["Subject"]).startswith("New lead")]

    [note] = until(rep_mail, PATIENCE, "the rep's handoff email")
    assert time.monotonic() - started < 5
    text = note.parsed().get_body(preferencelist=("plain",)).get_content()  # type: ignore[attr-defined, union-attr]
    assert "Ann" in text and "Beispiel GmbH" in text
    story = httpx.get(f"{base}/api/leads/{booked.json()['lead']['id']}", headers=headers).json()
    assert story["lead"]["stage"] == "meeting"
    assert story["lead"]["owner_id"] is not None
    assert [c["rule"] for c in story["stage_changes"] if c["to_stage"] == "meeting"] == [
        "meeting-booked"]


def test_a_qualifying_event_wakes_the_handoff_job_without_waiting_for_its_poll(
        any_site: Site) -> None:
    """The handoff job polls once an hour here, and runs once at start: only the API's wake-up
    can have each lead's handoff email sent within the test's patience (a minute)."""
    site = any_site
    site.write("sequences/pipeline.toml", PIPELINE)
    port = unused_port()
    site.start(http_port=port, api_keys=json.dumps([API_KEY]), reps=json.dumps([REP]),
               handoff__poll_seconds=3600)
    _book_one_after_another(site, port)


def test_a_qualifying_event_through_nurture_serve_wakes_the_daemon_on_postgresql(
        postgres_site: Site) -> None:
    """The API of a separate `nurture serve` announces the request (NOTIFY at commit); the
    daemon, listening, runs its handoff job at once rather than at its hourly poll."""
    site = postgres_site
    site.write("sequences/pipeline.toml", PIPELINE)
    port = unused_port()
    settings = {"api_keys": json.dumps([API_KEY]), "reps": json.dumps([REP])}
    daemon = site.start(handoff__poll_seconds=3600, **settings)
    daemon.wait_for_log("nurture running")
    site.start(("serve",), http_port=port, **settings)
    _book_one_after_another(site, port)


def _book_one_after_another(site: Site, port: int) -> None:
    """Book three leads' meetings through the API on `port`, each once the previous lead's
    handoff email has arrived."""
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                       headers={"Authorization": f"Bearer {API_KEY}"})

    def up() -> bool:
        try:
            return api.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    def rep_mail_about(name: str) -> list[object]:
        return [m for m in list(site.sink.messages) if m.recipients == ("rita@nurture.test",)
                and name in str(m.parsed()["Subject"])]

    until(up, PATIENCE, "the daemon's HTTP port")
    # Each lead is booked once the previous one's email has arrived, so after the job's run
    # at start has looked for requests: the second (and third) can only come by the wake-up.
    for name in ("Ann", "Bea", "Cem"):
        lead = {"email": f"{name.lower()}@example.de", "first_name": name, "country": "DE"}
        assert api.post("/api/leads", json=lead).status_code == 201
        booked = api.post("/api/leads", json={**lead, "custom": {"meeting_status": "booked"}})
        assert booked.status_code == 200, booked.text
        until(lambda name=name: rep_mail_about(name), PATIENCE, f"{name}'s handoff email")
    api.close()
