"""Benchmark: open-pixel and click-redirect hits per second against the real app over loopback.

    .venv/bin/python bench/tracking.py [--hits 20000] [--emails 5000] [--concurrency 16]
        [--database sqlite|postgres|both] [--workers 1] [--loop auto] [--http auto]
        [--profile DIR]

Per database (a SQLite file; a fresh PostgreSQL schema, skipped with a message when no server
answers): seed leads, enrollments and 'sent' outbox rows so tokens resolve, start the app with
uvicorn in a separate process (bench/tracking_app.py) on a free port, then fire a fixed number of
hits — 70% opens, 30% clicks, browser user agents, each email with its one link, sent a day ago,
so every hit is a person's — from `--concurrency` concurrent httpx requests. Prints hits/s and
latency percentiles (client-side, so they include httpx's own time), then counts the events
stored, which must equal the successful hits. --profile records the server with py-spy.
"""

from __future__ import annotations

import argparse
import asyncio
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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cpu_meter import CpuMeter
from harness import bench_sequences, postgres_schema, seed
from sqlalchemy import Engine, bindparam, select, text

from nurture.engine.events import EVENTS
from nurture.engine.tracking_links import TouchRef, click_url, pixel_url
from nurture.store.engine import make_engine, upgrade
from nurture.store.types import UTCDateTime

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
SECRET = "bench-tracking-secret"
OPEN_SHARE = 0.7
WARM_UP = 500
APPLICATION = f"nurture-bench-{os.getpid()}"  # the app's PostgreSQL application_name
ANSWERS = {"open": 200, "click": 302}
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


@dataclass(frozen=True)
class PlannedHit:
    kind: str  # "open" or "click"
    path: str
    agent: str


@dataclass
class LoadResult:
    seconds: float = 0.0
    load_cpu: float = 0.0  # CPU seconds of this process, the load generator
    latencies: list[float] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)
    succeeded: Counter[str] = field(default_factory=Counter)  # by kind

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


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


async def fire(base_url: str, planned: list[PlannedHit], concurrency: int) -> LoadResult:
    """Every planned hit, `concurrency` in flight at a time over kept-alive connections."""
    result = LoadResult()
    pending = iter(planned)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:

        async def worker() -> None:
            for hit in pending:  # one iterator shared by all workers: each hit is sent once
                started = time.perf_counter()
                try:
                    response = await client.get(hit.path, headers={"User-Agent": hit.agent})
                except httpx.HTTPError as exc:
                    result.answers[type(exc).__name__] += 1
                    continue
                result.latencies.append(time.perf_counter() - started)
                result.answers[str(response.status_code)] += 1
                if response.status_code == ANSWERS[hit.kind]:
                    result.succeeded[hit.kind] += 1

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
        result.load_cpu = time.process_time() - cpu
    return result


def seed_sent_emails(engine: Engine, emails: int, sent_at: datetime) -> list[int]:
    """`emails` leads, each enrolled and sent touch 0 at `sent_at`; the enrollment ids."""
    seed(engine, emails, 0, sent_at, sent_at)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO outbox (enrollment_id, touch_index, lead_id, message_id, subject, "
            "variant, status, attempts, created_at, sent_at) "
            "SELECT id, 0, lead_id, '<' || id || '.0.bench@relay.example.com>', 'Hello', 0, "
            "'sent', 1, :sent, :sent FROM enrollment"
        ).bindparams(bindparam("sent", type_=UTCDateTime)), {"sent": sent_at})
        return list(connection.execute(text("SELECT id FROM enrollment ORDER BY id")).scalars())


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
        warmed = asyncio.run(fire(base_url, warm_up, args.concurrency))
        output = args.profile / f"tracking-{label.lower()}.speedscope.json" \
            if args.profile else None
        meter = CpuMeter(engine, server, APPLICATION)
        with profiled(server, output), meter.measuring():
            result = asyncio.run(fire(base_url, planned, args.concurrency))
    report(label, result, meter, args, load_before)
    check_stored(engine, warmed, result)


def report(label: str, result: LoadResult, meter: CpuMeter, args: argparse.Namespace,
           load_before: float) -> None:
    sent = len(result.latencies)
    answers = ", ".join(f"{code} ×{count:,}" for code, count in sorted(result.answers.items()))
    print(f"{label}: {args.hits:,} hits ({args.emails:,} emails), {args.concurrency} in flight, "
          f"{args.workers} worker(s), loop {args.loop}, http {args.http}; load average before "
          f"{load_before:.1f} on {CORES} cores")
    print(f"  {sent / result.seconds:8,.0f} hits/s   p50 {result.percentile(0.5):5.1f} ms   "
          f"p90 {result.percentile(0.9):5.1f} ms   p99 {result.percentile(0.99):5.1f} ms   "
          f"max {max(result.latencies) * 1000:6.1f} ms   ({result.seconds:.1f} s)")
    print(f"  answers: {answers}")
    per_hit = [seconds * 1000 / sent for seconds in (meter.app, meter.database, result.load_cpu)]
    print(f"  CPU per hit: app {per_hit[0]:.2f} ms, database server {per_hit[1]:.2f} ms, "
          f"load generator {per_hit[2]:.2f} ms: the app alone on one core would serve at most "
          f"{1000 / per_hit[0]:,.0f} hits/s; the three on {CORES} cores at most "
          f"{CORES * 1000 / sum(per_hit):,.0f} hits/s")
    if meter.connections > sent // 100:
        print(f"  {meter.connections:,} database connections were opened during the run: the "
              "database CPU above misses the backends that came and went")


def check_stored(engine: Engine, warmed: LoadResult, result: LoadResult) -> None:
    """Every successful hit, the warm-up's included, must be one stored event."""
    expected = warmed.succeeded + result.succeeded
    counts = stored(engine)
    matches = (counts["opened"], counts["clicked"]) == (expected["open"], expected["click"])
    print(f"  stored: {counts['opened']:,} opens + {counts['clicked']:,} clicks "
          f"(+ {counts['implied open']:,} opens implied by clicks), {counts['machine']} machine"
          f" — {'equal to' if matches else 'NOT EQUAL to'} the {sum(expected.values()):,} "
          f"successful hits (warm-up included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hits", type=int, default=20000)
    parser.add_argument("--emails", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg", default=PG_URL)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--loop", default="auto", help="uvicorn --loop: auto, asyncio, uvloop")
    parser.add_argument("--http", default="auto", help="uvicorn --http: auto, h11, httptools")
    parser.add_argument("--profile", type=Path, help="write py-spy profiles of the server here")
    args = parser.parse_args()
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
