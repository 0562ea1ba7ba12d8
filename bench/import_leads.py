"""Benchmark: import 100,000 synthetic leads into SQLite and PostgreSQL, then import them again.

    .venv/bin/python bench/import_leads.py [--rows 100000] [--pg postgresql://postgres@127.0.0.1:5432/test]

The CSV is generated with a fixed seed, so runs compare. PostgreSQL gets a fresh schema that is
dropped afterwards; it is skipped (with a message) when no server answers.
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from nurture.files.leads_csv import RowError, read_leads_csv
from nurture.store.engine import make_engine, upgrade
from nurture.store.importing import ImportReport, import_leads

HEADER = ["Email", "First Name", "Last Name", "Company Name", "Job Title", "Industry",
          "Employees", "Country", "Time Zone", "Deal Value", "Plan Tier", "Source"]
FIRST = ["Ann", "Bob", "Chen", "Dana", "Emeka", "Fatima", "Giulia", "Hiro", "Ines", "Jonas"]
LAST = ["Lee", "Smith", "Okafor", "Rossi", "Tanaka", "Garcia", "Müller", "Novak", "Silva"]
TITLES = ["VP Sales", "Head of Growth", "Engineer", "CTO", "Marketing Manager", "Analyst"]
INDUSTRIES = ["software", "retail", "finance", "health", "logistics", "education"]
PLACES = [("US", "America/New_York"), ("US", "America/Los_Angeles"), ("DE", "Europe/Berlin"),
          ("GB", "Europe/London"), ("JP", "Asia/Tokyo"), ("BR", "America/Sao_Paulo")]
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def write_csv(path: Path, rows: int, seed: int = 20260105) -> None:
    """A realistic lead file: aliases in the header, thousands separators, a custom column."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for number in range(rows):
            country, zone = rng.choice(PLACES)
            writer.writerow([
                f"lead{number}@company{number % 5000}.example.com",
                rng.choice(FIRST), rng.choice(LAST), f"Company {number % 5000}",
                rng.choice(TITLES), rng.choice(INDUSTRIES), f"{rng.randint(1, 20000):,}",
                country, zone, f"{rng.randint(0, 200000)}.{rng.randint(0, 99):02d}",
                rng.choice(["free", "team", "enterprise"]), rng.choice(["webinar", "ads", ""]),
            ])


def timed(label: str, rows: int, action: Callable[[], ImportReport | int]) -> None:
    started = time.perf_counter()
    outcome = action()
    seconds = time.perf_counter() - started
    detail = outcome if isinstance(outcome, int) else (
        f"inserted={outcome.inserted} updated={outcome.updated} unchanged={outcome.unchanged} "
        f"errors={len(outcome.errors)}")
    print(f"  {label:<22} {seconds:6.2f} s  {rows / seconds:9,.0f} rows/s  ({detail})")


def run(engine: Engine, path: Path, rows: int) -> None:
    upgrade(engine)
    timed("first import", rows, lambda: import_leads(engine, path, "prospecting", NOW))
    timed("re-import (no change)", rows, lambda: import_leads(engine, path, "prospecting", NOW))


def postgres_engine(url: str) -> tuple[Engine, Engine, str] | None:
    admin = make_engine(url)
    try:
        with admin.connect():
            pass
    except OperationalError:
        print(f"PostgreSQL: skipped, no server answers at {url}")
        return None
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in url else "?"
    return admin, make_engine(f"{url}{separator}options=-csearch_path%3D{schema}"), schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "leads.csv"
        write_csv(path, args.rows)
        print(f"{args.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB")
        timed("parse + validate only", args.rows,
              lambda: sum(not isinstance(r, RowError) for r in read_leads_csv(path)))
        print("SQLite (file, WAL):")
        sqlite = make_engine(f"sqlite:///{folder}/bench.db")
        run(sqlite, path, args.rows)
        sqlite.dispose()
        found = postgres_engine(args.pg)
        if found is not None:
            admin, engine, schema = found
            print(f"PostgreSQL (schema {schema}):")
            try:
                run(engine, path, args.rows)
            finally:
                engine.dispose()
                with admin.begin() as connection:
                    connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()


if __name__ == "__main__":
    main()
