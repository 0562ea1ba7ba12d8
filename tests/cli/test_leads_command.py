"""`nurture leads import|list|show|export` on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from nurture.files.leads_csv import LEAD_FIELDS
from nurture.store.models import Event, Lead, ScoreChange, StageChange
from tests.cli.workspace import REPO, Workspace, make_workspace

CSV = """\
email,first_name,last_name,company,timezone,employees,Plan Tier
zoe.martin@example.com,Zoë,Martin,Acme,Europe/Paris,120,team
not-an-email,Bad,Email,,UTC,5,
kim@example.com,Kim,Lee,,Mars/Olympus,10,
raj@example.com,Raj,Patel,Globex,Asia/Kolkata,lots,
Omar@Example.com,Omar,Haddad,Initech,America/New_York,"1,200",enterprise
"""
AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def write_csv(folder: Path, text: str = CSV) -> Path:
    path = folder / "leads.csv"
    path.write_text(text, encoding="utf-8")
    return path


def stored_leads(workspace: Workspace) -> dict[str, dict[str, Any]]:
    """Every stored lead's imported fields and custom fields, by email."""
    engine = workspace.engine()
    try:
        with Session(engine) as session:
            return {lead.email: {**{name: getattr(lead, name) for name in LEAD_FIELDS},
                                 "custom": lead.custom}
                    for lead in session.exec(select(Lead))}
    finally:
        engine.dispose()


def test_import_keeps_the_good_rows_and_names_each_bad_line(db_workspace: Workspace) -> None:
    leads_csv = write_csv(db_workspace.root)
    result = db_workspace.run("leads", "import", leads_csv)
    assert result.exit_code == 2, result.output  # partial: some rows refused
    refused = result.stderr.splitlines()
    assert len(refused) == 3, result.stderr
    assert refused[0].startswith(f"{leads_csv}: line 3: email 'not-an-email' is not valid")
    assert refused[1] == (f"{leads_csv}: line 4: timezone 'Mars/Olympus' is not an IANA time "
                          "zone (e.g. America/New_York)")
    assert refused[2] == (f"{leads_csv}: line 5: employees 'lots' is not a whole number "
                          "(e.g. 1200 or 1,200)")
    assert "2 new, 0 updated, 0 unchanged, 3 rows refused" in result.stdout
    leads = stored_leads(db_workspace)
    assert set(leads) == {"zoe.martin@example.com", "omar@example.com"}
    assert leads["zoe.martin@example.com"]["first_name"] == "Zoë"
    assert leads["omar@example.com"]["employees"] == 1200
    assert leads["omar@example.com"]["custom"] == {"plan_tier": "enterprise"}


def test_importing_the_same_file_again_changes_nothing(db_workspace: Workspace) -> None:
    leads_csv = write_csv(db_workspace.root)
    db_workspace.run("leads", "import", leads_csv)
    before = stored_leads(db_workspace)
    result = db_workspace.run("leads", "import", leads_csv)
    assert "0 new, 0 updated, 2 unchanged" in result.stdout
    assert stored_leads(db_workspace) == before


def test_a_file_with_only_bad_rows_fails(db_workspace: Workspace) -> None:
    leads_csv = write_csv(db_workspace.root, "email\nnobody\n")
    result = db_workspace.run("leads", "import", leads_csv)
    assert result.exit_code == 1
    assert f"{leads_csv}: line 2: email 'nobody' is not valid" in result.stderr
    assert stored_leads(db_workspace) == {}


def test_list_shows_only_the_leads_of_the_stage_asked_for(db_workspace: Workspace) -> None:
    db_workspace.run("leads", "import", write_csv(db_workspace.root))
    engine = db_workspace.engine()
    with engine.begin() as connection:
        connection.execute(update(Lead).where(Lead.email == "omar@example.com")  # type: ignore[arg-type]
                           .values(stage="mql"))
    engine.dispose()
    in_mql = db_workspace.run("leads", "list", "--stage", "mql")
    assert in_mql.exit_code == 0
    assert "omar@example.com" in in_mql.stdout
    assert "zoe.martin@example.com" not in in_mql.stdout
    prospecting = db_workspace.run("leads", "list", "--stage", "prospecting").stdout
    assert "zoe.martin@example.com" in prospecting
    assert "omar@example.com" not in prospecting


def test_show_prints_the_whole_story_of_a_lead(db_workspace: Workspace) -> None:
    db_workspace.run("leads", "import", write_csv(db_workspace.root))
    engine = db_workspace.engine()
    with Session(engine) as session:
        lead = session.exec(select(Lead).where(Lead.email == "zoe.martin@example.com")).one()
        assert lead.id is not None
        session.add(StageChange(lead_id=lead.id, from_stage="prospecting", to_stage="mql",
                                at=AT, rule="qualified", reason="score 42",
                                score_before=30, score_after=42))
        session.add(ScoreChange(lead_id=lead.id, at=AT, delta=12, score_after=42,
                                reason="clicked"))
        session.add(Event(lead_id=lead.id, type="clicked", at=AT, data={"url": "/pricing"}))
        session.commit()
    engine.dispose()
    result = db_workspace.run("leads", "show", "Zoe.Martin@Example.com")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for shown in ("zoe.martin@example.com", "Zoë", "Acme", "Europe/Paris", "custom.plan_tier",
                  "team", "Stage history", "qualified", "score 42", "Score history", "+12.0",
                  "Events", "url=/pricing", "Sequences: none", "Emails: none"):
        assert shown in out, f"{shown!r} missing from:\n{out}"


def test_show_of_an_unknown_email_fails(db_workspace: Workspace) -> None:
    result = db_workspace.run("leads", "show", "nobody@example.com")
    assert result.exit_code == 1
    assert "no lead with email nobody@example.com" in result.stderr


def test_an_export_imports_back_as_the_same_leads(db_workspace: Workspace,
                                                   tmp_path: Path) -> None:
    imported = db_workspace.run("leads", "import", REPO / "examples" / "leads.csv")
    assert imported.exit_code == 0, imported.output
    exported = tmp_path / "export.csv"
    assert db_workspace.run("leads", "export", "--out", exported).exit_code == 0
    fresh = make_workspace(tmp_path / "fresh", f"sqlite:///{tmp_path / 'fresh.db'}")
    result = fresh.run("leads", "import", exported)
    assert result.exit_code == 0, result.output
    original = stored_leads(db_workspace)
    assert len(original) > 300
    assert stored_leads(fresh) == original
    assert fresh.run("leads", "export").stdout == exported.read_text(encoding="utf-8")
