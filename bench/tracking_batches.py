"""Benchmark: what one group commit of tracking hits costs, in this process, without HTTP.

    .venv/bin/python bench/tracking_batches.py [--database sqlite|postgres|both]
        [--batch 16] [--batches 400] [--emails 5000] [--profile FILE]

Seeds emails as bench/tracking.py does, then records `--batches` batches of `--batch` hits
(70 % opens, 30 % clicks, browser user agents) through `record_hits`, one transaction each,
as the group commit writes them. Prints per hit: this process's CPU, the PostgreSQL backend's
CPU (from /proc), the statements sent, and wall time. Steadier than the HTTP bench on a shared
machine, and it shows where the database's share goes. --profile records it with py-spy.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cpu_meter import cpu_seconds
from harness import bench_sequences, postgres_schema
from sqlalchemy import Engine, event, text
from tracking import AGENTS, LINKS, OPEN_SHARE, PG_URL, seed_sent_emails

from nurture.core.machine import Hit
from nurture.engine.tracking_links import TouchRef
from nurture.files.loader import load_project
from nurture.store.engine import make_engine, upgrade, writing
from nurture.web.hits import record_hits


def planned(enrollment_ids: list[int], count: int, start: datetime, rng: random.Random
            ) -> list[tuple[TouchRef, Hit]]:
    hits = []
    for number in range(count):
        enrollment_id = rng.choice(enrollment_ids)
        at = start + timedelta(milliseconds=number)
        if rng.random() < OPEN_SHARE:
            hit = Hit("open", rng.choice(AGENTS), "127.0.0.1", at)
        else:
            hit = Hit("click", rng.choice(AGENTS), "127.0.0.1", at,
                      LINKS[enrollment_id % len(LINKS)])
        hits.append((TouchRef(enrollment_id, 0), hit))
    return hits


def run(label: str, engine: Engine, args: argparse.Namespace) -> None:
    upgrade(engine)
    now = datetime.now(UTC)
    ids = seed_sent_emails(engine, args.emails, now - timedelta(days=1))
    rng = random.Random(20260302)
    hits = planned(ids, args.batch * (args.batches + 50), now, rng)
    with tempfile.TemporaryDirectory() as folder:
        project = load_project(bench_sequences(Path(folder)))
    statements = [0]

    def count(*_: object) -> None:
        statements[0] += 1

    with engine.connect() as connection:  # the pool's one connection: its backend pid
        backend = (connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
                   if engine.dialect.name == "postgresql" else None)
    backend_cpu = (lambda: cpu_seconds([backend])) if backend else (lambda: 0.0)
    warm, measured = hits[:args.batch * 50], hits[args.batch * 50:]
    for start in range(0, len(warm), args.batch):
        with writing(engine) as connection:
            record_hits(connection, project, warm[start:start + args.batch])
    event.listen(engine, "before_cursor_execute", count)
    spy = _profiler(args.profile)
    load = os.getloadavg()[0]
    wall, cpu, db = time.perf_counter(), time.process_time(), backend_cpu()
    for start in range(0, len(measured), args.batch):
        with writing(engine) as connection:
            record_hits(connection, project, measured[start:start + args.batch])
    wall, cpu, db = (time.perf_counter() - wall, time.process_time() - cpu, backend_cpu() - db)
    if spy is not None:
        spy.send_signal(2)
        spy.wait(timeout=60)
    event.remove(engine, "before_cursor_execute", count)
    done = len(measured)
    print(f"{label}: {done:,} hits in batches of {args.batch}; load average {load:.2f}")
    print(f"  per hit: app CPU {cpu * 1000 / done:.3f} ms, database backend CPU "
          f"{db * 1000 / done:.3f} ms, wall {wall * 1000 / done:.3f} ms; "
          f"{statements[0] / args.batches:.1f} statements per batch")


def _profiler(output: Path | None) -> subprocess.Popen[bytes] | None:
    if output is None:
        return None
    spy = Path(sys.executable).parent / "py-spy"
    process = subprocess.Popen([str(spy), "record", "--pid", str(os.getpid()), "--rate", "400",
                                "--format", "speedscope", "--output", str(output)],
                               stdout=subprocess.DEVNULL)
    time.sleep(1)
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg", default=PG_URL)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--emails", type=int, default=5000)
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'nurture.db'}")
            run("SQLite", engine, args)
            engine.dispose()
    if args.database in ("postgres", "both"):
        with postgres_schema(args.pg) as engine:
            if engine is not None:
                run("PostgreSQL", engine, args)


if __name__ == "__main__":
    main()
