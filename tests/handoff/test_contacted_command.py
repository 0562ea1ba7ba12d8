"""`nurture leads contacted EMAIL`: the rep's record of a contact stops the handoff SLA."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from freezegun import freeze_time
from sqlmodel import Session, select
from typer.testing import CliRunner, Result

from nurture.cli.common import State
from nurture.cli.handoff import contacted_command
from nurture.store.models import Event
from tests.handoff.desk import NOW, Desk
from tests.handoff.test_sla import REMIND_AT


def _nurture(desk: Desk, *args: str) -> Result:
    """The command as `nurture leads contacted` will run it, with a config file."""
    config = desk.root / "config.toml"
    config.write_text("".join(f"{key} = {json.dumps(value)}\n" for key, value in {
        "database_url": desk.settings.database_url,
        "sequences_dir": (desk.root / "sequences").as_posix()}.items()))
    app = typer.Typer()

    @app.callback()
    def main(ctx: typer.Context,
             config: Annotated[Path | None, typer.Option("--config")] = None) -> None:
        ctx.obj = State(config_file=config)

    app.command("contacted")(contacted_command)
    return CliRunner().invoke(app, ["--config", str(config), "contacted", *args])


def test_recording_a_contact_stops_the_reminder(desk: Desk) -> None:
    lead = desk.add_lead("pat@acme.test")
    desk.request(lead)
    desk.handoffs(NOW)

    with freeze_time(NOW.replace(hour=16)):
        result = _nurture(desk, "PAT@acme.test", "--note", "booked a demo for Thursday")

    assert result.exit_code == 0, result.output
    assert "recorded: pat@acme.test contacted at 2026-03-02 16:00 UTC" in result.stdout
    with Session(desk.engine) as session:
        [event] = session.exec(select(Event).where(Event.type == "contacted")).all()
    assert (event.lead_id, event.source, event.data) == (
        lead, "cli", {"note": "booked a demo for Thursday"})
    assert desk.sla(REMIND_AT).outcomes == {"contacted": 1}
    assert len(desk.received("ana@sales.test")) == 1


def test_an_unknown_lead_is_an_error(desk: Desk) -> None:
    result = _nurture(desk, "nobody@acme.test")
    assert result.exit_code == 1
    assert "no lead with email nobody@acme.test" in result.stderr
