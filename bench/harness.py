"""What bench/dispatch.py and bench/scale.py share: an SMTP sink in its own process, a copy of a
real sequence with an always-open send window, fast SQL seeding, and PostgreSQL schemas.

The sink is a tiny asyncio SMTP responder, not aiosmtpd: it must cost the engine's core nothing
(it runs in a separate process, so it shares no GIL) and keep up with thousands of messages a
second on the other core. It counts messages, distinct recipients and bytes, so a benchmark can
check that everything it claims to have sent arrived.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy import Engine, bindparam, text
from sqlalchemy.exc import OperationalError

from nurture.engine.compose import Identity
from nurture.store.engine import make_engine
from nurture.store.types import UTCDateTime

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "templates"
SEQUENCE_FILE = REPO / "sequences" / "prospecting" / "inbound-welcome.toml"
SEQUENCE_ID = "prospecting-inbound-welcome"
STAGE = "prospecting"
DOMAINS = 5000  # leads share company domains four to a domain at 20,000 leads
IDENTITY = Identity(sender_name="Relay Labs", sender_email="hello@relay.example.com",
                    reply_to="team@relay.example.com",
                    postal_address="Relay Labs, 1 Harbour Street, Bristol BS1 4XY, UK",
                    base_url="https://go.relay.example.com", secret="bench-secret")


# -- the SMTP sink -------------------------------------------------------------------------

@dataclass(frozen=True)
class SinkCount:
    messages: int
    recipients: int  # distinct
    bytes: int
    sample: bytes  # the first message, to check it is a whole MIME message


class Sink:
    """`with Sink() as sink:` starts the responder in a child process on a free port."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_sink_process, args=(child,), daemon=True)
        self.port = 0

    def __enter__(self) -> Sink:
        self._process.start()
        self.port = int(self._pipe.recv())
        return self

    def count(self) -> SinkCount:
        self._pipe.send("count")
        return SinkCount(*self._pipe.recv())

    def __exit__(self, *exc: object) -> None:
        self._pipe.send("stop")
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()


def _sink_process(pipe: Connection) -> None:
    asyncio.run(_serve(pipe))


async def _serve(pipe: Connection) -> None:
    state = _SinkState()
    server = await asyncio.start_server(state.session, "127.0.0.1", 0, limit=1 << 22)
    pipe.send(server.sockets[0].getsockname()[1])
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_request() -> None:
        if pipe.recv() == "stop":
            stopped.set()
        else:
            pipe.send((state.messages, len(state.recipients), state.bytes, state.sample))

    loop.add_reader(pipe.fileno(), on_request)
    await stopped.wait()
    server.close()


