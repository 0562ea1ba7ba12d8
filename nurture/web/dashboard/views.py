"""What each report page shows: headline figures, then sections of a chart with its numbers in
a table beside it. The tables are the report layer's own (nurture/reports/tables.py, as the
command line prints them), so the page, the CLI and the API agree. Pure: a report in, a view
out."""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

from nurture.reports.forecast import ForecastReport
from nurture.reports.funnel import FunnelReport
from nurture.reports.sequences import Engagement, SequencesReport
from nurture.reports.sources import Segment, SourcesReport
from nurture.reports.tables import (
    Table,
    forecast_tables,
    funnel_tables,
    sequences_tables,
    sources_tables,
    velocity_tables,
)
from nurture.reports.velocity import VelocityReport
from nurture.web.dashboard.charts import FunnelStep, Series, bar_chart, funnel_chart, line_chart
from nurture.web.dashboard.formats import formatter, shown


@dataclass(frozen=True)
class Section:
    key: str  # the id of the section in the page
    table: Table
    chart: Markup | None = None
    flagged_rows: frozenset[int] = frozenset()  # rows to mark, e.g. the bottleneck


@dataclass(frozen=True)
class ReportView:
    headlines: list[tuple[str, str]]  # (what, value as shown)
    sections: list[Section] = field(default_factory=list)


def funnel_view(report: FunnelReport) -> ReportView:
    stages, steps = funnel_tables(report)
    worst = next((s for s in report.steps if s.is_bottleneck), None)
    chart = funnel_chart("Leads entering each step in the period", [
        FunnelStep(s.label, s.entered, f"advanced {shown(s.conversion_rate, 'rate')} · lost "
                   f"{shown(s.drop_off_rate, 'rate')}", s.is_bottleneck, "bottleneck")
        for s in report.steps], formatter("count"))
    now = bar_chart("Leads per stage now", [s.label for s in report.stages],
                    [Series("leads", [s.leads for s in report.stages])], formatter("count"))
    bottleneck = f"{worst.label} ({shown(worst.drop_off_rate, 'rate')} lost)" if worst \
        else "none"
    return ReportView(
        [("bottleneck", bottleneck),
         ("leads", shown(sum(s.leads for s in report.stages), "count")),
         ("pipeline value", shown(sum(s.value for s in report.stages), "money")),
         ("weighted value", shown(sum(s.weighted_value for s in report.stages), "money")),
         ("over their stage's limit", shown(sum(s.over_limit for s in report.stages),
                                            "count"))],
        [Section("steps", steps, chart,
                 frozenset(i for i, s in enumerate(report.steps) if s.is_bottleneck)),
         Section("stages", stages, now)])


def velocity_view(report: VelocityReport) -> ReportView:
    period, weeks = velocity_tables(report)
    p = report.period
    labels = [f"{w.start:%-d %b}" if w.start else "" for w in report.weeks]
    trend = line_chart("Sales velocity per day, week by week", labels,
                       [Series("velocity/day", [w.velocity_per_day for w in report.weeks])],
                       formatter("money"))
    flow = line_chart("Opportunities, wins and losses per week", labels, [
        Series("opportunities", [w.opportunities for w in report.weeks]),
        Series("won", [w.won for w in report.weeks]),
        Series("lost", [w.lost for w in report.weeks])], formatter("count"))
    return ReportView(
        [("sales velocity per day", shown(p.velocity_per_day, "money")),
         ("win rate", shown(p.win_rate, "rate")),
         ("average won deal", shown(p.average_won_value, "money")),
         ("sales cycle days", shown(p.sales_cycle_days, "days")),
         ("overall conversion", shown(p.conversion_rate, "rate")),
         ("days to convert", shown(p.average_days_to_convert, "days"))],
        [Section("weeks", weeks, trend), Section("flow", _counts_only(weeks), flow),
         Section("period", period)])


def _counts_only(weeks: Table) -> Table:
    """The week table's opportunity, win and loss columns, beside their chart."""
    wanted = ("week", "opportunities", "won", "lost")
    keep = [i for i, column in enumerate(weeks.columns) if column.name in wanted]
    return Table("Opportunities, wins and losses per week",
                 tuple(weeks.columns[i] for i in keep),
                 [tuple(row[i] for i in keep) for row in weeks.rows])


