"""Benchmark: every report over N leads and about 10·N events, on SQLite and PostgreSQL.

    .venv/bin/python bench/reports.py [--leads 1000000] [--pg postgresql://postgres@127.0.0.1:5432/test]
                                      [--no-pg] [--no-sqlite] [--runs 2]
                                      [--sqlite-file PATH] [--pg-schema NAME]
                                      [--report funnel …] [--filters "one source" …]

Leads follow twenty fixed paths through the example pipeline (sequences/pipeline.toml): 40% stay
in prospecting, the rest move on — some skip steps, some are lost, disqualified and recycled, 10%
are won — for about 1.8 stage changes per lead. Each lead is enrolled in one of two sequences and
sent three emails (the first with two subject variants); events per lead: about 3 sent, 2.4
opens (a quarter by scanners), 0.3 clicks, 0.06 replies, 0.03 bounces, 4 page visits, 0.2 forms
and 0.01 unsubscribes naming no email. Seeding is INSERT … SELECT inside the database, so it
writes the raw history only: the reports' summaries are then made from it by the rebuild
(`nurture report rebuild`, timed), as the migration that added them does for a database that
has data. PostgreSQL then gets the VACUUM ANALYZE autovacuum would give it; SQLite no ANALYZE,
as nothing runs one on a nurture database.

Each report runs `--runs` times (default 2: cold, then warm) over four filter sets: all time,
the last 90 days, and both for one lead source; each line ends with the load average (1 min)
after it. The target is under 2 s per report.

Seeding and the rebuild take minutes at 1,000,000 leads. `--sqlite-file` and `--pg-schema` keep
the database (a SQLite file, a PostgreSQL schema) instead of a throwaway one, and reuse it when
it already holds leads: seeded once, it can be timed again and again (the schema is migrated
to head first; `--rebuild` recomputes the summaries, for a change to what they hold).
`--report` and `--filters` narrow what is timed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness import REPO, postgres_schema
from sqlalchemy import Connection, Engine, text

from nurture.core.sequences import Pipeline
from nurture.files.loader import load_project
from nurture.reports.filters import Filters
from nurture.reports.forecast import forecast_report
from nurture.reports.funnel import funnel_report
from nurture.reports.rebuild import Rebuilt, rebuild
from nurture.reports.sequences import sequences_report
from nurture.reports.sources import sources_report
from nurture.reports.velocity import velocity_report
from nurture.store.engine import make_engine, upgrade, writing

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BASE = NOW - timedelta(days=365)  # leads are created over ten months from here
SOURCES = ("webinar", "content_download", "event", "ads", "search")
INDUSTRIES = ("software", "retail", "finance", "health", "logistics", "education")
# bucket (lead id % 20) → stage moves as (stage, days after creation); every lead starts in
# prospecting, and the last move is where it is now.
PATHS: dict[int, list[tuple[str, int]]] = {
    **{bucket: [] for bucket in range(8)},
    8: [("nurture", 45)],
    9: [("mql", 5)],
    10: [("mql", 5)],
    11: [("mql", 5), ("nurture", 30)],
    12: [("mql", 5), ("sql", 12)],
    13: [("sql", 4), ("meeting", 10)],
    14: [("mql", 3), ("sql", 8), ("meeting", 15), ("proposal", 25)],
    15: [("mql", 3), ("sql", 8), ("meeting", 15), ("proposal", 25), ("lost", 50)],
    16: [("mql", 3), ("sql", 8), ("meeting", 15), ("proposal", 25), ("negotiation", 35),
         ("won", 50)],
    17: [("sql", 4), ("meeting", 10), ("proposal", 20), ("negotiation", 30), ("won", 40),
          ("customer", 41)],
    18: [("mql", 5), ("sql", 12), ("meeting", 20), ("sql", 50)],
    19: [("lost", 30), ("nurture", 55)],
}
TOUCHES = ((0, 0), (1, 3), (2, 7))  # touch index, days after enrolment
Report = Callable[[Connection, Pipeline, Filters, datetime], Any]
REPORTS: dict[str, Report] = {
    "funnel": funnel_report,
    "velocity": velocity_report,
    "forecast": lambda c, p, f, n: forecast_report(c, p, f, n, target=1_000_000),
    "sequences": sequences_report,
    "sources": sources_report,
}


class Dialect:
    """The date arithmetic seeding needs, in the engine's SQL."""

    def __init__(self, engine: Engine) -> None:
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.json = "'{}'" if self.is_sqlite else "CAST('{}' AS JSONB)"

    def shifted(self, moment: str, amount: str, unit: str) -> str:
        """`moment` plus `amount` (an SQL integer) `unit`s ("days", "hours", "seconds")."""
        if self.is_sqlite:
            return (f"strftime('%Y-%m-%d %H:%M:%S', {moment}, '+' || ({amount}) || ' {unit}')"
                    " || '.000000'")
        return f"({moment} + ({amount}) * INTERVAL '1 {unit[:-1]}')"

    @property
    def base(self) -> str:
        stamp = f"{BASE:%Y-%m-%d %H:%M:%S}"
        return f"'{stamp}'" if self.is_sqlite else f"TIMESTAMPTZ '{stamp}+00'"


