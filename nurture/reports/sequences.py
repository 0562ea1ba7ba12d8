"""The sequences report: per sequence, per touch and per A/B subject variant, the emails sent in
the period and what their recipients did with them (counted as emails.py says), with each
variant of a touch compared with its first on reply rate and on click rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from itertools import groupby

from sqlalchemy import Connection

from nurture.core.sequences import Pipeline
from nurture.reports.emails import email_counts
from nurture.reports.filters import Filters, Window
from nurture.reports.rates import rate
from nurture.reports.significance import ProportionTest, two_proportion_test


@dataclass(frozen=True)
class Engagement:
    """Email counts and their rates: bounces over sent, the rest over delivered."""

    sent: int = 0
    bounced: int = 0
    opened: int = 0  # by a person
    clicked: int = 0
    replied: int = 0
    unsubscribed: int = 0
    delivered: int = field(init=False)
    bounce_rate: float | None = field(init=False)
    open_rate: float | None = field(init=False)
    click_rate: float | None = field(init=False)
    reply_rate: float | None = field(init=False)
    unsubscribe_rate: float | None = field(init=False)

    def __post_init__(self) -> None:
        delivered = self.sent - self.bounced
        computed = {"delivered": delivered, "bounce_rate": rate(self.bounced, self.sent),
                    "open_rate": rate(self.opened, delivered),
                    "click_rate": rate(self.clicked, delivered),
                    "reply_rate": rate(self.replied, delivered),
                    "unsubscribe_rate": rate(self.unsubscribed, delivered)}
        for name, value in computed.items():
            object.__setattr__(self, name, value)

    def __add__(self, other: Engagement) -> Engagement:
        return Engagement(*(getattr(self, f.name) + getattr(other, f.name)
                            for f in fields(self) if f.init))


@dataclass(frozen=True)
class Variant:
    variant: int  # index into the touch's subjects, from 0
    subject: str  # one subject as sent (subjects are templates, so they vary by lead)
    emails: Engagement
    reply_test: ProportionTest | None  # against the first variant; None for the first
    click_test: ProportionTest | None


@dataclass(frozen=True)
class TouchStats:
    touch: int  # 1 for the first touch
    emails: Engagement
    variants: list[Variant]  # when it has more than one subject


@dataclass(frozen=True)
class SequenceStats:
    sequence: str
    emails: Engagement
    touches: list[TouchStats]


@dataclass(frozen=True)
class SequencesReport:
    window: Window
    sequences: list[SequenceStats]


def sequences_report(connection: Connection, pipeline: Pipeline, filters: Filters,
                     now: datetime) -> SequencesReport:
    """`pipeline` is unused (emails do not depend on stages); taken for a uniform signature."""
    window = filters.window(now)
    rows = [(*key, subject, Engagement(sent, found.get("bounced", 0), found.get("opened", 0),
                                       found.get("clicked", 0), found.get("replied", 0),
                                       found.get("unsubscribed", 0)))
            for key, (subject, sent, found) in email_counts(connection, filters, window).items()]
    sequences = []
    for sequence, of_sequence in groupby(rows, key=lambda row: row[0]):
        touches = []
        for touch, of_touch in groupby(of_sequence, key=lambda row: row[1]):
            variants = _compared([(row[2], row[3], row[4]) for row in of_touch])
            touches.append(TouchStats(touch + 1, sum((v.emails for v in variants), Engagement()),
                                      variants if len(variants) > 1 else []))
        sequences.append(SequenceStats(sequence, sum((t.emails for t in touches), Engagement()),
                                       touches))
    return SequencesReport(window, sequences)


def _compared(variants: list[tuple[int, str, Engagement]]) -> list[Variant]:
    """Each variant with its tests against the first."""
    _, _, first = variants[0]
    compared = []
    for index, (number, subject, emails) in enumerate(variants):
        reply = click = None
        if index:
            reply = two_proportion_test(emails.replied, emails.delivered,
                                        first.replied, first.delivered)
            click = two_proportion_test(emails.clicked, emails.delivered,
                                        first.clicked, first.delivered)
        compared.append(Variant(number, subject, emails, reply, click))
    return compared
