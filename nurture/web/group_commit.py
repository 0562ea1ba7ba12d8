"""Group commit: writes that arrive while a transaction is running wait, and the next
transaction carries all of them, with one commit (one WAL flush) for the lot.

Each caller still gets its answer only once the transaction holding its write has committed:
nothing is acknowledged before it is durable (what that means per database: docs/tracking.md).
The writer gets a batch's items in arrival order and writes them in one transaction, so each
can see the ones before it, as if they had committed one by one. When a batch fails, its items
are written again one per transaction, so a bad one fails alone.

Transactions run in a worker thread, one at a time per engine and event loop. On SQLite that
is the one writer it takes anyway: writes no longer queue on its lock and sleep in its busy
handler. On PostgreSQL it holds one connection instead of one per request; measured, a second
transaction at a time made each batch smaller and every hit dearer (docs/performance.md).
The connection is kept while batches follow one another and given back to the pool when none
waits, or when a transaction fails: a checkout pings the server first (pool_pre_ping), a round
trip a busy writer need not pay per batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from anyio import to_thread
from sqlalchemy import Connection, Engine

from nurture.store.engine import writer_connection

log = logging.getLogger("nurture.web.group_commit")
Item = TypeVar("Item")
Result = TypeVar("Result")
MAX_BATCH = 256  # writes per transaction: bounds how long SQLite's write lock is held


@dataclass(frozen=True)
class _Failed:
    error: Exception


class GroupCommit(Generic[Item, Result]):
    """`await submit(item)` has `write(connection, items)` write the item, with whatever else
    is waiting, in one transaction, and returns its result (write returns one result per item,
    in order) once that transaction has committed. Bound to the running event loop."""

    def __init__(self, engine: Engine,
                 write: Callable[[Connection, list[Item]], list[Result]]) -> None:
        self.engine, self.write = engine, write
        self.loop = asyncio.get_running_loop()
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._connection: Connection | None = None  # used by one worker thread at a time

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = self.loop.create_future()
        self._waiting.append((item, future))
        if self._writer is None:
            self._writer = self.loop.create_task(self._write_waiting())
        return await future

    async def _write_waiting(self) -> None:
        batch: list[tuple[Item, asyncio.Future[Result]]] = []
        try:
            while self._waiting:
                batch = self._waiting[:MAX_BATCH]
                del self._waiting[:MAX_BATCH]
                outcomes = await to_thread.run_sync(self._commit, [item for item, _ in batch])
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():  # its request was cancelled meanwhile
                        continue
                    if isinstance(outcome, _Failed):
                        future.set_exception(outcome.error)
                    else:
                        future.set_result(outcome)
                batch = []
        except BaseException as exc:  # cancelled with the loop, or the thread could not start
            for _, future in batch + self._waiting:
                if not future.done():
                    if isinstance(exc, Exception):
                        future.set_exception(exc)
                    else:
                        future.cancel()
            self._waiting.clear()
            raise
        finally:
            self._writer = None
            connection, self._connection = self._connection, None
            if connection is not None:  # left kept only when the loop stopped the writer
                connection.close()

    def _commit(self, items: list[Item]) -> list[Result | _Failed]:
        """In a worker thread: every item in one transaction, or else each in its own."""
        try:
            return self._transaction(items)
        except Exception as exc:
            if len(items) == 1:
                return [_Failed(exc)]
            log.warning("a transaction of %d writes failed (%s); writing them one by one",
                        len(items), exc)
        return [self._commit_alone(item) for item in items]

    def _commit_alone(self, item: Item) -> Result | _Failed:
        try:
            return self._transaction([item])[0]
        except Exception as exc:
            return _Failed(exc)

    def _transaction(self, items: list[Item]) -> list[Result | _Failed]:
        """Write `items` in one transaction on the kept connection; given back when nothing
        else waits to be written, or when the transaction fails."""
        connection = self._connection or writer_connection(self.engine)
        self._connection = None
        try:
            with connection.begin():
                written: list[Result | _Failed] = list(self.write(connection, items))
        except BaseException:
            connection.close()
            raise
        if self._waiting:
            self._connection = connection
        else:
            connection.close()
        return written