def _case(expression: str, values: tuple[str, ...]) -> str:
    whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"CASE {expression} % {len(values)} {whens} END"


def seed(engine: Engine, leads: int) -> None:
    sql = Dialect(engine)
    created = sql.shifted(sql.shifted(sql.base, "(i * 37) % 305", "days"), "(i * 7) % 86400",
                          "seconds")
    with engine.begin() as connection:
        def run(statement: str) -> None:
            connection.execute(text(statement))

        run("CREATE TABLE bench_path (bucket INTEGER, from_stage TEXT, to_stage TEXT, "
            "days INTEGER)")
        run("CREATE TABLE bench_final (bucket INTEGER, stage TEXT, days INTEGER)")
        run("CREATE TABLE bench_touch (touch INTEGER, days INTEGER)")
        for bucket, moves in PATHS.items():
            previous = "prospecting"
            for stage, days in moves:
                run(f"INSERT INTO bench_path VALUES ({bucket}, '{previous}', '{stage}', {days})")
                previous = stage
            last_stage, last_days = moves[-1] if moves else ("prospecting", 0)
            run(f"INSERT INTO bench_final VALUES ({bucket}, '{last_stage}', {last_days})")
        for touch, days in TOUCHES:
            run(f"INSERT INTO bench_touch VALUES ({touch}, {days})")
        for rep in range(1, 21):
            run(f"INSERT INTO rep (name, email, teams, active) VALUES ('Rep {rep}', "
                f"'rep{rep}@bench.example.com', {sql.json}, true)")
        connection.execute(text(f"""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
            INSERT INTO lead (email, source, industry, deal_value, custom, stage, status, score,
                fit, owner_id, stage_entered_at, created_at, updated_at, needs_enrollment)
            SELECT 'lead' || i || '@bench.example.com', {_case('i', SOURCES)},
                {_case('(i / 7)', INDUSTRIES)},
                CASE WHEN i % 10 < 7 THEN 1000 + (i * 37) % 50000 END, {sql.json}, f.stage,
                'active', 0, 'B', CASE WHEN i % 20 >= 12 THEN 1 + i % 20 END,
                {sql.shifted(created, 'f.days', 'days')}, {created}, {created}, false
            FROM n JOIN bench_final f ON f.bucket = i % 20 ORDER BY i"""), {"count": leads})
        run(f"""INSERT INTO stage_change (lead_id, from_stage, to_stage, at, rule, reason,
                score_before, score_after)
            SELECT l.id, p.from_stage, p.to_stage, {sql.shifted('l.created_at', 'p.days', 'days')},
                'bench', 'bench', 0, 0
            FROM lead l JOIN bench_path p ON p.bucket = l.id % 20""")
        run("""INSERT INTO enrollment (lead_id, sequence_id, stage, stage_entered_at, position,
                status, created_at, updated_at)
            SELECT id, CASE WHEN id % 2 = 0 THEN 'welcome-a' ELSE 'welcome-b' END,
                'prospecting', created_at, 3, 'finished', created_at, created_at FROM lead""")
        at = sql.shifted("e.created_at", "t.days", "days")
        failed = "(e.id + t.touch) % 100 = 99"
        run(f"""INSERT INTO outbox (enrollment_id, touch_index, lead_id, message_id, subject,
                variant, status, attempts, created_at, sent_at)
            SELECT e.id, t.touch, e.lead_id, '<' || e.id || '.' || t.touch || '@bench>',
                'Subject ' || t.touch, CASE WHEN t.touch = 0 THEN e.id % 2 ELSE 0 END,
                CASE WHEN {failed} THEN 'failed' ELSE 'sent' END, 1, {at},
                CASE WHEN {failed} THEN NULL ELSE {at} END
            FROM enrollment e CROSS JOIN bench_touch t""")
        later = lambda hours: sql.shifted("created_at", str(hours), "hours")  # noqa: E731
        sent = "FROM outbox WHERE status = 'sent'"
        run(f"""INSERT INTO event (lead_id, type, at, data, outbox_id, machine)
            SELECT lead_id, 'sent', sent_at, {sql.json}, id, false {sent}
            UNION ALL SELECT lead_id, 'opened', {later(2)}, {sql.json}, id, id % 10 IN (4, 5)
                {sent} AND id % 10 < 6
            UNION ALL SELECT lead_id, 'opened', {later(24)}, {sql.json}, id, false
                {sent} AND id % 10 < 2
            UNION ALL SELECT lead_id, 'clicked', {later(3)}, {sql.json}, id, false
                {sent} AND id % 10 = 0
            UNION ALL SELECT lead_id, 'replied', {later(5)}, {sql.json}, id, false
                {sent} AND id % 50 = 1
            UNION ALL SELECT lead_id, 'bounced', created_at, {sql.json}, id, false
                FROM outbox WHERE status = 'failed'""")
        run(f"""INSERT INTO event (lead_id, type, at, data, outbox_id, machine)
            SELECT l.id, 'page_visited', {sql.shifted('l.created_at', 't.touch * 5 + 1', 'days')},
                {sql.json}, CAST(NULL AS INTEGER), false FROM lead l CROSS JOIN bench_touch t
            UNION ALL SELECT id, 'page_visited', {later(30)}, {sql.json}, NULL, false FROM lead
            UNION ALL SELECT id, 'form_submitted', {later(26)}, {sql.json}, NULL, false
                FROM lead WHERE id % 5 = 0
            UNION ALL SELECT id, 'unsubscribed', {later(200)}, {sql.json}, NULL, false
                FROM lead WHERE id % 100 = 7""")
        for table in ("bench_path", "bench_final", "bench_touch"):
            run(f"DROP TABLE {table}")


