"""The seam with the rules: a click that qualifies a lead records `handoff_requested` (their
side), which run_handoffs turns into an owner and a note (ours)."""

from __future__ import annotations

from datetime import timedelta

from nurture.engine.events import NewEvent, record_event
from nurture.files.loader import load_project
from nurture.store.engine import writing
from tests.handoff.desk import NOW, PIPELINE, Desk

RULES = """
[scoring]
points = { form_submitted = 50 }

[[rule]]
name = "sales-qualified"
from = "mql"
to = "sql"
when = "score >= 40"
handoff = true
"""


def test_a_qualifying_event_reaches_the_rep(desk: Desk) -> None:
    folder = desk.root / "rules"
    folder.mkdir()
    (folder / "pipeline.toml").write_text(PIPELINE + RULES)
    desk.project = load_project(folder)
    lead = desk.add_lead("pat@acme.test", stage="mql")
    with writing(desk.engine) as connection:
        record_event(connection, desk.project, NewEvent(lead, "form_submitted", NOW,
                                                        {"form": "demo-request"}))

    report = desk.handoffs(NOW + timedelta(seconds=2))

    assert report.outcomes == {"assigned": 1}
    [row] = desk.handoff_rows(lead)
    assert (row.rule, row.from_stage, row.to_stage) == ("sales-qualified", "mql", "sql")
    [note] = desk.received("ana@sales.test")
    body = desk.text(note)
    assert "They asked for a demo" in body
    assert "form submitted (demo-request)" in body and "stage changed" not in body
