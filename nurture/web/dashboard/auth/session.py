"""The dashboard's signed cookies: the session (who, until when) and the CSRF nonce.

Both are tokens of nurture/core/tokens.py (HMAC-SHA256, each purpose its own tag) keyed with
`dashboard.session_secret`, or `tracking.secret` when that is unset. A session names the user,
its expiry and a fingerprint of the user's password hash, so changing a password (or removing
the user) ends that user's sessions. A form carries a CSRF token that is the signature of the
browser's nonce cookie: a page on another site can neither read the cookie nor forge the token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from nurture.core.tokens import BadToken, sign, verify
from nurture.settings import DashboardUser, Settings

SESSION_COOKIE = "nurture_session"
CSRF_COOKIE = "nurture_csrf"
COOKIE_PATH = "/dashboard"
_SESSION, _CSRF = "dashboard-session", "dashboard-csrf"


@dataclass(frozen=True)
class Session:
    user: str
    expires: datetime


def signing_key(settings: Settings) -> str:
    secret = settings.dashboard.session_secret or settings.tracking.secret
    return secret.get_secret_value()


def session_token(settings: Settings, user: DashboardUser, now: datetime) -> tuple[str, int]:
    """A cookie value logging `user` in, and its lifetime in seconds."""
    lifetime = timedelta(hours=settings.dashboard.session_hours)
    payload = json.dumps({"u": user.name, "e": int((now + lifetime).timestamp()),
                          "v": _fingerprint(user)}, separators=(",", ":"))
    return sign(signing_key(settings), _SESSION, payload), int(lifetime.total_seconds())


def open_session(settings: Settings, token: str, now: datetime) -> Session | None:
    """The session a cookie value holds, if genuine, unexpired and its user still has the
    same password; None otherwise."""
    try:
        payload = json.loads(verify(signing_key(settings), _SESSION, token))
        name, expires, fingerprint = str(payload["u"]), int(payload["e"]), str(payload["v"])
    except (BadToken, ValueError, KeyError, TypeError):
        return None
    if expires <= now.timestamp():
        return None
    for user in settings.dashboard.users:
        if hmac.compare_digest(user.name.encode(), name.encode()) and hmac.compare_digest(
                _fingerprint(user).encode(), fingerprint.encode()):
            return Session(user.name, datetime.fromtimestamp(expires, now.tzinfo))
    return None


def new_csrf_nonce() -> str:
    return secrets.token_urlsafe(16)


def csrf_token(settings: Settings, nonce: str) -> str:
    """The token a form must send back along with the nonce cookie."""
    return sign(signing_key(settings), _CSRF, nonce)


def is_csrf_valid(settings: Settings, nonce: str | None, token: str | None) -> bool:
    if not nonce or not token:
        return False
    return hmac.compare_digest(csrf_token(settings, nonce).encode(), token.encode())


def _fingerprint(user: DashboardUser) -> str:
    digest = hashlib.sha256(user.password_hash.get_secret_value().encode()).digest()
    return digest[:6].hex()
