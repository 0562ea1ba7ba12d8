"""The suppression list on SQLite and PostgreSQL, and the dispatcher honouring it at send time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from nurture.engine.batch import blocked_now
from nurture.files.leads_csv import LeadRow
from nurture.store.leads import upsert_leads
from nurture.store.suppressions import (
    Suppressed,
    add_suppressions,
    export_suppressions,
    list_suppressions,
    parse_suppression,
    remove_suppressions,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "value", "kind"), [
    ("Ann@Example.com", "ann@example.com", "email"),
    (" example.com ", "example.com", "domain"),
    ("@Example.COM", "example.com", "domain"),
    ("*@example.org", "example.org", "domain"),
])
def test_values_are_read_as_addresses_or_whole_domains(text: str, value: str, kind: str) -> None:
    assert parse_suppression(text) == Suppressed(value, kind)


@pytest.mark.parametrize(("text", "words"), [
    ("", "neither an email address nor a domain"),
    ("localhost", "not a valid domain"),
    ("a@b@example.com", "is not valid"),
    ("exa mple.com", "not a valid domain"),
])
def test_values_that_are_neither_are_refused_by_name(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words) as error:
        parse_suppression(text)
    assert repr(text) in str(error.value)


def _add(engine: Engine, *values: str, reason: str = "test") -> int:
    with engine.begin() as connection:
        return add_suppressions(connection, [parse_suppression(v) for v in values], reason, NOW)


def test_adding_counts_only_new_entries_and_keeps_the_first_reason(engine: Engine) -> None:
    assert _add(engine, "ann@example.com", "spam.example.net", reason="complaint") == 2
    assert _add(engine, "ANN@example.com", "@spam.example.net", "bo@example.com",
                reason="again") == 1
    with engine.connect() as connection:
        entries = list_suppressions(connection)
    assert [(e.value, e.kind, e.reason) for e in entries] == [
        ("ann@example.com", "email", "complaint"), ("bo@example.com", "email", "again"),
        ("spam.example.net", "domain", "complaint")]
    assert all(e.created_at == NOW for e in entries)


def test_an_entry_may_carry_its_own_reason(engine: Engine) -> None:
    with engine.begin() as connection:
        add_suppressions(connection, [Suppressed("x.example.net", "domain", "bought list")],
                         "default", NOW)
        assert [e.reason for e in list_suppressions(connection)] == ["bought list"]


def test_removing_takes_entries_off_in_any_spelling(engine: Engine) -> None:
    _add(engine, "ann@example.com", "spam.example.net")
    with engine.begin() as connection:
        assert remove_suppressions(connection, ["Ann@Example.com", "@spam.example.net"]) == 2
        assert remove_suppressions(connection, ["ann@example.com"]) == 0
        assert list_suppressions(connection) == []


def test_listing_filters_by_kind_and_pages(engine: Engine) -> None:
    _add(engine, "c@example.com", "a@example.com", "zz.example.net", "b@example.com")
    with engine.connect() as connection:
        assert [e.value for e in list_suppressions(connection, kind="domain")] == [
            "zz.example.net"]
        assert [e.value for e in list_suppressions(connection, "email", limit=1, offset=1)] == [
            "b@example.com"]
        assert [e.value for e in export_suppressions(connection)] == [
            "a@example.com", "b@example.com", "c@example.com", "zz.example.net"]


def test_a_large_import_is_written_in_chunks(engine: Engine) -> None:
    values = [f"user{n}@example.com" for n in range(1234)]
    assert _add(engine, *values) == 1234
    assert _add(engine, *values) == 0


def test_the_dispatcher_honours_entries_for_leads_imported_after_them(engine: Engine) -> None:
    _add(engine, "acme.example.net", "ann@example.com")
    with engine.begin() as connection:
        upsert_leads(connection, [LeadRow("bo@acme.example.net"), LeadRow("ann@example.com"),
                                  LeadRow("cy@example.com")], "prospecting",
                     NOW + timedelta(days=1))
        ids = {row.email: row.id for row in connection.exec_driver_sql(
            "SELECT email, id FROM lead")}
        blocked = blocked_now(connection, list(ids.values()))
    assert blocked == {ids["bo@acme.example.net"], ids["ann@example.com"]}
