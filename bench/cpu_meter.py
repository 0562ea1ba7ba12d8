"""CPU accounting for benchmarks of a server in another process: the CPU seconds its process
tree (uvicorn and its workers) and its PostgreSQL backends spend during a block. Wall-clock
figures on a shared 2-core machine move with whatever else runs; CPU per request does not.
Linux only (/proc).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc; gone ones count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def process_tree(root: int) -> list[int]:
    """`root` and its descendants (uvicorn's workers)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError):
            continue
    tree, added = {root}, True
    while added:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= children
        added = bool(children)
    return sorted(tree)


def database_backends(engine: Engine, application: str) -> list[int]:
    """The PostgreSQL server processes serving the app (none on SQLite: it runs in the app)."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as connection:
        return list(connection.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE application_name = :name"
        ), {"name": application}).scalars())


def database_sessions(engine: Engine) -> int:
    """Connections opened to the database so far (PostgreSQL 14+; 0 on SQLite)."""
    if engine.dialect.name != "postgresql":
        return 0
    with engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        )).scalar_one())


@dataclass
class CpuMeter:
    """CPU seconds the app's processes and its database backends spend during a block."""

    engine: Engine
    server: subprocess.Popen[bytes]
    application: str
    app: float = 0.0
    database: float = 0.0
    connections: int = 0  # database connections opened meanwhile (PostgreSQL, by anyone)

    @contextmanager
    def measuring(self) -> Iterator[None]:
        app_pids = process_tree(self.server.pid)
        app_before, sessions_before = cpu_seconds(app_pids), database_sessions(self.engine)
        backends_before = {pid: cpu_seconds([pid])
                           for pid in database_backends(self.engine, self.application)}
        yield
        self.app = cpu_seconds(app_pids) - app_before
        self.connections = database_sessions(self.engine) - sessions_before
        backends = database_backends(self.engine, self.application)
        self.database = sum(cpu_seconds([pid]) - backends_before.get(pid, 0.0)
                            for pid in backends)
