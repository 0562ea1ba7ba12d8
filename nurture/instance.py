"""One `nurture run` per SQLite database: a second one refuses to start with a clear message.

PostgreSQL needs no such lock: any number of workers share the work through leases, and a job
that should run in one of them at a time takes an advisory lock (`singleton`). On SQLite
the lock also proves that every lease left in the database belongs to a process that died
(kill -9, power loss), so the daemon hands those rows back at start instead of waiting for the
leases to expire.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO

from sqlalchemy import Engine, text, update
from sqlalchemy.engine import make_url

from nurture.core.errors import NurtureError
from nurture.store.engine import writing
from nurture.store.queue import TABLE as ENROLLMENTS


class AlreadyRunning(NurtureError):  # noqa: N818 - reads as what it is
    """Another daemon holds the database."""


class InstanceLock:
    """An exclusive flock on `<database>.lock`, released when the process ends, even by kill -9."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file: IO[str] | None = None

    @property
    def is_exclusive(self) -> bool:
        """True when this process is the only daemon on the database (SQLite, lock held)."""
        return self._file is not None

    @classmethod
    def for_database(cls, url: str) -> InstanceLock:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite" or not parsed.database \
                or parsed.database == ":memory:":
            return cls(None)
        return cls(Path(parsed.database).with_name(Path(parsed.database).name + ".lock"))

    def __enter__(self) -> InstanceLock:
        if self.path is None:
            return self
        self._file = self.path.open("a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read().strip() or "another process"
            self._file.close()
            raise AlreadyRunning(
                f"another `nurture run` ({holder}) is using {self.path.with_suffix('')}: SQLite "
                "allows one daemon per database; use PostgreSQL to run several workers"
            ) from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"pid {os.getpid()}")
        self._file.flush()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def release_orphaned_leases(engine: Engine) -> int:
    """Hand back every leased enrollment; only call while holding an exclusive InstanceLock.
    Returns how many rows a dead process had claimed."""
    with writing(engine) as connection:
        statement = (update(ENROLLMENTS).where(ENROLLMENTS.c.lease_token.is_not(None))
                     .values(lease_token=None, lease_expires_at=None, claimed_by=None))
        return connection.execute(statement).rowcount


@contextmanager
def singleton(engine: Engine, job: str) -> Iterator[bool]:
    """Yield True when this process may run `job` now: always on SQLite (one daemon per
    database), on PostgreSQL only while it holds the job's advisory lock, which the server
    releases by itself if the process dies."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = int.from_bytes(hashlib.sha256(f"nurture:{job}".encode()).digest()[:8], "big",
                         signed=True)
    with engine.connect() as connection:
        held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                       {"key": key}).scalar_one())
        connection.commit()
        try:
            yield held
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
