"""Each machine-hit heuristic, and the people who must not be mistaken for machines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nurture.core.machine import (
    BURST_WINDOW,
    CLICK_PREFETCH,
    OPEN_PREFETCH,
    Hit,
    Verdict,
    classify_hit,
)

SENT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = SENT + timedelta(hours=2)
SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
GMAIL_PROXY = ("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 "
               "(via ggpht.com GoogleImageProxy)")
PERSON_IP = "198.51.100.7"


def hit(kind: str = "open", agent: str = SAFARI, ip: str = PERSON_IP, at: datetime = LATER,
        url: str | None = None, method: str = "GET") -> Hit:
    return Hit(kind, agent, ip, at, url, method)  # type: ignore[arg-type]


def click(url: str, at: datetime = LATER, agent: str = SAFARI) -> Hit:
    return hit("click", agent, at=at, url=url)


@pytest.mark.parametrize("agent", [
    "Barracuda Sentinel (EE)",
    "Mozilla/5.0 (compatible; Mimecast URL Protect)",
    "Proofpoint URL Defense",
    "python-requests/2.31.0",
    "curl/8.5.0",
    "Go-http-client/1.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.0.0 Safari/537.36",
])
@pytest.mark.parametrize("kind", ["open", "click"])
def test_known_scanner_user_agents_are_machines(agent: str, kind: str) -> None:
    found = classify_hit(hit(kind, agent, url="https://example.com/"), SENT, [])
    assert found == Verdict(True, "scanner")


def test_a_hit_without_a_user_agent_is_a_machine() -> None:
    assert classify_hit(hit(agent="  "), SENT, []) == Verdict(True, "no-user-agent")


def test_a_head_request_is_a_link_check_not_a_click() -> None:
    found = classify_hit(hit("click", url="https://example.com/", method="HEAD"), SENT, [])
    assert found == Verdict(True, "head-request")


@pytest.mark.parametrize(("agent", "ip"), [
    ("Mozilla/5.0", PERSON_IP),           # the MPP proxy's bare user agent
    (SAFARI, "17.58.101.12"),            # Apple's own network
    (SAFARI, "::ffff:17.58.101.12"),     # the same, seen by a dual-stack listener
])
def test_apple_mail_privacy_protection_opens_are_machines(agent: str, ip: str) -> None:
    assert classify_hit(hit("open", agent, ip), SENT, []) == Verdict(True, "apple-mpp")


def test_a_click_from_apples_network_is_a_person_on_private_relay() -> None:
    relayed = hit("click", SAFARI, "17.58.101.12", url="https://example.com/")
    assert classify_hit(relayed, SENT, []) == Verdict(False)


@pytest.mark.parametrize(("kind", "window"), [("open", OPEN_PREFETCH), ("click", CLICK_PREFETCH)])
def test_a_hit_seconds_after_the_send_is_a_prefetch(kind: str, window: timedelta) -> None:
    early = hit(kind, at=SENT + window - timedelta(seconds=1), url="https://example.com/")
    in_time = hit(kind, at=SENT + window, url="https://example.com/")
    assert classify_hit(early, SENT, []) == Verdict(True, "prefetch")
    assert classify_hit(in_time, SENT, []) == Verdict(False)


def test_a_hit_before_the_recorded_send_time_is_a_prefetch() -> None:
    assert classify_hit(hit(at=SENT - timedelta(seconds=2)), SENT, []).reason == "prefetch"


def test_without_a_send_time_the_prefetch_rule_does_not_apply() -> None:
    assert classify_hit(hit(at=SENT), None, []) == Verdict(False)


def test_different_links_clicked_within_a_second_are_a_burst() -> None:
    first = click("https://example.com/a")
    second = click("https://example.com/b", at=LATER + BURST_WINDOW)
    assert classify_hit(second, SENT, [first]) == Verdict(True, "burst")


def test_the_same_link_clicked_twice_quickly_is_a_person_double_clicking() -> None:
    first = click("https://example.com/a")
    again = click("https://example.com/a", at=LATER + timedelta(milliseconds=300))
    assert classify_hit(again, SENT, [first]) == Verdict(False)


def test_different_links_clicked_seconds_apart_are_a_person() -> None:
    first = click("https://example.com/a")
    second = click("https://example.com/b", at=LATER + BURST_WINDOW + timedelta(milliseconds=1))
    assert classify_hit(second, SENT, [first]) == Verdict(False)


def test_an_open_next_to_a_click_is_no_burst() -> None:
    opened = hit("open")
    clicked = click("https://example.com/a", at=LATER + timedelta(milliseconds=200))
    assert classify_hit(clicked, SENT, [opened]) == Verdict(False)


@pytest.mark.parametrize("agent", [SAFARI, GMAIL_PROXY,
                                   "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook "
                                   "16.0.17328; Pro)"])
def test_people_in_mail_clients_and_gmails_image_proxy_are_people(agent: str) -> None:
    assert classify_hit(hit("open", agent), SENT, []) == Verdict(False)
