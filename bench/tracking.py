"""Benchmark: open-pixel and click-redirect hits per second against the real app over loopback.

    .venv/bin/python bench/tracking.py [--database sqlite|postgres|both] [--load auto|wrk|httpx]
        [--seconds 20] [--hits 20000] [--emails 5000] [--concurrency 16] [--workers 1]
        [--loop auto] [--http auto] [--profile DIR]

Per database (a SQLite file; a fresh PostgreSQL schema, skipped with a message when no server
answers): seed leads, enrollments and 'sent' outbox rows so tokens resolve, start the app with
uvicorn in a separate process (bench/tracking_app.py) on a free port, plan `--hits` hits — 70%
opens, 30% clicks, browser user agents, each email with its one link, sent a day ago, so every
hit is a person's — and fire them from a separate load generator with `--concurrency`
connections (bench/tracking_load.py): wrk when it is installed (for `--seconds`, cycling
through the plan), else an httpx loop in this process (each planned hit once). Prints hits/s,
latency percentiles as the load generator saw them, the CPU each process spent per hit, and
checks the events stored against the hits answered. --profile records the server with py-spy.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cpu_meter import CpuMeter
from harness import bench_sequences, postgres_schema, seed
from sqlalchemy import Engine, bindparam, select, text
from tracking_load import LoadResult, PlannedHit, fire, wrk_path

from nurture.engine.events import EVENTS
from nurture.engine.tracking_links import TouchRef, click_url, pixel_url
from nurture.store.engine import make_engine, upgrade
from nurture.store.types import UTCDateTime

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
SECRET = "bench-tracking-secret"
OPEN_SHARE = 0.7
WARM_UP = 500  # hits (httpx) …
WARM_UP_SECONDS = 3  # … or seconds (wrk)
APPLICATION = f"nurture-bench-{os.getpid()}"  # the app's PostgreSQL application_name
CORES = os.cpu_count() or 1
AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
    "Mozilla/4.0 (compatible; ms-office; MSOffice 16)",
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
)
LINKS = ("https://relay.example.com/pricing?plan=team", "https://relay.example.com/case-studies",
         "https://relay.example.com/demo?utm_source=email", "https://docs.relay.example.com/")


def plan(enrollment_ids: list[int], hits: int, rng: random.Random) -> list[PlannedHit]:
    """`hits` requests on random emails (touch 0 of each enrollment), opens and clicks mixed."""
    planned = []
    for _ in range(hits):
        enrollment_id = rng.choice(enrollment_ids)
        ref = TouchRef(enrollment_id, 0)
        if rng.random() < OPEN_SHARE:
            kind, url = "open", pixel_url("", SECRET, ref)
        else:
            kind, url = "click", click_url("", SECRET, ref, LINKS[enrollment_id % len(LINKS)])
        planned.append(PlannedHit(kind, url, rng.choice(AGENTS)))
    return planned


def seed_sent_emails(engine: Engine, emails: int, sent_at: datetime) -> list[int]:
    """`emails` leads, each enrolled and sent touch 0 at `sent_at` (its outbox row and the
    `sent` event dispatch records), then the statistics PostgreSQL plans by; the enrollment
    ids. Without the events and statistics the app would start on an empty event table, and
    plans made for it (a foreign key check's among them, kept for the connection's life) scan
    the whole table once it has grown."""
    seed(engine, emails, 0, sent_at, sent_at)
    jsonb = "CAST('{}' AS JSONB)" if engine.dialect.name == "postgresql" else "'{}'"
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO outbox (enrollment_id, touch_index, lead_id, message_id, subject, "
            "variant, status, attempts, created_at, sent_at) "
            "SELECT id, 0, lead_id, '<' || id || '.0.bench@relay.example.com>', 'Hello', 0, "
            "'sent', 1, :sent, :sent FROM enrollment"
        ).bindparams(bindparam("sent", type_=UTCDateTime)), {"sent": sent_at})
        connection.execute(text(
            "INSERT INTO event (lead_id, type, at, data, outbox_id, source, machine) "
            f"SELECT lead_id, 'sent', sent_at, {jsonb}, id, 'dispatch', false FROM outbox"))
        enrollment_ids = list(connection.execute(text(
            "SELECT id FROM enrollment ORDER BY id")).scalars())
    if engine.dialect.name == "postgresql":  # these tables only: the database may hold more
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text(
                "ANALYZE lead, enrollment, outbox, event"))
    return enrollment_ids


def stored(engine: Engine) -> Counter[str]:
    """The tracking events in the database: opens, clicks, the opens clicks implied, machines."""
    counts: Counter[str] = Counter()
    with engine.connect() as connection:
        rows = connection.execute(select(EVENTS.c.type, EVENTS.c.data, EVENTS.c.machine)
                                  .where(EVENTS.c.source == "tracking"))
        for row in rows:
            implied = row.type == "opened" and row.data.get("implied_by")
            counts["implied open" if implied else row.type] += 1
            counts["machine"] += bool(row.machine)
    return counts


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_command(port: int, args: argparse.Namespace) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "--factory", "--app-dir", str(BENCH),
            "tracking_app:app", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(args.workers), "--loop", args.loop, "--http", args.http,
            "--no-access-log", "--log-level", "warning"]


@contextmanager
def app_server(database_url: str, sequences: Path, args: argparse.Namespace
               ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """uvicorn serving bench/tracking_app.py in its own process; its base URL once it answers."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PGAPPNAME": APPLICATION, "NURTURE_DATABASE_URL": database_url,
           "NURTURE_SEQUENCES_DIR": str(sequences), "NURTURE_TRACKING__SECRET": SECRET,
           "NURTURE_TRACKING__BASE_URL": base_url}
    process = subprocess.Popen(server_command(port, args), env=env, cwd=REPO)
    try:
        wait_until_up(base_url, process)
        yield base_url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_up(base_url: str, process: subprocess.Popen[bytes], deadline: float = 30) -> None:
    give_up = time.monotonic() + deadline
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise SystemExit(f"the app server exited with status {process.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the app server did not answer {base_url}/healthz within {deadline} s")


