"""Each report as titled tables of plain values, for the command line's table and CSV output
(and any other tabular export). Each column says what its values are, so a renderer can show
"12.5%" or "€1,200" while CSV keeps the raw number."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from nurture.reports.forecast import ForecastReport
from nurture.reports.funnel import FunnelReport
from nurture.reports.sequences import Engagement, SequencesReport, Variant
from nurture.reports.significance import RULE
from nurture.reports.sources import Segment, SourcesReport
from nurture.reports.velocity import Velocity, VelocityReport

Kind = Literal["text", "count", "money", "rate", "days", "date", "score"]
NO_DATA = "–"
_FORMATS: dict[str, Callable[[Any], str]] = {
    "count": lambda v: f"{v:,}" if isinstance(v, int) else f"{v:,.{0 if v % 1 == 0 else 1}f}",
    "money": lambda v: f"{v:,.0f}",
    "rate": lambda v: f"{v:.1%}",
    "days": lambda v: f"{v:.1f}",
    "date": lambda v: f"{v:%Y-%m-%d}",
    "score": lambda v: f"{v:.1f}",
}


def shown(value: Any, kind: str = "text") -> str:
    """A value of a column of `kind` as people read it (the command line's tables and the
    dashboard): "–" for no data, rates as percentages, thousands separated."""
    if value is None:
        return NO_DATA
    return _FORMATS.get(kind, str)(value)


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "text"


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    rows: list[tuple[Any, ...]]
    is_record: bool = False  # one row of named figures, best shown as name: value lines
    note: str = ""  # how to read it, shown under the table


def _columns(*spec: str) -> tuple[Column, ...]:
    """Columns from "name:kind" strings (kind defaults to text)."""
    return tuple(Column(*item.split(":")) for item in spec)  # type: ignore[arg-type]


def funnel_tables(report: FunnelReport) -> list[Table]:
    stages = Table("Stages now", _columns(
        "stage", "leads:count", "value:money", "weighted:money", "avg days:days",
        "over limit:count"),
        [(s.label, s.leads, s.value, s.weighted_value, s.average_days, s.over_limit)
         for s in report.stages])
    steps = Table("Conversion of the leads that entered each step", _columns(
        "step", "entered:count", "advanced:count", "lost:count", "open:count",
        "conversion:rate", "drop-off:rate", "bottleneck"),
        [(s.label, s.entered, s.advanced, s.lost, s.still_open, s.conversion_rate,
          s.drop_off_rate, "yes" if s.is_bottleneck else "") for s in report.steps])
    return [stages, steps]


VELOCITY_COLUMNS = _columns(
    "week:date", "leads:count", "converted:count", "opportunities:count", "won:count",
    "lost:count", "win rate:rate", "avg won:money", "cycle days:days", "velocity/day:money")


def _velocity_row(v: Velocity) -> tuple[Any, ...]:
    return (v.start, v.leads, v.converted, v.opportunities, v.won, v.lost, v.win_rate,
            v.average_won_value, v.sales_cycle_days, v.velocity_per_day)


def velocity_tables(report: VelocityReport) -> list[Table]:
    p = report.period
    cycle = f"sales cycle days ({report.qualification or 'creation'} → won):days"
    summary = Table("Period", _columns(
        "leads created:count", "converted (won by now):count", "overall conversion:rate",
        "avg days to convert:days", "opportunities:count", "won:count", "lost:count",
        "win rate:rate", "avg won deal:money", cycle, "sales velocity per day:money"),
        [(p.leads, p.converted, p.conversion_rate, p.average_days_to_convert, p.opportunities,
          p.won, p.lost, p.win_rate, p.average_won_value, p.sales_cycle_days,
          p.velocity_per_day)], is_record=True)
    weeks = Table("Week by week", VELOCITY_COLUMNS, [_velocity_row(w) for w in report.weeks])
    return [summary, weeks]


def forecast_tables(report: ForecastReport) -> list[Table]:
    stages = Table("Open pipeline", _columns(
        "stage", "probability:rate", "leads:count", "value:money", "weighted:money"),
        [(s.label, s.probability, s.leads, s.value, s.weighted_value) for s in report.stages])
    summary = Table("Forecast", _columns(
        "open leads:count", "open pipeline:money", "weighted forecast:money",
        "won in the period:money", "expected (won + weighted):money", "conversion rate:rate",
        "avg won deal:money", "target:money", "pipeline needed (target ÷ conversion):money",
        "pipeline gap:money"),
        [(report.open_leads, report.open_value, report.weighted_value, report.won_value,
          report.expected_value, report.conversion_rate, report.average_won_value,
          report.target, report.pipeline_needed, report.pipeline_gap)], is_record=True)
    return [stages, summary]


COUNT_COLUMNS = _columns("sent:count", "delivered:count", "opens:count", "clicks:count",
                         "replies:count", "unsubs:count", "bounces:count")
RATE_COLUMNS = _columns("open:rate", "click:rate", "reply:rate", "unsubscribe:rate",
                        "bounce:rate")


def _counts(e: Engagement) -> tuple[Any, ...]:
    return e.sent, e.delivered, e.opened, e.clicked, e.replied, e.unsubscribed, e.bounced


def _rates(e: Engagement) -> tuple[Any, ...]:
    return e.open_rate, e.click_rate, e.reply_rate, e.unsubscribe_rate, e.bounce_rate


def sequences_tables(report: SequencesReport) -> list[Table]:
    """Counts and rates per sequence ("all" touches) and per touch, then the subject variants
    (A, B, …) of each touch that has several, on replies and on clicks."""
    rows: list[tuple[str, Any, Engagement]] = []
    variants: list[tuple[str, int, Variant]] = []
    for sequence in report.sequences:
        rows.append((sequence.sequence, "all", sequence.emails))
        for touch in sequence.touches:
            rows.append((sequence.sequence, touch.touch, touch.emails))
            variants += [(sequence.sequence, touch.touch, v) for v in touch.variants]
    keys = _columns("sequence", "touch")
    return [
        Table("Emails per sequence and touch", keys + COUNT_COLUMNS,
              [(name, touch, *_counts(e)) for name, touch, e in rows],
              note="opens and clicks by people only; unsubscribes naming no email are credited "
                   "to the last email sent"),
        Table("Rates (bounces over sent, the rest over delivered)", keys + RATE_COLUMNS,
              [(name, touch, *_rates(e)) for name, touch, e in rows]),
        _variant_table("Subject variants: replies", "replies", variants),
        _variant_table("Subject variants: clicks", "clicks", variants),
    ]


def _variant_table(title: str, outcome: str, variants: list[tuple[str, int, Variant]]) -> Table:
    rows = []
    for sequence, touch, v in variants:
        count, share, test = ((v.emails.replied, v.emails.reply_rate, v.reply_test)
                              if outcome == "replies" else
                              (v.emails.clicked, v.emails.click_rate, v.click_test))
        rows.append((sequence, touch, chr(ord("A") + v.variant), v.subject, v.emails.delivered,
                     count, share, test.verdict if test else "baseline"))
    return Table(title, _columns("sequence", "touch", "variant", "subject", "delivered:count",
                                 f"{outcome}:count", "rate:rate", "against A"),
                 rows, note=RULE)


SEGMENT_COLUMNS = ("leads:count", "won:count", "conversion:rate", "value:money",
                   "won value:money")


def _segments(title: str, dimension: str, segments: list[Segment]) -> Table:
    return Table(title, _columns(dimension, *SEGMENT_COLUMNS),
                 [(s.name, s.leads, s.won, s.conversion_rate, s.value, s.won_value)
                  for s in segments])


def sources_tables(report: SourcesReport) -> list[Table]:
    return [_segments("By lead source", "source", report.sources),
            _segments("By industry", "industry", report.industries)]
