"""Handoff requests announced between processes, on PostgreSQL: a transaction that requests a
handoff, by whatever path (`record_moves` announces it: API, tracking hit, sweep, mailbox),
sends NOTIFY on one channel, delivered to listeners only when it commits, and each
daemon listens there and wakes its handoff job (engine/wakeup.py). So a request made through
a separate `nurture serve`, or another host's API, reaches the rep without waiting for the
job's poll. On SQLite (one process) nothing is sent, and the poll stays the fallback
everywhere: a listener that lost its connection connects again, and misses nothing meanwhile
that the poll does not find.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import psycopg
from sqlalchemy import Connection, Engine, text

from nurture.logs import one_line

CHANNEL = "nurture_handoffs"
RECONNECT_SECONDS = 5.0
log = logging.getLogger("nurture.handoff")


def announce_handoffs(connection: Connection) -> None:
    """In the transaction that requested handoffs: tell every daemon once it commits."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"NOTIFY {CHANNEL}"))


async def listen_for_handoffs(engine: Engine, wake: Callable[[], None],
                              stopping: asyncio.Event) -> None:
    """Until `stopping`: call `wake` for every announcement (and on each new connection, for
    what was announced while not listening). Returns at once on SQLite."""
    if engine.dialect.name != "postgresql":
        return
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    failing = False
    while not stopping.is_set():
        try:
            async with await psycopg.AsyncConnection.connect(conninfo,
                                                             autocommit=True) as connection:
                await connection.execute(f"LISTEN {CHANNEL}")
                if failing:
                    log.info("listening for handoff requests again")
                failing = False
                wake()
                async for _ in connection.notifies():
                    wake()
        except psycopg.Error as error:
            if not failing:
                log.warning("not listening for handoff requests of other processes (the "
                            "handoff job polls meanwhile), trying again every %gs: %s",
                            RECONNECT_SECONDS, one_line(error))
            failing = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), RECONNECT_SECONDS)
