"""Lead CSV files: header mapping, row validation, and errors that name the physical line.

Columns are matched by header, ignoring case, spaces, dashes and underscores, with common
aliases ("E-mail", "Company Name", "Time Zone", …). Unknown columns become custom fields, their
names turned into snake_case keys ("Plan Tier" → plan_tier) so conditions can use them.
Files are UTF-8 with or without a BOM, delimited by commas, semicolons or tabs.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

LEAD_FIELDS = (
    "email", "first_name", "last_name", "company", "title", "industry", "employees", "source",
    "country", "region", "timezone", "phone", "website", "deal_value",
)
_ALIASES = {
    "email": "email", "emailaddress": "email", "mail": "email", "workemail": "email",
    "businessemail": "email",
    "firstname": "first_name", "first": "first_name", "givenname": "first_name",
    "forename": "first_name",
    "lastname": "last_name", "last": "last_name", "surname": "last_name",
    "familyname": "last_name",
    "company": "company", "companyname": "company", "organization": "company",
    "organisation": "company", "account": "company", "accountname": "company",
    "title": "title", "jobtitle": "title", "position": "title", "role": "title",
    "industry": "industry", "sector": "industry",
    "employees": "employees", "companysize": "employees", "employeecount": "employees",
    "numberofemployees": "employees", "headcount": "employees",
    "source": "source", "leadsource": "source",
    "country": "country", "countrycode": "country",
    "region": "region", "state": "region", "province": "region",
    "timezone": "timezone", "tz": "timezone",
    "phone": "phone", "phonenumber": "phone", "telephone": "phone", "mobile": "phone",
    "website": "website", "web": "website", "url": "website", "companywebsite": "website",
    "dealvalue": "deal_value", "amount": "deal_value", "dealsize": "deal_value",
    "value": "deal_value",
}
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)
_ATEXT = r"[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]+"  # RFC 5322 atext, as email-validator has it
_DOT_ATOM = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_EMAIL_MAX_BYTES = 254  # RFC 5321 4.5.3.1.3
_THOUSANDS = re.compile(r"^\d{1,3}(?:[,. ]\d{3})+$")
_CURRENCY = "$€£¥ "


@dataclass(frozen=True, slots=True)
class LeadRow:
    """One valid lead from a file (or an API call): normalized values, blanks as None."""

    email: str
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    title: str | None = None
    industry: str | None = None
    employees: int | None = None
    source: str | None = None
    country: str | None = None
    region: str | None = None
    timezone: str | None = None
    phone: str | None = None
    website: str | None = None
    deal_value: float | None = None
    custom: dict[str, str] = field(default_factory=dict)
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class RowError:
    """A row (or the whole file, at line 1) that cannot be imported, and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


RowResult = LeadRow | RowError


@dataclass(frozen=True)
class _Columns:
    width: int
    fields: list[tuple[int, str]]  # (column index, LeadRow field)
    custom: list[tuple[int, str]]  # (column index, custom key)


def read_leads_csv(path: Path) -> Iterator[RowResult]:
    """Each data row of the file as a LeadRow or a RowError naming its first physical line."""
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        first = handle.readline()
        reader = csv.reader(itertools.chain([first], handle), delimiter=_delimiter(first))
        try:
            header = next(reader, [])
            columns = _map_header(header)
            if isinstance(columns, RowError):
                yield columns
                return
            start = reader.line_num + 1
            for record in reader:
                line, start = start, reader.line_num + 1
                if any(cell.strip() for cell in record):
                    yield _parse_record(record, columns, line)
        except csv.Error as exc:
            yield RowError(reader.line_num, f"the file cannot be read as CSV: {exc}")


def _delimiter(header_line: str) -> str:
    """The separator the header uses most: ',' by default, ';' from European spreadsheets."""
    return max(",;\t", key=header_line.count) if any(c in header_line for c in ";\t") else ","


