"""A qualifying change reaches the rep within seconds through the running daemon: the lead is
updated through the API, the rule with `handoff = true` fires at once, the handoff job assigns
the rep, and the rep's email with the lead's story arrives at the SMTP sink."""

from __future__ import annotations

import json
import time

import httpx

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

    def rep_mail() -> list[object]:
        return [m for m in list(site.sink.messages) if m.recipients == ("rita@nurture.test",)]

    [note] = until(rep_mail, PATIENCE, "the rep's handoff email")
    assert time.monotonic() - started < 5
    text = note.parsed().get_body(preferencelist=("plain",)).get_content()  # type: ignore[attr-defined, union-attr]
    assert "Ann" in text and "Beispiel GmbH" in text
    story = httpx.get(f"{base}/api/leads/{booked.json()['lead']['id']}", headers=headers).json()
    assert story["lead"]["stage"] == "meeting"
    assert story["lead"]["owner_id"] is not None
    assert [c["rule"] for c in story["stage_changes"] if c["to_stage"] == "meeting"] == [
        "meeting-booked"]
