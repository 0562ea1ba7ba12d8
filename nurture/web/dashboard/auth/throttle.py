"""Slowing down password guessing on the dashboard's login form: after `max_failures` failed
logins for one user name, or from one client address, within `window`, that name or address is
refused for `lockout` (HTTP 429), whatever the password.

Failures are counted per name (ignoring case, as a guesser might vary it) and per address
separately, so neither many names from one address nor one name from many addresses gets
through. A successful login clears its name's failures, not its address's: one account's
password does not buy more guesses at the others. Counts live in the process's memory, so a
restart forgets them and each `nurture run` process counts its own; the table is capped, the
oldest keys dropped first. Behind a reverse proxy every client has the proxy's address unless
uvicorn is told to trust its forwarded headers. Time comes from the caller (the app's clock).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
MAX_KEYS = 10_000


@dataclass
class _Record:
    failures: list[datetime] = field(default_factory=list)  # within the window, oldest first
    refused_until: datetime | None = None


class LoginThrottle:
    """Failed logins per key ("name:…", "address:…"); thread-safe (logins are checked in
    the thread pool and the event loop alike)."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: timedelta = WINDOW,
                 lockout: timedelta = LOCKOUT, max_keys: int = MAX_KEYS) -> None:
        self.max_failures, self.window, self.lockout = max_failures, window, lockout
        self.max_keys = max_keys
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def refused_for(self, name: str, address: str, now: datetime) -> timedelta | None:
        """How long logins for `name` from `address` are still refused, or None when they may
        be tried."""
        with self._lock:
            waits = [record.refused_until - now for key in _keys(name, address)
                     if (record := self._records.get(key)) and record.refused_until
                     and record.refused_until > now]
        return max(waits) if waits else None

    def failed(self, name: str, address: str, now: datetime) -> None:
        """Count a failed login; the key that reaches `max_failures` in the window is refused
        from now for `lockout`."""
        with self._lock:
            for key in _keys(name, address):
                record = self._records.pop(key, None) or _Record()
                self._records[key] = record  # most recently failed last
                record.failures = [at for at in record.failures if at > now - self.window]
                record.failures.append(now)
                if len(record.failures) >= self.max_failures:
                    record.refused_until, record.failures = now + self.lockout, []
            while len(self._records) > self.max_keys:
                self._records.popitem(last=False)

    def succeeded(self, name: str) -> None:
        """A correct password for `name`: its failures are forgotten."""
        with self._lock:
            self._records.pop(_name_key(name), None)


def _name_key(name: str) -> str:
    return f"name:{name.strip().lower()}"


def _keys(name: str, address: str) -> tuple[str, str]:
    return _name_key(name), f"address:{address}"
