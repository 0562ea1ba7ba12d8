"""Who gets into the dashboard: a user who logs in through the form (CSRF-protected, constant-
time checks, a signed HttpOnly session cookie that expires), or a script with the API token.
Everyone else is sent to the login page, or refused."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from nurture.core.passwords import hash_password
from nurture.web.dashboard.auth.session import csrf_token

from .conftest import Dashboard, make_dashboard
from .site import API_KEY, PASSWORD, USER, dashboard_settings

PAGES = ["/dashboard", "/dashboard/velocity", "/dashboard/forecast", "/dashboard/sequences",
         "/dashboard/sources", "/dashboard/leads", "/dashboard/leads/1"]


def test_without_credentials_every_page_sends_the_browser_to_the_login_page(
        dashboard: Dashboard) -> None:
    visitor = dashboard.visitor()
    for page in PAGES:
        response = visitor.get(page)
        assert response.status_code == 303, page
        assert response.headers["location"] == f"/dashboard/login?next={page}"
    response = visitor.get("/dashboard/sources?from=2026-02-01&industry=retail")
    assert response.headers["location"] == \
        "/dashboard/login?next=/dashboard/sources%3Ffrom%3D2026-02-01%26industry%3Dretail"


def test_logging_in_sets_a_signed_httponly_session_cookie_and_returns_to_the_page(
        dashboard: Dashboard) -> None:
    visitor = dashboard.visitor()
    response = visitor.log_in(next_path="/dashboard/sources?industry=retail")
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/sources?industry=retail"
    cookie = next(c for c in response.headers.get_list("set-cookie")
                  if c.startswith("nurture_session="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path=/dashboard", "samesite=lax", "max-age=43200"} <= flags
    page = visitor.get("/dashboard/sources?industry=retail")
    assert page.status_code == 200
    assert f"<span>{USER}</span>" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_logging_out_ends_the_session(dashboard: Dashboard) -> None:
    visitor = dashboard.logged_in()
    response = visitor.call("POST", "/dashboard/logout", data={"csrf": visitor.csrf("/dashboard")})
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login?out=1"
    assert "You are logged out." in visitor.get("/dashboard/login?out=1").text
    assert visitor.get("/dashboard").status_code == 303


def test_a_wrong_password_or_an_unknown_name_gets_the_form_again_with_an_error(
        dashboard: Dashboard, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="nurture.web.dashboard")
    for name, password in ((USER, "wrong password"), ("nobody", PASSWORD), (USER, ""),
                           (USER.upper(), PASSWORD)):
        visitor = dashboard.visitor()
        response = visitor.log_in(name, password)
        assert response.status_code == 200, name
        assert "Wrong name or password." in response.text
        assert 'name="password"' in response.text
        assert not any(c.startswith("nurture_session=")
                       for c in response.headers.get_list("set-cookie"))
        assert visitor.get("/dashboard").status_code == 303
    assert sum("dashboard login refused" in r.getMessage() for r in caplog.records) == 4
    assert not any(PASSWORD in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("csrf", ["", "forged.token", "missing"])
def test_a_login_without_the_forms_csrf_token_is_refused(dashboard: Dashboard,
                                                         csrf: str) -> None:
    visitor = dashboard.visitor()
    visitor.csrf()  # the browser has its nonce cookie, but the form is not this page's
    fields = {"name": USER, "password": PASSWORD, **({} if csrf == "missing" else
                                                     {"csrf": csrf})}
    response = visitor.call("POST", "/dashboard/login", data=fields)
    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert visitor.get("/dashboard").status_code == 303


def test_a_token_from_another_browser_does_not_match_this_browsers_nonce(
        dashboard: Dashboard) -> None:
    attacker, victim = dashboard.visitor(), dashboard.visitor()
    token = attacker.csrf()
    victim.csrf()
    response = victim.call("POST", "/dashboard/login", data={
        "csrf": token, "name": USER, "password": PASSWORD})
    assert response.status_code == 403


def test_logout_needs_the_csrf_token(dashboard: Dashboard) -> None:
    visitor = dashboard.logged_in()
    response = visitor.call("POST", "/dashboard/logout", data={"csrf": "forged"})
    assert response.status_code == 403
    assert visitor.get("/dashboard").status_code == 200


def test_the_session_expires(dashboard: Dashboard) -> None:
    visitor = dashboard.logged_in()
    dashboard.clock.advance(timedelta(hours=11, minutes=59))
    assert visitor.get("/dashboard").status_code == 200
    dashboard.clock.advance(timedelta(minutes=1))
    assert visitor.get("/dashboard").status_code == 303


def test_a_tampered_or_foreign_session_cookie_is_no_session(dashboard: Dashboard) -> None:
    visitor = dashboard.logged_in()
    genuine = visitor.cookies["nurture_session"]
    body, _, tag = genuine.partition(".")
    forged_body = body[:-2] + ("AA" if body[-2:] != "AA" else "BB")
    for value in (f"{forged_body}.{tag}", f"{body}.{tag[:-1]}", "garbage", ""):
        stranger = dashboard.visitor()
        stranger.cookies.set("nurture_session", value, domain="dashboard.test",
                             path="/dashboard")
        assert stranger.get("/dashboard").status_code == 303, value


def test_changing_a_users_password_ends_their_sessions(dashboard: Dashboard) -> None:
    visitor = dashboard.logged_in()
    user = dashboard.settings.dashboard.users[0]
    dashboard.settings.dashboard.users[0] = user.model_copy(
        update={"password_hash": SecretStr(hash_password("a new password", n=2**10))})
    assert visitor.get("/dashboard").status_code == 303


def test_the_api_token_opens_every_page_and_a_wrong_one_is_401(dashboard: Dashboard) -> None:
    visitor = dashboard.visitor()
    for page in PAGES:
        response = visitor.get(page, headers={"Authorization": f"Bearer {API_KEY}"})
        assert response.status_code == 200, page
        assert "Log out" not in response.text
    for header in ("Bearer wrong", f"Bearer {API_KEY}x", f"Basic {API_KEY}", "Bearer"):
        response = visitor.get("/dashboard", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("next_path", ["https://evil.example/", "//evil.example/x",
                                       "/dashboardevil", "/api/reports/funnel",
                                       "/dashboard\\@evil.example"])
def test_after_login_only_dashboard_paths_are_followed(dashboard: Dashboard,
                                                       next_path: str) -> None:
    response = dashboard.visitor().log_in(next_path=next_path)
    assert response.headers["location"] == "/dashboard"


def test_with_no_users_configured_the_login_page_says_only_the_token_works(
        engine: Engine, db_url: str, tmp_path: Path) -> None:
    site = make_dashboard(engine, dashboard_settings(db_url, users=[]), tmp_path, {})
    visitor = site.visitor()
    page = visitor.get("/dashboard/login")
    assert "No dashboard users are configured" in page.text
    assert 'name="password"' not in page.text
    token = csrf_token(site.settings, visitor.cookies["nurture_csrf"])  # the page has no form
    response = visitor.call("POST", "/dashboard/login", data={
        "csrf": token, "name": USER, "password": PASSWORD})
    assert response.status_code == 403
    assert "No dashboard users are configured" in response.text
    assert visitor.get("/dashboard").status_code == 303
    assert visitor.get("/dashboard", headers={
        "Authorization": f"Bearer {API_KEY}"}).status_code == 200
