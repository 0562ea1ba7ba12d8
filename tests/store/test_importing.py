"""CSV imports end to end: good rows land, bad rows are named by line, re-imports change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from nurture.store.importing import import_leads
from nurture.store.models import Lead

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CSV = (
    "\ufeffEmail;First Name;Time Zone;Employees;Plan Tier;Notes\n"
    "ann@example.com;Ann;Europe/Berlin;1.200;team;\"met at\nthe fair\"\n"
    "bad-email;Bo;UTC;5;;\n"
    "carol@example.com;Carol;Nowhere/City;;;\n"
    "dan@example.com;Dan;UTC;lots;;\n"
    ";NoMail;UTC;;;\n"
    "Erin@Example.com;Erin;;;enterprise;\n"
)


@pytest.fixture
def leads_file(tmp_path: Path) -> Path:
    path = tmp_path / "leads.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def stored(engine: Engine) -> dict[str, Lead]:
    with Session(engine) as session:
        return {lead.email: lead for lead in session.exec(select(Lead))}


def test_good_rows_are_imported_and_bad_ones_named_by_line(engine: Engine,
                                                           leads_file: Path) -> None:
    report = import_leads(engine, leads_file, "prospecting", NOW)
    assert (report.inserted, report.updated, report.unchanged) == (2, 0, 0)
    assert [error.line for error in report.errors] == [4, 5, 6, 7]
    assert "bad-email" in report.errors[0].reason
    assert "Nowhere/City" in report.errors[1].reason
    assert "employees 'lots'" in report.errors[2].reason
    assert report.errors[3].reason == "email is empty"
    leads = stored(engine)
    assert set(leads) == {"ann@example.com", "erin@example.com"}
    ann = leads["ann@example.com"]
    assert (ann.employees, ann.timezone, ann.stage) == (1200, "Europe/Berlin", "prospecting")
    assert ann.custom == {"plan_tier": "team", "notes": "met at\nthe fair"}
    assert leads["erin@example.com"].custom == {"plan_tier": "enterprise"}


def test_importing_the_same_file_again_changes_nothing(engine: Engine, leads_file: Path) -> None:
    import_leads(engine, leads_file, "prospecting", NOW)
    before = stored(engine)
    report = import_leads(engine, leads_file, "prospecting", NOW + timedelta(days=1))
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 2)
    after = stored(engine)
    assert {e: lead.updated_at for e, lead in after.items()} == {
        e: lead.updated_at for e, lead in before.items()}
    assert all(lead.updated_at == NOW for lead in after.values())


def test_duplicate_emails_in_a_file_last_row_wins_with_a_warning(engine: Engine,
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "dupes.csv"
    path.write_text("email,company\nann@example.com,Acme\nbob@example.com,B\n"
                    "ANN@example.com,Globex\n")
    report = import_leads(engine, path, "prospecting", NOW)
    assert (report.inserted, report.errors) == (2, [])
    assert report.warnings == [
        "line 4: ann@example.com is also on line 2; line 4 wins"]
    assert stored(engine)["ann@example.com"].company == "Globex"


def test_batches_commit_separately_and_report_progress(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("email\n" + "".join(f"lead{n}@example.com\n" for n in range(7)))
    seen: list[int] = []
    report = import_leads(engine, path, "prospecting", NOW, batch_size=3, progress=seen.append)
    assert report.inserted == 7 and seen == [3, 6, 7]
    assert len(stored(engine)) == 7


def test_a_file_without_an_email_column_imports_nothing(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "no-email.csv"
    path.write_text("name\nAnn\n")
    report = import_leads(engine, path, "prospecting", NOW)
    assert [(e.line, "no email column" in e.reason) for e in report.errors] == [(1, True)]
    assert stored(engine) == {}


def test_batch_size_must_be_positive(engine: Engine, leads_file: Path) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        import_leads(engine, leads_file, "prospecting", NOW, batch_size=0)
