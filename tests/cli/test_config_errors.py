"""A wrong configuration stops every command with one message naming the key."""

from __future__ import annotations

import pytest

from tests.cli.workspace import Workspace


@pytest.mark.parametrize("command", [
    ["validate"],
    ["leads", "list"],
    ["leads", "show", "zoe@example.com"],
    ["leads", "export"],
    ["preview", "prospecting-inbound-welcome"],
    ["db", "upgrade"],
], ids=" ".join)
def test_an_unknown_key_stops_any_command_naming_the_key(workspace: Workspace,
                                                          command: list[str]) -> None:
    with workspace.config.open("a", encoding="utf-8") as config:
        config.write('databse_url = "sqlite:///typo.db"\n')
    result = workspace.run(*command)
    assert result.exit_code == 1
    assert "databse_url: unknown key" in result.stderr
    assert str(workspace.config) in result.stderr
    assert not (workspace.root / "typo.db").exists()


def test_a_wrong_value_names_the_key_and_the_reason(workspace: Workspace) -> None:
    with workspace.config.open("a", encoding="utf-8") as config:
        config.write('batch_size = "lots"\n')
    result = workspace.run("leads", "list")
    assert result.exit_code == 1
    assert "batch_size: " in result.stderr and "integer" in result.stderr


def test_a_missing_config_file_is_an_error(workspace: Workspace) -> None:
    workspace.config.unlink()
    result = workspace.run("leads", "list")
    assert result.exit_code == 1
    assert f"config file {workspace.config} does not exist" in result.stderr
