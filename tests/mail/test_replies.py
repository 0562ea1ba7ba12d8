"""A reply's own words and an auto-reply's return date."""

from __future__ import annotations

from datetime import date

import pytest

from nurture.mail.replies import own_words, return_date

THURSDAY = date(2026, 11, 26)


@pytest.mark.parametrize(("text", "sent", "expected"), [
    ("I will be back on 2 December.", THURSDAY, date(2026, 12, 2)),
    ("Returning Monday 7 Dec 2026, with limited access before.", THURSDAY, date(2026, 12, 7)),
    ("Back in the office on Monday, December 7th.", THURSDAY, date(2026, 12, 7)),
    ("I'm back on 2026-12-07.", None, date(2026, 12, 7)),
    ("Out until 4 December 2026, back on Monday 7 December 2026.", THURSDAY, date(2026, 12, 7)),
    ("Out of the office until 4 December.", THURSDAY, date(2026, 12, 4)),
    ("Away till January 4th", date(2026, 12, 20), date(2027, 1, 4)),
    ("I'm back Monday.", THURSDAY, date(2026, 11, 30)),
    ("I'm back on Thursday.", THURSDAY, date(2026, 12, 3)),  # a week on, not today
    ("Resuming work on 1st of March", THURSDAY, date(2027, 3, 1)),
    ("back on 24 November", THURSDAY, None),  # passed, and within the week of slack
    ("back on 2 December 2024", THURSDAY, None),  # before the message
    ("back on 2 December 2028", THURSDAY, None),  # more than a year away
    ("back on 31 February", THURSDAY, None),  # no such day
    ("back in 2 weeks", THURSDAY, None),
    ("back on 07/12", THURSDAY, None),  # day/month order differs by country
    ("back on 2 December", None, None),  # no year and no message date to read it against
    ("I'll get back to you on pricing.", THURSDAY, None),
    ("", THURSDAY, None),
])
def test_return_date(text: str, sent: date | None, expected: date | None) -> None:
    assert return_date(text, sent) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Sounds good.\n\nOn Mon, Nov 23, 2026 at 10:02 AM Relay <hello@relay.example.com> wrote:\n"
     "> Hi", "Sounds good.\n"),
    ("Sounds good.\nOn Mon, Nov 23, 2026 at 10:02 AM Relay <hello@\nrelay.example.com> wrote:\n"
     "> Hi", "Sounds good."),
    ("Gerne.\n\nAm 23.11.2026 um 10:02 schrieb Relay <hello@relay.example.com>:\n> Hi",
     "Gerne.\n"),
    ("Yes.\n-----Original Message-----\nFrom: Relay", "Yes."),
    ("Yes.\n\n________________________________\nFrom: Relay\nSent: Monday", "Yes.\n"),
    ("Yes.\nFrom: Relay <hello@relay.example.com>\nSent: Monday\nTo: me", "Yes."),
    ("Yes.\n> quoted line\nAgain.", "Yes.\nAgain."),
    ("Yes.\n-- \nPat, CTO\n+1 555 0100", "Yes."),
])
def test_own_words_drop_quoted_text_and_signature(text: str, expected: str) -> None:
    assert own_words(text) == expected
