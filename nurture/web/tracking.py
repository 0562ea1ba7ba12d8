"""The open pixel (GET /o/{token}) and click redirects (GET /c/{token}).

A token that is forged, altered, meant for the other route, or names an email that was never
written gets 404 and a log line, and nothing is stored. A click redirects only to the URL
signed into its token, that is, the link that was in the email.

These are the busiest routes, so they stay light: the token is checked in the event loop, and
only the database transaction goes to a worker thread, at most as many at once as the
connection pool keeps connections (`_database_limiter`). The hit is committed before the
answer leaves.
"""

from __future__ import annotations

import logging
import string
from typing import Literal
from urllib.parse import quote
from weakref import WeakKeyDictionary

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from sqlalchemy import Engine

from nurture.core.machine import Hit
from nurture.core.tokens import BadToken
from nurture.engine.tracking_links import TouchRef, read_click_token, read_open_token
from nurture.store.engine import writing
from nurture.web.hits import record_hit
from nurture.web.state import WebContext, web_context

log = logging.getLogger("nurture.web.tracking")
router = APIRouter(include_in_schema=False)
# A 1x1 transparent GIF (43 bytes).
PIXEL = bytes.fromhex("47494638396101000100800000ffffff00000021f904010000000"
                      "02c00000000010001000002024401003b")
NO_CACHE = {"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0",
            "Pragma": "no-cache", "Expires": "0"}
MAX_AGENT = 512
_URL_SAFE = "".join(c for c in string.printable if not c.isspace())
_limiters: WeakKeyDictionary[Engine, CapacityLimiter] = WeakKeyDictionary()


@router.api_route("/o/{token}", methods=["GET", "HEAD"])
async def open_pixel(token: str, request: Request) -> Response:
    """Record an open and answer with the transparent pixel."""
    context = web_context(request)
    try:
        ref = read_open_token(context.secret, token)
    except BadToken as exc:
        return _refused("open", token, request, str(exc))
    if not await _record(context, ref, _hit("open", request, context)):
        return _refused("open", token, request, f"no email {ref.payload()}")
    return Response(PIXEL, media_type="image/gif", headers=NO_CACHE)


@router.api_route("/c/{token}", methods=["GET", "HEAD"])
async def click(token: str, request: Request) -> Response:
    """Record a click and redirect to the link the email carried."""
    context = web_context(request)
    try:
        ref, url = read_click_token(context.secret, token)
    except BadToken as exc:
        return _refused("click", token, request, str(exc))
    if not await _record(context, ref, _hit("click", request, context, url)):
        return _refused("click", token, request, f"no email {ref.payload()}")
    # Only characters a header cannot carry are escaped: an ASCII URL goes out exactly as sent.
    location = quote(url, safe=_URL_SAFE)
    return Response(status_code=302, headers={**NO_CACHE, "Location": location})


def _hit(kind: Literal["open", "click"], request: Request, context: WebContext,
         url: str | None = None) -> Hit:
    agent = request.headers.get("user-agent", "")[:MAX_AGENT]
    address = request.client.host if request.client else ""
    return Hit(kind, agent, address, context.clock.now(), url, request.method)


async def _record(context: WebContext, ref: TouchRef, hit: Hit) -> bool:
    return await to_thread.run_sync(_record_now, context, ref, hit,
                                    limiter=_database_limiter(context.engine))


def _record_now(context: WebContext, ref: TouchRef, hit: Hit) -> bool:
    with writing(context.engine) as connection:
        return record_hit(connection, context.project(), ref, hit)


def _database_limiter(engine: Engine) -> CapacityLimiter:
    """Hits in the database at once; the others wait in the event loop. On PostgreSQL as many
    as the pool keeps connections: past that, the pool opens an overflow connection for a hit
    and closes it after, a new server process per hit, costlier than the hit itself. On SQLite
    one: it takes one writer at a time, and a second transaction that read before the first
    committed fails with "database is locked" instead of waiting."""
    limiter = _limiters.get(engine)
    if limiter is None:
        size = getattr(engine.pool, "size", None)
        tokens = 1 if engine.dialect.name == "sqlite" else size() if callable(size) else 5
        limiter = _limiters[engine] = CapacityLimiter(tokens)
    return limiter


def _refused(kind: str, token: str, request: Request, reason: str) -> Response:
    address = request.client.host if request.client else "?"
    log.warning("%s tracking link refused (%s) from %s: token %.24s…", kind, reason, address,
                token)
    return PlainTextResponse("not found", 404, headers=NO_CACHE)
