"""Fault fixtures: the end-to-end sites (tests/e2e/conftest.py), a shared clock frozen at the
start of the test, and a relay in front of the SMTP sink that can take it away."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import postgres_site, sink, sqlite_site  # noqa: F401 (fixtures)
from tests.faults.clocked import SharedClock
from tests.faults.relay import Relay
from tests.smtp_sink import SmtpSink


@pytest.fixture
def clock(tmp_path: Path) -> SharedClock:
    """Simulated time, frozen at the real time: it moves only when the test moves it."""
    return SharedClock.create(tmp_path / "clock.json")


@pytest.fixture
def relay(sink: SmtpSink) -> Iterator[Relay]:  # noqa: F811 (the fixture imported above)
    """A relay to the sink, down until the test calls `up()`."""
    with Relay(sink.host, sink.port) as started:
        yield started
