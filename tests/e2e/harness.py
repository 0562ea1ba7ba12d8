"""Running `nurture run` as real processes: a deployment (`Site`) with its database, sequence
and template files, an SMTP sink on loopback and the environment every daemon is started with.

Nothing here sleeps to wait for a daemon: `until` polls a condition against a deadline.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, func, insert, select

from nurture.store.models import Enrollment, Lead, Outbox
from tests.smtp_sink import SmtpSink

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
LEADS = Lead.__table__  # type: ignore[attr-defined]
ENROLLMENTS = Enrollment.__table__  # type: ignore[attr-defined]
OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
FINAL = ("sent", "failed", "skipped")
# How long one awaited step may take. A quiet machine needs a few seconds; the deadlines are
# generous because these tests share two cores with whatever else runs.
PATIENCE = 60.0
ALWAYS_OPEN = 'send_window = { days = "mon-sun", from = "00:00", to = "24:00" }\n'
PIPELINE = '[[stage]]\nid = "prospecting"\nprobability = 0.05\n'
NOTE = "Hi {{ lead.first_name | default('there') }}, this is touch {{ touch_number }}.\n"
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)


def until(condition: Callable[[], T | None], timeout: float, what: str,
          interval: float = 0.02) -> T:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class DaemonProcess:
    """One `python -m nurture run` (or another module's, e.g. the fault tests' clocked
    daemon); its stdout and stderr go to a log file read back by tests."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path,
                 command: tuple[str, ...] = ("run",), module: str = "nurture") -> None:
        self.log_path = log
        with log.open("wb") as output:
            self.process = subprocess.Popen([sys.executable, "-m", module, *command],
                                            env=env, cwd=cwd, stdout=output,
                                            stderr=subprocess.STDOUT)

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def is_running(self) -> bool:
        return self.process.poll() is None

    def signal(self, number: signal.Signals) -> None:
        self.process.send_signal(number)

    def kill(self) -> None:
        """kill -9, and reap it."""
        self.process.kill()
        self.process.wait(timeout=10)

    def exit_code(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the daemon did not exit within {timeout:g} s; its log:\n"
                                 f"{self.log[-3000:]}") from None

    def wait_for_log(self, text: str, timeout: float = PATIENCE, after: int = 0) -> int:
        """Wait until `text` appears in the log past offset `after`; returns where it ends."""
        def found() -> int:
            if not self.is_running():
                raise AssertionError(f"the daemon exited ({self.process.returncode}) before "
                                     f"logging {text!r}:\n{self.log[-3000:]}")
            at = self.log.find(text, after)
            return at + len(text) if at >= 0 else 0
        return until(found, timeout, f"{text!r} in the daemon's log")


