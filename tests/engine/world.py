"""A small world for the dispatch contract suite: the migrated database (SQLite and PostgreSQL,
from tests/conftest.py), sequence files and templates written to tmp_path, a real renderer and
a real SMTP sink on loopback. Time moves only through the `now` each call is given."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, select, update
from sqlmodel import Session

from nurture.engine.compose import Identity
from nurture.engine.dispatch import DispatchConfig, Dispatcher, TickReport
from nurture.engine.enrollment_sweep import enroll_pending
from nurture.engine.events import NewEvent, record_event
from nurture.files.loader import Project, load_project
from nurture.mail.smtp import SmtpTransport
from nurture.mail.transport import Transport
from nurture.render import TemplateRenderer
from nurture.store.models import Enrollment, Event, Lead, Outbox, Suppression, Task
from tests.smtp_sink import Received, SmtpSink

D = TypeVar("D", bound=Dispatcher)
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # a Monday
LAYOUT = Path(__file__).resolve().parents[2] / "templates" / "_layout.html.j2"
IDENTITY = Identity("Nurture Sales", "sales@nurture.test", None, "1 Main Street, Springfield",
                    "https://t.nurture.test", "test-secret")
ALWAYS = 'send_window = { days = "mon-sun", from = "00:00", to = "24:00" }\n'
PIPELINE = """\
[[stage]]
id = "prospecting"
probability = 0.05

