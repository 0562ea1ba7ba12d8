"""The running daemon folds the reports' daily counts: rows appended by the writers become one
row per day and key, so reports stay fast however many changes a day brings."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from nurture.files.leads_csv import LeadRow
from nurture.store.engine import writing
from nurture.store.leads import upsert_leads
from nurture.store.tallies import DAILY
from tests.e2e.harness import PATIENCE, Site, until


def _pending(site: Site) -> int:
    with site.engine.connect() as connection:
        return sum(connection.execute(select(func.count()).select_from(daily.table)
                                      .where(daily.table.c.pending)).scalar_one()
                   for daily in DAILY)


def test_the_daemon_folds_the_daily_counts(sqlite_site: Site) -> None:
    site = sqlite_site
    with writing(site.engine) as connection:
        for n in range(3):  # three imports: three pending rows for the same day
            upsert_leads(connection, [LeadRow(f"lead{n}@example.com")], "prospecting",
                         datetime(2026, 3, 2, 9, n, tzinfo=UTC))
    assert _pending(site) >= 3
    daemon = site.start()
    until(lambda: _pending(site) == 0, PATIENCE, "the daily counts folded")
    assert daemon.is_running()
