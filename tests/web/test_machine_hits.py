"""Machine opens and clicks through the real app: recorded, flagged, and not engagement."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from nurture.engine.tracking_links import TouchRef, click_url, pixel_url
from nurture.store.models import Outbox

from .conftest import BASE_URL, NOW, SECRET, Site

LATER = NOW + timedelta(hours=1)


def _sent(site: Site) -> tuple[int, TouchRef]:
    lead_id = site.lead()
    ref = site.sent_email(lead_id)
    site.clock.current = LATER
    return lead_id, ref


def _link(ref: TouchRef, path: str) -> str:
    return click_url(BASE_URL, SECRET, ref, f"https://example.com/{path}")


def _flags(site: Site) -> list[tuple[str, bool, str | None]]:
    return [(e.type, e.machine, e.data.get("machine_reason")) for e in site.events()]


def test_a_scanner_click_is_recorded_as_a_machine_and_is_no_engagement(site: Site) -> None:
    lead_id, ref = _sent(site)
    response = site.call("GET", _link(ref, "a"), agent="Mozilla/5.0 (compatible; Barracuda)")
    assert response.status_code == 302  # the scanner still gets where the link goes
    assert _flags(site) == [("clicked", True, "scanner")]  # and implies no open
    assert site.get_lead(lead_id).last_engaged_at is None


def test_a_prefetch_seconds_after_sending_is_a_machine(site: Site) -> None:
    _, ref = _sent(site)
    site.clock.current = NOW + timedelta(seconds=3)
    site.call("GET", pixel_url(BASE_URL, SECRET, ref))
    assert _flags(site) == [("opened", True, "prefetch")]


def test_apple_mail_privacy_protection_opens_are_machines(site: Site) -> None:
    _, ref = _sent(site)
    site.call("GET", pixel_url(BASE_URL, SECRET, ref), agent="Mozilla/5.0")
    site.call("GET", pixel_url(BASE_URL, SECRET, ref), ip="17.58.101.12")
    assert _flags(site) == [("opened", True, "apple-mpp"), ("opened", True, "apple-mpp")]


def test_a_burst_of_clicks_flags_the_whole_burst(site: Site) -> None:
    _, ref = _sent(site)
    site.call("GET", _link(ref, "a"))
    assert _outcomes(site) == 3  # opened and clicked, in the reports
    site.clock.current += timedelta(milliseconds=400)
    site.call("GET", _link(ref, "b"))
    assert _flags(site) == [("opened", True, None), ("clicked", True, None),
                            ("clicked", True, "burst")]
    # What the first click counted, while it looked like a person's, is taken back.
    assert _outcomes(site) == 0


def _outcomes(site: Site) -> int:
    with Session(site.engine) as session:
        return session.execute(select(Outbox.outcomes)).scalar_one()


def test_clicks_seconds_apart_are_a_person(site: Site) -> None:
    _, ref = _sent(site)
    site.call("GET", _link(ref, "a"))
    site.clock.current += timedelta(seconds=20)
    site.call("GET", _link(ref, "b"))
    assert _flags(site) == [("opened", False, None), ("clicked", False, None),
                            ("clicked", False, None)]


def test_a_head_request_is_a_machine(site: Site) -> None:
    _, ref = _sent(site)
    assert site.call("HEAD", _link(ref, "a")).status_code == 302
    assert _flags(site) == [("clicked", True, "head-request")]
