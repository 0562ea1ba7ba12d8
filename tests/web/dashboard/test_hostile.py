"""Lead data is data: HTML and script in a company, a name, a source, an industry or an email
subject show as text on every page and in every chart, never as markup."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from nurture.reports.rebuild import rebuild
from nurture.store.engine import writing
from nurture.store.models import Enrollment, Lead, Outbox
from tests.reports.world import NOW

from .conftest import Dashboard

SCRIPT = "<script>alert('x')</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
HOSTILE = {"company": f"Evil {SCRIPT} Inc", "first_name": IMAGE, "last_name": "</title>",
           "source": f"<b>bold</b>{SCRIPT}", "industry": IMAGE}


def add_hostile_lead(dashboard: Dashboard) -> int:
    created = NOW - timedelta(days=40)
    with Session(dashboard.engine) as session:
        lead = Lead(email="mallory@example.com", stage="qualified", stage_entered_at=created,
                    created_at=created, updated_at=created, deal_value=100.0, **HOSTILE)
        session.add(lead)
        session.flush()
        enrollment = Enrollment(lead_id=lead.id, sequence_id="welcome", stage="new",
                                stage_entered_at=created, created_at=created,
                                updated_at=created, status="finished")
        session.add(enrollment)
        session.flush()
        session.add(Outbox(enrollment_id=enrollment.id, touch_index=0, lead_id=lead.id,
                           message_id="<mallory@test>", subject=f"Hi {SCRIPT}", status="sent",
                           created_at=created, sent_at=created))
        session.commit()
        assert lead.id is not None
    with writing(dashboard.engine) as connection:
        rebuild(connection)  # the reports read summaries: bring them up to the raw rows
    return lead.id


def test_hostile_fields_are_escaped_on_every_page_and_chart(dashboard: Dashboard) -> None:
    lead_id = add_hostile_lead(dashboard)
    visitor = dashboard.logged_in()
    pages = {
        "sources": visitor.get("/dashboard/sources").text,
        "sequences": visitor.get("/dashboard/sequences").text,
        "leads": visitor.get("/dashboard/leads", params={"q": "mallory"}).text,
        "lead": visitor.get(f"/dashboard/leads/{lead_id}").text,
        "filtered": visitor.get("/dashboard", params={"source": HOSTILE["source"]}).text,
    }
    for name, html in pages.items():
        assert not [tag for tag in ("<script", "<img", "<b>bold") if tag in html], name
    sources = pages["sources"]
    escaped_source = "&lt;b&gt;bold&lt;/b&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
    assert f"<title>{escaped_source} · leads: 1</title>" in sources
    assert "Evil &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Inc" in pages["leads"]
    assert "<title>&#34;&gt;&lt;img src=x onerror=alert(1)&gt; &lt;/title&gt; · nurture</title>" \
        in pages["lead"]
    assert "Hi &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in pages["lead"]
    assert 'value="&lt;b&gt;bold&lt;/b&gt;&lt;script&gt;' in pages["filtered"]