@dataclass
class Site:
    """One nurture deployment under test: files in `root`, a migrated database, a sink."""

    root: Path
    database_url: str
    engine: Engine
    sink: SmtpSink
    settings: dict[str, str] = field(default_factory=dict)
    processes: list[DaemonProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        (self.root / "sequences").mkdir(exist_ok=True)
        (self.root / "templates").mkdir(exist_ok=True)
        (self.root / "sequences" / "pipeline.toml").write_text(PIPELINE)
        layout = ROOT / "templates" / "_layout.html.j2"
        self.write("templates/_layout.html.j2", layout.read_text(encoding="utf-8"))
        self.write("templates/note.md.j2", NOTE)
        self.write_sequence()

    # -- files --

    def write(self, relative: str, text: str) -> None:
        """Replace a file atomically, as an editor or a deploy would."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(path.name + ".tmp")
        scratch.write_text(text, encoding="utf-8")
        scratch.replace(path)

    def write_sequence(self, subject: str = "Hello {{ lead.first_name | default('there') }}",
                       template: str = "note.md.j2") -> None:
        """The one sequence of the site: a single touch, due at once, any day, any hour."""
        self.write("sequences/prospecting/welcome.toml",
                   f'id = "welcome"\nstage = "prospecting"\n{ALWAYS_OPEN}\n[[touch]]\n'
                   f'wait = "0d"\ntemplate = "{template}"\nsubject = "{subject}"\n')

    # -- processes --

    def env(self, **overrides: Any) -> dict[str, str]:
        """The environment of a daemon: nothing from the caller's NURTURE_* leaks in."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
        values: dict[str, Any] = {
            "DATABASE_URL": self.database_url, "OUTBOX": "smtp", "SMTP__HOST": self.sink.host,
            "SMTP__PORT": self.sink.port, "HTTP_PORT": 0, "DISPATCH_INTERVAL_SECONDS": 0.2,
            "JITTER_MINUTES": 0, "SEQUENCES_DIR": self.root / "sequences",
            "TEMPLATES_DIR": self.root / "templates", "LIMITS__PER_HOUR": 1_000_000,
            "LIMITS__PER_DAY": 1_000_000, "LIMITS__PER_DOMAIN_PER_MINUTE": 1_000_000,
            "SENDER__EMAIL": "sales@nurture.test", **self.settings, **overrides,
        }
        env.update({f"NURTURE_{key.upper()}": str(value) for key, value in values.items()})
        return env

    def start(self, command: tuple[str, ...] = ("run",), **overrides: Any) -> DaemonProcess:
        log = self.root / f"daemon{len(self.processes) + 1}.log"
        started = DaemonProcess(self.env(**overrides), self.root, log, command)
        self.processes.append(started)
        return started

    def stop_all(self) -> None:
        """Teardown: kill what still runs (a test that passed has stopped its own), and print
        each daemon's log, which pytest shows when the test failed."""
        for number, process in enumerate(self.processes, 1):
            if process.is_running():
                process.kill()
            print(f"--- daemon {number} (exit {process.process.returncode}) ---\n"
                  f"{process.log[-4000:]}")

    # -- data --

    def seed(self, count: int, *, first: int = 0, enrolled: bool = True,
             **fields: Any) -> list[int]:
        """Insert `count` leads; with `enrolled`, each one's welcome touch is already due."""
        now = datetime.now(UTC)
        leads = [{"email": f"lead{n}@d{n % 97}.example", "first_name": f"Lead{n}",
                  "stage": "prospecting", "timezone": "UTC", "stage_entered_at": now,
                  "created_at": now, "updated_at": now, "needs_enrollment": not enrolled,
                  **fields} for n in range(first, first + count)]
        with self.engine.begin() as connection:
            ids = list(connection.execute(insert(LEADS).returning(LEADS.c.id), leads).scalars())
            if enrolled:
                connection.execute(insert(ENROLLMENTS), [
                    {"lead_id": lead_id, "sequence_id": "welcome", "stage": "prospecting",
                     "stage_entered_at": now, "position": 0,
                     "next_touch_at": now - timedelta(minutes=1), "status": "active",
                     "created_at": now, "updated_at": now} for lead_id in ids])
        return ids

    def outbox_statuses(self) -> Counter[str]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(OUTBOX.c.status, func.count())
                                      .group_by(OUTBOX.c.status)).all()
        return Counter({status: count for status, count in rows})

    def message_ids(self, status: str) -> set[str]:
        with self.engine.connect() as connection:
            return set(connection.execute(select(OUTBOX.c.message_id)
                                          .where(OUTBOX.c.status == status)).scalars())

    def enrollments(self) -> Counter[str]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(ENROLLMENTS.c.status, func.count())
                                      .group_by(ENROLLMENTS.c.status)).all()
        return Counter({status: count for status, count in rows})

    def leased(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(ENROLLMENTS)
                                          .where(ENROLLMENTS.c.lease_token.is_not(None)))
                       .scalar_one())

    def all_final(self, touches: int) -> bool:
        """Every touch has its outbox row and the row is final (sent, failed or skipped)."""
        statuses = self.outbox_statuses()
        return sum(statuses[s] for s in FINAL) == touches == sum(statuses.values())

    def received_ids(self) -> Counter[str]:
        """How many times the sink received each Message-ID."""
        return received_message_ids(m.data for m in list(self.sink.messages))


def received_message_ids(messages: Iterable[bytes]) -> Counter[str]:
    ids: Counter[str] = Counter()
    for data in messages:
        header_block = data.split(b"\r\n\r\n", 1)[0]
        found = _MESSAGE_ID.search(header_block)
        assert found, "a received message has no Message-ID"
        ids[found.group(1).decode()] += 1
    return ids
