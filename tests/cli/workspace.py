"""A workspace: copies of the repository's sequences/ and templates/ (so a test can break
them), a config file pointing at them and at a database, and the real CLI run in-process."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from nurture.cli import app
from nurture.store.engine import make_engine

REPO = Path(__file__).parents[2]


@dataclass
class Workspace:
    """A folder holding config.toml, sequences/ and templates/, and the database it names."""

    root: Path
    database_url: str

    @property
    def sequences(self) -> Path:
        return self.root / "sequences"

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    def run(self, *args: str | Path) -> Result:
        """`nurture --config config.toml ARGS…`, in-process; stdout and stderr kept apart."""
        return CliRunner().invoke(app, ["--config", str(self.config), *map(str, args)])

    def engine(self) -> Engine:
        return make_engine(self.database_url)


def make_workspace(root: Path, database_url: str) -> Workspace:
    """Copy the examples into `root` and write a config pointing at them and `database_url`."""
    root.mkdir(parents=True, exist_ok=True)
    workspace = Workspace(root, database_url)
    shutil.copytree(REPO / "sequences", workspace.sequences)
    shutil.copytree(REPO / "templates", workspace.templates)
    settings = {"database_url": database_url, "sequences_dir": workspace.sequences.as_posix(),
                "templates_dir": workspace.templates.as_posix()}
    # A JSON string is a valid TOML basic string.
    workspace.config.write_text("".join(f"{key} = {json.dumps(value)}\n"
                                        for key, value in settings.items()), encoding="utf-8")
    return workspace
