"""Secrets never reach a log line or the console: the daemon runs for real (PostgreSQL with a
password in its URL, an SMTP server and a Dovecot mailbox that refuse the configured
passwords, the HTTP app on a port) while the API is called with good, wrong and forged
credentials; no log record, in either format, holds the database password, the SMTP or IMAP
password, the tracking secret, an API key or the webhook secret. `nurture db upgrade` prints
the database it upgraded without its password."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from nurture.core.tokens import sign
from nurture.daemon import Daemon
from nurture.logs import JsonFormatter
from nurture.settings import Settings
from nurture.store.engine import make_engine, upgrade
from nurture.store.models import Lead
from tests.cli.workspace import make_workspace
from tests.conftest import POSTGRES_URL
from tests.dovecot import Dovecot
from tests.engine.world import LAYOUT, NOTE, PIPELINE, sequence_toml, touch
from tests.smtp_sink import SmtpSink

DB_PASSWORD = "db-Pa55-7f3a91"
SMTP_PASSWORD = "smtp-Pa55-91c2e0"
IMAP_PASSWORD = "imap-Pa55-e4b1d7"
TRACKING_SECRET = "tracking-Secret-5d8e0f"
API_KEY = "api-Key-0c9d2b7a61"
WEBHOOK_SECRET = "whsec_c2VjcmV0LXdlYmhvb2sta2V5LTEyMzQ1Njc4OTA="
SECRETS = [DB_PASSWORD, SMTP_PASSWORD, IMAP_PASSWORD, TRACKING_SECRET, API_KEY,
           WEBHOOK_SECRET.removeprefix("whsec_")]
PATIENCE = 30.0


@pytest.fixture
def database_url(postgres_admin: Engine | None) -> Iterator[str]:
    """A fresh PostgreSQL schema, reached through a URL that carries a password (the test
    server trusts loopback, so any password connects)."""
    if postgres_admin is None:
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432")
    schema = f"secrets_{uuid.uuid4().hex[:10]}"
    with postgres_admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield (POSTGRES_URL.replace("postgres@", f"postgres:{DB_PASSWORD}@")
               + f"?options=-csearch_path%3D{schema}")
    finally:
        with postgres_admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _files(root: Path) -> tuple[Path, Path]:
    sequences, templates = root / "sequences", root / "templates"
    sequences.mkdir()
    templates.mkdir()
    (sequences / "pipeline.toml").write_text(PIPELINE)
    (sequences / "s.toml").write_text(sequence_toml("s", [touch("0d", "Hello")]))
    (templates / "_layout.html.j2").write_text(LAYOUT.read_text())
    (templates / "note.md.j2").write_text(NOTE)
    return sequences, templates


def _add_lead(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add(Lead(email="ann@example.com", first_name="Ann", stage="prospecting",
                         stage_entered_at=now, created_at=now, updated_at=now))
        session.commit()
    engine.dispose()


async def _until(condition: object, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _exercise(daemon: Daemon, base: str, sink: SmtpSink,
                    caplog: pytest.LogCaptureFixture) -> None:
    """Run the daemon until it has tried SMTP and IMAP and served good and bad requests."""
    running = asyncio.create_task(daemon.run())
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            await _until(lambda: sink.sessions > 0 and "mailbox not polled" in caplog.text,
                         "an SMTP attempt and an IMAP poll")
            for key in (API_KEY, "wrong-key", API_KEY + "x", API_KEY.upper()):
                await client.get("/api/leads/1", headers={"Authorization": f"Bearer {key}"})
            for path in (f"/u/{sign('forged', 'unsubscribe', '1')}", "/o/garbage",
                         f"/c/{sign(TRACKING_SECRET, 'click', '1.0|javascript:x')}",
                         f"/u/{sign(TRACKING_SECRET, 'unsubscribe', '99999')}"):
                await client.get(path)
            await client.post("/api/events", headers={"Authorization": f"Bearer {API_KEY}"},
                              json={"client_id": "c1", "type": "page_visited",
                                    "lead_email": "ann@example.com"})
            assert (await client.get("/metrics")).status_code == 200
    finally:
        daemon.request_stop()
        await asyncio.wait_for(running, PATIENCE)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_no_secret_reaches_a_log_record(database_url: str, tmp_path: Path,
                                        caplog: pytest.LogCaptureFixture) -> None:
    dovecot = Dovecot.start()
    sequences, templates = _files(tmp_path)
    _add_lead(database_url)
    port = _free_port()
    settings = Settings(
        database_url=database_url, outbox="smtp", sequences_dir=sequences,
        templates_dir=templates, dispatch_interval_seconds=0.2, jitter_minutes=0,
        http_host="127.0.0.1", http_port=port, api_keys=[API_KEY],
        tracking={"base_url": f"http://127.0.0.1:{port}", "secret": TRACKING_SECRET},
        handoff={"webhook_url": "http://127.0.0.1:9/hook", "webhook_secret": WEBHOOK_SECRET},
        imap={"enabled": True, "host": dovecot.host, "port": dovecot.port,
              "security": "none", "username": dovecot.username, "password": IMAP_PASSWORD,
              "poll_seconds": 0.2, "timeout_seconds": 5},
        smtp={"host": "127.0.0.1", "username": "nurture", "password": SMTP_PASSWORD,
              "timeout_seconds": 5},
    )
    caplog.set_level(logging.DEBUG)
    try:
        with SmtpSink(logins={"nurture": "another-password"}) as sink:
            settings.smtp.port = sink.port
            asyncio.run(_exercise(Daemon(settings), f"http://127.0.0.1:{port}", sink, caplog))
    finally:
        dovecot.stop()
    shown = [r for r in caplog.records if r.levelno >= logging.INFO
             or r.name.startswith("nurture")]  # what nurture's logging set-up lets through
    assert any("mailbox not polled" in r.getMessage() for r in shown)
    assert any(r.name.startswith("nurture.web") for r in shown)  # refused tokens were logged
    plain = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for record in shown:
        for line in (plain.format(record), JsonFormatter().format(record), repr(record.args)):
            assert not [secret for secret in SECRETS if secret in line], line


def test_settings_do_not_show_their_secrets_when_printed() -> None:
    settings = Settings(api_keys=[API_KEY], tracking={"secret": TRACKING_SECRET},
                        smtp={"password": SMTP_PASSWORD}, imap={"password": IMAP_PASSWORD},
                        handoff={"webhook_secret": WEBHOOK_SECRET})
    for shown in (repr(settings), str(settings), json.dumps(settings.model_dump(mode="json"))):
        assert not [secret for secret in SECRETS if secret in shown]


def test_db_upgrade_does_not_print_the_database_password(database_url: str,
                                                         tmp_path: Path) -> None:
    result = make_workspace(tmp_path / "work", database_url).run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    assert DB_PASSWORD not in result.output
