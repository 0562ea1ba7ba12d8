"""Logging in and out of the dashboard.

GET  /dashboard/login    the form (or, with no users configured, how to add one)
POST /dashboard/login    name, password, csrf, next: a session cookie and back to `next`; a
                         wrong name or password gets the form again with an error, and too
                         many of them for a name or from an address a 429 (auth/throttle.py)
POST /dashboard/logout   csrf: the session cookie is dropped
Both POSTs need the CSRF token of the form, matching the browser's nonce cookie.
"""

from __future__ import annotations

import logging
import math
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from nurture.web.dashboard.auth.access import LOGIN_PATH, authenticate, safe_next
from nurture.web.dashboard.auth.session import (
    COOKIE_PATH,
    CSRF_COOKIE,
    SESSION_COOKIE,
    is_csrf_valid,
    new_csrf_nonce,
    session_token,
)
from nurture.web.dashboard.auth.throttle import LoginThrottle
from nurture.web.dashboard.render import render, set_cookie
from nurture.web.state import WebContext, web_context

log = logging.getLogger("nurture.web.dashboard")
Context = Annotated[WebContext, Depends(web_context)]
router = APIRouter(prefix="/dashboard", include_in_schema=False)
MAX_FIELDS = 10
EXPIRED_FORM = "This form has expired or did not come from this page. Please try again."


@router.get("/login")
def login_page(request: Request, context: Context,
               back_to: Annotated[str | None, Query(alias="next")] = None,
               out: str | None = None) -> HTMLResponse:
    notice = "You are logged out." if out else ""
    return _form(request, context, safe_next(back_to), notice=notice)


@router.post("/login")
async def login(request: Request, context: Context) -> Response:
    fields = await _fields(request)
    back_to = safe_next(fields.get("next"))
    name = fields.get("name", "").strip()
    if not is_csrf_valid(context.settings, request.cookies.get(CSRF_COOKIE), fields.get("csrf")):
        return _form(request, context, back_to, name=name, error=EXPIRED_FORM, status=403)
    users = context.settings.dashboard.users
    if not users:
        return _form(request, context, back_to, status=403)
    throttle = login_throttle(request)
    address, moment = request.client.host if request.client else "?", context.clock.now()
    wait = throttle.refused_for(name, address, moment)
    if wait is not None:
        minutes = math.ceil(wait.total_seconds() / 60)
        refused = _form(request, context, back_to, name=name, status=429, error=(
            f"Too many failed logins. Try again in {minutes} minute{'s' * (minutes != 1)}."))
        refused.headers["Retry-After"] = str(math.ceil(wait.total_seconds()))
        return refused
    user = await run_in_threadpool(authenticate, users, name, fields.get("password", ""))
    if user is None:
        throttle.failed(name, address, moment)
        log.warning("dashboard login refused for %r from %s", name[:100], address)
        return _form(request, context, back_to, name=name, error="Wrong name or password.")
    throttle.succeeded(name)
    token, lifetime = session_token(context.settings, user, context.clock.now())
    response = RedirectResponse(back_to, status_code=303)
    set_cookie(request, response, SESSION_COOKIE, token, lifetime)
    set_cookie(request, response, CSRF_COOKIE, new_csrf_nonce())  # a fresh nonce per session
    return response


@router.post("/logout")
async def logout(request: Request, context: Context) -> Response:
    fields = await _fields(request)
    if not is_csrf_valid(context.settings, request.cookies.get(CSRF_COOKIE), fields.get("csrf")):
        return render(request, context.settings, "message.html", {
            "title": "Not logged out", "message": EXPIRED_FORM, "nav": [], "page": "",
            "who": None}, status=403)
    response = RedirectResponse(f"{LOGIN_PATH}?out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax")
    return response


def login_throttle(request: Request) -> LoginThrottle:
    """The app's throttle, made on first use (one per app, so each test app starts afresh)."""
    throttle: LoginThrottle | None = getattr(request.app.state, "login_throttle", None)
    if throttle is None:
        throttle = request.app.state.login_throttle = LoginThrottle()
    return throttle


def _form(request: Request, context: Context, back_to: str, *, name: str = "",
          error: str = "", notice: str = "", status: int = 200) -> HTMLResponse:
    return render(request, context.settings, "login.html", {
        "title": "Log in", "nav": [], "page": "login", "who": None, "next": back_to,
        "name": name, "error": error, "notice": notice,
        "has_users": bool(context.settings.dashboard.users)}, status=status)


async def _fields(request: Request) -> dict[str, str]:
    """The urlencoded form, first value of each field; nothing if it is not one."""
    if request.headers.get("content-type", "").split(";")[0].strip() != \
            "application/x-www-form-urlencoded":
        return {}
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        parsed = parse_qs(body, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        return {}
    return {key: values[0] for key, values in parsed.items()}
