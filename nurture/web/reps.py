"""The reps under /api (Bearer auth, like the rest of /api).

GET /api/reps                        every rep: what they cover, load, out-of-office periods
PUT /api/reps/{email}/out-of-office  replace the periods set through the API (the ones in the
                                     configuration stay); an empty list clears them
A rep out of office gets no new leads and no digest.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, select

from nurture.engine.handoff import closed_stages
from nurture.engine.reps import REPS, open_leads, set_away, sync_reps
from nurture.settings import DateRange
from nurture.web.auth import require_api_key
from nurture.web.state import WebContext, web_context

Context = Annotated[WebContext, Depends(web_context)]
MAX_PERIODS = 100
router = APIRouter(
    prefix="/api", tags=["reps"], dependencies=[Depends(require_api_key)],
    responses={401: {"description": "no API key, or a wrong one"}},
)


class OutOfOfficeIn(BaseModel):
    """The rep's out-of-office periods (whole days, both ends included), replacing those set
    through the API before."""

    model_config = ConfigDict(extra="forbid")
    periods: list[DateRange] = Field(max_length=MAX_PERIODS)


class RepOut(BaseModel):
    name: str
    email: str
    active: bool
    teams: list[str]
    countries: list[str]
    regions: list[str]
    industries: list[str]
    capacity: int
    weight: int
    load: int = Field(description="open leads the rep owns")
    timezone: str
    working_hours: str
    working_days: str
    out_of_office: list[DateRange] = Field(description="periods from the configuration")
    away: list[DateRange] = Field(description="periods set through the API")


@router.get("/reps", response_model=list[RepOut])
def list_reps(context: Context) -> list[RepOut]:
    """Every rep, active or not, by email."""
    with context.engine.connect() as connection:
        return _reps(connection, context, None)


@router.put("/reps/{email}/out-of-office", response_model=RepOut,
            responses={404: {"description": "no rep with this email"}})
def put_out_of_office(email: str, payload: OutOfOfficeIn, context: Context) -> RepOut:
    """Set the periods in which the rep is out of office (set through the API)."""
    address = email.strip().lower()
    if not set_away(context.engine, address, payload.periods):
        if address not in {rep.email for rep in context.settings.reps}:
            raise HTTPException(404, f"no rep with email {address}")
        sync_reps(context.engine, context.settings.reps)  # configured, not synced yet
        set_away(context.engine, address, payload.periods)
    with context.engine.connect() as connection:
        [rep] = _reps(connection, context, address)
    return rep


def _reps(connection: Connection, context: WebContext, email: str | None) -> list[RepOut]:
    query = select(REPS).order_by(REPS.c.email)
    if email is not None:
        query = query.where(REPS.c.email == email)
    rows = connection.execute(query).all()
    loads = open_leads(connection, [row.id for row in rows],
                       closed_stages(context.project()))
    return [RepOut(**{name: getattr(row, name) for name in RepOut.model_fields
                      if name != "load"}, load=loads.get(row.id, 0)) for row in rows]
