"""Notices: written once per key, delivered in batches, retried with backoff when the mail
server says "later", given up when it says "never"."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from nurture.engine.notices import Note, NoticeWriter, deliver_due
from nurture.store.engine import writing
from tests.handoff.desk import NOW, Desk


def _queue(desk: Desk, *recipients: str) -> list[bool]:
    writer = NoticeWriter(desk.settings, NOW)
    written = []
    with writing(desk.engine) as connection:
        for number, email in enumerate(recipients):
            written.append(writer.email(connection, Note(
                key=f"test:{number}", purpose="test", to=("", email), subject=f"Note {number}",
                template="_handoff_unassigned.md.j2", variables={
                    "lead": {"name": "Pat", "email": "pat@acme.test", "company": ""},
                    "handoff": {"rule": "", "reason": "testing"}})))
    return written


def _deliver(desk: Desk, delta: timedelta = timedelta(0), **options: int) -> Counter[str]:
    async def run() -> Counter[str]:
        transport = desk.transport()
        try:
            return await deliver_due(desk.engine, desk.settings, transport, NOW + delta,
                                     **options)
        finally:
            await transport.close()

    return asyncio.run(run())


def test_a_key_is_written_once(desk: Desk) -> None:
    assert _queue(desk, "ana@sales.test") == [True]
    assert _queue(desk, "ana@sales.test") == [False]
    assert _deliver(desk) == {"sent": 1}


def test_full_batches_are_followed_by_more_within_one_call(desk: Desk) -> None:
    _queue(desk, *(f"rep{n}@sales.test" for n in range(5)))
    assert _deliver(desk, batch=2, rounds=2) == {"sent": 4}
    assert _deliver(desk, batch=2) == {"sent": 1}
    assert len(desk.sink.messages) == 5


def test_a_temporary_refusal_is_retried_and_a_permanent_one_given_up(desk: Desk) -> None:
    desk.sink.answer("later@sales.test", "451 4.3.0 try again later")
    desk.sink.answer("gone@sales.test", "550 5.1.1 <gone@sales.test>: no such user")
    _queue(desk, "later@sales.test", "gone@sales.test")

    assert _deliver(desk) == {"retry": 1, "failed": 1}
    assert _deliver(desk, timedelta(seconds=29)) == {}
    desk.replace_sink()  # the server accepts everything again
    assert _deliver(desk, timedelta(seconds=30)) == {"sent": 1}
    later, gone = desk.notices()
    assert (later.status, later.attempts, later.last_error) == (
        "sent", 2, "451 4.3.0 try again later")
    assert gone.status == "failed" and "550 5.1.1" in (gone.last_error or "")
