"""Fixtures for mail tests: a running SMTP sink, and TLS contexts from a throwaway CA."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.smtp_sink import SmtpSink, TlsPair


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A plain SMTP server on 127.0.0.1 that accepts everything until told otherwise."""
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="session")
def tls_pair() -> TlsPair:
    return TlsPair.create()
