"""`nurture dashboard hash-password` prints a hash that verifies the password it read."""

from __future__ import annotations

from typer.testing import CliRunner

from nurture.cli import app
from nurture.core.passwords import parse_password_hash, verify_password


def test_the_printed_hash_verifies_the_password_read_from_stdin() -> None:
    result = CliRunner().invoke(app, ["dashboard", "hash-password"],
                                input="a long passphrase\n")
    assert result.exit_code == 0, result.output
    printed = result.stdout.strip()
    assert parse_password_hash(printed).n == 2**15
    assert verify_password("a long passphrase", printed)
    assert "a long passphrase" not in result.stdout


def test_a_short_password_is_refused() -> None:
    result = CliRunner().invoke(app, ["dashboard", "hash-password"], input="short\n")
    assert result.exit_code == 1
    assert "at least 8 characters" in result.stderr
    assert result.stdout == ""
