"""Inbound-mail webhooks for mail providers: POST /api/inbound/bounce and /api/inbound/reply.

The body is one raw RFC 5322 message (Content-Type message/rfc822, text/plain or
application/octet-stream), or JSON {"raw": "<the message>"} for providers that wrap it. It is
classified and applied as the IMAP poller does (nurture.mail.classify, nurture.engine.inbound),
in one transaction, and answered 200 {"kind", "outcome", "event_ids", "lead_id"}; the same
message posted twice is recorded once, the second answer saying "duplicate". 422 says why when
the body is not a message, classifies as unknown, or belongs to the other endpoint.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from nurture.engine.inbound import Applied, Outcome, apply_inbound
from nurture.mail.classify import Classified, Kind, classify
from nurture.store.engine import writing
from nurture.web.auth import require_api_key
from nurture.web.state import WebContext, web_context

log = logging.getLogger("nurture.web.inbound")
Context = Annotated[WebContext, Depends(web_context)]
RAW_TYPES = frozenset({"message/rfc822", "text/plain", "application/octet-stream"})
ENDPOINT_KINDS: dict[str, frozenset[str]] = {
    "bounce": frozenset({"hard_bounce", "soft_bounce", "complaint"}),
    "reply": frozenset({"reply", "auto_reply", "unsubscribe_request"}),
}
_BINARY = {"schema": {"type": "string", "format": "binary"}}
REQUEST_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "message/rfc822": _BINARY, "application/octet-stream": _BINARY,
    "text/plain": {"schema": {"type": "string"}},
    "application/json": {"schema": {"type": "object", "required": ["raw"],
                                    "properties": {"raw": {"type": "string"}}}},
}}}
router = APIRouter(
    prefix="/api/inbound", tags=["inbound"], dependencies=[Depends(require_api_key)],
    responses={401: {"description": "no API key, or a wrong one"},
               413: {"description": "the message is larger than the body limit"},
               415: {"description": "a Content-Type other than the four accepted"},
               422: {"description": "not a message, not one nurture can use, or one for the "
                                    "other endpoint; `detail` says which"}},
)


class InboundResult(BaseModel):
    """What the message was and what recording it did."""

    kind: Kind = Field(description="what the message was classified as")
    outcome: Outcome = Field(description=(
        "recorded; duplicate (this message was recorded before); unmatched (it is about no "
        "email or lead nurture knows); ignored (nothing to change, e.g. already unsubscribed)"))
    event_ids: list[int] = Field(description="the events recorded, the main one first")
    lead_id: int | None = Field(description="the lead it was matched to")


async def raw_message(request: Request) -> bytes:
    """FastAPI dependency: the message's bytes, from a raw body or a JSON {"raw": …} wrapper."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json" and media_type not in RAW_TYPES:
        raise HTTPException(415, (
            f"Content-Type {media_type or '(none)'} is not accepted: post the raw message as "
            "message/rfc822, text/plain or application/octet-stream, or JSON {\"raw\": …}"))
    body = await request.body()
    return _unwrapped(body) if media_type == "application/json" else body


def _unwrapped(body: bytes) -> bytes:
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise HTTPException(422, f"the body is not valid JSON: {exc}") from exc
    raw = payload.get("raw") if isinstance(payload, dict) else None
    if not isinstance(raw, str):
        raise HTTPException(422, 'a JSON body must be an object {"raw": "<the whole message>"}')
    return raw.encode("utf-8", "replace")


Raw = Annotated[bytes, Depends(raw_message)]


@router.post("/bounce", response_model=InboundResult, openapi_extra=REQUEST_BODY)
def bounce(raw: Raw, context: Context) -> InboundResult:
    """A bounce (delivery status notification) or a spam complaint (ARF feedback report)."""
    return _receive("bounce", raw, context)


@router.post("/reply", response_model=InboundResult, openapi_extra=REQUEST_BODY)
def reply(raw: Raw, context: Context) -> InboundResult:
    """A reply, an auto-reply (out of office) or an unsubscribe request by email."""
    return _receive("reply", raw, context)


def _receive(endpoint: str, raw: bytes, context: WebContext) -> InboundResult:
    if not raw.strip():
        raise HTTPException(422, "the body is empty: post the whole raw message")
    classified = classify(raw)
    if classified.kind == "unknown":
        raise HTTPException(422, f"not a message nurture can use: {classified.reason}")
    if classified.kind not in ENDPOINT_KINDS[endpoint]:
        other = next(name for name, kinds in ENDPOINT_KINDS.items() if classified.kind in kinds)
        raise HTTPException(422, (
            f"this message is classified as {classified.kind} ({classified.reason}), not as "
            f"a {endpoint}: post it to /api/inbound/{other}"))
    try:
        applied = _apply(context, classified)
    except IntegrityError:  # the same message, posted concurrently, was just recorded
        applied = _apply(context, classified)
    log.info("inbound %s webhook: %s from %s: %s (lead %s, %s)", endpoint, classified.kind,
             classified.sender or "nobody", applied.outcome, applied.lead_id, classified.key)
    return InboundResult(kind=classified.kind, outcome=applied.outcome,
                         event_ids=applied.event_ids, lead_id=applied.lead_id)


def _apply(context: WebContext, classified: Classified) -> Applied:
    with writing(context.engine) as connection:
        return apply_inbound(connection, context.project(), classified, context.clock.now(),
                             soft_bounce_limit=context.settings.imap.soft_bounce_limit)
