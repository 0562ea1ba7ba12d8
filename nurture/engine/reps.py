"""Reps in the database: synced from the configuration, read with their load for assignment,
and out of office through the API.

The configuration owns every column but `away` (set through the API) and `rotation_credit`
(round-robin state). A rep removed from the configuration stays, inactive: leads keep their
owner.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from nurture.core.assignment import RepState
from nurture.core.windows import SendWindow
from nurture.core.working_hours import add_working_time, parse_working_hours
from nurture.engine.facts import zone_of
from nurture.settings import DateRange, RepSettings
from nurture.store.engine import writing
from nurture.store.models import Lead, Rep
from nurture.store.sql import dialect_insert

REPS = Rep.__table__  # type: ignore[attr-defined]
LEADS = Lead.__table__  # type: ignore[attr-defined]
OPEN_STATUSES = ("active", "paused")  # an owned lead in these counts towards the rep's load


def sync_reps(engine: Engine, reps: Sequence[RepSettings]) -> int:
    """Write the configured reps into the `rep` table (by email); reps no longer configured
    become inactive. Returns how many reps are configured."""
    with writing(engine) as connection:
        for rep in reps:
            values = _configured(rep)
            statement = dialect_insert(connection, REPS).values(**values)
            connection.execute(statement.on_conflict_do_update(
                index_elements=[REPS.c.email], set_={k: v for k, v in values.items()
                                                     if k != "email"}))
        configured = [rep.email for rep in reps]
        connection.execute(update(REPS).where(REPS.c.email.not_in(configured))
                           .values(active=False))
    return len(reps)


def _configured(rep: RepSettings) -> dict[str, Any]:
    return {
        "name": rep.name, "email": rep.email, "teams": list(rep.teams),
        "countries": list(rep.countries), "regions": list(rep.regions),
        "industries": list(rep.industries), "capacity": rep.capacity, "weight": rep.weight,
        "timezone": rep.timezone, "working_hours": rep.working_hours,
        "working_days": rep.working_days, "active": rep.active,
        "out_of_office": periods_json(rep.out_of_office),
    }


def periods_json(periods: Iterable[DateRange]) -> list[dict[str, str]]:
    return [{"start": p.start.isoformat(), "end": p.end.isoformat()} for p in periods]


def periods_of(row: Any) -> tuple[tuple[date, date], ...]:
    """Out-of-office periods of a rep row: from the configuration and from the API."""
    return tuple((date.fromisoformat(p["start"]), date.fromisoformat(p["end"]))
                 for p in [*(row.out_of_office or []), *(row.away or [])])


def rep_states(connection: Connection, closed_stages: Collection[str], *,
               lock: bool = False) -> list[RepState]:
    """Every rep with their load (open leads owned). With `lock`, the rep rows stay locked
    until the transaction ends (PostgreSQL), so two workers never assign against the same
    loads or round-robin credits; on SQLite the write transaction already does that."""
    query = select(REPS).order_by(REPS.c.id)
    if lock and connection.dialect.name == "postgresql":
        query = query.with_for_update()
    rows = connection.execute(query).all()
    loads = open_leads(connection, [row.id for row in rows], closed_stages)
    return [rep_state(row, loads.get(row.id, 0)) for row in rows]


def rep_state(row: Any, load: int) -> RepState:
    return RepState(
        id=row.id, email=row.email, name=row.name, teams=frozenset(row.teams or ()),
        countries=frozenset(c.upper() for c in row.countries or ()),
        regions=frozenset(r.casefold() for r in row.regions or ()),
        industries=frozenset(i.casefold() for i in row.industries or ()),
        capacity=row.capacity, load=load, weight=row.weight, active=row.active,
        away=periods_of(row), zone=zone_of(row.timezone, "UTC"), credit=row.rotation_credit,
    )


def open_leads(connection: Connection, rep_ids: Sequence[int],
               closed_stages: Collection[str]) -> dict[int, int]:
    """rep id → leads they own that are still open (active or paused, not won or lost)."""
    if not rep_ids:
        return {}
    query = (select(LEADS.c.owner_id, func.count()).where(
        LEADS.c.owner_id.in_(rep_ids), LEADS.c.status.in_(OPEN_STATUSES))
        .group_by(LEADS.c.owner_id))
    if closed_stages:
        query = query.where(LEADS.c.stage.not_in(list(closed_stages)))
    return {owner: count for owner, count in connection.execute(query)}


def save_credits(connection: Connection, credits: dict[int, float]) -> None:
    for rep_id, credit in credits.items():
        connection.execute(update(REPS).where(REPS.c.id == rep_id)
                           .values(rotation_credit=credit))


def set_away(engine: Engine, email: str, periods: Sequence[DateRange]) -> bool:
    """Replace the out-of-office periods set through the API; False if no such rep."""
    with writing(engine) as connection:
        result = connection.execute(update(REPS).where(REPS.c.email == email)
                                    .values(away=periods_json(periods)))
        return result.rowcount == 1


def sla_deadline(connection: Connection, rep_id: int, start: datetime, hours: float) -> datetime:
    """`hours` of rep `rep_id`'s working hours (in their zone) after `start`."""
    row = connection.execute(select(REPS.c.timezone, REPS.c.working_hours,
                                    REPS.c.working_days).where(REPS.c.id == rep_id)).one()
    return add_working_time(start, timedelta(hours=hours), working_window(row),
                            zone_of(row.timezone, "UTC"))


def working_window(row: Any) -> SendWindow:
    return parse_working_hours(row.working_hours, row.working_days)
