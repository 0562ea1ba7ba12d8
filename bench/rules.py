"""Benchmark: the rules sweep — score, fit and stage rules — over every lead at once.

    .venv/bin/python bench/rules.py [--leads 1000000] [--database sqlite|postgres|both]
        [--batch-size 1000] [--workers 1] [--pg postgresql://postgres@127.0.0.1:5432/test]

Per database (a SQLite file; a fresh PostgreSQL schema, skipped with a message when no server
answers): seed `--leads` leads spread over the example pipeline's stages (sequences/
pipeline.toml), never scored and all due, and ten events per lead over the last 120 days —
sent, delivered, opened, clicked (some on /pricing), page visits, forms, replies, a few machine
opens — stored interleaved in time order, as they arrive, so a lead's events are scattered
through the table. Seeding is SQL generating the rows server-side (a recursive CTE on SQLite,
generate_series on PostgreSQL), then on PostgreSQL the VACUUM ANALYZE autovacuum would give
the tables (its visibility map lets the sweep read events from their index alone). Then, in a
fresh process as the daemon would run it:

  1. the full sweep: every lead's score rebuilt from its events, its fit graded, the rules
     applied (moves, handoff requests, score history written);
  2. the sweep a day later: leads whose day counts ticked over or whose score decayed a point;
  3. a sweep with nothing due.

Prints leads/s, CPU per lead of the sweeping processes and of their PostgreSQL backends, peak
RSS (ru_maxrss), what the sweep did, and the load average before each sweep (other work on the
machine skews wall-clock figures; CPU per lead much less). --workers N sweeps in N processes
(PostgreSQL).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cpu_meter import cpu_seconds
from harness import postgres_schema
from sqlalchemy import Engine, bindparam, text

from nurture.engine.rules_sweep import SweepReport, sweep_rules
from nurture.files.loader import load_project
from nurture.store.engine import make_engine, upgrade
from nurture.store.types import UTCDateTime

REPO = Path(__file__).resolve().parents[1]
APPLICATION = f"nurture-bench-rules-{os.getpid()}"  # the sweepers' PostgreSQL application_name
SEQUENCES = REPO / "sequences"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
EVENTS_PER_LEAD = 10
HISTORY_DAYS = 120
TITLES = ("VP Operations", "Head of Logistics", "Operations Manager", "Director of Finance",
          "Founder", "Team Lead", "Analyst", "Engineer", "Chief Operating Officer",
          "Procurement Manager", "Coordinator", "Office Manager")
INDUSTRIES = ("Logistics", "Manufacturing", "Retail", "Healthcare", "Financial Services",
              "Software", "Education", "Hospitality")
SIZES = (3, 8, 15, 30, 45, 60, 120, 250, 480, 900, 2500, 12000)
# (share in %, type, data): what a lead's event stream looks like.
MIX = (
    (33, "sent", "{}"), (10, "delivered", "{}"), (24, "opened", "{}"),
    (4, "clicked", '{"url": "https://relay.example.com/pricing?plan=team"}'),
    (8, "clicked", '{"url": "https://relay.example.com/case-studies"}'),
    (8, "page_visited", '{"url": "https://relay.example.com/blog/ops"}'),
    (3, "page_visited", '{"url": "https://relay.example.com/security"}'),
    (1, "form_submitted", '{"form": "demo-request"}'),
    (2, "form_submitted", '{"form": "newsletter"}'),
    (3, "replied", "{}"), (1, "meeting_booked", "{}"), (3, "opened machine", "{}"),
)
BOOKED = '{"meeting_status": "booked"}'  # one lead in 97: the meeting-booked rule hands off
# Stages of seeded leads, by i % 20: mostly prospecting, the rest along the funnel.
STAGES = (("prospecting",) * 11 + ("mql",) * 3 + ("sql", "meeting", "nurture", "nurture",
                                                  "lost", "customer"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--pg", default=PG_URL)
    parser.add_argument("--workers", type=int, default=1, help=(
        "sweeping processes (sweep_rules(workers=N)); PostgreSQL only, SQLite sweeps in one"))
    args = parser.parse_args()
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'rules.db'}"
            sqlite = make_engine(url)
            run("SQLite", sqlite, url, args)
            sqlite.dispose()
    if args.database in ("postgres", "both"):
        with postgres_schema(args.pg) as postgres:
            if postgres is not None:
                run("PostgreSQL", postgres, postgres.url.render_as_string(hide_password=False),
                    args)


def run(label: str, engine: Engine, url: str, args: argparse.Namespace) -> None:
    upgrade(engine)
    started = time.perf_counter()
    seed(engine, args.leads)
    print(f"{label}: {args.leads:,} leads and {args.leads * EVENTS_PER_LEAD:,} events seeded "
          f"in {time.perf_counter() - started:.1f} s; sweeping with "
          f"{args.workers if engine.dialect.name == 'postgresql' else 1} process(es), batches "
          f"of {args.batch_size}")
    for title, now in (("full sweep (score + fit + rules)", NOW),
                       ("a day later", NOW + timedelta(days=1)),
                       ("nothing due", NOW + timedelta(days=1))):
        load = os.getloadavg()[0]
        with BackendMeter(engine) as database:
            result = in_worker(url, now, args)
        leads = result.report.leads
        print(f"  {title}: {leads:,} leads in {result.seconds:.1f} s "
              f"({leads / max(result.seconds, 1e-9):,.0f} leads/s), load average "
              f"before {load:.2f} on {os.cpu_count()} cores")
        per_lead = (f"CPU per lead: sweeper {result.cpu / leads * 1e6:.0f} µs"
                    + (f", database server {database.seconds / leads * 1e6:.0f} µs"
                       if engine.dialect.name == "postgresql" else "") + "; " if leads else "")
        print(f"    {per_lead}sweeper peak RSS {result.peak_rss_mb:.0f} MB")
        print(f"    {result.report}")


@dataclass(frozen=True)
class Swept:
    report: SweepReport
    seconds: float
    cpu: float  # of the sweeping processes, during the sweep (not the database server's)
    peak_rss_mb: float  # of the largest sweeping process


def in_worker(url: str, now: datetime, args: argparse.Namespace) -> Swept:
    """One sweep in a fresh process, as the daemon runs it: its time, CPU and peak RSS."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:  # its process may have children
        return pool.submit(sweep_once, url, now, args.batch_size, args.workers,
                           APPLICATION).result()


