"""`nurture preview SEQUENCE --touch N --lead EMAIL`: exactly what the lead would get."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from sqlmodel import Session

from nurture.cli.common import console, errors, now, reported_errors, settings_of
from nurture.core.decisions import choose_variant
from nurture.core.samples import FULL_LEAD
from nurture.core.sequences import Sequence
from nurture.engine.compose import Identity, compose, message_id
from nurture.files.loader import Project, load_project
from nurture.render import TemplateRenderer
from nurture.store.engine import make_engine, upgrade
from nurture.store.leads import get_lead_by_email
from nurture.store.models import Lead, Rep


def preview_command(
    ctx: typer.Context,
    sequence_id: Annotated[str, typer.Argument(metavar="SEQUENCE", help="a sequence id")],
    touch: Annotated[int, typer.Option(min=1, help="touch number, from 1")] = 1,
    lead_email: Annotated[str | None, typer.Option("--lead", help="a stored lead's email "
                                                   "(default: a sample lead)")] = None,
    variant: Annotated[int | None, typer.Option(min=1, help="subject variant (default: the "
                                                "lead's own)")] = None,
    out: Annotated[Path | None, typer.Option(help="write FILE.eml (the whole message) or "
                                             "FILE.html (the HTML part)")] = None,
) -> None:
    """Render one touch for one lead, with the same code the daemon sends with."""
    if out and out.suffix not in (".eml", ".html"):
        _fail(f"--out {out}: name a .eml file (the whole message) or a .html file (its HTML)")
    settings = settings_of(ctx)
    with reported_errors():
        project = load_project(settings.sequences_dir)
    sequence = _email_sequence(project, sequence_id, touch)
    subjects = sequence.touches[touch - 1].subject
    lead, owner = _lead(settings.database_url, lead_email)
    chosen = (variant - 1 if variant else
              choose_variant(lead.email, sequence.id, touch - 1, len(subjects)))
    if chosen >= len(subjects):
        _fail(f"touch {touch} has {len(subjects)} subject variants, so no variant {chosen + 1}")
    identity = Identity.from_settings(settings)
    with reported_errors():
        composed = compose(TemplateRenderer(settings.templates_dir), identity, sequence,
                           touch - 1, chosen, lead, owner, message_id(identity, 0, touch - 1),
                           now(), enrollment_id=0)
    _show(composed.message, out)


def _email_sequence(project: Project, sequence_id: str, touch: int) -> Sequence:
    """The sequence, when its touch number `touch` exists and is an email."""
    sequence = project.sequence(sequence_id)
    if sequence is None:
        known = ", ".join(s.id for s in project.sequences)
        _fail(f"no sequence {sequence_id!r} (sequences: {known})")
    if touch > len(sequence.touches):
        _fail(f"{sequence_id} has {len(sequence.touches)} touches, so no touch {touch}")
    if sequence.touches[touch - 1].kind != "email":
        _fail(f"touch {touch} of {sequence_id} is a task for the lead's owner, not an email: "
              "there is nothing to preview")
    return sequence


def _lead(database_url: str, address: str | None) -> tuple[Lead, dict[str, str] | None]:
    if address is None:
        moment = datetime(2026, 1, 1, tzinfo=UTC)
        sample = {k: v for k, v in FULL_LEAD.items() if k in Lead.model_fields}
        return Lead(id=0, **sample, stage_entered_at=moment, created_at=moment,
                    updated_at=moment), None
    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as session:
        lead = get_lead_by_email(session, address)
        if lead is None:
            _fail(f"no lead with email {address}; import it first "
                  "(nurture leads import FILE.csv) or leave out --lead")
        rep = session.get(Rep, lead.owner_id) if lead.owner_id else None
        owner = {"name": rep.name, "email": rep.email} if rep else None
        session.expunge(lead)
        return lead, owner


def _fail(message: str) -> NoReturn:
    errors.print(f"error: {message}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(1)


def _show(raw: bytes, out: Path | None) -> None:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    html = message.get_body(("html",))
    text = message.get_body(("plain",))
    if out and out.suffix == ".html":
        out.write_text(html.get_content() if html else "", encoding="utf-8")
    elif out:
        out.write_bytes(raw)
    for header in ("From", "To", "Subject", "List-Unsubscribe"):
        console.print(f"[bold]{header}:[/bold] {message[header]}", highlight=False,
                      soft_wrap=True)
    console.print()
    console.print(text.get_content() if text else "", highlight=False, markup=False,
                  soft_wrap=True)
    if out:
        console.print(f"written to {out}", highlight=False, soft_wrap=True)