@contextmanager
def profiled(process: subprocess.Popen[bytes], output: Path | None) -> Iterator[None]:
    """py-spy recording the server (and its workers) while the block runs, when asked to."""
    if output is None:
        yield
        return
    spy = shutil.which("py-spy", path=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    if spy is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    recorder = subprocess.Popen([spy, "record", "--pid", str(process.pid), "--subprocesses",
                                 "--gil", "--rate", "200", "--format", "speedscope", "--output",
                                 str(output)], stdout=subprocess.DEVNULL)
    time.sleep(1)  # py-spy attaches
    try:
        yield
    finally:
        recorder.send_signal(2)  # SIGINT: py-spy writes the profile and exits
        recorder.wait(timeout=60)
        print(f"  profile: {output} (open in https://www.speedscope.app)")


def run(label: str, engine: Engine, database_url: str, args: argparse.Namespace) -> None:
    load_before = os.getloadavg()[0]  # others' work on the machine, before ours starts
    upgrade(engine)
    rng = random.Random(20260302)
    enrollment_ids = seed_sent_emails(engine, args.emails, datetime.now(UTC) - timedelta(days=1))
    warm_up, planned = plan(enrollment_ids, WARM_UP, rng), plan(enrollment_ids, args.hits, rng)
    with tempfile.TemporaryDirectory() as folder, \
            app_server(database_url, bench_sequences(Path(folder)), args) as (base_url, server):
        warmed = fire(args.load, base_url, warm_up, args.concurrency, WARM_UP_SECONDS)
        output = args.profile / f"tracking-{label.lower()}.speedscope.json" \
            if args.profile else None
        meter = CpuMeter(engine, server, APPLICATION)
        with profiled(server, output), meter.measuring():
            result = fire(args.load, base_url, planned, args.concurrency, args.seconds)
    report(label, result, meter, args, load_before)
    check_stored(engine, warmed, result)


def report(label: str, result: LoadResult, meter: CpuMeter, args: argparse.Namespace,
           load_before: float) -> None:
    done = result.completed
    answers = ", ".join(f"{code} ×{count:,}" for code, count in sorted(result.answers.items()))
    latency = result.latency_ms
    print(f"{label}: load generator {result.generator}, {args.concurrency} connections, "
          f"{args.hits:,} planned hits on {args.emails:,} emails, {args.workers} worker(s), "
          f"loop {args.loop}, http {args.http}; load average before {load_before:.2f} on "
          f"{CORES} cores")
    print(f"  {done / result.seconds:8,.0f} hits/s   p50 {latency['p50']:5.1f} ms   "
          f"p90 {latency['p90']:5.1f} ms   p99 {latency['p99']:5.1f} ms   "
          f"max {latency['max']:6.1f} ms   ({done:,} hits in {result.seconds:.1f} s)")
    print(f"  answers: {answers}")
    per_hit = [seconds * 1000 / done for seconds in (meter.app, meter.database, result.load_cpu)]
    print(f"  CPU per hit: app {per_hit[0]:.2f} ms, database server {per_hit[1]:.2f} ms, "
          f"load generator {per_hit[2]:.2f} ms: the app alone on one core would serve at most "
          f"{1000 / per_hit[0]:,.0f} hits/s; the three on {CORES} cores at most "
          f"{CORES * 1000 / sum(per_hit):,.0f} hits/s")
    if meter.connections > done // 100:
        print(f"  {meter.connections:,} database connections were opened during the run: the "
              "database CPU above misses the backends that came and went")


def check_stored(engine: Engine, warmed: LoadResult, result: LoadResult) -> None:
    """Every hit answered as stored, the warm-up's included, must be one stored event; hits
    sent but not answered when wrk stopped (at most one per connection) may be stored too."""
    answered = warmed.succeeded + result.succeeded
    sent = warmed.sent + result.sent
    counts = stored(engine)
    kinds = {"open": counts["opened"], "click": counts["clicked"]}
    holds = all(answered[kind] <= kinds[kind] <= sent[kind] for kind in kinds)
    exact = all(kinds[kind] == answered[kind] for kind in kinds)
    print(f"  stored: {counts['opened']:,} opens + {counts['clicked']:,} clicks "
          f"(+ {counts['implied open']:,} opens implied by clicks), {counts['machine']} machine"
          f" — {'equal to' if exact else 'at least' if holds else 'NOT MATCHING'} the "
          f"{sum(answered.values()):,} hits answered (warm-up included)"
          + ("" if exact or not holds else
             f", at most the {sum(sent.values()):,} sent: wrk stopped with some in flight"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg", default=PG_URL)
    parser.add_argument("--load", choices=["auto", "wrk", "httpx"], default="auto",
                        help="load generator; auto: wrk when installed, else httpx")
    parser.add_argument("--seconds", type=float, default=20, help="how long wrk runs")
    parser.add_argument("--hits", type=int, default=20000,
                        help="planned hits: httpx sends each once, wrk cycles through them")
    parser.add_argument("--emails", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--loop", default="auto", help="uvicorn --loop: auto, asyncio, uvloop")
    parser.add_argument("--http", default="auto", help="uvicorn --http: auto, h11, httptools")
    parser.add_argument("--profile", type=Path, help="write py-spy profiles of the server here")
    args = parser.parse_args()
    if args.load == "auto":
        args.load = "wrk" if wrk_path() else "httpx"
    elif args.load == "wrk" and not wrk_path():
        raise SystemExit("--load wrk: wrk is not installed (apt-get install wrk)")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'nurture.db'}"
            engine = make_engine(url)
            run("SQLite", engine, url, args)
            engine.dispose()
    if args.database in ("postgres", "both"):
        with postgres_schema(args.pg) as engine:
            if engine is not None:
                run("PostgreSQL", engine, engine.url.render_as_string(hide_password=False), args)


if __name__ == "__main__":
    main()
