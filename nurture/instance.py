"""One `nurture run` per SQLite database: a second one refuses to start with a clear message.

PostgreSQL needs no such lock: any number of workers share the work through leases.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import IO

from sqlalchemy.engine import make_url

from nurture.core.errors import NurtureError


class AlreadyRunning(NurtureError):  # noqa: N818 - reads as what it is
    """Another daemon holds the database."""


class InstanceLock:
    """An exclusive flock on `<database>.lock`, released when the process ends, even by kill -9."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file: IO[str] | None = None

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
