"""Benchmark: end-to-end dispatch throughput into a local SMTP sink, against the floor.

    .venv/bin/python bench/dispatch.py [--touches 20000] [--database sqlite|postgres|both]

Seeds N leads enrolled in a copy of sequences/prospecting/inbound-welcome.toml (send window
always open), all due now, then runs Dispatcher.tick until nothing is due, sending through
SmtpTransport to a sink in a separate process that counts what arrived. In the same run, the
floor: the same renders (compose: Jinja2, Markdown, layout, CSS inlining, MIME) and the same
SMTP sends with the same pool and concurrency, but no database and no scheduling. Prints
touches/s for both, their ratio, and where the engine's time went.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from harness import (
    DOMAINS,
    FIRST_NAMES,
    IDENTITY,
    SEQUENCE_ID,
    SOURCES,
    TEMPLATES,
    ZONES,
    Sink,
    bench_sequences,
    postgres_schema,
    seed,
)
from sqlalchemy import Engine, func, select

import nurture.engine.compose as compose_module
import nurture.engine.dispatch as dispatch_module
from nurture.core.decisions import choose_variant
from nurture.engine.compose import compose, message_id
from nurture.engine.dispatch import DispatchConfig, Dispatcher
from nurture.engine.outcomes import Recorder
from nurture.files.loader import Project, load_project
from nurture.mail.smtp import SmtpTransport
from nurture.mail.transport import Delivery, Envelope
from nurture.render import RenderContext, RenderedEmail, TemplateRenderer
from nurture.store.engine import make_engine, upgrade
from nurture.store.models import Lead, Outbox

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
UNLIMITED = 10**9


@dataclass
class Timings:
    """Seconds spent per phase of the engine, summed over a run."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds

    def wrap(self, phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(phase, time.perf_counter() - started)

        return timed


class TimedRenderer(TemplateRenderer):
    """The renderer, timed."""

    timings: Timings

    def render(self, template: str, subject: str, context: RenderContext) -> RenderedEmail:
        started = time.perf_counter()
        try:
            return super().render(template, subject, context)
        finally:
            self.timings.add("render", time.perf_counter() - started)


class TimedTransport:
    """SmtpTransport, counting the wall time during which at least one send is in flight."""

    name = "smtp"

    def __init__(self, inner: SmtpTransport, timings: Timings) -> None:
        self.inner, self.timings = inner, timings
        self.in_flight, self.since = 0, 0.0

    async def send(self, envelope: Envelope) -> Delivery:
        if self.in_flight == 0:
            self.since = time.perf_counter()
        self.in_flight += 1
        try:
            return await self.inner.send(envelope)
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self.timings.add("SMTP (wall)", time.perf_counter() - self.since)

    async def close(self) -> None:
        await self.inner.close()


@contextmanager
def instrumented(timings: Timings) -> Iterator[None]:
    """Time the engine's phases by wrapping the functions it calls; undone on exit."""
    patches = [
        (dispatch_module, "claim_due", "claim + load"),
        (dispatch_module, "mailbox_counts", "claim + load"),
        (dispatch_module, "load_batch", "claim + load"),
        (compose_module, "build_message", "MIME"),
        (Recorder, "write_plan", "record"),
        (Recorder, "mark_sending", "record"),
        (Recorder, "flush_deliveries", "record"),
        (Recorder, "postpone", "record"),
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    for (owner, name, phase), (_, _, original) in zip(patches, originals, strict=True):
        setattr(owner, name, timings.wrap(phase, original))
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


@dataclass(frozen=True)
class Result:
    touches: int
    seconds: float
    cpu: float  # CPU seconds of this process (the sink's are not counted)
    ticks: int = 0
    timings: Timings | None = None

    @property
    def rate(self) -> float:
        return self.touches / self.seconds


# -- the engine ---------------------------------------------------------------------------

async def run_engine(engine: Engine, project: Project, sink: Sink, touches: int,
                     config: DispatchConfig, pool_size: int) -> Result:
    timings = Timings()
    renderer = TimedRenderer(TEMPLATES)
    renderer.timings = timings
    transport = TimedTransport(SmtpTransport(sink.host, sink.port, pool_size=pool_size), timings)
    dispatcher = Dispatcher(engine, project, renderer, transport, IDENTITY, config)
    before = sink.count().messages
    ticks, sent = 0, 0
    with instrumented(timings):
        started, cpu = time.perf_counter(), time.process_time()
        while True:
            tick_started = time.perf_counter()
            report = await dispatcher.tick(datetime.now(UTC))
            timings.add("tick", time.perf_counter() - tick_started)
            if not report.claimed:
                break
            ticks += 1
            sent += report.outcomes["sent"]
            unexpected = {k: v for k, v in report.outcomes.items() if k != "sent"}
            if unexpected:
                raise SystemExit(f"tick {ticks}: expected only sends, got {report}")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    await transport.close()
    check_arrived(sink, before, touches, sent)
    with engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(Outbox.__table__)
                                    .where(Outbox.__table__.c.status == "sent")).scalar_one()
    if stored != touches:
        raise SystemExit(f"the outbox holds {stored} sent rows, expected {touches}")
    return Result(touches, seconds, cpu, ticks, timings)


# -- the floor ----------------------------------------------------------------------------

def floor_leads(touches: int, now: datetime) -> list[Lead]:
    """The seeded leads, built in memory (bench/harness.py seeds the same values)."""
    return [Lead(id=i, email=f"lead{i}@company{i % DOMAINS}.example.com",
                 first_name=FIRST_NAMES[i % len(FIRST_NAMES)], last_name="Lee",
                 company=f"Company {i % DOMAINS}", title="Head of Ops",
                 source=SOURCES[i % len(SOURCES)], country="GB", timezone=ZONES[i % len(ZONES)],
                 employees=10 + i % 990, custom={}, stage="prospecting", status="active",
                 score=0.0, fit="D" if i % 4 == 0 else "B", stage_entered_at=now,
                 created_at=now, updated_at=now)
            for i in range(1, touches + 1)]


async def run_floor(project: Project, sink: Sink, touches: int, concurrency: int,
                    pool_size: int) -> Result:
    """Compose and send each lead's first touch: no database, no decisions, no records."""
    sequence = project.sequence(SEQUENCE_ID)
    assert sequence is not None
    now = datetime.now(UTC)
    leads = floor_leads(touches, now)
    renderer = TemplateRenderer(TEMPLATES)
    transport = SmtpTransport(sink.host, sink.port, pool_size=pool_size)
    before = sink.count().messages
    queue = iter(leads)
    sent = 0

    async def worker() -> None:
        nonlocal sent
        for lead in queue:
            assert lead.id is not None
            variant = choose_variant(lead.email, sequence.id, 0, len(sequence.touches[0].subject))
            msg_id = message_id(IDENTITY, lead.id, 0)
            composed = compose(renderer, IDENTITY, sequence, 0, variant, lead, None, msg_id, now,
                               lead.id)
            envelope = Envelope(IDENTITY.sender_email, (lead.email,), composed.message, msg_id)
            delivery = await transport.send(envelope)
            sent += delivery.outcome.value == "sent"

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    await transport.close()
    check_arrived(sink, before, touches, sent)
    return Result(touches, seconds, cpu)


def check_arrived(sink: Sink, before: int, touches: int, sent: int) -> None:
    count = sink.count()
    arrived = count.messages - before
    if sent != touches or arrived != touches:
        raise SystemExit(f"expected {touches} messages; sent {sent}, the sink received {arrived}")
    message = message_from_bytes(count.sample, policy=policy.strict)
    if not message.is_multipart() or len(message.get_payload()) != 2:
        raise SystemExit("the sink received something else than a two-part message")


# -- the run ------------------------------------------------------------------------------

def report(label: str, engine_result: Result, floor: Result) -> None:
    ratio = engine_result.rate / floor.rate
    print(f"{label}: {engine_result.touches:,} touches in {engine_result.seconds:.2f} s "
          f"({engine_result.ticks} ticks): {engine_result.rate:,.0f} touches/s; "
          f"floor {floor.rate:,.0f} touches/s ({floor.seconds:.2f} s); ratio {ratio:.2f}")
    print(f"  CPU per touch in this process: engine {cpu_us(engine_result):.0f} µs, "
          f"floor {cpu_us(floor):.0f} µs; load average {os.getloadavg()[0]:.2f}")
    timings = engine_result.timings
    if timings is None:
        return
    spent = dict(timings.seconds)
    tick = spent.pop("tick")
    per_touch = 1e6 / engine_result.touches
    parts = [f"{name} {seconds * per_touch:.0f}" for name, seconds in spent.items()]
    rest = tick - sum(spent.values())
    print(f"  per touch, µs: {', '.join(parts)}, decide + glue {rest * per_touch:.0f} "
          f"(tick total {tick * per_touch:.0f}; SMTP is wall time with a send in flight)")


def cpu_us(result: Result) -> float:
    return result.cpu / result.touches * 1e6


async def bench(label: str, engine: Engine, sink: Sink, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        project = load_project(bench_sequences(Path(folder)))
    upgrade(engine)
    now = datetime.now(UTC) - timedelta(seconds=1)
    started = time.perf_counter()
    seed(engine, args.touches, args.touches, now, now + timedelta(days=30))
    print(f"{label}: seeded {args.touches:,} due leads in {time.perf_counter() - started:.1f} s")
    config = DispatchConfig(worker="bench", batch_size=args.batch_size,
                            chunk_size=args.chunk_size, per_hour=UNLIMITED, per_day=UNLIMITED)
    floor = await run_floor(project, sink, args.touches, args.chunk_size, args.pool_size)
    result = await run_engine(engine, project, sink, args.touches, config, args.pool_size)
    report(label, result, floor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--touches", type=int, default=20_000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg", default=PG_URL, help="PostgreSQL URL (a schema is made and "
                        "dropped in it)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--chunk-size", type=int, default=32)
    parser.add_argument("--pool-size", type=int, default=4)
    args = parser.parse_args()
    print(f"batch_size {args.batch_size}, chunk_size {args.chunk_size}, "
          f"SMTP pool {args.pool_size}; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    with Sink() as sink:
        if args.database in ("sqlite", "both"):
            with tempfile.TemporaryDirectory() as folder:
                engine = make_engine(f"sqlite:///{folder}/bench.db")
                asyncio.run(bench("SQLite", engine, sink, args))
                engine.dispose()
        if args.database in ("postgres", "both"):
            with postgres_schema(args.pg) as pg_engine:
                if pg_engine is not None:
                    asyncio.run(bench("PostgreSQL", pg_engine, sink, args))


if __name__ == "__main__":
    main()
