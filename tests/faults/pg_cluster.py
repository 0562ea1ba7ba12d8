"""A PostgreSQL cluster of a test's own, to restart under a running daemon without disturbing
the shared server on 5432: initdb in a temporary directory, started with pg_ctl on a free
loopback port, trust authentication. Run as root, the server runs as the `postgres` user."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.smtp_sink import unused_port

SERVER_USER = "postgres"


def _program(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                      key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0)
    return str(versions[-1]) if versions else None


class Cluster:
    host = "127.0.0.1"

    def __init__(self, root: Path, initdb: str, pg_ctl: str) -> None:
        self.root, self.data, self.port = root, root / "data", unused_port()
        self._initdb, self._pg_ctl = initdb, pg_ctl
        self._user = SERVER_USER if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/postgres"

    @classmethod
    def create(cls) -> Cluster:
        """initdb and start; skips the test, saying what is missing, without the programs."""
        initdb, pg_ctl = _program("initdb"), _program("pg_ctl")
        if initdb is None or pg_ctl is None:
            pytest.skip("initdb and pg_ctl not found: the PostgreSQL server programs (Debian: "
                        "postgresql-15) are needed to run a throw-away cluster")
        cluster = cls(Path(tempfile.mkdtemp(prefix="nurture-pg-")), initdb, pg_ctl)
        if cluster._user is not None:
            entry = pwd.getpwnam(cluster._user)
            os.chown(cluster.root, entry.pw_uid, entry.pw_gid)
        cluster._run(initdb, "-D", str(cluster.data), "-U", "postgres", "--auth=trust",
                     "--encoding=UTF8", "--no-sync")
        options = (f"-p {cluster.port} -k {cluster.root} -c listen_addresses={cls.host} "
                   "-c fsync=off -c full_page_writes=off")
        cluster._run(pg_ctl, "-D", str(cluster.data), "-l", str(cluster.log), "-o", options,
                     "-w", "start")
        return cluster

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def restart(self) -> None:
        """Stop (fast: every session is ended) and start again; returns once it accepts."""
        self._run(self._pg_ctl, "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w",
                  "restart")

    def destroy(self) -> None:
        try:
            self._run(self._pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, *command: str) -> None:
        done = subprocess.run(command, user=self._user, capture_output=True, text=True,
                              cwd=self.root, check=False, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n"
                               f"{done.stdout}{done.stderr}")
