"""Logging set-up: plain lines for people or one JSON object per line for collectors; and
`Repeats`, which keeps a failure that repeats every interval to one line per cause.

Context such as lead, sequence and touch travels in `extra={...}` and lands in both formats.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(log_format: str = "plain", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # APScheduler warns each time a job is still running when its next interval comes; for the
    # dispatch job that is the normal state of a busy queue, not news.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


@dataclass
class _Run:
    """One cause of failure while it lasts: which jobs it fails, how often, since when."""

    jobs: set[str]
    failures: int = 1
    since: float = field(default_factory=time.monotonic)


class Repeats:
    """Failures of periodic jobs, logged once per cause while it lasts: a database that is
    locked or restarting, a server that does not answer, fail every job at every interval,
    and one line saying so is worth more than thousands. The first failure of a cause is
    logged; the same cause again (in any job) is only counted; when every job it failed has
    worked again, one line says it is over."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self._runs: dict[str, _Run] = {}

    def failed(self, job: str, cause: str, message: str, *args: object,
               level: int = logging.ERROR, exc_info: BaseException | None = None) -> None:
        """`job` failed because of `cause` (one line, the same text each time the same thing
        happens); logs `message % args` unless the cause is known already."""
        run = self._runs.get(cause)
        if run is not None:
            run.jobs.add(job)
            run.failures += 1
            return
        self._runs[cause] = _Run({job})
        self.logger.log(level, message, *args, exc_info=exc_info)

    def worked(self, job: str) -> None:
        """`job` ran without failing: the causes that failed only it (or only jobs that have
        worked since) are over, and one line says so."""
        if not self._runs:
            return
        over = []
        for cause, run in list(self._runs.items()):
            run.jobs.discard(job)
            if not run.jobs:
                over.append((cause, self._runs.pop(cause)))
        if over:
            since = min(run.since for _, run in over)
            self.logger.warning("working again after %d failed runs in %.0f s: %s",
                                sum(run.failures for _, run in over),
                                time.monotonic() - since, "; ".join(cause for cause, _ in over))


def one_line(error: BaseException) -> str:
    """What went wrong, in one line: for a database error the driver's own message, without
    the SQL statement and parameters SQLAlchemy appends."""
    cause = getattr(error, "orig", None)
    source = cause if isinstance(cause, BaseException) else error
    lines = str(source).strip().splitlines()
    return f"{type(source).__name__}: {lines[0].strip()}" if lines else type(source).__name__
