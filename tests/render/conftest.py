"""Fixtures: a templates folder in tmp_path holding a copy of the real layout, a renderer on
it, and a context factory for one lead."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nurture.render import RenderContext, TemplateRenderer

from .samples import SENDER, UNSUBSCRIBE_URL

LAYOUT = Path(__file__).resolve().parents[2] / "templates" / "_layout.html.j2"


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    shutil.copy(LAYOUT, folder / "_layout.html.j2")
    return folder


@pytest.fixture
def write(templates: Path) -> Callable[[str, str], str]:
    """write(name, text) puts a template under the templates folder and returns its name."""

    def _write(name: str, text: str) -> str:
        path = templates / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return name

    return _write


@pytest.fixture
def renderer(templates: Path) -> TemplateRenderer:
    return TemplateRenderer(templates)


@pytest.fixture
def make_context() -> Callable[..., RenderContext]:
    """make_context(lead=None, **changes): a context for one lead; keywords override fields."""
    return _make_context


def _make_context(lead: dict[str, Any] | None = None, **changes: Any) -> RenderContext:
    fields: dict[str, Any] = {
        "lead": {"email": "jane@example.com", "first_name": "Jane", "company": "Initech"}
        if lead is None else lead,
        "sender": SENDER,
        "owner": None,
        "sequence": {"id": "cold-intro", "name": "Cold intro"},
        "touch_number": 1,
        "unsubscribe_url": UNSUBSCRIBE_URL,
    }
    return RenderContext(**{**fields, **changes})
