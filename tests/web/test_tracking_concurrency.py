"""Many tracking hits at once, through the real app on SQLite and PostgreSQL: every one is
answered and stored, and they share the connection pool instead of overflowing it."""

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
