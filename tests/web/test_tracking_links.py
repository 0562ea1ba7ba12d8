"""Tracked links from render to redirect: an email rendered with `touch_tracking` carries a
pixel and rewritten links that lead back through the app to the original destinations; the
opt-outs (touch `track`, sequence `track_links`, data-notrack, the setting) are honoured."""

from __future__ import annotations

import html
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from nurture.core.sequences import Sequence
from nurture.engine.compose import Identity, unsubscribe_url
from nurture.engine.tracking_links import CLICK_PATH, OPEN_PATH, touch_tracking
from nurture.render import RenderContext, TemplateRenderer

from .conftest import BASE_URL, NOW, SECRET, Site

LAYOUT = Path(__file__).resolve().parents[2] / "templates" / "_layout.html.j2"
BODY = ('<p><a href="https://example.com/pricing?a=1&amp;b=2">Pricing</a> '
        '<a href="https://example.com/private" data-notrack>Private</a> '
        '<a href="mailto:sales@nurture.test">Mail us</a></p>')
IDENTITY = Identity("Nurture Sales", "sales@nurture.test", None, "1 Main Street, Springfield",
                    BASE_URL, SECRET)


def _hrefs(markup: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'<a[^>]*\shref="([^"]*)"', markup)]


def _pixel(markup: str) -> str | None:
    found = re.search(r'<img src="([^"]*)" width="1" height="1"', markup)
    return html.unescape(found[1]) if found else None


def _render(tmp_path: Path, sequence: Sequence, enrollment_id: int, lead_id: int,
            enabled: bool = True) -> str:
    folder = tmp_path / "templates"
    folder.mkdir(exist_ok=True)
    shutil.copy(LAYOUT, folder / "_layout.html.j2")
    (folder / "note.html.j2").write_text(BODY)
    tracking = touch_tracking(BASE_URL, SECRET, sequence, enrollment_id, 0, enabled=enabled)
    context = RenderContext(
        lead={"email": "ann@example.com"}, sender=IDENTITY.sender, owner=None,
        sequence={"id": "intro", "name": "Intro"}, touch_number=1,
        unsubscribe_url=unsubscribe_url(IDENTITY, lead_id),
        link_rewriter=tracking.link_rewriter, pixel_url=tracking.pixel_url)
    return TemplateRenderer(folder).render("note.html.j2", "Hi", context).html


def _sequence(site: Site, *, track: bool = True, track_links: bool = True) -> Sequence:
    """The test sequence, its first touch an HTML template, with these opt-outs."""
    sequence = site.project.sequences[0]
    first = sequence.touches[0].model_copy(update={"template": "note.html.j2", "track": track})
    return sequence.model_copy(update={"touches": [first, *sequence.touches[1:]],
                                       "track_links": track_links})


def test_a_rendered_email_leads_back_through_the_app_to_its_links(site: Site,
                                                                  tmp_path: Path) -> None:
    lead_id = site.lead()
    ref = site.sent_email(lead_id)
    markup = _render(tmp_path, _sequence(site), ref.enrollment_id, lead_id)
    pricing, private, mail, unsubscribe = _hrefs(markup)
    assert pricing.startswith(f"{BASE_URL}{CLICK_PATH}")
    assert (private, mail) == ("https://example.com/private", "mailto:sales@nurture.test")
    assert unsubscribe == unsubscribe_url(IDENTITY, lead_id)
    pixel = _pixel(markup)
    assert pixel is not None and pixel.startswith(f"{BASE_URL}{OPEN_PATH}")
    assert len(pricing) < 150 and len(pixel) < 80  # compact tokens

    site.clock.current = NOW + timedelta(hours=1)
    assert site.call("GET", pixel).status_code == 200
    assert site.call("GET", pricing).headers["location"] == "https://example.com/pricing?a=1&b=2"
    assert [(e.type, e.data.get("url")) for e in site.events()] == [
        ("opened", None), ("clicked", "https://example.com/pricing?a=1&b=2")]


@pytest.mark.parametrize(("opt_outs", "links", "pixel"), [
    ({}, True, True),
    ({"track_links": False}, False, True),
    ({"track": False}, False, False),
])
def test_sequences_and_touches_opt_out_of_tracking(site: Site, tmp_path: Path,
                                                   opt_outs: dict[str, bool], links: bool,
                                                   pixel: bool) -> None:
    markup = _render(tmp_path, _sequence(site, **opt_outs), 7, 3)
    assert _hrefs(markup)[0].startswith(f"{BASE_URL}{CLICK_PATH}") is links
    assert (_pixel(markup) is not None) is pixel


def test_the_tracking_setting_turns_everything_off(site: Site, tmp_path: Path) -> None:
    markup = _render(tmp_path, _sequence(site), 7, 3, enabled=False)
    assert _hrefs(markup)[0] == "https://example.com/pricing?a=1&b=2"
    assert _pixel(markup) is None
