"""The unsubscribe link: RFC 8058 one-click POST, the confirm page, the pause choice."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from nurture.core.tokens import sign
from nurture.engine.batch import blocked_now
from nurture.engine.compose import Identity, unsubscribe_url

from .conftest import BASE_URL, NOW, SECRET, Site

IDENTITY = Identity("Nurture Sales", "sales@nurture.test", None, "1 Main Street", BASE_URL,
                    SECRET)
ONE_CLICK = {"content": "List-Unsubscribe=One-Click",
             "headers": {"Content-Type": "application/x-www-form-urlencoded"}}


def _form(choice: str) -> dict:
    return {"data": {"choice": choice}}


@pytest.fixture
def lead_id(site: Site) -> int:
    lead_id = site.lead()
    site.sent_email(lead_id)
    site.clock.current = NOW + timedelta(days=2)
    return lead_id


def test_one_click_post_unsubscribes_before_answering(site: Site, lead_id: int) -> None:
    response = site.call("POST", unsubscribe_url(IDENTITY, lead_id), **ONE_CLICK)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert site.get_lead(lead_id).status == "unsubscribed"
    [enrollment] = site.enrollments(lead_id)
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", "unsubscribed")
    [unsubscribed] = [e for e in site.events() if e.type == "unsubscribed"]
    assert (unsubscribed.source, unsubscribed.data["method"]) == ("unsubscribe", "one-click")
    with site.engine.connect() as connection:  # a touch claimed earlier is skipped at send time
        assert blocked_now(connection, [lead_id]) == {lead_id}


def test_a_second_unsubscribe_changes_nothing_more(site: Site, lead_id: int) -> None:
    for _ in range(2):
        assert site.call("POST", unsubscribe_url(IDENTITY, lead_id), **ONE_CLICK).is_success
    assert [e.type for e in site.events()] == ["unsubscribed"]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_fetching_the_link_shows_the_page_and_changes_nothing(site: Site, lead_id: int,
                                                              method: str) -> None:
    response = site.call(method, unsubscribe_url(IDENTITY, lead_id))
    assert response.status_code == 200
    if method == "GET":
        assert 'method="post"' in response.text
        assert 'value="unsubscribe"' in response.text and 'value="pause"' in response.text
        assert "ann@example.com" in response.text and "Nurture Sales" in response.text
    lead = site.get_lead(lead_id)
    assert (lead.status, lead.paused_until) == ("active", None)
    assert [e.status for e in site.enrollments(lead_id)] == ["active"]
    assert site.events() == []


@pytest.mark.parametrize("body", ["", "List-Unsubscribe=Yes", "choice=everything", "x=1"])
def test_a_post_that_asks_for_nothing_shows_the_page_and_changes_nothing(
        site: Site, lead_id: int, body: str) -> None:
    response = site.call("POST", unsubscribe_url(IDENTITY, lead_id), content=body, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200 and 'value="unsubscribe"' in response.text
    assert site.get_lead(lead_id).status == "active"
    assert site.events() == []


def test_the_page_choice_to_unsubscribe_answers_with_a_page(site: Site, lead_id: int) -> None:
    response = site.call("POST", unsubscribe_url(IDENTITY, lead_id), **_form("unsubscribe"))
    assert response.status_code == 200 and "You are unsubscribed" in response.text
    assert site.get_lead(lead_id).status == "unsubscribed"
    assert site.events()[0].data["method"] == "page"


def test_the_page_choice_to_pause_sets_paused_until_instead(site: Site, lead_id: int) -> None:
    response = site.call("POST", unsubscribe_url(IDENTITY, lead_id), **_form("pause"))
    assert response.status_code == 200 and "Emails paused" in response.text
    lead = site.get_lead(lead_id)
    assert lead.status == "active"
    assert lead.paused_until == site.clock.now() + timedelta(days=30)
    assert [e.status for e in site.enrollments(lead_id)] == ["active"]
    assert [e.type for e in site.events()] == ["paused"]


def test_pausing_after_unsubscribing_leaves_the_lead_unsubscribed(site: Site,
                                                                 lead_id: int) -> None:
    site.call("POST", unsubscribe_url(IDENTITY, lead_id), **ONE_CLICK)
    response = site.call("POST", unsubscribe_url(IDENTITY, lead_id), **_form("pause"))
    assert "You are unsubscribed" in response.text
    lead = site.get_lead(lead_id)
    assert (lead.status, lead.paused_until) == ("unsubscribed", None)


def test_unsubscribe_links_never_expire(site: Site, lead_id: int) -> None:
    site.clock.current = NOW + timedelta(days=5 * 365)
    assert site.call("POST", unsubscribe_url(IDENTITY, lead_id), **ONE_CLICK).status_code == 200
    assert site.get_lead(lead_id).status == "unsubscribed"


BAD_TOKENS = [
    sign("another-secret", "unsubscribe", "1"),
    sign(SECRET, "open", "1"),
    sign(SECRET, "unsubscribe", "999999"),
    sign(SECRET, "unsubscribe", "1; drop table lead"),
    "garbage",
]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_bad_token_gets_404_and_changes_nothing(site: Site, lead_id: int, method: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    for token in BAD_TOKENS:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="nurture.web.unsubscribe"):
            response = site.call(method, f"/u/{token}",
                                 **(ONE_CLICK if method == "POST" else {}))
        assert response.status_code == 404, token
        assert "not valid" in response.text
        assert "unsubscribe link refused" in caplog.text
    assert site.get_lead(lead_id).status == "active"
    assert site.events() == []
