"""Compact signed tokens for links in emails (unsubscribe, tracking): the payload is readable,
the HMAC-SHA256 tag (truncated to 128 bits) proves nurture wrote it. Verification compares in
constant time. No expiry is built in: unsubscribe links must keep working (CAN-SPAM: 30 days
at least); callers that want one put a time in the payload.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

TAG_BYTES = 16


class BadToken(ValueError):  # noqa: N818 - reads as what it is
    """A token that is malformed or whose signature does not match."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: str, purpose: str, payload: str) -> str:
    """A token carrying `payload` for `purpose` ("unsubscribe", "open", "click")."""
    body = _b64(payload.encode())
    return f"{body}.{_b64(_tag(secret, purpose, body))}"


def verify(secret: str, purpose: str, token: str) -> str:
    """The payload of a genuine token for `purpose`; BadToken otherwise."""
    body, _, tag = token.partition(".")
    try:
        given, payload = _unb64(tag), _unb64(body).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadToken("malformed token") from exc
    # Base64 decoding forgives stray characters and the unused low bits of the last one, so
    # several spellings decode alike: only the one nurture writes is a token (no replays of a
    # used token under a fresh-looking name).
    if _b64(given) != tag or _b64(payload.encode()) != body:
        raise BadToken("malformed token")
    if not tag or not hmac.compare_digest(given, _tag(secret, purpose, body)):
        raise BadToken("signature does not match")
    return payload


def _tag(secret: str, purpose: str, body: str) -> bytes:
    return hmac.new(secret.encode(), f"{purpose}:{body}".encode(), hashlib.sha256).digest()[
        :TAG_BYTES]
