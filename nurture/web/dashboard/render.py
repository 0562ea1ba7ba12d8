"""Turning a template into a dashboard response: Jinja2 with autoescaping (every value from the
database is escaped), a CSRF token for the page's forms, and headers that keep the pages out of
caches and frames and let them load nothing but nurture's own stylesheet."""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from nurture import __version__
from nurture.settings import Settings
from nurture.web.dashboard.auth.session import (
    COOKIE_PATH,
    CSRF_COOKIE,
    csrf_token,
    new_csrf_nonce,
)
from nurture.web.dashboard.formats import shown, when

STATIC_PATH = "/dashboard/static"
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

templates = Environment(loader=PackageLoader("nurture.web.dashboard", "templates"),
                        autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                        lstrip_blocks=True)
templates.filters["shown"] = shown
templates.filters["when"] = when
templates.globals["stylesheet"] = f"{STATIC_PATH}/dashboard.css?v={__version__}"


def render(request: Request, settings: Settings, template: str, values: dict[str, Any],
           status: int = 200) -> HTMLResponse:
    """The page; sets the browser's CSRF nonce cookie when it has none."""
    nonce = request.cookies.get(CSRF_COOKIE, "")
    is_new = not _NONCE.match(nonce)
    if is_new:
        nonce = new_csrf_nonce()
    html = templates.get_template(template).render(csrf=csrf_token(settings, nonce), **values)
    response = HTMLResponse(html, status_code=status, headers=HEADERS)
    if is_new:
        set_cookie(request, response, CSRF_COOKIE, nonce)
    return response


def set_cookie(request: Request, response: Response, name: str, value: str,
               max_age: int | None = None) -> None:
    """A dashboard cookie: HttpOnly, SameSite=Lax, Secure over HTTPS, for /dashboard only."""
    response.set_cookie(name, value, max_age=max_age, path=COOKIE_PATH, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")
