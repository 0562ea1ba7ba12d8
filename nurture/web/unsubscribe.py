"""The unsubscribe link, /u/{token} (RFC 8058 one-click, RFC 2369 List-Unsubscribe).

POST unsubscribes at once: a mail client's one-click POST (body "List-Unsubscribe=One-Click")
gets a bare 200; the page's form gets a page back, and its "pause" choice sets the lead's
`paused_until` 30 days ahead instead. Every change is committed before the response leaves.
A POST that says neither (an empty body, anything else) gets the confirm page and changes
nothing, as GET (and HEAD) do: link scanners fetch and sometimes post to links, so only an
explicit request unsubscribes. Tokens do not expire; a bad token gets 404 and a log line.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from sqlalchemy import Connection, Row, select, update

from nurture.core.tokens import BadToken, verify
from nurture.engine.events import LEADS, NewEvent, record_event
from nurture.engine.tracking_links import UNSUBSCRIBE
from nurture.store.engine import writing
from nurture.web.pages import (
    PAUSE_DAYS,
    confirm_page,
    not_found_page,
    paused_page,
    unsubscribed_page,
)
from nurture.web.state import WebContext, web_context

log = logging.getLogger("nurture.web.unsubscribe")
router = APIRouter(include_in_schema=False)
Context = Annotated[WebContext, Depends(web_context)]
NO_STORE = {"Cache-Control": "no-store"}
SOURCE = "unsubscribe"


async def form_fields(request: Request) -> dict[str, str]:
    """The urlencoded body as a dict (a multipart or empty body gives {})."""
    body = (await request.body()).decode("utf-8", "replace")
    return dict(parse_qsl(body, keep_blank_values=True))


ONE_CLICK = ("List-Unsubscribe", "One-Click")  # RFC 8058, section 3.1
CHOICES = frozenset({"unsubscribe", "pause"})  # the confirm page's buttons


@router.api_route("/u/{token}", methods=["GET", "HEAD"])
def confirm(token: str, request: Request, context: Context) -> Response:
    """The confirm page, with the choice to pause instead; changes nothing."""
    with context.engine.connect() as connection:
        lead = _lead(connection, context, token, request)
    if lead is None:
        return HTMLResponse(not_found_page(), 404, headers=NO_STORE)
    sender = context.settings.sender.name
    page = (unsubscribed_page(sender, lead.email) if lead.status == "unsubscribed"
            else confirm_page(sender, lead.email))
    return HTMLResponse(page, headers=NO_STORE)


@router.post("/u/{token}")
def unsubscribe(token: str, request: Request, context: Context,
                form: Annotated[dict[str, str], Depends(form_fields)]) -> Response:
    """Unsubscribe (or pause, when the page's form asks) before answering."""
    choice = form.get("choice")
    if choice not in CHOICES and form.get(ONE_CLICK[0]) != ONE_CLICK[1]:
        return confirm(token, request, context)
    now = context.clock.now()
    audit = {"method": "page" if choice else "one-click",
             "ua": request.headers.get("user-agent", "")[:512],
             "ip": request.client.host if request.client else ""}
    sender = context.settings.sender.name
    with writing(context.engine) as connection:
        lead = _lead(connection, context, token, request)
        if lead is None:
            return HTMLResponse(not_found_page(), 404, headers=NO_STORE)
        if choice == "pause" and lead.status != "unsubscribed":
            until = _pause(connection, context, lead, now, audit)
            return HTMLResponse(paused_page(sender, lead.email, until), headers=NO_STORE)
        if lead.status != "unsubscribed":
            record_event(connection, context.project(), NewEvent(
                lead_id=lead.id, type="unsubscribed", at=now, data=audit, source=SOURCE))
    if choice is None:
        return PlainTextResponse("unsubscribed\n", headers=NO_STORE)
    return HTMLResponse(unsubscribed_page(sender, lead.email), headers=NO_STORE)


def _pause(connection: Connection, context: WebContext, lead: Row[Any], now: datetime,
           audit: dict[str, str]) -> datetime:
    until = max(now + timedelta(days=PAUSE_DAYS), lead.paused_until or now)
    connection.execute(update(LEADS).where(LEADS.c.id == lead.id)
                       .values(paused_until=until, updated_at=now))
    record_event(connection, context.project(), NewEvent(
        lead_id=lead.id, type="paused", at=now, data={**audit, "until": until.isoformat()},
        source=SOURCE))
    return until


def _lead(connection: Connection, context: WebContext, token: str,
          request: Request) -> Row[Any] | None:
    """The lead the token names, or None (logged) when the token is bad or the lead gone."""
    try:
        payload = verify(context.secret, UNSUBSCRIBE, token)
        if not (payload.isascii() and payload.isdigit()):
            raise BadToken(f"not a lead id: {payload!r}")
    except BadToken as exc:
        _refused(request, token, str(exc))
        return None
    lead = connection.execute(
        select(LEADS.c.id, LEADS.c.email, LEADS.c.status, LEADS.c.paused_until)
        .where(LEADS.c.id == int(payload))
    ).first()
    if lead is None:
        _refused(request, token, f"no lead {payload}")
    return lead


def _refused(request: Request, token: str, reason: str) -> None:
    address = request.client.host if request.client else "?"
    log.warning("unsubscribe link refused (%s) from %s: token %.24s…", reason, address, token)
