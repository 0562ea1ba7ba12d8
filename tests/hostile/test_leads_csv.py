"""Hostile lead files: random bytes, other encodings, rows with separators, quotes, line
breaks and NULs. Reading never raises; every row becomes a lead or an error that names the
physical line the row starts on and says why."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nurture.files.leads_csv import LeadRow, RowError, read_leads_csv

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252", "shift_jis"]
HEADERS = ["email", "E-mail", "First Name", "company", "Employees", "deal_value", "country",
           "Time Zone", "Plan Tier", "", "email ", "notes;x", 'we"ird']
CELLS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["ann@example.com", "ANN@Example.COM", "bob@exämple.com", "not-an-email",
                     "1,200", "12.500,50", "-5", "1e309", "nan", "DE", "uk", "Europe/Paris",
                     "America", "=cmd|' /C calc'!A0", "{{ 7*7 }}", "<script>x</script>",
                     "a\r\nb", "\"", ";", "\t", " ", "\x00"]),
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("csv")
    yield folder
    shutil.rmtree(folder)


def read(folder: Path, raw: bytes) -> list[LeadRow | RowError]:
    path = folder / "leads.csv"
    path.write_bytes(raw)
    results = list(read_leads_csv(path))
    lines = raw.count(b"\n") + raw.count(b"\r") + 1
    for result in results:
        if isinstance(result, RowError):
            assert 1 <= result.line <= lines, result
            assert result.reason.strip() and "Traceback" not in result.reason
            assert str(result).startswith(f"line {result.line}: ")
        else:
            assert result.email == result.email.lower() and "@" in result.email
            assert 2 <= result.line <= lines
    return results


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_give_rows_or_located_errors(workdir: Path, raw: bytes) -> None:
    read(workdir, raw)


@FUZZ
@given(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=5),
       st.lists(st.lists(CELLS, max_size=6), max_size=8),
       st.sampled_from([",", ";", "\t"]), st.sampled_from(ENCODINGS),
       st.sampled_from(["\r\n", "\n"]))
def test_each_written_row_is_a_lead_or_an_error_at_its_first_line(
        workdir: Path, header: list[str], rows: list[list[str]], delimiter: str,
        encoding: str, newline: str) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline,
                        quoting=csv.QUOTE_ALL)  # a bare CR in a cell would start a new line
    writer.writerow(header)
    starts, line = [], 1 + header_breaks(header)
    for row in rows:
        line += 1
        starts.append((line, any(cell.strip() for cell in row)))
        writer.writerow(row)
        line += sum(cell.count("\n") + cell.count("\r") - cell.count("\r\n") for cell in row)
    try:
        raw = buffer.getvalue().encode(encoding)
    except UnicodeEncodeError:
        return
    results = read(workdir, raw)
    broken = [r for r in results if isinstance(r, RowError)
              and ("cannot be read as CSV" in r.reason or r.line == 1)]
    if broken or encoding not in ("utf-8", "utf-8-sig") or "\x00" in buffer.getvalue():
        return
    if len(header) == 1 and delimiter != ",":
        return  # a one-column header cannot show its separator: "," is assumed
    assert [r.line for r in results] == [start for start, filled in starts if filled]


def header_breaks(header: list[str]) -> int:
    return sum(name.count("\n") for name in header)


@pytest.mark.parametrize("encoding", ["utf-16", "latin-1", "cp1252"])
def test_a_file_in_another_encoding_is_refused_saying_how_to_save_it(
        workdir: Path, encoding: str) -> None:
    raw = "email,first_name\nzoë@example.com,Zoë\nbob@example.com,Bob\n".encode(encoding)
    results = read(workdir, raw)
    assert any(isinstance(r, RowError) and "not UTF-8" in r.reason for r in results)
    assert all(r.email == "bob@example.com" for r in results if isinstance(r, LeadRow))


def test_a_nul_character_is_refused_at_its_line(workdir: Path) -> None:
    """PostgreSQL cannot store NUL in text (the whole import would fail), and no header or
    email body should carry one: such a row is an error, the others are read."""
    results = read(workdir, b"email,first_name\nann@example.com,Ann\nbob@example.com,B\x00b\n")
    assert isinstance(results[0], LeadRow)
    assert isinstance(results[1], RowError) and results[1].line == 3
