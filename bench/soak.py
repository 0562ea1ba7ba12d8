"""Soak: many leads through a whole sequence, on real `nurture run` processes, while tracking
traffic hits them. Not a timed test: `make soak` runs it and docs/reliability.md keeps figures.

    .venv/bin/python bench/soak.py [--leads 50000] [--database sqlite|postgres|both]
        [--workers 3] [--hits-per-second 40]

Per database: a fresh SQLite file (one daemon: SQLite allows one) or PostgreSQL schema (three
daemons by default), `--leads` leads enrolled in a copy of the 7-touch inbound-welcome sequence
with its send window open round the clock, all due at once. The daemons send to an SMTP sink in
its own process (bench/harness.py) and read the time from one shared clock
(tests/faults/clocked.py): frozen while touches are due, moved on to the next due touch once
nothing is due and nothing is claimed — so a month of sequence runs at the speed the daemons
drain each wave. After the first wave, a generator in its own process clicks tracked links of
sent emails at `--hits-per-second`, spread over the daemons' HTTP ports; a click rescores the
lead, and a lead with no click skips touch 5.

Prints, every few seconds: wall and simulated time, touches due, sends so far and per second,
RSS of each daemon, load average. At the end: throughput, the hits answered, RSS first/peak/last,
what became of every enrollment and touch, and loss — touches due but never sent, outbox rows
not final, sends recorded but not received — which must be 0, and duplicates (received more
than recorded), which must be 0 too with no fault injected.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from harness import SEQUENCE_ID, TEMPLATES, Sink, bench_sequences, postgres_schema, seed
from soak_traffic import clicker
from sqlalchemy import Engine, func, select, text

from nurture.store.engine import make_engine, upgrade
from nurture.store.models import Enrollment

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.faults.clocked import CLOCK_FILE_ENV, SharedClock  # noqa: E402

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
ENROLLMENTS = Enrollment.__table__  # type: ignore[attr-defined]
SECRET = "soak-tracking-secret"
SAMPLE_SECONDS = 5.0
STEP = timedelta(hours=1)  # the least the clock moves: a wave's jitter (10 min) fits in it


@dataclass
class Daemon:
    process: subprocess.Popen[bytes]
    log: Path
    port: int
    rss_mb: list[float] = field(default_factory=list)

    def sample_rss(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kilobytes = next(int(line.split()[1]) for line in status.splitlines()
                         if line.startswith("VmRSS:"))
        self.rss_mb.append(kilobytes / 1024)
        return self.rss_mb[-1]


def start_daemons(count: int, database_url: str, folder: Path, sink: Sink,
                  clock: SharedClock) -> list[Daemon]:
    daemons = []
    for number in range(1, count + 1):
        port = free_port()
        settings = {
            "DATABASE_URL": database_url, "OUTBOX": "smtp", "SMTP__HOST": sink.host,
            "SMTP__PORT": sink.port, "SMTP__POOL_SIZE": 4, "HTTP_PORT": port,
            "DISPATCH_INTERVAL_SECONDS": 0.5, "SEQUENCES_DIR": folder / "sequences",
            "TEMPLATES_DIR": TEMPLATES, "LIMITS__PER_HOUR": 10**9, "LIMITS__PER_DAY": 10**9,
            "LIMITS__PER_DOMAIN_PER_MINUTE": 10**6, "SENDER__NAME": "Relay Labs",
            "SENDER__EMAIL": "hello@relay.example.com",
            "SENDER__POSTAL_ADDRESS": "Relay Labs, 1 Harbour Street, Bristol BS1 4XY, UK",
            "TRACKING__SECRET": SECRET, "TRACKING__BASE_URL": f"http://127.0.0.1:{port}",
        }
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("NURTURE_")}
        env.update({f"NURTURE_{key}": str(value) for key, value in settings.items()})
        env.update({CLOCK_FILE_ENV: str(clock.path), "PYTHONPATH": str(REPO)})
        log = folder / f"daemon{number}.log"
        with log.open("wb") as output:
            process = subprocess.Popen([sys.executable, "-m", "tests.faults.clocked", "run"],
                                       env=env, cwd=folder, stdout=output,
                                       stderr=subprocess.STDOUT)
        daemons.append(Daemon(process, log, port))
    for daemon in daemons:
        wait_until_up(daemon)
    return daemons


def wait_until_up(daemon: Daemon) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if daemon.process.poll() is not None:
            raise SystemExit(f"a daemon exited at start:\n{daemon.log.read_text()[-3000:]}")
        try:
            httpx.get(f"http://127.0.0.1:{daemon.port}/healthz", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"a daemon did not answer within 60 s:\n{daemon.log.read_text()[-3000:]}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the database, read by the driver ----------------------------------------------------------

def due_now(engine: Engine, now: datetime) -> tuple[int, int]:
    """(enrollments due at `now`, enrollments claimed right now)."""
    active = ENROLLMENTS.c.status == "active"
    with engine.connect() as connection:
        due = connection.execute(select(func.count()).where(
            active, ENROLLMENTS.c.next_touch_at <= now)).scalar_one()
        claimed = connection.execute(select(func.count()).where(
            active, ENROLLMENTS.c.lease_token.is_not(None))).scalar_one()
    return int(due), int(claimed)


def next_due(engine: Engine) -> datetime | None:
    with engine.connect() as connection:
        found: datetime | None = connection.execute(
            select(func.min(ENROLLMENTS.c.next_touch_at))
            .where(ENROLLMENTS.c.status == "active")).scalar()
    return found


def grouped(engine: Engine, sql: str) -> Counter[str]:
    with engine.connect() as connection:
        return Counter({str(key): int(count) for key, count in connection.execute(text(sql))})


# -- one run ----------------------------------------------------------------------------------

def soak(label: str, engine: Engine, database_url: str, workers: int, args: argparse.Namespace
         ) -> None:
    folder = Path(tempfile.mkdtemp(prefix=f"nurture-soak-{label}-"))
    bench_sequences(folder)
    upgrade(engine)
    start = datetime.now(UTC).replace(microsecond=0)
    seed(engine, args.leads, args.leads, start, start)
    clock = SharedClock.create(folder / "clock.json", at=start)
    print(f"\n== {label}: {args.leads:,} leads, {workers} daemon(s), folder {folder}; "
          f"load average {os.getloadavg()[0]:.2f}")
    with Sink() as sink:
        daemons = start_daemons(workers, database_url, folder, sink, clock)
        context = multiprocessing.get_context("spawn")
        pipe, child = context.Pipe()
        traffic = None
        began = time.monotonic()
        busy_seconds, last_sample, last_sent = 0.0, began, 0
        while True:
            now = clock.now()
            due, claimed = due_now(engine, now)
            if time.monotonic() - last_sample >= SAMPLE_SECONDS:
                sent = sink.count().messages
                elapsed = time.monotonic() - last_sample
                rss = " ".join(f"{d.sample_rss():.0f}" for d in daemons)
                print(f"  t={time.monotonic() - began:6.0f}s  sim +{(now - start).days:2d}d "
                      f"{(now - start).seconds // 3600:2d}h  due {due:6,}  sent {sent:8,} "
                      f"({(sent - last_sent) / elapsed:5.0f}/s)  RSS MB {rss}  "
                      f"load {os.getloadavg()[0]:.2f}", flush=True)
                if sent > last_sent:
                    busy_seconds += elapsed
                last_sample, last_sent = time.monotonic(), sent
                if traffic is None and sent >= args.leads:
                    traffic = context.Process(target=clicker, daemon=True, args=(
                        child, [d.port for d in daemons], args.leads, args.hits_per_second,
                        SECRET))
                    traffic.start()
            if due == 0 and claimed == 0:
                following = next_due(engine)
                if following is None:
                    break
                clock.set(max(now + STEP, following + timedelta(seconds=1)))
            for daemon in daemons:
                if daemon.process.poll() is not None:
                    raise SystemExit(f"a daemon died:\n{daemon.log.read_text()[-3000:]}")
            time.sleep(0.25)
        wall = time.monotonic() - began
        hits: tuple[dict[str, int], list[float]] = ({}, [])
        if traffic is not None:
            pipe.send("stop")
            hits = pipe.recv()
            traffic.join(timeout=10)
        for daemon in daemons:
            daemon.sample_rss()
            daemon.process.terminate()
        codes = [daemon.process.wait(timeout=60) for daemon in daemons]
        received = sink.count()
    try:
        report(label, engine, daemons, codes, received.messages, received.recipients, wall,
               busy_seconds, hits, args.leads, clock.now() - start)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def report(label: str, engine: Engine, daemons: list[Daemon], codes: list[int],
           received: int, recipients: int, wall: float, busy: float,
           hits: tuple[dict[str, int], list[float]], leads: int, simulated: timedelta) -> None:
    outbox = grouped(engine, "SELECT status, count(*) FROM outbox GROUP BY status")
    by_touch = grouped(engine, "SELECT touch_index + 1, count(*) FROM outbox "
                               "WHERE status = 'sent' GROUP BY touch_index ORDER BY 1")
    enrollments = grouped(engine, "SELECT status || ' (' || coalesce(stop_reason, '-') || ')', "
                                  "count(*) FROM enrollment GROUP BY 1")
    sent = outbox["sent"]
    not_final = sum(n for status, n in outbox.items() if status not in ("sent", "skipped"))
    unfinished = sum(n for status, n in enrollments.items() if status.startswith("active"))
    loss = unfinished + not_final + max(0, sent - received)
    answers, latencies = hits
    latencies.sort()
    print(f"-- {label}: {sent:,} touches sent in {wall:.0f} s ({busy:.0f} s with touches due): "
          f"{sent / busy if busy else 0:,.0f} touches/s while busy, {sent / wall:,.0f}/s overall; "
          f"{simulated.days} simulated days")
    print(f"   sent per touch: {dict(by_touch)}; outbox {dict(outbox)}")
    print(f"   enrollments: {dict(enrollments)}")
    print(f"   received {received:,} messages for {recipients:,} leads; loss {loss} "
          f"(enrollments unfinished {unfinished}, outbox rows not final {not_final}, "
          f"recorded but not received {max(0, sent - received)}); "
          f"duplicates {max(0, received - sent)}")
    if latencies:
        p50, p99 = (latencies[int(len(latencies) * share)] * 1000 for share in (0.5, 0.99))
        print(f"   tracking: {sum(answers.values()):,} clicks "
              f"({sum(answers.values()) / wall:.0f}/s over the run), answers {answers}, "
              f"p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    for number, daemon in enumerate(daemons, 1):
        log = daemon.log.read_text(errors="replace")
        trouble = sum(1 for line in log.splitlines() if " ERROR " in line or " WARNING " in line)
        print(f"   daemon {number}: exit {codes[number - 1]}, RSS MB first "
              f"{daemon.rss_mb[0]:.0f} peak {max(daemon.rss_mb):.0f} last "
              f"{daemon.rss_mb[-1]:.0f}; {trouble} warning/error lines, "
              f"{log.count('Traceback')} tracebacks")
    print(f"   load average at the end {os.getloadavg()[0]:.2f}")
    if loss or received > sent:
        raise SystemExit(f"{label}: loss {loss}, duplicates {max(0, received - sent)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=50_000)
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--workers", type=int, default=3, help="daemons on PostgreSQL")
    parser.add_argument("--hits-per-second", type=float, default=40)
    parser.add_argument("--keep", action="store_true",
                        help="keep the daemons' logs and the SQLite database (their folders "
                             "are printed)")
    args = parser.parse_args()
    print(f"soak: sequence {SEQUENCE_ID}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}")
    if args.database in ("sqlite", "both"):
        folder = Path(tempfile.mkdtemp(prefix="nurture-soak-db-"))
        url = f"sqlite:///{folder / 'nurture.db'}"
        engine = make_engine(url)
        try:
            soak("SQLite", engine, url, 1, args)
        finally:
            engine.dispose()
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)
    if args.database in ("postgres", "both"):
        with postgres_schema(PG_URL) as engine:
            if engine is not None:
                soak("PostgreSQL", engine, engine.url.render_as_string(hide_password=False),
                     args.workers, args)


if __name__ == "__main__":
    main()
