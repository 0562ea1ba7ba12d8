"""One bad lead never stops the daemon: a touch that cannot render for a lead fails with the
reason, a lead with a time zone that does not exist is mailed in the default zone, and every
other lead is mailed as usual."""

from __future__ import annotations

from sqlalchemy import select

from tests.e2e.harness import OUTBOX, PATIENCE, Site, until

GOOD = 20


def test_a_lead_that_fails_to_render_or_has_a_garbage_zone_does_not_stop_the_others(
        sqlite_site: Site) -> None:
    site = sqlite_site
    site.write("templates/company.md.j2", "Hi {{ lead.first_name }} at {{ lead.company }}.\n")
    site.write_sequence(template="company.md.j2")
    site.seed(GOOD, enrolled=False, company="Acme")
    [no_company] = site.seed(1, first=GOOD, enrolled=False, company=None)
    [nowhere] = site.seed(1, first=GOOD + 1, enrolled=False, company="Acme",
                          timezone="Mars/Olympus_Mons")
    daemon = site.start()
    until(lambda: site.all_final(GOOD + 2), PATIENCE, "every touch final")
    with site.engine.connect() as connection:
        rows = {row.lead_id: row for row in connection.execute(select(OUTBOX))}
    failed = rows[no_company]
    assert failed.status == "failed"
    assert "company" in failed.reason and "company.md.j2" in failed.reason
    assert rows[nowhere].status == "sent"
    assert site.outbox_statuses() == {"sent": GOOD + 1, "failed": 1}
    assert len(site.received_ids()) == GOOD + 1
    assert daemon.is_running()
    site.seed(3, first=GOOD + 2, enrolled=False, company="Acme")
    until(lambda: len(site.sink.messages) == GOOD + 4, PATIENCE, "later leads still mailed")
    assert daemon.is_running()
