"""`nurture demo` on the example project: exits 0 and fills a Maildir with standard messages
(strict parsing, a text and an HTML part, non-ASCII headers RFC 2047-encoded)."""

from __future__ import annotations

import csv
import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from tests.e2e.harness import PATIENCE, ROOT

HEADERS_END = re.compile(rb"\r?\n\r?\n")  # Maildir files end lines with LF, SMTP with CRLF
TO_LINE = re.compile(rb"^To: (.*?)\r?$", re.MULTILINE)


def demo_days(today: datetime) -> str:
    """One simulated day, or enough to reach a Monday: the example windows are mon-fri."""
    return "1" if today.weekday() < 4 else "4"


def strict(data: bytes) -> EmailMessage:
    """Parse with email.policy.strict and touch every header, so any defect raises."""
    message = BytesParser(policy=policy.strict).parsebytes(data)
    assert isinstance(message, EmailMessage)
    for part in message.walk():
        for _, value in part.items():
            assert not value.defects, f"{value!r}: {value.defects}"
        if not part.is_multipart():
            part.get_content()
    return message


@pytest.mark.slow
def test_demo_fills_the_maildir_with_messages_that_parse_strictly(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    done = subprocess.run(
        [sys.executable, "-m", "nurture", "--config", "config.example.toml", "demo",
         "--days", demo_days(datetime.now(UTC)), "--seconds-per-day", "1",
         "--folder", str(folder)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=2 * PATIENCE, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    files = list((folder / "outbox" / "new").iterdir())
    with sqlite3.connect(folder / "nurture.db") as database:
        statuses = dict(database.execute("SELECT status, count(*) FROM outbox GROUP BY 1"))
        [[notes]] = database.execute(  # emails to reps: handoffs, digests
            "SELECT count(*) FROM notice WHERE kind = 'email' AND status = 'sent'")
    assert files and len(files) == statuses["sent"] + notes
    assert "sending" not in statuses
    names = {row["email"].lower(): f"{row['first_name']} {row['last_name']}".strip()
             for row in csv.DictReader((ROOT / "examples" / "leads.csv").open(encoding="utf-8"))}
    non_ascii = 0
    for path in files:
        data = path.read_bytes()
        message = strict(data)
        assert {p.get_content_type() for p in message.walk()} >= {"text/plain", "text/html"}
        headers = HEADERS_END.split(data, 1)[0]
        assert headers.isascii(), f"{path.name}: raw 8-bit header"
        [to] = message["To"].addresses
        if to.display_name and not to.display_name.isascii():
            non_ascii += 1
            assert to.display_name == names[to.addr_spec]
            to_line = TO_LINE.search(headers)
            assert to_line and b"=?utf-8?" in to_line.group(1).lower()
    assert non_ascii, "no lead with a non-ASCII name was mailed: nothing was checked"
