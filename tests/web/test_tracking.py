"""The open pixel and click redirects, through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import logging
from datetime import timedelta

import httpx
import pytest

from nurture.core.tokens import sign
from nurture.engine.tracking_links import TouchRef, click_url, pixel_url

from .conftest import BASE_URL, BROWSER, NOW, PERSON_IP, SECRET, Site

LATER = NOW + timedelta(hours=1)
PRICING = "https://example.com/pricing?plan=pro&seats=5#compare"
GIF_43 = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")


def _sent(site: Site) -> tuple[int, TouchRef]:
    lead_id = site.lead()
    ref = site.sent_email(lead_id)
    site.clock.current = LATER
    return lead_id, ref


def test_the_pixel_records_an_open_and_answers_a_transparent_gif(site: Site) -> None:
    lead_id, ref = _sent(site)
    response = site.call("GET", pixel_url(BASE_URL, SECRET, ref))
    assert response.status_code == 200
    assert response.content == GIF_43 and len(response.content) == 43
    assert response.headers["content-type"] == "image/gif"
    assert "no-store" in response.headers["cache-control"]
    [event] = site.events()
    assert (event.type, event.lead_id, event.machine, event.source) == (
        "opened", lead_id, False, "tracking")
    assert event.outbox_id is not None and event.at == LATER
    assert event.data["ip"] == PERSON_IP and "Safari" in event.data["ua"]
    assert site.get_lead(lead_id).last_engaged_at == LATER


def test_a_click_redirects_to_exactly_the_link_and_records_it_with_an_implied_open(
    site: Site,
) -> None:
    lead_id, ref = _sent(site)
    response = site.call("GET", click_url(BASE_URL, SECRET, ref, PRICING))
    assert response.status_code == 302
    assert response.headers["location"] == PRICING
    opened, clicked = site.events()
    assert (opened.type, opened.machine, opened.data["implied_by"]) == ("opened", False, "click")
    assert (clicked.type, clicked.machine, clicked.data["url"]) == ("clicked", False, PRICING)
    assert clicked.outbox_id == opened.outbox_id is not None


def test_a_click_after_an_open_records_no_second_open(site: Site) -> None:
    _, ref = _sent(site)
    site.call("GET", pixel_url(BASE_URL, SECRET, ref))
    site.clock.current += timedelta(minutes=1)
    site.call("GET", click_url(BASE_URL, SECRET, ref, PRICING))
    assert [e.type for e in site.events()] == ["opened", "clicked"]


def test_a_link_with_characters_a_header_cannot_carry_is_escaped_only_there(site: Site) -> None:
    _, ref = _sent(site)
    response = site.call("GET", click_url(BASE_URL, SECRET, ref, "https://example.com/café?q=ü"))
    assert response.headers["location"] == "https://example.com/caf%C3%A9?q=%C3%BC"


def _tamper_body(token: str) -> str:
    body, _, tag = token.partition(".")
    return f"{body[:-1]}{'A' if body[-1] != 'A' else 'B'}.{tag}"


def _tamper_tag(token: str) -> str:
    body, _, tag = token.partition(".")
    return f"{body}.{tag[:-1]}{'A' if tag[-1] != 'A' else 'B'}"


TAMPERINGS = [_tamper_body, _tamper_tag, lambda t: t.partition(".")[0], lambda t: t + "x",
              lambda t: "%%%.%%%"]


@pytest.mark.parametrize("kind", ["open", "click"])
def test_a_tampered_token_gets_404_is_logged_and_stores_nothing(
    site: Site, kind: str, caplog: pytest.LogCaptureFixture,
) -> None:
    _, ref = _sent(site)
    url = pixel_url(BASE_URL, SECRET, ref) if kind == "open" else click_url(
        BASE_URL, SECRET, ref, PRICING)
    head, _, token = url.rpartition("/")
    for tamper in TAMPERINGS:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="nurture.web.tracking"):
            response = site.call("GET", f"{head}/{tamper(token)}")
        assert response.status_code == 404, tamper(token)
        assert "location" not in response.headers
        assert f"{kind} tracking link refused" in caplog.text and PERSON_IP in caplog.text
    assert site.events() == []


@pytest.mark.parametrize("kind", ["open", "click"])
def test_a_genuine_token_for_an_email_never_written_gets_404(site: Site, kind: str) -> None:
    _sent(site)
    unknown = TouchRef(987654, 0)
    url = pixel_url(BASE_URL, SECRET, unknown) if kind == "open" else click_url(
        BASE_URL, SECRET, unknown, PRICING)
    assert site.call("GET", url).status_code == 404
    assert site.events() == []


def test_a_token_made_for_one_purpose_is_refused_by_the_others(site: Site) -> None:
    lead_id, ref = _sent(site)
    open_token = pixel_url(BASE_URL, SECRET, ref).rpartition("/")[2]
    click_token = click_url(BASE_URL, SECRET, ref, PRICING).rpartition("/")[2]
    unsubscribe_token = sign(SECRET, "unsubscribe", str(lead_id))
    for path in (f"/c/{open_token}", f"/o/{click_token}", f"/o/{unsubscribe_token}",
                 f"/c/{unsubscribe_token}", f"/u/{open_token}"):
        assert site.call("GET", path).status_code == 404, path
    assert site.events() == []


def test_open_redirect_attempts_fail(site: Site) -> None:
    _, ref = _sent(site)
    token = click_url(BASE_URL, SECRET, ref, PRICING).rpartition("/")[2]
    forged_body = base64.urlsafe_b64encode(f"{ref.payload()}|https://evil.test/".encode())
    swapped = f"{forged_body.decode().rstrip('=')}.{token.partition('.')[2]}"
    other_secret = sign("not-our-secret", "click", f"{ref.payload()}|https://evil.test/")
    script = sign(SECRET, "click", f"{ref.payload()}|javascript:alert(1)")
    for bad in (swapped, other_secret, script):
        assert site.call("GET", f"/c/{bad}").status_code == 404
    followed = site.call("GET", f"/c/{token}?url=https://evil.test/&next=//evil.test")
    assert followed.headers["location"] == PRICING
    assert [e.data.get("url") for e in site.events() if e.type == "clicked"] == [PRICING]


@pytest.mark.parametrize("kind", ["open", "click"])
def test_tracking_routes_answer_only_get_and_head(site: Site, kind: str) -> None:
    _, ref = _sent(site)
    url = pixel_url(BASE_URL, SECRET, ref) if kind == "open" else click_url(
        BASE_URL, SECRET, ref, PRICING)
    response = site.call("POST", url)
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"
    assert site.events() == []


def test_a_pixel_behind_a_proxy_prefix_is_served(site: Site) -> None:
    """uvicorn --root-path /t (a proxy serving the app under /t) puts the prefix in the path."""
    _, ref = _sent(site)
    token = pixel_url(BASE_URL, SECRET, ref).rpartition("/")[2]

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=site.app, root_path="/t")
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            return await client.get(f"/t/o/{token}", headers={"User-Agent": BROWSER})

    assert asyncio.run(send()).status_code == 200
    assert [e.type for e in site.events()] == ["opened"]
