"""Benchmark: a tick costs what is due, not what is stored; and the memory of a worker.

    .venv/bin/python bench/scale.py [--leads 100000 1000000] [--due 1000] [--runs 3]

For each size, a fresh SQLite file is seeded (in this process) with that many leads enrolled
in a copy of sequences/prospecting/inbound-welcome.toml: `--due` of them due now, the others
due next month (every fifth finished), each with a first touch sent three days ago (its
outbox row and `sent` event; every third opened). Then a separate, daemon-like process runs
Dispatcher.tick until the due touches are drained into an SMTP sink (a third process), puts
the same touches back, and does it again `--runs` times. Prints the median drain time per
size (wall clock, and CPU time of the ticking process, which other work on a shared machine
disturbs less), the ratios between the largest and the smallest size, the cost of a tick
with nothing due, and the ticking process's peak RSS (ru_maxrss).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness import IDENTITY, TEMPLATES, Sink, bench_sequences, seed
from sqlalchemy import Engine, text

from nurture.engine.dispatch import DispatchConfig, Dispatcher
from nurture.files.loader import load_project
from nurture.mail.smtp import SmtpTransport
from nurture.render import TemplateRenderer
from nurture.store.engine import make_engine, upgrade

UNLIMITED = 10**9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    medians: dict[int, tuple[float, float]] = {}
    with Sink() as sink, tempfile.TemporaryDirectory() as folder:
        sequences = bench_sequences(Path(folder))
        for leads in args.leads:
            url = f"sqlite:///{folder}/scale-{leads}.db"
            seed_file(url, leads, args.due)
            runs, empty, peak = in_worker(url, sequences, sink.port, args)
            medians[leads] = (statistics.median(wall for wall, _ in runs),
                              statistics.median(cpu for _, cpu in runs))
            print(f"  {args.due:,} due touches among {leads:,} leads: drained in "
                  f"{', '.join(f'{wall * 1000:.0f}' for wall, _ in runs)} ms (median "
                  f"{medians[leads][0] * 1000:.0f} ms; CPU median {medians[leads][1] * 1000:.0f}"
                  f" ms); a tick with nothing due {empty * 1000:.2f} ms; worker peak RSS "
                  f"{peak / 1024:.0f} MB; load average {os.getloadavg()[0]:.2f}")
            Path(url.removeprefix("sqlite:///")).unlink()
    smallest, largest = min(medians), max(medians)
    if smallest != largest:
        wall, cpu = (medians[largest][i] / medians[smallest][i] for i in (0, 1))
        print(f"ratio {largest:,} / {smallest:,} leads: {wall:.2f} (CPU {cpu:.2f})")


def seed_file(url: str, leads: int, due: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC) - timedelta(seconds=1)
    started = time.perf_counter()
    seed(engine, leads, due, now, now + timedelta(days=30), history=True)
    engine.dispose()  # no ANALYZE: nurture never runs it, so the planner has no statistics
    size = Path(url.removeprefix("sqlite:///")).stat().st_size / 1e6
    print(f"{leads:,} leads: seeded in {time.perf_counter() - started:.1f} s ({size:,.0f} MB)")


def in_worker(url: str, sequences: Path, port: int,
              args: argparse.Namespace) -> tuple[list[tuple[float, float]], float, int]:
    """Run the ticks in a fresh process, as a daemon would: (drain times, empty tick, RSS)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(worker, (url, sequences, port, args.due, args.runs, args.batch_size))


def worker(url: str, sequences: Path, port: int, due: int, runs: int,
           batch_size: int) -> tuple[list[tuple[float, float]], float, int]:
    engine = make_engine(url)
    times = asyncio.run(drain_repeatedly(engine, sequences, port, due, runs, batch_size))
    engine.dispose()
    return (*times, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


async def drain_repeatedly(engine: Engine, sequences: Path, port: int, due: int, runs: int,
                           batch_size: int) -> tuple[list[tuple[float, float]], float]:
    """(wall, CPU) seconds of each drain, and the wall seconds of a tick with nothing due."""
    transport = SmtpTransport("127.0.0.1", port, pool_size=4)
    config = DispatchConfig(worker="scale", batch_size=batch_size, chunk_size=32,
                            per_hour=UNLIMITED, per_day=UNLIMITED)
    dispatcher = Dispatcher(engine, load_project(sequences), TemplateRenderer(TEMPLATES),
                            transport, IDENTITY, config)
    drains = []
    for _ in range(runs):
        started, cpu, sent = time.perf_counter(), time.process_time(), 0
        while (report := await dispatcher.tick(datetime.now(UTC))).claimed:
            sent += report.outcomes["sent"]
        drains.append((time.perf_counter() - started, time.process_time() - cpu))
        if sent != due:
            raise SystemExit(f"expected {due} sends, got {sent}")
        put_back(engine, due)
    started = time.perf_counter()
    for _ in range(10):
        await dispatcher.tick(datetime.now(UTC) - timedelta(hours=1))
    empty = (time.perf_counter() - started) / 10
    await transport.close()
    return drains, empty


def put_back(engine: Engine, due: int) -> None:
    """Make the first `due` enrollments due again at their first touch, as seeded."""
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM event WHERE lead_id <= :due"), {"due": due})
        connection.execute(text("DELETE FROM outbox WHERE lead_id <= :due"), {"due": due})
        connection.execute(text(
            "UPDATE enrollment SET position = 0, status = 'active', stop_reason = NULL, "
            "next_touch_at = created_at WHERE lead_id <= :due"), {"due": due})


if __name__ == "__main__":
    main()
