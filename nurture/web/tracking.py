"""The open pixel (GET /o/{token}) and click redirects (GET /c/{token}).

A token that is forged, altered, meant for the other route, or names an email that was never
written gets 404 and a log line, and nothing is stored. A click redirects only to the URL
signed into its token, that is, the link that was in the email.
"""

from __future__ import annotations

import logging
import string
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse

from nurture.core.machine import Hit
from nurture.core.tokens import BadToken
from nurture.engine.tracking_links import TouchRef, read_click_token, read_open_token
from nurture.web.hits import record_hit
from nurture.web.state import WebContext, web_context

log = logging.getLogger("nurture.web.tracking")
router = APIRouter(include_in_schema=False)
Context = Annotated[WebContext, Depends(web_context)]
# A 1x1 transparent GIF (43 bytes).
PIXEL = bytes.fromhex("47494638396101000100800000ffffff00000021f904010000000"
                      "02c00000000010001000002024401003b")
NO_CACHE = {"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0",
            "Pragma": "no-cache", "Expires": "0"}
MAX_AGENT = 512
_URL_SAFE = "".join(c for c in string.printable if not c.isspace())


@router.api_route("/o/{token}", methods=["GET", "HEAD"])
def open_pixel(token: str, request: Request, context: Context) -> Response:
    """Record an open and answer with the transparent pixel."""
    try:
        ref = read_open_token(context.secret, token)
    except BadToken as exc:
        return _refused("open", token, request, str(exc))
    if not _record(context, ref, _hit("open", request, context)):
        return _refused("open", token, request, f"no email {ref.payload()}")
    return Response(PIXEL, media_type="image/gif", headers=NO_CACHE)


@router.api_route("/c/{token}", methods=["GET", "HEAD"])
def click(token: str, request: Request, context: Context) -> Response:
    """Record a click and redirect to the link the email carried."""
    try:
        ref, url = read_click_token(context.secret, token)
    except BadToken as exc:
        return _refused("click", token, request, str(exc))
    if not _record(context, ref, _hit("click", request, context, url)):
        return _refused("click", token, request, f"no email {ref.payload()}")
    # Only characters a header cannot carry are escaped: an ASCII URL goes out exactly as sent.
    location = quote(url, safe=_URL_SAFE)
    return Response(status_code=302, headers={**NO_CACHE, "Location": location})


def _hit(kind: Literal["open", "click"], request: Request, context: WebContext,
         url: str | None = None) -> Hit:
    agent = request.headers.get("user-agent", "")[:MAX_AGENT]
    address = request.client.host if request.client else ""
    return Hit(kind, agent, address, context.clock.now(), url, request.method)


def _record(context: WebContext, ref: TouchRef, hit: Hit) -> bool:
    with context.engine.begin() as connection:
        return record_hit(connection, context.project(), ref, hit)


def _refused(kind: str, token: str, request: Request, reason: str) -> Response:
    address = request.client.host if request.client else "?"
    log.warning("%s tracking link refused (%s) from %s: token %.24s…", kind, reason, address,
                token)
    return PlainTextResponse("not found", 404, headers=NO_CACHE)
