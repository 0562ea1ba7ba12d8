"""Telling machine opens and clicks from people's: security scanners and privacy proxies fetch
the pixel and follow links on their own. Their hits are recorded, flagged `machine`, and earn
no score. A hit is a machine's when, checked in this order:

1. head-request   it is a HEAD request: link checkers probe, browsers GET.
2. no-user-agent  it sends no User-Agent at all; every mail client and browser sends one.
3. scanner        its User-Agent names a mail security scanner or an HTTP library
                  (SCANNER_AGENTS: Barracuda, Mimecast, Proofpoint, python-requests, curl, …,
                  or the words bot, crawler, spider).
4. apple-mpp      an open by Apple Mail Privacy Protection, which loads every image through
                  Apple's proxy as the message arrives, read or not: a bare "Mozilla/5.0"
                  User-Agent (the proxy's; real clients name themselves) or an address in
                  Apple's own network, APPLE_NETWORKS (17.0.0.0/8). Opens only: a click from
                  Apple's network is a person using iCloud Private Relay.
5. prefetch       it came within seconds of the send (OPEN_PREFETCH, CLICK_PREFETCH), or
                  before it: scanners fetch as the message is delivered, people are slower.
6. burst          a click that makes BURST_LINKS different links of the same email followed
                  within BURST_WINDOW: a scanner walking every link; a person clicks one.
Google's image proxy (GoogleImageProxy) is not flagged: Gmail loads the pixel when the
message is opened, so it is a real open, as ESPs count it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

OPEN_PREFETCH = timedelta(seconds=10)
CLICK_PREFETCH = timedelta(seconds=30)
BURST_LINKS = 2
BURST_WINDOW = timedelta(seconds=1)
RECENT_WINDOW = BURST_WINDOW
"""How far back the caller must look for `recent` hits of the same email."""
SCANNER_AGENTS = (
    "barracuda", "mimecast", "proofpoint", "messagelabs", "symantec", "forcepoint", "ironport",
    "fortiguard", "trendmicro", "trend micro", "sophos", "zscaler", "safelinks", "appriver",
    "python-requests", "python-urllib", "aiohttp", "httpx", "curl/", "wget/", "go-http-client",
    "java/", "okhttp", "apache-httpclient", "libwww-perl", "scrapy", "headlesschrome",
    "phantomjs",
)
_ROBOT_WORDS = re.compile(r"bot\b|crawler|spider", re.IGNORECASE)
_BARE_MOZILLA = "mozilla/5.0"
APPLE_NETWORKS = (ipaddress.ip_network("17.0.0.0/8"),)


@dataclass(frozen=True)
class Hit:
    """One request for the pixel ("open") or a tracked link ("click")."""

    kind: Literal["open", "click"]
    user_agent: str
    ip: str
    at: datetime
    url: str | None = None
    method: str = "GET"


@dataclass(frozen=True)
class Verdict:
    machine: bool
    reason: str = ""  # one of the names above when machine, else ""


HUMAN = Verdict(False)


def classify_hit(hit: Hit, sent_at: datetime | None, recent: Sequence[Hit]) -> Verdict:
    """Whether `hit` is a machine's and why. `sent_at` is when the email was handed to the mail
    server (None if unknown); `recent` are the earlier hits of the same email within
    RECENT_WINDOW."""
    agent = hit.user_agent.strip().lower()
    if hit.method.upper() == "HEAD":
        return Verdict(True, "head-request")
    if not agent:
        return Verdict(True, "no-user-agent")
    if any(name in agent for name in SCANNER_AGENTS) or _ROBOT_WORDS.search(agent):
        return Verdict(True, "scanner")
    if hit.kind == "open" and (agent == _BARE_MOZILLA or _in_apple_network(hit.ip)):
        return Verdict(True, "apple-mpp")
    if sent_at is not None and hit.at - sent_at < _prefetch_window(hit.kind):
        return Verdict(True, "prefetch")
    if hit.kind == "click" and _is_burst(hit, recent):
        return Verdict(True, "burst")
    return HUMAN


def _prefetch_window(kind: str) -> timedelta:
    return OPEN_PREFETCH if kind == "open" else CLICK_PREFETCH


def _in_apple_network(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # "::ffff:17.0.0.1" from a dual-stack listener
    return any(address in network for network in APPLE_NETWORKS)


def _is_burst(hit: Hit, recent: Sequence[Hit]) -> bool:
    links = {hit.url} | {
        earlier.url for earlier in recent
        if earlier.kind == "click" and abs(hit.at - earlier.at) <= BURST_WINDOW
    }
    return len(links - {None}) >= BURST_LINKS