def summarize(engine: Engine) -> Rebuilt:
    """The reports' summaries, made from the raw history; then PostgreSQL's VACUUM ANALYZE."""
    with writing(engine) as connection:
        done = rebuild(connection)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE")
    return done


def counts(engine: Engine) -> str:
    with engine.connect() as connection:
        found = {table: connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
                 for table in ("lead", "stage_change", "outbox", "event")}
    return ", ".join(f"{n:,} {table}" for table, n in found.items())


RECENT = NOW - timedelta(days=90)
FILTER_SETS = {"all time": Filters(), "last 90 days": Filters(start=RECENT),
               "all time, one source": Filters(source="webinar"),
               "90 days, one source": Filters(start=RECENT, source="webinar")}


def time_reports(engine: Engine, pipeline: Pipeline, args: argparse.Namespace) -> None:
    runs = args.runs
    sets = {label: f for label, f in FILTER_SETS.items()
            if not args.filters or label in args.filters}
    print(f"  {'report':<10} {'filters':<21} "
          + " ".join(f"{f'run {n + 1}':>7}" for n in range(runs)) + "  load avg")
    for name, report in REPORTS.items():
        if args.report and name not in args.report:
            continue
        for label, filters in sets.items():
            seconds = []
            for _ in range(runs):
                with engine.connect() as connection:
                    started = time.perf_counter()
                    report(connection, pipeline, filters, NOW)
                    seconds.append(time.perf_counter() - started)
            flag = "" if max(seconds) < 2 else "  > 2 s"
            print(f"  {name:<10} {label:<21} " + " ".join(f"{s:6.2f}s" for s in seconds)
                  + f"  {os.getloadavg()[0]:8.2f}{flag}", flush=True)


def bench(label: str, engine: Engine, pipeline: Pipeline, args: argparse.Namespace) -> None:
    upgrade(engine)
    reused = _has_leads(engine)
    if reused:
        print(f"{label}: reusing {counts(engine)}", flush=True)
    else:
        started = time.perf_counter()
        seed(engine, args.leads)
        print(f"{label}: seeded {counts(engine)} in {time.perf_counter() - started:.0f} s; "
              f"load average {os.getloadavg()[0]:.2f}", flush=True)
    if not reused or args.rebuild:
        done = summarize(engine)
        print(f"  summaries rebuilt in {done.seconds:.0f} s ({done.entries:,} stage entries, "
              f"{done.emails:,} emails); load average {os.getloadavg()[0]:.2f}", flush=True)
    time_reports(engine, pipeline, args)


def _has_leads(engine: Engine) -> bool:
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT 1 FROM lead LIMIT 1").first() is not None


@contextmanager
def sqlite_engine(kept: Path | None) -> Iterator[Engine]:
    """An engine on `kept`, or on a file in a folder removed afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{kept or Path(folder) / 'bench.db'}")
        try:
            yield engine
        finally:
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--runs", type=int, default=2, help="times each report runs")
    parser.add_argument("--sqlite-file", type=Path, help="keep (or reuse) this SQLite database")
    parser.add_argument("--pg-schema", help="keep (or reuse) this PostgreSQL schema")
    parser.add_argument("--rebuild", action="store_true",
                        help="rebuild the summaries of a reused database")
    parser.add_argument("--report", action="append", choices=list(REPORTS),
                        help="time only this report (repeatable)")
    parser.add_argument("--filters", action="append", choices=list(FILTER_SETS),
                        help="time only this filter set (repeatable)")
    args = parser.parse_args()
    pipeline = load_project(REPO / "sequences").pipeline
    if not args.no_sqlite:
        with sqlite_engine(args.sqlite_file) as engine:
            bench("SQLite", engine, pipeline, args)
    if not args.no_pg:
        with postgres_schema(args.pg, args.pg_schema) as pg_engine:
            if pg_engine is not None:
                bench("PostgreSQL", pg_engine, pipeline, args)


if __name__ == "__main__":
    main()
