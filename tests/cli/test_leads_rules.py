"""`nurture leads move` and `leads show` answering "why is this lead at 47?", and the import
handing changed leads to the rules sweep (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time
from sqlalchemy import select
from sqlmodel import Session

from nurture.engine.events import NewEvent, record_event
from nurture.engine.rules_sweep import sweep_rules
from nurture.files.loader import load_project
from nurture.store.engine import writing
from nurture.store.models import Enrollment, Lead, StageChange
from tests.cli.test_leads_command import write_csv
from tests.cli.workspace import Workspace

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LEADS = "email,first_name,employees,title,industry\nzoe@example.com,Zoë,500,VP Operations,retail\n"


def lead_of(workspace: Workspace, email: str = "zoe@example.com") -> Lead:
    engine = workspace.engine()
    try:
        with Session(engine) as session:
            return session.execute(select(Lead).where(Lead.email == email)).scalar_one()
    finally:
        engine.dispose()


def test_move_puts_the_lead_in_the_stage_with_the_reason(db_workspace: Workspace) -> None:
    db_workspace.run("leads", "import", write_csv(db_workspace.root, LEADS))
    with freeze_time(AT):
        result = db_workspace.run("leads", "move", "Zoe@Example.com", "sql",
                                  "--reason", "met at the trade fair")
    assert result.exit_code == 0, result.output
    assert "zoe@example.com: prospecting → sql (moved by hand: met at the trade fair)" in \
        result.stdout
    lead = lead_of(db_workspace)
    assert (lead.stage, lead.stage_entered_at, lead.needs_enrollment) == ("sql", AT, True)
    shown = db_workspace.run("leads", "show", "zoe@example.com").stdout
    assert "Stage history" in shown and "moved by hand" in shown


def test_move_refuses_an_unknown_stage_or_lead(db_workspace: Workspace) -> None:
    db_workspace.run("leads", "import", write_csv(db_workspace.root, LEADS))
    unknown = db_workspace.run("leads", "move", "zoe@example.com", "heaven", "--reason", "x")
    assert unknown.exit_code == 1
    assert "no stage 'heaven' in pipeline.toml (stages: prospecting, mql" in unknown.stderr
    nobody = db_workspace.run("leads", "move", "nobody@example.com", "sql", "--reason", "x")
    assert nobody.exit_code == 1 and "no lead with email nobody@example.com" in nobody.stderr
    no_reason = db_workspace.run("leads", "move", "zoe@example.com", "sql")
    assert no_reason.exit_code == 2
    assert lead_of(db_workspace).stage == "prospecting"


def test_an_import_hands_new_and_changed_leads_to_the_rules_sweep(
        db_workspace: Workspace) -> None:
    project = load_project(db_workspace.sequences)
    with freeze_time(AT):
        db_workspace.run("leads", "import", write_csv(db_workspace.root, LEADS))
    engine = db_workspace.engine()
    try:
        assert sweep_rules(engine, project, AT).leads == 1
        assert lead_of(db_workspace).fit == "A"
        smaller = LEADS.replace(",500,", ",60,").replace("VP Operations", "Manager")
        with freeze_time(AT + timedelta(days=1)):
            db_workspace.run("leads", "import", write_csv(db_workspace.root, smaller))
        assert lead_of(db_workspace).rules_due_at == AT + timedelta(days=1)
        report = sweep_rules(engine, project, AT + timedelta(days=1))
        assert (report.leads, report.rescored) == (1, 1)
        assert lead_of(db_workspace).fit == "B"
    finally:
        engine.dispose()


def test_show_explains_the_score_event_by_event(db_workspace: Workspace) -> None:
    with freeze_time(AT - timedelta(days=1)):
        db_workspace.run("leads", "import", write_csv(db_workspace.root, LEADS))
    project = load_project(db_workspace.sequences)
    lead_id = lead_of(db_workspace).id
    assert lead_id is not None
    engine = db_workspace.engine()
    try:
        with writing(engine) as connection:
            for kind, data, days in (("clicked", {"url": "https://relay.test/pricing"}, 0),
                                     ("form_submitted", {"form": "demo-request"}, 1)):
                record_event(connection, project, NewEvent(lead_id, kind, AT + timedelta(
                    days=days), data))
        with Session(engine) as session:
            moves = session.execute(select(StageChange)).scalars().all()
            stopped = session.execute(select(Enrollment)).scalars().all()
    finally:
        engine.dispose()
    assert [(m.to_stage, m.rule) for m in moves][:1] == [("mql", "marketing-qualified")]
    assert all(e.stop_reason == "stage_changed" for e in stopped)
    with freeze_time(AT + timedelta(days=1)):
        shown = db_workspace.run("leads", "show", "zoe@example.com").stdout
    # Narrow table cells wrap: each expected piece is short enough to stay on one line.
    for piece in ("Score now: 59.8, made of", "clicked relay.test/pricing:", "+14.8",
                  "form_submitted form", "demo-request: +20", "Score history", "decay",
                  "Stage history", "promote by rule", "marketing-qualified"):
        assert piece in shown, f"{piece!r} missing from:\n{shown}"
