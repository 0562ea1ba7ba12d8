"""The leads pages: stale and unassigned leads under the report filters, the search, and a
lead's timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from nurture.reports.funnel import funnel_report
from nurture.reports.sql import LEADS
from nurture.store.models import Lead, ScoreChange
from nurture.web.dashboard.lead_lists import matching
from tests.plans import query_plan
from tests.reports.world import FEBRUARY, NOW, PIPELINE, day

from .conftest import FEBRUARY as FEBRUARY_QUERY
from .conftest import Dashboard, Tables


def emails(page: Tables, table: str) -> list[str]:
    """The lead column's email of each row (the link text is the name, else the email)."""
    return [row[0].split()[-1] for row in page.rows(table)]


def test_stale_leads_are_the_ones_the_funnel_counts_over_their_limit(
        dashboard: Dashboard) -> None:
    page = Tables(dashboard.logged_in().get("/dashboard/leads", params=FEBRUARY_QUERY).text)
    with dashboard.engine.connect() as connection:
        funnel = funnel_report(connection, PIPELINE, FEBRUARY, NOW)
    assert len(page.rows("stale-table")) == sum(s.over_limit for s in funnel.stages) == 1
    # dee has been in "new" (10 days at most) since Feb 5: 25.5 days at NOW.
    assert page.rows("stale-table") == [
        ["dee@example.com", "", "new", "25.5", "10", "0.0", "D", ""]]


def test_unassigned_leads_are_open_leads_in_sales_stages_with_no_owner(
        dashboard: Dashboard) -> None:
    visitor = dashboard.logged_in()
    page = Tables(visitor.get("/dashboard/leads", params=FEBRUARY_QUERY).text)
    # cy (qualified since Feb 22) and fay (qualified since Feb 16); ann and eve are rita's,
    # bob is lost; oldest wait first.
    assert emails(page, "unassigned-table") == ["fay@example.com", "cy@example.com"]
    owned = Tables(visitor.get("/dashboard/leads", params={"owner": "rita@example.com"}).text)
    assert "unassigned-table" not in owned.tables
    assert "Every lead in a sales stage has an owner." in \
        visitor.get("/dashboard/leads", params={"owner": "rita@example.com"}).text


def test_the_search_finds_leads_by_the_start_of_their_email_or_by_id(
        dashboard: Dashboard) -> None:
    visitor = dashboard.logged_in()

    def found(q: str) -> list[str]:
        page = Tables(visitor.get("/dashboard/leads", params={"q": q}).text)
        return sorted(emails(page, "found-table")) if "found-table" in page.tables else []

    with Session(dashboard.engine) as session:  # neighbours of "ann@" in code point order
        session.add_all([Lead(email=email, stage="new", stage_entered_at=NOW, created_at=NOW,
                              updated_at=NOW) for email in (
            "ann_x@example.com", "anna@example.com", "ann@example.org", "an@example.com",
            "bann@example.com")])
        session.commit()
    assert found("ANN@") == ["ann@example.com", "ann@example.org"]
    assert found("ann") == ["ann@example.com", "ann@example.org", "ann_x@example.com",
                            "anna@example.com"]
    assert found("ann@example.com") == ["ann@example.com"]
    assert found("example.com") == found("%") == found("_") == found("nn") == []
    assert "No lead matches." in visitor.get("/dashboard/leads", params={"q": "%"}).text
    assert "fay@example.com" in found(str(dashboard.ids["fay"]))


@pytest.mark.parametrize("text", ["ann", "7"])
def test_the_search_reads_the_email_and_id_indexes_not_every_lead(
        dashboard: Dashboard, text: str) -> None:
    with dashboard.engine.connect() as connection:
        query = select(func.count()).select_from(LEADS).where(matching(text))
        plan = query_plan(connection, str(query.compile(
            dialect=connection.dialect, compile_kwargs={"literal_binds": True})))
    assert "SCAN lead" not in plan and "Seq Scan" not in plan, plan
    assert "email" in plan or "sqlite_autoindex_lead" in plan, plan


def test_a_lead_page_tells_its_story_in_order(dashboard: Dashboard) -> None:
    ann = dashboard.ids["ann"]
    with Session(dashboard.engine) as session:
        session.add(ScoreChange(lead_id=ann, at=day(2, 3, 2) + timedelta(minutes=1), delta=15,
                                score_after=15, reason="replied"))
        session.add(ScoreChange(lead_id=ann, at=day(2, 6, 12) + timedelta(minutes=1), delta=1,
                                score_after=16, reason="opened"))
        session.commit()
    html = dashboard.logged_in().get(f"/dashboard/leads/{ann}").text
    entries = [line.strip() for line in html.splitlines() if line.strip().startswith("<li class=")]
    kinds = [entry.split('"')[1] for entry in entries]
    assert kinds == ["sequence", "email", "event", "event", "event", "event", "score", "stage",
                     "email", "event", "score", "stage", "stage"]
    assert "<b>new → qualified</b>" in entries[7] and "<b>proposal → won</b>" in entries[-1]
    assert "<b>a1 subject 0</b>" in entries[1] and "welcome touch 1, variant A: sent" in \
        entries[1]
    assert "<b>score +15.0 → 15.0</b>" in entries[6]
    assert "<title>3 Feb: 15.0</title>" in html and "<title>6 Feb: 16.0</title>" in html
    assert '<dd data-field="owner">Rita</dd>' in html
    assert '<dd data-field="deal value">1,000</dd>' in html


def test_an_unknown_lead_is_a_404_page(dashboard: Dashboard) -> None:
    visitor = dashboard.logged_in()
    for lead_id in ("999999", "abc", "99999999999999999999"):
        response = visitor.get(f"/dashboard/leads/{lead_id}")
        assert response.status_code == 404, lead_id
        assert "No such lead" in response.text