[[stage]]
id = "qualification"
team = "sales"
probability = 0.15
"""
NOTE = "Hi {{ lead.first_name | default('there') }}, this is touch {{ touch_number }}.\n"


def touch(wait: str = "0d", subject: str | list[str] | None = None, **extra: Any) -> dict:
    """One [[touch]] table; an email touch of template note.md.j2 unless told otherwise."""
    fields: dict[str, Any] = {"wait": wait}
    if extra.get("kind") != "task":
        fields["template"] = "note.md.j2"
        fields["subject"] = subject if subject is not None else "Note"
    return {**fields, **extra}


def sequence_toml(sequence_id: str, touches: list[dict], *, stage: str = "prospecting",
                  window: str = ALWAYS, head: str = "") -> str:
    """A sequence file; values are written as JSON, which TOML reads the same for these."""
    text = f'id = "{sequence_id}"\nstage = "{stage}"\n{head}{window}'
    for each in touches:
        text += "\n[[touch]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in each.items())
    return text


def numbered(count: int, wait: str = "1d") -> list[dict]:
    """`count` email touches subjected "Touch 1", "Touch 2"…, the first at once, then `wait`."""
    return [touch("0d" if n == 1 else wait, f"Touch {n}") for n in range(1, count + 1)]


@dataclass
class World:
    engine: Engine
    sink: SmtpSink
    root: Path
    project: Project | None = None
    make_transport: Callable[[], Transport] | None = None
    main: Dispatcher | None = None

    # -- files --

    def template(self, name: str, text: str) -> None:
        path = self.root / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def load(self, *sequences: str) -> Project:
        """Write pipeline.toml and these sequence files, and load them as the project."""
        folder = self.root / "sequences"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        (folder / "pipeline.toml").write_text(PIPELINE)
        for number, text in enumerate(sequences):
            (folder / f"sequence{number}.toml").write_text(text)
        self.project = load_project(folder)
        return self.project

    def dispatcher(self, **config: Any) -> Dispatcher:
        """A dispatcher on the loaded project; the first one made is the one `tick` uses when
        given none. Its transport is made fresh for every tick."""
        made = self.build(Dispatcher, **config)
        self.main = self.main or made
        return made

    def build(self, kind: type[D], **config: Any) -> D:
        """A dispatcher of class `kind` (a subclass with a hook), with jitter off."""
        assert self.project is not None, "load() the sequences first"
        settings = DispatchConfig(**{"jitter": timedelta(0), **config})
        return kind(self.engine, self.project, TemplateRenderer(self.root / "templates"),
                    self.transport(), IDENTITY, settings)

    def replace_sink(self) -> SmtpSink:
        """Stop the SMTP server and start a new one that accepts everything (the fix is in)."""
        self.sink.stop()
        self.sink = SmtpSink().start()
        return self.sink

    def transport(self) -> Transport:
        if self.make_transport is not None:
            return self.make_transport()
        return SmtpTransport(self.sink.host, self.sink.port, local_hostname="nurture.test")

    def tick(self, now: datetime, dispatcher: Dispatcher | None = None) -> TickReport:
        """One tick on its own event loop (by default of the first dispatcher made)."""
        return asyncio.run(self.run_tick(now, dispatcher or self.main or self.dispatcher()))

    async def run_tick(self, now: datetime, dispatcher: Dispatcher,
                       transport: Transport | None = None) -> TickReport:
        """A tick in the running event loop, with a transport opened and closed for it."""
        dispatcher.transport = transport or self.transport()
        try:
            return await dispatcher.tick(now)
        finally:
            await dispatcher.transport.close()

    # -- data --

    def add_lead(self, email: str, now: datetime = NOW, **fields: Any) -> int:
        values: dict[str, Any] = {"stage": "prospecting", "first_name": "Pat",
                                  "timezone": "UTC", **fields}
        lead = Lead(email=email, stage_entered_at=now, created_at=now, updated_at=now,
                    needs_enrollment=True, **values)
        with Session(self.engine) as session:
            session.add(lead)
            session.commit()
            assert lead.id is not None
            return lead.id

    def enroll(self, now: datetime = NOW) -> int:
        assert self.project is not None
        return enroll_pending(self.engine, self.project, now, "UTC", timedelta(0))

    def update_lead(self, lead_id: int, **values: Any) -> None:
        self._update(Lead, lead_id, values)

    def update_enrollments(self, lead_id: int, **values: Any) -> None:
        self._update(Enrollment, lead_id, values)

    def update_outbox(self, lead_id: int, **values: Any) -> None:
        self._update(Outbox, lead_id, values)

    def record(self, lead_id: int, kind: str, at: datetime, **more: Any) -> None:
        assert self.project is not None
        with self.engine.begin() as connection:
            record_event(connection, self.project,
                         NewEvent(lead_id, kind, at, more.pop("data", {}), **more))

    def suppress(self, value: str, kind: str) -> None:
        with Session(self.engine) as session:
            session.add(Suppression(value=value, kind=kind, reason="test", created_at=NOW))
            session.commit()

    def lead(self, lead_id: int) -> Lead:
        with Session(self.engine) as session:
            found = session.get(Lead, lead_id)
            assert found is not None
            return found

    def enrollments(self, lead_id: int) -> list[Enrollment]:
        return self._rows(Enrollment, lead_id, "id")

    def enrollment(self, lead_id: int) -> Enrollment:
        [only] = self.enrollments(lead_id)
        return only

    def outbox(self, lead_id: int) -> list[Outbox]:
        return self._rows(Outbox, lead_id, "id")

    def events(self, lead_id: int, kind: str) -> list[Event]:
        return [e for e in self._rows(Event, lead_id, "id") if e.type == kind]

    def tasks(self, lead_id: int) -> list[Task]:
        return self._rows(Task, lead_id, "id")

    def received(self, email: str) -> list[Received]:
        return [m for m in self.sink.messages if m.recipients == (email,)]

    def subjects(self, email: str) -> list[str]:
        return [str(m.parsed()["Subject"]) for m in self.received(email)]

    def _update(self, model: Any, lead_id: int, values: dict[str, Any]) -> None:
        table = model.__table__
        column = table.c.id if model is Lead else table.c.lead_id
        with self.engine.begin() as connection:
            connection.execute(update(table).where(column == lead_id).values(**values))

    def _rows(self, model: Any, lead_id: int, order: str) -> list[Any]:
        table = model.__table__
        with Session(self.engine) as session:
            query = select(model).where(table.c.lead_id == lead_id).order_by(table.c[order])
            return list(session.execute(query).scalars())


@contextmanager
def opened_world(engine: Engine, root: Path) -> Iterator[World]:
    """A World on `engine` in `root`: the example layout and a note template, an SMTP sink
    running until the block ends."""
    (root / "templates").mkdir()
    shutil.copy(LAYOUT, root / "templates" / "_layout.html.j2")
    made = World(engine, SmtpSink().start(), root)
    made.template("note.md.j2", NOTE)
    try:
        yield made
    finally:
        made.sink.stop()
