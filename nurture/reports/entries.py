"""Entries into stages in a period, grouped by what the lead did before and after each (stage
sets, store/lead_paths.py): the funnel's conversion and the velocity's opportunities and losses
are read from these groups against the pipeline (stages.py).

An entry is the lead's first into its stage in the period when its previous entry into that
stage came before the period (or never). The daily counts know the day of that previous entry:
for a period starting part way through a day, entries whose previous one was that same day are
read from the rows instead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    case,
    func,
    literal,
    null,
    or_,
    select,
)

from nurture.files.loader import STALE_STATUSES
from nurture.reports.filters import Filters, Window
from nurture.reports.periods import Period, period_of
from nurture.reports.sql import ENTRIES, week_number
from nurture.reports.stages import Funnel
from nurture.store.stage_sets import stages_in
from nurture.store.tallies import ENTRIES as DAILY_ENTRIES
from nurture.store.tallies import day_start

DAILY = DAILY_ENTRIES.table


def losses(funnel: Funnel) -> tuple[str, ...]:
    """Where a lost lead goes: a lost stage, or a status such as "disqualified" (which a
    stale stage's `on_stale` may name)."""
    return (*funnel.lost, *STALE_STATUSES)


@dataclass(frozen=True)
class EntryGroup:
    """`n` entries into `stage` (in week `week`, when asked by week)."""

    week: int | None
    stage: str
    first_in_period: bool
    earlier: frozenset[str]  # stages the lead entered before
    later: frozenset[str]  # stages it entered after
    tied: frozenset[str]  # stages it entered after, at the same instant
    n: int


def entry_groups(connection: Connection, filters: Filters, window: Window, *,
                 by_week: bool) -> list[EntryGroup]:
    """The entries of `window` (of the leads `filters` select) in groups."""
    period = period_of(window, by_rows=filters.selects_leads)
    found: Counter[tuple[int | None, str, bool, str, str, str]] = Counter()
    for query in (_daily(period, by_week), row_entries(period, filters, by_week),
                  _mid_day_reentries(period, by_week)):
        if query is not None:
            for week, stage, earlier, later, tied, firsts, others in connection.execute(query):
                key = (None if week is None else int(week), stage)
                found[(*key, True, earlier, later, tied)] += int(firsts or 0)
                found[(*key, False, earlier, later, tied)] += int(others or 0)
    return [EntryGroup(week, stage, first, stages_in(earlier), stages_in(later),
                       stages_in(tied), n)
            for (week, stage, first, earlier, later, tied), n in found.items() if n]


AMBIGUOUS = 2  # a daily count whose previous entry was on the day the period starts


def _daily(period: Period, by_week: bool) -> Select | None:
    if not period.has_days:
        return None
    if period.window.start is None:  # first ever: no previous entry (prev_day -1)
        first = case((DAILY.c.prev_day < 0, 1), else_=0)
    else:
        start_day = period.start_day
        first = case((DAILY.c.prev_day < start_day, 1),
                     (DAILY.c.prev_day == start_day, AMBIGUOUS if period.starts_mid_day else 0),
                     else_=0)
    week = ((DAILY.c.day - 4) // 7) if by_week else None  # day 4 is the first Monday
    return _grouped(DAILY, week, first, DAILY.c.n, period.days(DAILY.c.day))


def row_entries(period: Period, filters: Filters, by_week: bool) -> Select | None:
    """The grouped entries of the period's edges (all of it, for a report filtered by lead)
    read from the stage entry rows (or, for one source, from ix_stage_entry_source alone)."""
    if not period.edges:
        return None
    start = period.window.start
    first = ENTRIES.c.prev_at.is_(None)
    if start is not None:
        first = or_(first, ENTRIES.c.prev_at < start)
    return _grouped(ENTRIES, week_number(ENTRIES.c.at) if by_week else None,
                    case((first, 1), else_=0), literal(1),
                    and_(period.in_edges(ENTRIES.c.at), *of_leads(ENTRIES, filters)))


def of_leads(entries: Table, filters: Filters) -> list[ColumnElement[bool]]:
    """Conditions on a StageEntry table for the leads `filters` select: the source and industry
    on the copies it holds, owner and sequence through the leads."""
    conditions: list[ColumnElement[bool]] = []
    if filters.source is not None:
        conditions.append(entries.c.lead_source == filters.source.lower())
    if filters.industry is not None:
        conditions.append(entries.c.lead_industry == filters.industry.lower())
    rest = replace(filters, source=None, industry=None)
    if rest.selects_leads:
        conditions.append(rest.selects(entries.c.lead_id))
    return conditions


def _mid_day_reentries(period: Period, by_week: bool) -> Select | None:
    """Entries of the whole days whose previous entry into the stage was earlier on the day
    the period starts, before it starts: first entries that the daily counts cannot tell."""
    start = period.window.start
    if start is None or not period.starts_mid_day or not period.has_days:
        return None
    assert period.first_day is not None
    in_days = and_(ENTRIES.c.at >= day_start(period.first_day),
                   ENTRIES.c.at < day_start(period.end_day))
    before_start = and_(ENTRIES.c.prev_at >= day_start(period.start_day),
                        ENTRIES.c.prev_at < start)
    return _grouped(ENTRIES, week_number(ENTRIES.c.at) if by_week else None, literal(1),
                    literal(1), and_(in_days, before_start))


def _grouped(table: Table, week: ColumnElement[int] | None, first: ColumnElement[int],
             n: ColumnElement[int], where: ColumnElement[bool]) -> Select:
    """(week, stage, earlier, later, tied, first entries, other entries): `n` (a row's count)
    summed where `first` is 1 and where it is 0 (never where it is AMBIGUOUS); a None week is
    NULL. Whether an entry is the first is summed, not grouped by, so grouped by the stage and
    its sets alone the entries of one source come from ix_stage_entry_source in order, with
    no sort; the week, when asked, goes last."""
    keys = [table.c.stage, table.c.earlier, table.c.later, table.c.tied]
    return (select(week if week is not None else null(), *keys,
                   func.sum(case((first == 1, n), else_=0)),
                   func.sum(case((first == 0, n), else_=0)))
            .where(where).group_by(*keys, *([week] if week is not None else [])))
