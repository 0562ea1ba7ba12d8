"""Many tracking hits at once, through the real app on SQLite and PostgreSQL: every one is
answered and stored, hits arriving together share transactions (group commit) without
overflowing the connection pool, and no hit is answered before its transaction commits."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import event

from nurture.engine.tracking_links import TouchRef, click_url, pixel_url

from .conftest import BASE_URL, BROWSER, NOW, SECRET, Site

HITS = 40


def _urls(refs: list[TouchRef]) -> list[str]:
    """Opens and clicks spread over the emails, several on each, one link per email."""
    return [pixel_url(BASE_URL, SECRET, ref) if n % 3 else
            click_url(BASE_URL, SECRET, ref, f"https://example.com/{ref.enrollment_id}")
            for n, ref in enumerate(refs * (HITS // len(refs)))]


def _hit_all_at_once(site: Site, urls: list[str]) -> list[httpx.Response]:
    async def send() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=site.app, client=("198.51.100.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL,
                                     headers={"User-Agent": BROWSER}) as client:
            return await asyncio.gather(*(client.get(url) for url in urls))

    return asyncio.run(send())


def test_simultaneous_hits_are_all_answered_and_each_stored_once(site: Site) -> None:
    refs = [site.sent_email(site.lead(f"lead{n}@example.com")) for n in range(8)]
    site.clock.current = NOW + timedelta(hours=1)
    urls = _urls(refs)
    responses = _hit_all_at_once(site, urls)
    assert sorted(r.status_code for r in responses) == sorted(
        302 if "/c/" in url else 200 for url in urls)
    events = site.events()
    assert sum(e.type == "clicked" for e in events) == sum("/c/" in url for url in urls)
    assert sum(e.type == "opened" and "implied_by" not in e.data for e in events) == sum(
        "/o/" in url for url in urls)


def test_simultaneous_hits_open_no_more_connections_than_the_pool_keeps(site: Site) -> None:
    refs = [site.sent_email(site.lead(f"lead{n}@example.com")) for n in range(8)]
    site.clock.current = NOW + timedelta(hours=1)
    opened: list[Any] = []
    event.listen(site.engine, "connect", lambda connection, record: opened.append(connection))
    _hit_all_at_once(site, _urls(refs))
    assert len(opened) <= site.engine.pool.size()  # type: ignore[attr-defined]


def test_simultaneous_hits_share_transactions(site: Site) -> None:
    refs = [site.sent_email(site.lead(f"lead{n}@example.com")) for n in range(8)]
    site.clock.current = NOW + timedelta(hours=1)
    commits: list[Any] = []
    event.listen(site.engine, "commit", commits.append)
    urls = _urls(refs)
    _hit_all_at_once(site, urls)
    assert 1 <= len(commits) < len(urls) // 4
    assert sum(e.type == "clicked" for e in site.events()) == sum("/c/" in url for url in urls)


def test_a_hit_is_not_answered_as_recorded_when_its_transaction_fails_to_commit(
    site: Site,
) -> None:
    ref = site.sent_email(site.lead())
    site.clock.current = NOW + timedelta(hours=1)

    def failing_commit(connection: Any) -> None:
        raise RuntimeError("the disk is full")

    event.listen(site.engine, "commit", failing_commit)

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=site.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL,
                                     headers={"User-Agent": BROWSER}) as client:
            return await client.get(pixel_url(BASE_URL, SECRET, ref))

    response = asyncio.run(send())
    event.remove(site.engine, "commit", failing_commit)
    assert response.status_code == 500
    assert site.events() == []


def test_a_burst_arriving_at_once_is_flagged_though_its_hits_share_a_transaction(
    site: Site,
) -> None:
    ref = site.sent_email(site.lead())
    site.clock.current = NOW + timedelta(hours=1)
    links = [click_url(BASE_URL, SECRET, ref, f"https://example.com/{path}") for path in "ab"]
    assert [r.status_code for r in _hit_all_at_once(site, links)] == [302, 302]
    flags = sorted((e.type, e.machine, e.data.get("machine_reason", "")) for e in site.events())
    assert flags == [("clicked", True, ""), ("clicked", True, "burst"), ("opened", True, "")]
