"""`nurture suppress …` against a real database (SQLite and PostgreSQL) named in a config file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from nurture.cli.common import State
from nurture.cli.suppress import app
from nurture.store.suppressions import list_suppressions


@pytest.fixture
def config(engine: Engine, db_url: str, tmp_path: Path) -> Path:
    """A config file naming the database `engine` has migrated."""
    path = tmp_path / "config.toml"
    path.write_text(f'database_url = "{db_url}"\n')
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, list(args), obj=State(config_file=config))


def entries(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as connection:
        return [(e.value, e.kind, e.reason) for e in list_suppressions(connection)]


def test_add_then_list_shows_addresses_and_domains(config: Path, engine: Engine) -> None:
    added = run(config, "add", "Ann@Example.com", "@rival.example.net", "--reason", "asked")
    assert added.exit_code == 0, added.output
    assert "2 added, 0 already listed" in added.output
    again = run(config, "add", "ann@example.com")
    assert "0 added, 1 already listed" in again.output
    listed = run(config, "list", "--kind", "domain")
    assert "rival.example.net" in listed.output and "ann@example.com" not in listed.output
    assert entries(engine) == [("ann@example.com", "email", "asked"),
                               ("rival.example.net", "domain", "asked")]


def test_add_with_one_bad_value_adds_nothing(config: Path, engine: Engine) -> None:
    result = run(config, "add", "ann@example.com", "not a domain")
    assert result.exit_code == 1
    assert "'not a domain' is not a valid domain" in result.output
    assert entries(engine) == []


def test_remove_takes_entries_off_and_fails_for_ones_not_listed(config: Path,
                                                               engine: Engine) -> None:
    run(config, "add", "ann@example.com", "rival.example.net")
    removed = run(config, "remove", "@rival.example.net")
    assert removed.exit_code == 0 and "1 removed" in removed.output
    missing = run(config, "remove", "ann@example.com", "bo@example.com")
    assert missing.exit_code == 1
    assert "bo@example.com is not on the suppression list" in missing.output
    assert entries(engine) == []


def test_import_adds_good_lines_and_names_the_bad_ones(config: Path, engine: Engine,
                                                       tmp_path: Path) -> None:
    file = tmp_path / "blocked.csv"
    file.write_text("email,reason\n# from legal\nann@example.com,lawyer letter\n"
                    "rival.example.net,\nbroken@@example.com,typo\n\n", encoding="utf-8")
    result = run(config, "import", str(file), "--reason", "legal list")
    assert result.exit_code == 2
    assert "blocked.csv:line 5:" in result.output and "broken@@example.com" in result.output
    assert "2 added, 0 already listed, 1 lines refused" in result.output
    assert entries(engine) == [("ann@example.com", "email", "lawyer letter"),
                               ("rival.example.net", "domain", "legal list")]


def test_a_plain_list_imports_one_value_a_line(config: Path, engine: Engine,
                                               tmp_path: Path) -> None:
    file = tmp_path / "plain.txt"
    file.write_text("ann@example.com\nrival.example.net\n", encoding="utf-8")
    assert run(config, "import", str(file)).exit_code == 0
    assert entries(engine) == [("ann@example.com", "email", "imported from plain.txt"),
                               ("rival.example.net", "domain", "imported from plain.txt")]


def test_export_writes_csv_that_import_reads_back(config: Path, tmp_path: Path) -> None:
    run(config, "add", "ann@example.com", "rival.example.net", "--reason", "asked, politely")
    exported = run(config, "export")
    assert exported.exit_code == 0
    rows = list(csv.reader(io.StringIO(exported.output)))
    assert rows[0] == ["value", "kind", "reason", "created_at"]
    assert [row[:3] for row in rows[1:]] == [["ann@example.com", "email", "asked, politely"],
                                             ["rival.example.net", "domain", "asked, politely"]]
    file = tmp_path / "export.csv"
    assert run(config, "export", "--out", str(file)).exit_code == 0
    back = run(config, "import", str(file))
    assert back.exit_code == 0 and "0 added, 2 already listed, 0 lines refused" in back.output
