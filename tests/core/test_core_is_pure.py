"""nurture.core stays pure: it imports only the standard library, pydantic, jinja2, holidays and
itself, and never reads the clock (the daemon reads it once per tick and passes `now` down)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import nurture.core

CORE = Path(nurture.core.__file__).parent
MODULES = sorted(CORE.rglob("*.py"))
ALLOWED_PACKAGES = {"pydantic", "pydantic_core", "jinja2", "holidays"}
ADAPTERS = {"sqlmodel", "sqlalchemy", "aiosmtplib", "fastapi", "apscheduler", "httpx"}
CLOCK_READS = {
    ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
    ("time", "time"), ("time", "time_ns"), ("time", "monotonic"), ("time", "perf_counter"),
}


def imported_modules(tree: ast.Module, package: str) -> set[str]:
    """Absolute names of every module a file imports; `package` resolves relative imports."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = parts[: len(parts) - node.level + 1] if node.level else []
            names.add(".".join([*base, *([node.module] if node.module else [])]))
    return names


def is_allowed(module: str) -> bool:
    top = module.split(".")[0]
    if top == "nurture":
        return module == "nurture.core" or module.startswith("nurture.core.")
    return top in sys.stdlib_module_names or top in ALLOWED_PACKAGES


def clock_reads(tree: ast.Module) -> list[str]:
    """Calls such as datetime.now(), dt.date.today() or time.time(), through any import alias."""
    aliases = {"datetime": "datetime", "date": "date", "time": "time"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                aliases[alias.asname or alias.name] = alias.name.split(".")[-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if (aliases.get(name, name), node.func.attr) in CLOCK_READS:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def package_of(path: Path) -> str:
    """The package a relative import in `path` starts from (its own, for an __init__.py too)."""
    return ".".join(path.relative_to(CORE.parent.parent).parts[:-1])


def test_there_are_core_modules_to_check() -> None:
    assert {"windows.py", "durations.py", "schedule.py"} <= {path.name for path in MODULES}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_core_module_imports_only_the_standard_library_and_allowed_packages(path: Path) -> None:
    modules = imported_modules(parse(path), package_of(path))
    assert not {m for m in modules if not is_allowed(m)}, f"{path.name} imports outside the core"
    assert not {m.split(".")[0] for m in modules} & ADAPTERS


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_core_module_never_reads_the_clock(path: Path) -> None:
    assert clock_reads(parse(path)) == [], f"{path.name} reads the clock; take `now` as an argument"


@pytest.mark.parametrize(
    "source",
    [
        "import sqlmodel",
        "from nurture.store import tables",
        "from nurture import settings",
        "from .. import cli",
        "from apscheduler.schedulers.asyncio import AsyncIOScheduler",
    ],
)
def test_the_import_check_catches_forbidden_imports(source: str) -> None:
    modules = imported_modules(ast.parse(source), "nurture.core")
    assert not all(is_allowed(m) for m in modules)


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import datetime\ndatetime.now()",
        "import datetime as dt\ndt.datetime.now(dt.UTC)",
        "from datetime import date as day\nday.today()",
        "import time as clock\nclock.monotonic()",
        "from datetime import datetime as DT\nDT.utcnow()",
    ],
)
def test_the_clock_check_catches_clock_reads_through_aliases(source: str) -> None:
    assert clock_reads(ast.parse(source))


def test_the_clock_check_leaves_arithmetic_alone() -> None:
    source = "local = moment.astimezone(zone)\nlocal.time()\ndatetime.combine(day, time(9))"
    assert clock_reads(ast.parse(source)) == []
    assert all(is_allowed(m) for m in imported_modules(ast.parse("from . import errors"),
                                                        "nurture.core"))
