"""The signed URLs of one email: its open pixel and its click redirects.

A token names the email by its outbox key, (enrollment, touch) — unique, and known when the
email is composed, before its outbox row (and id) is written. Tokens are HMAC-signed for one
purpose each, so an open token is no click token, and a click token carries the destination,
so the redirect can only go where the email pointed (no open redirect). Payloads stay short:
"12345.2" for an open, "12345.2|https://…" for a click.

Opt-outs: a touch with `track = false` gets neither pixel nor rewritten links; a sequence with
`track_links = false` keeps the pixel but leaves links alone, one with `track_opens = false`
gets no pixel (a lone image in a short email costs some 2.8 SpamAssassin points, and privacy
proxies make opens a weak signal anyway); a link marked `data-notrack` is left alone by the
renderer; unsubscribe links are never rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from nurture.core.sequences import Sequence
from nurture.core.tokens import BadToken, sign, verify

OPEN, CLICK, UNSUBSCRIBE = "open", "click", "unsubscribe"
OPEN_PATH, CLICK_PATH, UNSUBSCRIBE_PATH = "/o/", "/c/", "/u/"
_REF = re.compile(r"(\d{1,18})\.(\d{1,4})")
_WEB_URL = re.compile(r"https?://[^\s]+", re.IGNORECASE)


@dataclass(frozen=True)
class TouchRef:
    """Which email a hit is for: the outbox row of (enrollment, touch)."""

    enrollment_id: int
    touch_index: int

    def payload(self) -> str:
        return f"{self.enrollment_id}.{self.touch_index}"

    @classmethod
    def parse(cls, text: str) -> TouchRef:
        found = _REF.fullmatch(text)
        if found is None:
            raise BadToken(f"not an email reference: {text!r}")
        return cls(int(found[1]), int(found[2]))


@dataclass(frozen=True)
class TouchTracking:
    """What RenderContext needs to track one email; both None when it is not tracked."""

    link_rewriter: Callable[[str], str] | None = None
    pixel_url: str | None = None


def touch_tracking(base_url: str, secret: str, sequence: Sequence, enrollment_id: int,
                   touch_index: int, *, enabled: bool = True) -> TouchTracking:
    """The pixel and link rewriter for touch `touch_index` of `enrollment_id`, honouring
    the `tracking.enabled` setting and the touch's and sequence's opt-outs."""
    if not enabled or not sequence.touches[touch_index].track:
        return TouchTracking()
    base = base_url.rstrip("/")
    ref = TouchRef(enrollment_id, touch_index)
    rewriter = partial(click_url, base, secret, ref) if sequence.track_links else None
    pixel = pixel_url(base, secret, ref) if sequence.track_opens else None
    return TouchTracking(rewriter, pixel)


def pixel_url(base_url: str, secret: str, ref: TouchRef) -> str:
    return f"{base_url}{OPEN_PATH}{sign(secret, OPEN, ref.payload())}"


def click_url(base_url: str, secret: str, ref: TouchRef, url: str) -> str:
    """The tracked form of `url`; unsubscribe links and non-web URLs are returned unchanged."""
    if url.startswith(f"{base_url}{UNSUBSCRIBE_PATH}") or not _WEB_URL.fullmatch(url):
        return url
    return f"{base_url}{CLICK_PATH}{sign(secret, CLICK, f'{ref.payload()}|{url}')}"


def read_open_token(secret: str, token: str) -> TouchRef:
    """The email an open token names; BadToken if it is forged, altered or not an open token."""
    return TouchRef.parse(verify(secret, OPEN, token))


def read_click_token(secret: str, token: str) -> tuple[TouchRef, str]:
    """The email and destination a click token names; BadToken otherwise."""
    ref, _, url = verify(secret, CLICK, token).partition("|")
    if not _WEB_URL.fullmatch(url):
        raise BadToken("a click token without an http(s) destination")
    return TouchRef.parse(ref), url
