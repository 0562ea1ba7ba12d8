"""Letting a dashboard request in: with a session cookie, or with the API token in an
`Authorization: Bearer` header (for scripts). A request with neither is sent to the login page;
a wrong token is 401, as on /api."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.security.utils import get_authorization_scheme_param

from nurture.core.passwords import verify_password
from nurture.settings import DashboardUser
from nurture.web.auth import require_api_key
from nurture.web.dashboard.auth.session import SESSION_COOKIE, open_session
from nurture.web.state import WebContext, web_context

LOGIN_PATH = "/dashboard/login"
HOME_PATH = "/dashboard"


@dataclass(frozen=True)
class Viewer:
    name: str
    by_token: bool  # came with the API token, not a session: nothing to log out of


class LoginRequired(Exception):  # noqa: N818 - reads as what it is
    """No credentials: the handler sends the browser to the login page, then back here."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


def viewer(request: Request, context: Annotated[WebContext, Depends(web_context)]) -> Viewer:
    """FastAPI dependency: who is looking, or LoginRequired / 401."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, credentials = get_authorization_scheme_param(header)
        given = credentials if scheme.lower() == "bearer" else ""
        require_api_key(HTTPAuthorizationCredentials(scheme="Bearer", credentials=given),
                        context)
        return Viewer("API token", by_token=True)
    token = request.cookies.get(SESSION_COOKIE)
    session = open_session(context.settings, token, context.clock.now()) if token else None
    if session is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    return Viewer(session.user, by_token=False)


async def to_login_page(request: Request, exc: Exception) -> RedirectResponse:
    """Exception handler for LoginRequired."""
    back_to = exc.back_to if isinstance(exc, LoginRequired) else HOME_PATH
    return RedirectResponse(f"{LOGIN_PATH}?next={quote(back_to, safe='/')}", status_code=303)


def authenticate(users: list[DashboardUser], name: str, password: str) -> DashboardUser | None:
    """The user with this name and password, or None. Always one scrypt check, against the
    first user's hash for an unknown name, so the time taken does not tell names apart."""
    if not users:
        return None
    found = None
    for user in users:
        if hmac.compare_digest(user.name.encode(), name.encode()):
            found = user
    reference = found or users[0]
    matches = verify_password(password, reference.password_hash.get_secret_value())
    return found if matches and found is not None else None


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a dashboard path of this site, else the overview."""
    if not value or not value.startswith(HOME_PATH) or any(c in value for c in "\\\r\n\t"):
        return HOME_PATH
    rest = value[len(HOME_PATH):]
    return value if not rest or rest[0] in "/?" else HOME_PATH
