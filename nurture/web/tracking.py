"""The open pixel (GET /o/{token}) and click redirects (GET /c/{token}).

A token that is forged, altered, meant for the other route, or names an email that was never
written gets 404 and a log line, and nothing is stored. A click redirects only to the URL
signed into its token, that is, the link that was in the email.

These are the busiest routes by far — every open and click of every email — so they are a
bare ASGI middleware ahead of FastAPI's routing, request objects and dependency injection, which
cost more than the hit itself. The token is checked in the event loop; the hit is stored
through group commit (`GroupCommit`): hits arriving together share one transaction in a worker
thread, and each is answered once that transaction has committed.
"""

from __future__ import annotations

import asyncio
import logging
import string
from typing import Literal
from urllib.parse import quote

from sqlalchemy import Connection
from starlette.types import ASGIApp, Receive, Scope, Send

from nurture.core.machine import Hit
from nurture.core.tokens import BadToken
from nurture.engine.tracking_links import (
    CLICK_PATH,
    OPEN_PATH,
    TouchRef,
    read_click_token,
    read_open_token,
)
from nurture.web.group_commit import GroupCommit
from nurture.web.hits import record_hits
from nurture.web.state import WebContext

log = logging.getLogger("nurture.web.tracking")
# A 1x1 transparent GIF (43 bytes).
PIXEL = bytes.fromhex("47494638396101000100800000ffffff00000021f904010000000"
                      "02c00000000010001000002024401003b")
NO_CACHE = {"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0",
            "Pragma": "no-cache", "Expires": "0"}
MAX_AGENT = 512
ROUTES: dict[str, Literal["open", "click"]] = {OPEN_PATH: "open", CLICK_PATH: "click"}
_URL_SAFE = "".join(c for c in string.printable if not c.isspace())
_NO_CACHE = [(name.lower().encode(), value.encode()) for name, value in NO_CACHE.items()]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
_PIXEL: Answer = (200, [(b"content-type", b"image/gif"), (b"content-length", b"43"),
                        *_NO_CACHE], PIXEL)
_NOT_FOUND: Answer = (404, [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", b"9"), *_NO_CACHE], b"not found")
_NOT_ALLOWED: Answer = (405, [(b"content-type", b"text/plain; charset=utf-8"),
                              (b"content-length", b"18"), (b"allow", b"GET, HEAD")],
                        b"method not allowed")


class TrackingRoutes:
    """ASGI middleware answering /o/{token} and /c/{token} itself; the rest goes on to `app`."""

    def __init__(self, app: ASGIApp, context: WebContext) -> None:
        self.app, self.context = app, context
        self._writes: GroupCommit[tuple[TouchRef, Hit], bool] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = _route_path(scope)
        kind = ROUTES.get(path[:3])
        if kind is None or "/" in path[3:]:
            await self.app(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD"):
            status, headers, body = await self._hit(kind, path[3:], scope)
        else:
            status, headers, body = _NOT_ALLOWED
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _hit(self, kind: Literal["open", "click"], token: str, scope: Scope) -> Answer:
        """Record an open (answer: the transparent pixel) or a click (answer: the redirect)."""
        url: str | None = None
        try:
            if kind == "open":
                ref = read_open_token(self.context.secret, token)
            else:
                ref, url = read_click_token(self.context.secret, token)
        except BadToken as exc:
            return _refused(kind, token, scope, str(exc))
        hit = Hit(kind, _user_agent(scope), _client(scope), self.context.clock.now(), url,
                  scope["method"])
        if not await self._group_commit().submit((ref, hit)):
            return _refused(kind, token, scope, f"no email {ref.payload()}")
        if url is None:
            return _PIXEL
        # Only characters a header cannot carry are escaped: an ASCII URL goes out exactly as sent.
        location = quote(url, safe=_URL_SAFE).encode()
        return 302, [(b"location", location), (b"content-length", b"0"), *_NO_CACHE], b""

    def _group_commit(self) -> GroupCommit[tuple[TouchRef, Hit], bool]:
        writes = self._writes
        if writes is None or writes.loop is not asyncio.get_running_loop():
            writes = self._writes = GroupCommit(self.context.engine, self._record)
        return writes

    def _record(self, connection: Connection, hits: list[tuple[TouchRef, Hit]]) -> list[bool]:
        return record_hits(connection, self.context.project(), hits)


def _route_path(scope: Scope) -> str:
    """The path within the app: uvicorn's --root-path (behind a proxy) is prefixed to it."""
    if scope["type"] != "http":
        return ""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _user_agent(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"user-agent":
            return str(value[:MAX_AGENT].decode("latin-1"))
    return ""


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


def _refused(kind: str, token: str, scope: Scope, reason: str) -> Answer:
    log.warning("%s tracking link refused (%s) from %s: token %.24s…", kind, reason,
                _client(scope) or "?", token)
    return _NOT_FOUND
