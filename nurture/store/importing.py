"""Importing a lead CSV: validate every row, then upsert the good ones in batches.

Rows are collected before anything is written, so an email that appears twice counts once
(the last row wins, with a warning) and the counts add up to the leads in the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from nurture.files.leads_csv import LeadRow, RowError, read_leads_csv
from nurture.store.engine import writing
from nurture.store.leads import upsert_leads


@dataclass
class ImportReport:
    """What an import did: lead counts, rows refused (errors) and rows overridden (warnings)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def import_leads(
    engine: Engine,
    path: Path,
    default_stage: str,
    now: datetime,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import `path` into the lead table, one transaction per `batch_size` leads.

    New leads start in `default_stage`. `progress` is called after each committed batch with
    the number of leads written so far.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    report = ImportReport()
    rows = _collect(path, report)
    leads = list(rows.values())
    for start in range(0, len(leads), batch_size):
        batch = leads[start:start + batch_size]
        with writing(engine) as connection:
            result = upsert_leads(connection, batch, default_stage, now)
        report.inserted += result.inserted
        report.updated += result.updated
        report.unchanged += result.unchanged
        if progress is not None:
            progress(start + len(batch))
    return report


def _collect(path: Path, report: ImportReport) -> dict[str, LeadRow]:
    """The valid rows by email, last one winning; errors and duplicate warnings go to `report`."""
    rows: dict[str, LeadRow] = {}
    for result in read_leads_csv(path):
        if isinstance(result, RowError):
            report.errors.append(result)
            continue
        earlier = rows.get(result.email)
        if earlier is not None:
            report.warnings.append(
                f"line {result.line}: {result.email} is also on line {earlier.line}; "
                f"line {result.line} wins"
            )
        rows[result.email] = result
    return rows
