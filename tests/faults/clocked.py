"""`nurture run` on a clock the test (or bench/soak.py) moves, for daemons run as processes.

    python -m tests.faults.clocked run      # with NURTURE_* settings and FAULTS_CLOCK_FILE

is `python -m nurture run` with one change: the daemon reads the time from a `SharedClock`
file instead of the system clock. Every daemon pointed at the same file shares one simulated
time, across restarts; the controller freezes it, moves it, or lets it run at a speed.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

CLOCK_FILE_ENV = "FAULTS_CLOCK_FILE"


class SharedClock:
    """Simulated time kept in a small JSON file: `at` (the time when the file was written),
    `wall` (time.time() then) and `speed` (simulated seconds per real second; 0 = frozen).
    Readers stat the file on each `now()` and parse it again only when it changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._at, self._wall, self._speed = datetime.now(UTC), time.time(), 0.0

    @classmethod
    def create(cls, path: Path, at: datetime | None = None, speed: float = 0.0) -> SharedClock:
        clock = cls(path)
        clock.set(at or datetime.now(UTC), speed)
        return clock

    def now(self) -> datetime:
        status = os.stat(self.path)
        stamp = (status.st_ino, status.st_mtime_ns)
        if stamp != self._stamp:
            state = json.loads(self.path.read_text(encoding="utf-8"))
            self._at = datetime.fromisoformat(state["at"])
            self._wall, self._speed, self._stamp = state["wall"], state["speed"], stamp
        return self._at + timedelta(seconds=(time.time() - self._wall) * self._speed)

    def set(self, at: datetime, speed: float | None = None) -> None:
        """Move the time to `at` (and change the speed); readers see it at their next now()."""
        speed = self._speed if speed is None else speed
        scratch = self.path.with_name(self.path.name + ".tmp")
        scratch.write_text(json.dumps({"at": at.isoformat(), "wall": time.time(),
                                       "speed": speed}), encoding="utf-8")
        scratch.replace(self.path)  # a new inode: readers cannot mistake it for the old file
        self._at, self._wall, self._speed, self._stamp = at, time.time(), speed, None

    def advance(self, delta: timedelta) -> datetime:
        """Move the time forward by `delta`; returns the new time."""
        moved = self.now() + delta
        self.set(moved)
        return moved


def main() -> None:
    import nurture.daemon
    from nurture.cli import app

    clock = SharedClock(Path(os.environ[CLOCK_FILE_ENV]))
    nurture.daemon.SystemClock = lambda: clock
    app(prog_name="nurture")


if __name__ == "__main__":
    main()
