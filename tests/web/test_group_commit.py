"""Group commit on SQLite and PostgreSQL: writes that arrive together share a transaction, each
caller hears back only after the commit, writes keep their order, and a bad write fails
alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Column, Connection, Engine, Integer, MetaData, String, Table, event, select
from sqlalchemy.exc import IntegrityError

from nurture.web.group_commit import GroupCommit

METADATA = MetaData()
NOTES = Table("group_commit_note", METADATA, Column("id", Integer, primary_key=True),
              Column("text", String(20), nullable=False, unique=True))


@pytest.fixture
def notes(engine: Engine) -> Iterator[Engine]:
    NOTES.create(engine)
    yield engine
    NOTES.drop(engine)


def _write(connection: Connection, texts: list[str]) -> list[int]:
    """Store each text; what it saw before it: the number of notes already there."""
    seen = []
    for text in texts:
        seen.append(len(connection.execute(select(NOTES.c.id)).all()))
        connection.execute(NOTES.insert().values(text=text))
    return seen


def _stored(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(select(NOTES.c.text).order_by(NOTES.c.id)).scalars())


def _commits(engine: Engine) -> list[Any]:
    counted: list[Any] = []
    event.listen(engine, "commit", counted.append)
    return counted


def test_writes_submitted_together_share_one_transaction_in_order(notes: Engine) -> None:
    commits = _commits(notes)

    async def submit_all() -> list[int]:
        writes = GroupCommit(notes, _write)
        return await asyncio.gather(*(writes.submit(f"note {n}") for n in range(10)))

    assert asyncio.run(submit_all()) == list(range(10))  # each saw the ones before it
    assert _stored(notes) == [f"note {n}" for n in range(10)]
    assert len(commits) == 1


def test_a_caller_hears_back_only_after_its_write_is_committed(notes: Engine) -> None:
    async def submit_and_look() -> list[str]:
        writes = GroupCommit(notes, _write)
        await writes.submit("first")
        return await asyncio.to_thread(_stored, notes)  # another connection sees it

    assert asyncio.run(submit_and_look()) == ["first"]


def test_writes_arriving_during_a_transaction_go_in_the_next_one(notes: Engine) -> None:
    commits = _commits(notes)

    async def submit_in_two_waves() -> None:
        writes = GroupCommit(notes, _write)
        first = asyncio.ensure_future(writes.submit("early"))
        await asyncio.sleep(0)  # "early" waits, and the writer that will take it is started
        later = [writes.submit(f"late {n}") for n in range(3)]
        await asyncio.gather(first, *later)

    checkouts: list[Any] = []
    event.listen(notes, "checkout", lambda *_: checkouts.append(1))
    asyncio.run(submit_in_two_waves())
    # One connection for both (no second pre-ping), given back once nothing waited.
    assert len(checkouts) == 1 and notes.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert _stored(notes) == ["early", "late 0", "late 1", "late 2"]
    assert len(commits) == 2


def test_a_failing_write_fails_alone_and_the_others_are_stored(notes: Engine) -> None:
    with notes.begin() as connection:
        connection.execute(NOTES.insert().values(text="taken"))

    async def submit_all() -> list[Any]:
        writes = GroupCommit(notes, _write)
        return await asyncio.gather(*(writes.submit(text) for text in ("a", "taken", "b")),
                                    return_exceptions=True)

    first, duplicate, last = asyncio.run(submit_all())
    assert isinstance(duplicate, IntegrityError)
    assert (first, last) == (1, 2)  # written again one by one after the shared one failed
    assert _stored(notes) == ["taken", "a", "b"]