def forecast_view(report: ForecastReport) -> ReportView:
    stages, summary = forecast_tables(report)
    chart = bar_chart("Open pipeline per stage", [s.label for s in report.stages], [
        Series("value", [s.value for s in report.stages]),
        Series("weighted", [s.weighted_value for s in report.stages])], formatter("money"))
    headlines = [("weighted forecast", shown(report.weighted_value, "money")),
                 ("won in the period", shown(report.won_value, "money")),
                 ("expected", shown(report.expected_value, "money")),
                 ("open pipeline", shown(report.open_value, "money")),
                 ("conversion rate", shown(report.conversion_rate, "rate"))]
    if report.target is not None:
        headlines += [("pipeline needed", shown(report.pipeline_needed, "money")),
                      ("pipeline gap", shown(report.pipeline_gap, "money"))]
    return ReportView(headlines, [Section("open-pipeline", stages, chart),
                                  Section("forecast", summary)])


def sequences_view(report: SequencesReport) -> ReportView:
    emails, rates, replies, clicks = sequences_tables(report)
    rows: list[tuple[str, Engagement]] = []
    for sequence in report.sequences:
        rows.append((f"{sequence.sequence} · all", sequence.emails))
        rows += [(f"{sequence.sequence} #{t.touch}", t.emails) for t in sequence.touches]
    names = [name for name, _ in rows]
    sent = bar_chart("Emails sent and delivered per sequence and touch", names, [
        Series("sent", [e.sent for _, e in rows]),
        Series("delivered", [e.delivered for _, e in rows])], formatter("count"))
    rate_chart = bar_chart("Open, click and reply rates per sequence and touch", names, [
        Series("open", [e.open_rate for _, e in rows]),
        Series("click", [e.click_rate for _, e in rows]),
        Series("reply", [e.reply_rate for _, e in rows])], formatter("rate"))
    variants = [(f"{s.sequence} #{t.touch} {chr(ord('A') + v.variant)}", v.emails)
                 for s in report.sequences for t in s.touches for v in t.variants]
    reply_chart = bar_chart("Reply rate per subject variant", [name for name, _ in variants],
                            [Series("reply", [e.reply_rate for _, e in variants])],
                            formatter("rate"))
    click_chart = bar_chart("Click rate per subject variant", [name for name, _ in variants],
                            [Series("click", [e.click_rate for _, e in variants])],
                            formatter("rate"))
    total = sum((s.emails for s in report.sequences), Engagement())
    return ReportView(
        [("sent", shown(total.sent, "count")), ("delivered", shown(total.delivered, "count")),
         ("open rate", shown(total.open_rate, "rate")),
         ("click rate", shown(total.click_rate, "rate")),
         ("reply rate", shown(total.reply_rate, "rate")),
         ("bounce rate", shown(total.bounce_rate, "rate"))],
        [Section("emails", emails, sent), Section("rates", rates, rate_chart),
         Section("variant-replies", replies, reply_chart),
         Section("variant-clicks", clicks, click_chart)])


def sources_view(report: SourcesReport) -> ReportView:
    by_source, by_industry = sources_tables(report)

    def chart(title: str, segments: list[Segment]) -> Markup:
        return bar_chart(title, [s.name for s in segments], [
            Series("leads", [s.leads for s in segments]),
            Series("won", [s.won for s in segments])], formatter("count"))

    best = max(report.sources, key=lambda s: (s.conversion_rate or 0, s.leads), default=None)
    return ReportView(
        [("leads", shown(sum(s.leads for s in report.sources), "count")),
         ("won", shown(sum(s.won for s in report.sources), "count")),
         ("best converting source", f"{best.name} ({shown(best.conversion_rate, 'rate')})"
          if best and best.won else "none")],
        [Section("by-source", by_source, chart("Leads and wins per source", report.sources)),
         Section("by-industry", by_industry,
                 chart("Leads and wins per industry", report.industries))])
