"""Waits as marketers write them: every accepted form, and the messages for the rejected ones."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nurture.core.durations import Wait, parse_duration, parse_wait
from nurture.core.errors import DurationError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0d", Wait()),
        ("3d", Wait(delta=timedelta(days=3))),
        ("36h", Wait(delta=timedelta(hours=36))),
        ("90m", Wait(delta=timedelta(minutes=90))),
        ("1w", Wait(delta=timedelta(weeks=1))),
        ("1d 12h", Wait(delta=timedelta(days=1, hours=12))),
        ("1d, 12h", Wait(delta=timedelta(days=1, hours=12))),
        ("1d12h", Wait(delta=timedelta(days=1, hours=12))),
        ("2 weeks", Wait(delta=timedelta(weeks=2))),
        ("3 Days", Wait(delta=timedelta(days=3))),
        ("  45 mins ", Wait(delta=timedelta(minutes=45))),
        ("1.5d", Wait(delta=timedelta(hours=36))),
        ("3650d", Wait(delta=timedelta(days=3650))),
        ("2 business days", Wait(business_days=2)),
        ("1 business day", Wait(business_days=1)),
        ("3 working days", Wait(business_days=3)),
        ("5bd", Wait(business_days=5)),
        ("2600 business days", Wait(business_days=2600)),
    ],
)
def test_accepted_wait_forms_parse_to_their_wait(text: str, expected: Wait) -> None:
    assert parse_wait(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"'' is not a duration: write e\.g\. \"0d\""),
        ("3", r"'3' is not a duration"),
        ("d", r"'d' is not a duration"),
        ("-3d", r"'-3d' is not a duration"),
        ("3d -1h", r"'3d -1h' is not a duration"),
        ("3d and then some", r"is not a duration"),
        ("3 fortnights", r"unknown unit 'fortnights' in '3 fortnights': use m, h, d, w"),
        ("3x", r"unknown unit 'x'"),
        ("3651d", r"'3651d' is longer than ten years"),
        ("3650d 1m", r"is longer than ten years"),
        ("9" * 400 + "d", r"is longer than ten years"),
        ("2601 business days", r"is longer than ten years"),
        ("1" * 5000 + " business days", r"is longer than ten years"),
    ],
)
def test_rejected_wait_forms_say_what_to_write(text: str, message: str) -> None:
    with pytest.raises(DurationError, match=message):
        parse_wait(text)


@pytest.mark.parametrize("value", [3, None, 1.5])
def test_a_wait_that_is_not_text_is_rejected_with_its_type(value: object) -> None:
    expected = f"must be text such as \"3d\", not {type(value).__name__}"
    with pytest.raises(DurationError, match=expected):
        parse_wait(value)  # type: ignore[arg-type]


def test_parse_duration_refuses_business_days_it_cannot_express() -> None:
    with pytest.raises(DurationError, match="unknown unit 'business'"):
        parse_duration("2 business days")


def test_a_wait_reads_back_in_its_own_words() -> None:
    assert str(parse_wait("2 business days")) == "2 business days"
    assert str(parse_wait("36h")) == "1 day, 12:00:00"