def sweep_once(url: str, now: datetime, batch_size: int, workers: int, application: str
               ) -> Swept:
    os.environ["PGAPPNAME"] = application  # the database connections BackendMeter follows
    engine = make_engine(url)
    project = load_project(SEQUENCES)
    started, cpu = time.perf_counter(), time.process_time()
    report = sweep_rules(engine, project, now, batch_size=batch_size, max_batches=None,
                         workers=workers)
    seconds = time.perf_counter() - started
    engine.dispose()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the worker processes, if any
    cpu = time.process_time() - cpu + children.ru_utime + children.ru_stime
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, children.ru_maxrss) / 1024
    return Swept(report, seconds, cpu, peak)


class BackendMeter:
    """CPU seconds of the PostgreSQL backends serving the sweep (by application_name),
    sampled every 0.2 s from /proc while the block runs: they end with their connections."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.seconds = engine, 0.0
        self._seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> BackendMeter:
        if self.engine.dialect.name == "postgresql":
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()
        self.seconds = sum(self._seen.values())

    def _sample(self) -> None:
        with self.engine.connect() as connection:
            while not self._stop.wait(0.2):
                pids = connection.execute(text(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": APPLICATION}).scalars().all()
                connection.rollback()
                for pid in pids:
                    self._seen[pid] = max(self._seen.get(pid, 0.0), cpu_seconds([pid]))


# -- seeding -------------------------------------------------------------------------------

def _pick(expression: str, values: tuple[object, ...]) -> str:
    """SQL choosing values[expression % len(values)]."""
    whens = " ".join(f"WHEN {i} THEN {_literal(v)}" for i, v in enumerate(values))
    return f"CASE ({expression}) % {len(values)} {whens} END"


def _literal(value: object) -> str:
    return str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"


def _mix(share: str, column: int) -> str:
    """SQL picking column `column` (type, data, machine) of MIX by `share` (0..99)."""
    whens, bound = [], 0
    for percent, kind, data in MIX:
        bound += percent
        value = (kind.split()[0], data, "true" if kind.endswith("machine") else "false")[column]
        whens.append(f"WHEN {share} < {bound} THEN {value if column == 2 else _literal(value)}")
    return f"CASE {' '.join(whens)} END"


def seed(engine: Engine, leads: int) -> None:
    """`leads` leads (never scored, due at once) and ten events each, in one INSERT … SELECT
    per table, the rows generated by the database itself; then each lead's last engagement."""
    postgres = engine.dialect.name == "postgresql"
    numbers = ("generate_series(1, :count) AS n(i)" if postgres else "n")
    cte = "" if postgres else ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                               "WHERE i < :count) ")
    jsonb = "CAST({} AS JSONB)" if postgres else "{}"
    entered = (f"CAST(:now AS TIMESTAMPTZ) - (i % {HISTORY_DAYS}) * INTERVAL '1 day'"
               if postgres else f"datetime(:now, '-' || (i % {HISTORY_DAYS}) || ' days')")
    if not postgres:
        entered = f"strftime('%Y-%m-%d %H:%M:%f000', {entered})"
    lead_sql = f"""{cte}
        INSERT INTO lead (email, first_name, company, title, industry, employees, country,
            timezone, custom, stage, status, score, fit, stage_entered_at, created_at,
            updated_at, needs_enrollment)
        SELECT 'lead' || i || '@company' || (i % 50000) || '.example.com', 'Pat',
            'Company ' || (i % 50000), {_pick('i * 7', TITLES)}, {_pick('i * 11', INDUSTRIES)},
            {_pick('i * 13', SIZES)}, 'GB', 'Europe/London',
            {jsonb.format(f"CASE WHEN i % 97 = 0 THEN '{BOOKED}' ELSE '{{}}' END")},
            {_pick('i', STAGES)}, 'active', 0, 'D', {entered}, {entered}, {entered}, false
        FROM {numbers}"""
    span = HISTORY_DAYS * 86_400.0 / (leads * EVENTS_PER_LEAD)  # seconds between events
    share = f"((i * 7919 + (i / {leads}) * 37) % 100)"  # spreads each lead's events over MIX
    at = (f"CAST(:start AS TIMESTAMPTZ) + i * {span} * INTERVAL '1 second'" if postgres else
          f"strftime('%Y-%m-%d %H:%M:%f000', julianday(:start) + i * {span / 86_400})")
    series = ("generate_series(CAST(1 AS BIGINT), :events) AS n(i)" if postgres else "n")
    event_sql = f"""{cte.replace(':count', ':events')}
        INSERT INTO event (lead_id, type, at, data, machine)
        SELECT i % {leads} + 1, {_mix('s', 0)}, {at}, {jsonb.format(_mix('s', 1))},
            {_mix('s', 2)}
        FROM (SELECT i, {share} AS s FROM {series}) AS numbered"""
    engaged = """UPDATE lead SET last_engaged_at = (
        SELECT max(at) FROM event WHERE event.lead_id = lead.id AND NOT event.machine
            AND event.type IN ('opened', 'clicked', 'replied', 'form_submitted',
                               'page_visited', 'meeting_booked'))"""
    naive = NOW.replace(tzinfo=None).isoformat(sep=" ")
    start = (NOW - timedelta(days=HISTORY_DAYS)).replace(tzinfo=None).isoformat(sep=" ")
    stamp = (bindparam("now", type_=UTCDateTime), bindparam("start", type_=UTCDateTime))
    with engine.begin() as connection:
        if postgres:
            connection.execute(text(lead_sql).bindparams(stamp[0]), {"count": leads, "now": NOW})
            connection.execute(text(event_sql).bindparams(stamp[1]),
                               {"events": leads * EVENTS_PER_LEAD, "start": NOW - timedelta(
                                   days=HISTORY_DAYS)})
        else:
            connection.execute(text(lead_sql), {"count": leads, "now": naive})
            connection.execute(text(event_sql), {"events": leads * EVENTS_PER_LEAD,
                                                 "start": start})
        connection.execute(text(engaged))
    if postgres:  # what autovacuum gives tables this size soon after such an insert
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text(
                "VACUUM ANALYZE lead, event"))


if __name__ == "__main__":
    main()
