"""Lead CSV parsing: header aliases, custom fields, validation, physical line numbers, encodings."""

from __future__ import annotations

from pathlib import Path

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given
from hypothesis import strategies as st

from nurture.files.leads_csv import (
    LeadRow,
    RowError,
    lead_row_from_values,
    parse_email,
    read_leads_csv,
)


def read(tmp_path: Path, text: str, *, raw: bytes | None = None) -> list[LeadRow | RowError]:
    path = tmp_path / "leads.csv"
    path.write_bytes(raw if raw is not None else text.encode("utf-8"))
    return list(read_leads_csv(path))


def errors(results: list[LeadRow | RowError]) -> list[tuple[int, str]]:
    return [(r.line, r.reason) for r in results if isinstance(r, RowError)]


def test_header_aliases_map_to_lead_fields(tmp_path: Path) -> None:
    text = ("E-mail,First Name,lastname,Company Name,Job Title,Company Size,Time Zone,Amount,"
            "Country\n"
            "Ann@Example.com,Ann,Lee,Acme,VP Sales,\"1,200\",Europe/Berlin,\"12,500.50\",de\n")
    [row] = read(tmp_path, text)
    assert row == LeadRow(email="ann@example.com", first_name="Ann", last_name="Lee",
                          company="Acme", title="VP Sales", employees=1200,
                          timezone="Europe/Berlin", deal_value=12500.5, country="DE")


@pytest.mark.parametrize("header", ["email", "Email Address", "EMAIL", "e_mail", " E-Mail "])
def test_email_column_is_found_under_common_names(tmp_path: Path, header: str) -> None:
    [row] = read(tmp_path, f"{header}\nann@example.com\n")
    assert isinstance(row, LeadRow) and row.email == "ann@example.com"


def test_unknown_columns_become_snake_case_custom_fields(tmp_path: Path) -> None:
    [row] = read(tmp_path, "email,Plan Tier,Seats (paid),notes\nann@example.com,team,40,\n")
    assert isinstance(row, LeadRow)
    assert row.custom == {"plan_tier": "team", "seats_paid": "40"}


def test_bad_rows_name_their_physical_line_after_a_multi_line_field(tmp_path: Path) -> None:
    text = ("email,notes,timezone,employees\n"
            "ann@example.com,\"first line\nsecond line\nthird line\",UTC,10\n"
            "not-an-email,,,\n"
            "bob@example.com,,Mars/Olympus,\n"
            "\n"
            "carol@example.com,,,a dozen\n"
            ",,UTC,5\n"
            "dan@example.com,,america/new_york,1 200\n")
    results = read(tmp_path, text)
    good = [r for r in results if isinstance(r, LeadRow)]
    assert [(r.email, r.line) for r in good] == [("ann@example.com", 2), ("dan@example.com", 10)]
    assert good[0].custom == {"notes": "first line\nsecond line\nthird line"}
    assert good[1].timezone == "America/New_York" and good[1].employees == 1200
    assert [line for line, _ in errors(results)] == [5, 6, 8, 9]
    reasons = dict(errors(results))
    assert "'not-an-email' is not valid" in reasons[5]
    assert "'Mars/Olympus' is not an IANA time zone" in reasons[6]
    assert "employees 'a dozen' is not a whole number" in reasons[8]
    assert reasons[9] == "email is empty"


def test_every_problem_of_a_row_is_reported_together(tmp_path: Path) -> None:
    [error] = read(tmp_path, "email,country,deal value\nx@,USA,-5\n")
    assert isinstance(error, RowError) and error.line == 2
    assert "email 'x@'" in error.reason and "country 'USA'" in error.reason
    assert "deal_value '-5'" in error.reason


@pytest.mark.parametrize(("text", "expected"), [
    ("12500", 12500.0), ("12,500.50", 12500.5), ("1200,50", 1200.5), ("$99", 99.0),
    ("€ 1,000", 1000.0),
])
def test_deal_values_in_common_notations(text: str, expected: float) -> None:
    row = lead_row_from_values({"email": "ann@example.com", "deal_value": text})
    assert row.deal_value == expected


@pytest.mark.parametrize("text", ["abc", "nan", "inf", "-1", "1.2.3"])
def test_deal_values_that_are_not_amounts_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="deal_value"):
        lead_row_from_values({"email": "ann@example.com", "deal_value": text})


@pytest.mark.parametrize("text", ["-3", "12.5", "50-200", "²", "1,20"])
def test_employees_must_be_a_whole_non_negative_number(text: str) -> None:
    with pytest.raises(ValueError, match="employees"):
        lead_row_from_values({"email": "ann@example.com", "employees": text})


