"""Password guessing on the login form is slowed down: after five failed logins within fifteen
minutes for one name, or from one client address, it is refused with 429 for fifteen minutes,
whatever the password. Time moves on the app's ManualClock."""

from __future__ import annotations

from datetime import timedelta

import httpx

from .conftest import Dashboard, Visitor
from .site import PASSWORD, USER

REFUSED = "Too many failed logins."


def has_session(response: httpx.Response) -> bool:
    return any(c.startswith("nurture_session=") for c in response.headers.get_list("set-cookie"))


def fail(visitor: Visitor, name: str = USER) -> None:
    response = visitor.log_in(name, "wrong password")
    assert response.status_code == 200
    assert "Wrong name or password." in response.text


def test_five_wrong_passwords_for_a_name_refuse_it_from_anywhere_for_fifteen_minutes(
        empty_dashboard: Dashboard) -> None:
    for n in range(5):
        fail(empty_dashboard.visitor(f"198.51.100.{n}"))
    elsewhere = empty_dashboard.visitor("203.0.113.7")
    response = elsewhere.log_in(USER.upper(), PASSWORD)  # names ignore case here
    assert response.status_code == 429
    assert REFUSED in response.text and "Try again in 15 minutes." in response.text
    assert response.headers["retry-after"] == "900"
    refused = elsewhere.log_in(USER, PASSWORD)
    assert refused.status_code == 429 and not has_session(refused)
    assert elsewhere.get("/dashboard").status_code == 303
    empty_dashboard.clock.advance(timedelta(minutes=14, seconds=1))
    response = elsewhere.log_in(USER, PASSWORD)
    assert response.status_code == 429 and "Try again in 1 minute." in response.text
    assert response.headers["retry-after"] == "59"
    empty_dashboard.clock.advance(timedelta(seconds=59))
    assert elsewhere.log_in(USER, PASSWORD).status_code == 303
    assert elsewhere.get("/dashboard").status_code == 200


def test_five_failures_from_one_address_refuse_every_name_from_it_but_not_from_others(
        empty_dashboard: Dashboard) -> None:
    guesser = empty_dashboard.visitor("198.51.100.9")
    for n in range(5):
        fail(guesser, f"user{n}")
    assert guesser.log_in(USER, PASSWORD).status_code == 429
    assert empty_dashboard.visitor("198.51.100.10").log_in(USER, PASSWORD).status_code == 303


def test_failures_further_apart_than_the_window_never_add_up(
        empty_dashboard: Dashboard) -> None:
    visitor = empty_dashboard.visitor()
    for _ in range(3):
        for _ in range(4):
            fail(visitor)
        empty_dashboard.clock.advance(timedelta(minutes=15, seconds=1))
    fail(visitor)
    assert visitor.log_in(USER, PASSWORD).status_code == 303


def test_a_correct_password_clears_the_names_failures(empty_dashboard: Dashboard) -> None:
    for n in range(4):
        fail(empty_dashboard.visitor(f"198.51.100.{n}"))
    assert empty_dashboard.visitor("198.51.100.50").log_in(USER, PASSWORD).status_code == 303
    for n in range(4):
        fail(empty_dashboard.visitor(f"198.51.100.{n + 10}"))
    assert empty_dashboard.visitor("198.51.100.51").log_in(USER, PASSWORD).status_code == 303
