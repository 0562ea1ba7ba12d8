"""A reply's own words: the text above the quoted email, whether it asks to be left alone, and
for an auto-reply the date its sender says they are back. Pure: dates without a year are read
against the message's own Date, never the clock.

Return dates, first found wins: a date after "back", "return(ing)", "in the office" or
"resuming"; else one after "until", "till" or "through" (the last day away: close enough, and a
second auto-reply pauses the lead again). A date is an ISO date (2026-12-07), "7 December
[2026]", "December 7th[, 2026]", with or without a weekday in front, or a weekday alone ("back
on Monday": the next Monday after the message). Numeric dates like 07/12 are ignored: day and
month order differ by country. A date before the message or more than a year after it is
ignored; a date without a year is the next one on or after the message (a week of slack, for
auto-replies left on a little too long, before rolling to next year).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage

from nurture.render.text import html_to_text

SNIPPET_CHARS = 500
_LATEST_RETURN = timedelta(days=366)
_YEARLESS_SLACK = timedelta(days=7)
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_QUOTE_START = re.compile(
    r"^(?:On\s.{0,300}?\bwrote:|Le\s.{0,300}?a écrit\s?:|Am\s.{0,300}?schrieb.{0,40}:"
    r"|-{2,}\s*Original Message\s*-{2,}|_{10,}|From:\s.*\n(?:Sent|Date):\s)",
    re.MULTILINE | re.DOTALL | re.IGNORECASE)
_SIGNATURE = re.compile(r"^--\s*$", re.MULTILINE)
_NEGATIVE = re.compile(
    r"\b(?:unsubscribe|remove me|take me off|opt(?:-|\s)?out|not interested|no longer interested"
    r"|stop (?:e-?mailing|sending|contacting|writing)|do not (?:contact|e-?mail)"
    r"|don'?t (?:contact|e-?mail))\b", re.IGNORECASE)

_WEEKDAY = r"(?P<weekday>mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?"
_DATE = (
    rf"(?:{_WEEKDAY},?\s+(?:the\s+)?)?"
    r"(?:(?P<iso>\d{4}-\d{2}-\d{2})"
    r"|(?P<day>\d{1,2})(?:st|nd|rd|th)?(?:\s+of)?\s+(?P<month>[a-z]{3,9})\.?(?:,?\s+(?P<year>\d{4}))?"
    r"|(?P<month2>[a-z]{3,9})\.?\s+(?P<day2>\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s+(?P<year2>\d{4}))?"
    rf"|{_WEEKDAY.replace('weekday', 'alone')}\b)"
)
_BACK = re.compile(
    r"\b(?:back|return(?:ing|s)?|in the office|resum(?:e|es|ing))\b"
    r"(?:\s+(?:to\s+(?:the\s+)?(?:office|work)|in\s+the\s+office|at\s+work|work|on|from|by|again))*"
    rf"\s*,?\s*{_DATE}", re.IGNORECASE)
_UNTIL = re.compile(rf"\b(?:until|till|through|thru)\s+(?:and\s+including\s+)?{_DATE}",
                    re.IGNORECASE)


@dataclass(frozen=True)
class ReplyText:
    snippet: str  # at most SNIPPET_CHARS of the sender's own words
    negative: bool
    return_date: date | None


def read_reply(message: EmailMessage, subject: str, sent: datetime | None) -> ReplyText:
    """Read a reply's body; `sent` (the message's Date) anchors dates given without a year."""
    words = own_words(body_text(message))
    flat = " ".join(words.split())
    return ReplyText(flat[:SNIPPET_CHARS], bool(_NEGATIVE.search(words)),
                     return_date(f"{subject}\n{words}", sent.date() if sent else None))


def body_text(message: EmailMessage) -> str:
    """The plain-text body, or the HTML one made plain; '' when there is neither."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, KeyError):  # unknown charset or a broken encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    return html_to_text(content) if part.get_content_subtype() == "html" else content


def own_words(text: str) -> str:
    """What the sender wrote: above the quoted email, without '>' lines and the signature."""
    text = text.replace("\r\n", "\n")
    quote = _QUOTE_START.search(text)
    if quote:
        text = text[:quote.start()]
    signature = _SIGNATURE.search(text)
    if signature:
        text = text[:signature.start()]
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))


def return_date(text: str, sent: date | None) -> date | None:
    """The date the sender of an auto-reply says they are back, if `text` gives one."""
    for pattern in (_BACK, _UNTIL):
        for found in pattern.finditer(text):
            when = _resolve(found, sent)
            if when is not None:
                return when
    return None


def _resolve(found: re.Match[str], sent: date | None) -> date | None:
    parts = found.groupdict()
    if parts["alone"]:
        if sent is None:
            return None
        ahead = (_WEEKDAYS.index(_weekday(parts["alone"])) - sent.weekday() - 1) % 7 + 1
        return sent + timedelta(days=ahead)
    when = _calendar_date(parts, sent)
    if when is None or sent is None:
        return when
    return when if sent <= when <= sent + _LATEST_RETURN else None


def _calendar_date(parts: dict[str, str | None], sent: date | None) -> date | None:
    if parts["iso"]:
        return _valid(*(int(n) for n in parts["iso"].split("-")))
    month = _month(parts["month"] or parts["month2"] or "")
    day = int(parts["day"] or parts["day2"] or 0)
    year_text = parts["year"] or parts["year2"]
    if month is None:
        return None
    if year_text:
        return _valid(int(year_text), month, day)
    if sent is None:
        return None
    when = _valid(sent.year, month, day)
    if when is not None and when < sent - _YEARLESS_SLACK:
        when = _valid(sent.year + 1, month, day)
    return when


def _month(name: str) -> int | None:
    """1-12 for a month's name or its abbreviation ("dec", "sept"); None for other words."""
    name = name.lower()
    for number, full in enumerate(_MONTHS, start=1):
        if len(name) >= 3 and full.startswith(name if name != "sept" else "sep"):
            return number
    return None


def _weekday(name: str) -> str:
    return next(day for day in _WEEKDAYS if day.startswith(name.lower()[:3]))


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