def test_country_codes_are_checked_and_uppercased() -> None:
    assert lead_row_from_values({"email": "a@example.com", "country": "fr"}).country == "FR"
    assert lead_row_from_values({"email": "a@example.com", "country": "uk"}).country == "GB"
    with pytest.raises(ValueError, match="ISO 3166"):
        lead_row_from_values({"email": "a@example.com", "country": "XX"})


def test_utf8_bom_is_ignored(tmp_path: Path) -> None:
    raw = "\ufeffEmail,First Name\nann@example.com,Zoë\n".encode()
    [row] = read(tmp_path, "", raw=raw)
    assert isinstance(row, LeadRow) and row.first_name == "Zoë"


def test_semicolon_delimited_files_are_read(tmp_path: Path) -> None:
    [row] = read(tmp_path, "Email;Company;Deal Value\r\nann@example.com;Acme, Inc.;1200,50\r\n")
    assert row == LeadRow(email="ann@example.com", company="Acme, Inc.", deal_value=1200.5)


def test_tab_delimited_files_are_read(tmp_path: Path) -> None:
    [row] = read(tmp_path, "email\tcompany\nann@example.com\tAcme\n")
    assert row == LeadRow(email="ann@example.com", company="Acme")


def test_a_file_without_an_email_column_is_one_clear_error(tmp_path: Path) -> None:
    results = read(tmp_path, "name,company\nAnn,Acme\nBob,Globex\n")
    assert len(results) == 1 and isinstance(results[0], RowError)
    assert results[0].line == 1 and "no email column" in results[0].reason


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    [error] = read(tmp_path, "")
    assert isinstance(error, RowError) and "empty" in error.reason


def test_two_columns_for_one_field_are_an_error(tmp_path: Path) -> None:
    [error] = read(tmp_path, "Email,E-mail\na@example.com,b@example.com\n")
    assert isinstance(error, RowError) and "'Email' and 'E-mail' both give email" in error.reason


def test_extra_values_beyond_the_header_are_an_error(tmp_path: Path) -> None:
    results = read(tmp_path, "email,company\nann@example.com,Acme,Inc\nbob@example.com,B,\n")
    assert errors(results) == [(2, "3 values but the header names 2 columns: does a value hold "
                                   "the separator without quotes?")]
    assert isinstance(results[1], LeadRow)


def test_short_rows_leave_the_missing_fields_blank(tmp_path: Path) -> None:
    [row] = read(tmp_path, "email,company,title\nann@example.com\n")
    assert row == LeadRow(email="ann@example.com")


def test_rows_that_are_not_utf8_are_refused_and_the_rest_read(tmp_path: Path) -> None:
    raw = "email,first_name\nann@example.com,Zoë\nbob@example.com,Bob\n".encode("latin-1")
    results = read(tmp_path, "", raw=raw)
    assert errors(results) == [(2, 'not UTF-8 text: save the file as "CSV UTF-8" and import it '
                                   "again")]
    assert isinstance(results[1], LeadRow) and results[1].email == "bob@example.com"


def test_row_error_prints_with_its_line() -> None:
    assert str(RowError(7, "email is empty")) == "line 7: email is empty"


ADDRESSES = [
    "Ann.Lee@Example.COM", "a+tag@sub.example.co.uk", "a..b@example.com", ".a@example.com",
    "a.@example.com", "a@example", "a@localhost", "user@xn--bcher-kva.example",
    "user@bücher.example", "üser@example.com", '"quoted"@example.com', "Ann <ann@example.com>",
    "a@b@example.com", "a@[127.0.0.1]", "a@-example.com", "a@example..com", "a @example.com",
    "x" * 65 + "@example.com", "x" * 64 + "@" + "d" * 63 + "." + "e" * 63 + "." + "f" * 60 + ".com",
    "a@invalid", "user@ex_ample.com", "@example.com", "a@", "a@example.test",
]


def validated(text: str) -> str | None:
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def parsed(text: str) -> str | None:
    try:
        return parse_email(text)
    except ValueError:
        return None


@pytest.mark.parametrize("text", ADDRESSES)
def test_parse_email_agrees_with_email_validator(text: str) -> None:
    assert parsed(text) == validated(text)


@given(
    local=st.text(alphabet="aZ09._+-!\"ü<> @", min_size=0, max_size=12),
    domain=st.one_of(
        st.sampled_from(["example.com", "xn--bcher-kva.example", "bücher.example", "b.co"]),
        st.text(alphabet="ab-._[]1ü@", max_size=15),
    ),
)
def test_parse_email_agrees_with_email_validator_on_any_input(local: str, domain: str) -> None:
    text = f"{local}@{domain}"
    assert parsed(text) == validated(text)