class _SinkState:
    """Accepts every transaction (no PIPELINING, as aiosmtplib does not use it) and counts."""

    def __init__(self) -> None:
        self.messages = self.bytes = 0
        self.recipients: set[bytes] = set()
        self.sample = b""

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 sink ESMTP\r\n")
        rcpts: list[bytes] = []
        try:
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb == b"EHLO":
                    writer.write(b"250-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 0\r\n")
                elif verb == b"RCPT":
                    rcpts.append(line[8:].strip().strip(b"<>").lower())
                    writer.write(b"250 2.1.5 OK\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 end with <CRLF>.<CRLF>\r\n")
                    data = await reader.readuntil(b"\r\n.\r\n")
                    self._arrived(rcpts, data)
                    rcpts = []
                    writer.write(b"250 2.0.0 OK\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 2.0.0 bye\r\n")
                    break
                else:  # HELO, MAIL, RSET, NOOP
                    rcpts = [] if verb in (b"MAIL", b"RSET") else rcpts
                    writer.write(b"250 OK\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went away, or the sink is stopping
        writer.close()

    def _arrived(self, rcpts: list[bytes], data: bytes) -> None:
        if not rcpts:
            return
        self.messages += 1
        self.bytes += len(data) - 3
        self.recipients.update(rcpts)
        if not self.sample:
            self.sample = data[:-3]


# -- the project: a real sequence whose window is always open ------------------------------

def bench_sequences(folder: Path) -> Path:
    """sequences/ with pipeline.toml and the inbound-welcome sequence, its send window opened
    round the clock (a benchmark must not wait for office hours), under `folder`."""
    target = folder / "sequences"
    (target / STAGE).mkdir(parents=True)
    shutil.copy(REPO / "sequences" / "pipeline.toml", target / "pipeline.toml")
    source = SEQUENCE_FILE.read_text(encoding="utf-8")
    opened = re.sub(r"(?m)^send_window = .*$", 'send_window = { days = "mon-sun" }', source)
    assert opened != source, "the sequence's send_window line moved; update bench/harness.py"
    (target / STAGE / SEQUENCE_FILE.name).write_text(opened, encoding="utf-8")
    return target


# -- seeding -------------------------------------------------------------------------------

FIRST_NAMES = ("Ann", "Bob", "Chen", "Dana", "Emeka", "Fatima", "Giulia", "Hiro")
SOURCES = ("webinar", "content_download", "event", "ads", "search")
ZONES = ("America/New_York", "Europe/Berlin", "Europe/London", "Asia/Tokyo", "UTC")


def _case(expression: str, values: tuple[str, ...]) -> str:
    whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"CASE {expression} % {len(values)} {whens} END"


def seed(engine: Engine, leads: int, due: int, now: datetime, later: datetime,
         finished_every: int = 5, history: bool = False) -> None:
    """`leads` leads in the prospecting stage, each enrolled in the bench sequence; lead ids
    1..`due` are due at `now`, the others at `later` — except every `finished_every`-th, whose
    enrollment has finished. With `history`, each enrollment not due has sent a first touch
    three days ago (an outbox row and its `sent` event), and every third one was opened.
    One INSERT … SELECT (over a recursive CTE for the leads) per table."""
    jsonb = "CAST('{}' AS JSONB)" if engine.dialect.name == "postgresql" else "'{}'"
    numbers = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)"
    lead_sql = f"""{numbers}
        INSERT INTO lead (email, first_name, last_name, company, title, source, country,
            timezone, employees, custom, stage, status, score, fit, stage_entered_at,
            created_at, updated_at, needs_enrollment)
        SELECT 'lead' || i || '@company' || (i % {DOMAINS}) || '.example.com',
            {_case('i', FIRST_NAMES)}, 'Lee', 'Company ' || (i % {DOMAINS}), 'Head of Ops',
            {_case('i', SOURCES)}, 'GB', {_case('i', ZONES)}, 10 + i % 990, {jsonb},
            '{STAGE}', 'active', 0, CASE WHEN i % 4 = 0 THEN 'D' ELSE 'B' END, :now, :now,
            :now, false
        FROM n"""
    enrollment_sql = f"""
        INSERT INTO enrollment (lead_id, sequence_id, stage, stage_entered_at, position,
            next_touch_at, status, stop_reason, created_at, updated_at)
        SELECT id, '{SEQUENCE_ID}', '{STAGE}', :now,
            CASE WHEN id <= :due THEN 0 WHEN id % :every = 0 THEN 7 ELSE 1 END,
            CASE WHEN id <= :due THEN :now WHEN id % :every = 0 THEN NULL ELSE :later END,
            CASE WHEN id > :due AND id % :every = 0 THEN 'finished' ELSE 'active' END,
            CASE WHEN id > :due AND id % :every = 0 THEN 'finished' END,
            :now, :now
        FROM lead"""
    outbox_sql = """
        INSERT INTO outbox (enrollment_id, touch_index, lead_id, message_id, subject, variant,
            status, attempts, created_at, sent_at)
        SELECT id, 0, lead_id, '<history.' || id || '@bench.example.com>', 'Welcome to Relay',
            0, 'sent', 1, :sent, :sent
        FROM enrollment WHERE position > 0"""
    events_sql = f"""
        INSERT INTO event (lead_id, type, at, data, outbox_id, machine)
        SELECT lead_id, 'sent', sent_at, {jsonb}, id, false FROM outbox
        UNION ALL
        SELECT lead_id, 'opened', sent_at, {jsonb}, id, false FROM outbox WHERE id % 3 = 0"""
    times = (bindparam("now", type_=UTCDateTime), bindparam("later", type_=UTCDateTime))
    with engine.begin() as connection:
        connection.execute(text(lead_sql).bindparams(times[0]), {"count": leads, "now": now})
        connection.execute(text(enrollment_sql).bindparams(*times),
                           {"due": due, "every": finished_every, "now": now, "later": later})
        if history:
            sent = {"sent": now - timedelta(days=3)}
            connection.execute(text(outbox_sql).bindparams(
                bindparam("sent", type_=UTCDateTime)), sent)
            connection.execute(text(events_sql))
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


# -- PostgreSQL ----------------------------------------------------------------------------

@contextmanager
def postgres_schema(url: str, kept: str | None = None) -> Iterator[Engine | None]:
    """An engine on a fresh schema, dropped afterwards, or on schema `kept`, created when
    missing and kept; None (with a message) when no server answers at `url`."""
    admin = make_engine(url)
    try:
        with admin.connect():
            pass
    except OperationalError:
        print(f"PostgreSQL: skipped, no server answers at {url}")
        admin.dispose()
        yield None
        return
    schema = kept or f"bench_{uuid.uuid4().hex[:8]}"
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    separator = "&" if "?" in url else "?"
    engine = make_engine(f"{url}{separator}options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        if kept is None:
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
