"""The dashboard over the seeded world, on SQLite and PostgreSQL, called with real HTTP requests
through httpx's ASGI transport. A `Visitor` keeps its cookies between requests, as a browser
does; time is the world's NOW on a ManualClock the app reads."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from nurture.clock import ManualClock
from nurture.files.loader import Project
from nurture.settings import Settings
from tests.reports.world import NOW, seed
from tests.web.dashboard.site import (
    API_KEY,
    PASSWORD,
    USER,
    dashboard_app,
    dashboard_context,
    dashboard_settings,
    write_world_project,
)

BASE_URL = "http://dashboard.test"
FEBRUARY = {"from": "2026-02-01", "to": "2026-03-01"}  # world.FEBRUARY as query parameters


@dataclass
class Visitor:
    """A browser-like client of the app at `address`: cookies kept, redirects not followed."""

    app: FastAPI
    cookies: httpx.Cookies = field(default_factory=httpx.Cookies)
    address: str = "192.0.2.10"

    def call(self, method: str, url: str, **options: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, client=(self.address, 50000))
            async with httpx.AsyncClient(transport=transport, base_url=BASE_URL,
                                         cookies=self.cookies) as client:
                response = await client.request(method, url, **options)
                self.cookies = client.cookies
                return response

        return asyncio.run(send())

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self.call("GET", url, **options)

    def csrf(self, path: str = "/dashboard/login") -> str:
        """The CSRF token of the form on the page at `path`."""
        found = re.search(r'name="csrf" value="([^"]+)"', self.get(path).text)
        assert found, f"no CSRF field on {path}"
        return found.group(1)

    def log_in(self, name: str = USER, password: str = PASSWORD,
               next_path: str = "/dashboard") -> httpx.Response:
        return self.call("POST", "/dashboard/login", data={
            "csrf": self.csrf(), "name": name, "password": password, "next": next_path})


@dataclass
class Dashboard:
    engine: Engine
    settings: Settings
    project: Project
    clock: ManualClock
    app: FastAPI
    ids: dict[str, int]

    def visitor(self, address: str = "192.0.2.10") -> Visitor:
        return Visitor(self.app, address=address)

    def logged_in(self) -> Visitor:
        visitor = self.visitor()
        assert visitor.log_in().status_code == 303
        return visitor

    def api(self, path: str, **params: str) -> httpx.Response:
        return self.visitor().get(path, params=params,
                                  headers={"Authorization": f"Bearer {API_KEY}"})


def make_dashboard(engine: Engine, settings: Settings, tmp_path: Path,
                   ids: dict[str, int]) -> Dashboard:
    project = write_world_project(tmp_path)
    clock = ManualClock(NOW)
    app = dashboard_app(dashboard_context(engine, settings, project, clock))
    return Dashboard(engine, settings, project, clock, app, ids)


@pytest.fixture
def dashboard(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Dashboard]:
    """The app over the seeded world, with the user maria."""
    yield make_dashboard(engine, dashboard_settings(db_url), tmp_path, seed(engine))


@pytest.fixture
def empty_dashboard(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Dashboard]:
    """The app over an empty database, with the user maria."""
    yield make_dashboard(engine, dashboard_settings(db_url), tmp_path, {})


class Tables(HTMLParser):
    """The text of every cell of every table with an id (and its caption), and of every
    element with a data-headline attribute: what a person reads on the page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.captions: dict[str, str] = {}
        self._caption: list[str] | None = None
        self.headlines: dict[str, str] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._headline: str | None = None
        self._in_dd = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("id"):
            self._table = found["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "caption" and self._table:
            self._caption = []
        elif tag == "div" and found.get("data-headline"):
            self._headline = found["data-headline"]
        elif tag == "dd" and self._headline:
            self._in_dd = True
            self.headlines[self._headline] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "caption" and self._table and self._caption is not None:
            self.captions[self._table] = "".join(self._caption).strip()
            self._caption = None
        elif tag == "table":
            self._table = None
        elif tag == "dd":
            self._in_dd = False
            self._headline = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._caption is not None:
            self._caption.append(data)
        elif self._in_dd and self._headline:
            self.headlines[self._headline] += data.strip()

    def rows(self, table: str) -> list[list[str]]:
        """The body rows of a table (its header row left out)."""
        return self.tables[table][1:]

    def titled(self, title: str) -> list[list[str]]:
        """Every row of the table with this caption."""
        found = [key for key, caption in self.captions.items() if caption == title]
        assert len(found) == 1, f"{len(found)} tables titled {title!r}"
        return self.tables[found[0]]