def _normalize_header(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _custom_key(name: str, index: int) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_") or f"column_{index + 1}"


def _map_header(header: list[str]) -> _Columns | RowError:
    if not any(cell.strip() for cell in header):
        return RowError(1, "the file is empty or its first line is blank: the first line "
                           "must name the columns, e.g. email,first_name,company")
    if _UNDECODABLE.search("".join(header)):
        return RowError(1, _NOT_UTF8)
    columns = _Columns(width=len(header), fields=[], custom=[])
    seen: dict[str, str] = {}
    for index, name in enumerate(header):
        name = name.strip()
        if not name:
            continue
        target = _ALIASES.get(_normalize_header(name))
        key = target or _custom_key(name, index)
        if key in seen:
            return RowError(1, f"columns {seen[key]!r} and {name!r} both give {key}: "
                               "keep one of them")
        seen[key] = name
        (columns.fields if target else columns.custom).append((index, key))
    if "email" not in seen:
        return RowError(1, "no email column: name one column email "
                           "(\"E-mail\" and \"Email Address\" work too)")
    return columns


_NOT_UTF8 = "not UTF-8 text: save the file as \"CSV UTF-8\" and import it again"


def _parse_record(record: list[str], columns: _Columns, line: int) -> RowResult:
    if _UNDECODABLE.search("".join(record)):
        return RowError(line, _NOT_UTF8)
    if any("\x00" in cell for cell in record):
        return RowError(line, "a value holds a NUL character (\\0), which no lead field can "
                              "store: is this a binary or UTF-16 file?")
    if any(cell.strip() for cell in record[columns.width:]):
        return RowError(line, f"{len(record)} values but the header names {columns.width} "
                              "columns: does a value hold the separator without quotes?")
    width = len(record)
    values = {name: record[i] for i, name in columns.fields if i < width}
    custom = {key: record[i].strip() for i, key in columns.custom if i < width}
    try:
        return lead_row_from_values(values, {k: v for k, v in custom.items() if v}, line=line)
    except ValueError as exc:
        return RowError(line, str(exc))


def lead_row_from_values(
    values: Mapping[str, str], custom: Mapping[str, str] | None = None, *, line: int = 0
) -> LeadRow:
    """Validate raw text values keyed by LeadRow field; ValueError lists every problem."""
    cleaned: dict[str, object] = {}
    problems: list[str] = []
    for name in LEAD_FIELDS:
        text = (values.get(name) or "").strip()
        if not text:
            continue
        try:
            cleaned[name] = _PARSERS.get(name, _keep)(text)
        except ValueError as exc:
            problems.append(str(exc))
    if not (values.get("email") or "").strip():
        problems.insert(0, "email is empty")
    if problems:
        raise ValueError("; ".join(problems))
    return LeadRow(**cleaned, custom=dict(custom or {}), line=line)  # type: ignore[arg-type]


def _keep(text: str) -> str:
    return text


def parse_email(text: str) -> str:
    """A syntactically valid address, lowercased (no DNS lookup), as `validate_email` decides.

    `validate_email` spends most of its time on the domain, and lead lists repeat domains. A
    plain ASCII local part is one it accepts as is, so such an address is checked by joining
    it to a domain validated once (and the same length limits); anything else, valid or not,
    goes through `validate_email` whole.
    """
    local, at, domain = text.rpartition("@")
    checked = _checked_domain(domain) if at and _DOT_ATOM.fullmatch(local) else None
    if checked is not None:
        forms = (text, *(f"{local}@{name}" for name in checked))
        if all(len(form.encode()) <= _EMAIL_MAX_BYTES for form in forms):
            return forms[1].lower()
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(f"email {text!r} is not valid: {exc}") from None


@lru_cache(maxsize=65536)
def _checked_domain(domain: str) -> tuple[str, str] | None:
    """The normalized and IDNA-ASCII forms of a valid domain, or None."""
    try:
        probe = validate_email(f"x@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return probe.domain, probe.ascii_domain


def _parse_employees(text: str) -> int:
    digits = re.sub(r"[,. ]", "", text) if _THOUSANDS.match(text) else text
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"employees {text!r} is not a whole number (e.g. 1200 or 1,200)")
    return int(digits)


def _parse_deal_value(text: str) -> float:
    number = text.strip(_CURRENCY)
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", number):
        number = number.replace(",", "")
    elif re.fullmatch(r"\d+,\d+", number):  # a decimal comma: 1200,50
        number = number.replace(",", ".")
    try:
        value = float(number)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"deal_value {text!r} is not an amount (e.g. 12500 or 12,500.50)")
    return value


def _parse_country(text: str) -> str:
    code = text.upper()
    code = "GB" if code == "UK" else code
    if code not in _country_codes():
        raise ValueError(f"country {text!r} is not an ISO 3166 two-letter code (e.g. US, DE, GB)")
    return code


def _parse_timezone(text: str) -> str:
    name = _zones().get(text.lower())
    if name is None:
        raise ValueError(f"timezone {text!r} is not an IANA time zone (e.g. America/New_York)")
    return name


@cache
def _country_codes() -> frozenset[str]:
    table = resources.files("tzdata").joinpath("zoneinfo", "iso3166.tab").read_text("utf-8")
    return frozenset(row[:2] for row in table.splitlines() if row and not row.startswith("#"))


@cache
def _zones() -> dict[str, str]:
    """IANA names by their lowercase form, so "america/new_york" is accepted too."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


_PARSERS = {
    "email": parse_email,
    "employees": _parse_employees,
    "deal_value": _parse_deal_value,
    "country": _parse_country,
    "timezone": _parse_timezone,
}
