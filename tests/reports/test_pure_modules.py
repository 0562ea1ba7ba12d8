"""The reports' arithmetic modules stay pure, by the same rules as nurture.core."""

from __future__ import annotations

from pathlib import Path

import pytest

import nurture.reports
from tests.core.test_core_is_pure import ADAPTERS, clock_reads, imported_modules, is_allowed, parse

PURE = [Path(nurture.reports.__file__).with_name(name)
        for name in ("rates.py", "significance.py", "stages.py")]


@pytest.mark.parametrize("path", PURE, ids=lambda path: path.name)
def test_pure_report_module_imports_no_adapter_and_never_reads_the_clock(path: Path) -> None:
    modules = imported_modules(parse(path), "nurture.reports")
    assert not {m for m in modules if not is_allowed(m)}, f"{path.name} imports an adapter"
    assert not {m.split(".")[0] for m in modules} & ADAPTERS
    assert clock_reads(parse(path)) == []
