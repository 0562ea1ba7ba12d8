"""Rescoring when the [scoring] section of pipeline.toml changes.

A lead's stored score is rebuilt from its events only when something about the lead changes,
so new points, bonuses, caps, half-life or fit grades would otherwise leave every score as the
old configuration made it. The daemon compares a fingerprint of the scoring configuration with
the one stored in the `setting` table when it starts and on reload; when they differ, every
lead's score is marked stale (`scored_at` cleared, which makes the rules sweep rebuild it from
its events, `rescore_reason`) and due for the sweep at once, in one UPDATE, and the new
fingerprint is stored in the same transaction. With no fingerprint stored yet (a database from
before this existed) the scores' configuration is unknown, so they are rebuilt too.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import Connection, Engine, case, select, update

from nurture.core.sequences import Scoring
from nurture.store.engine import writing
from nurture.store.models import Lead, Setting
from nurture.store.sql import dialect_insert

LEADS = Lead.__table__  # type: ignore[attr-defined]
SETTINGS = Setting.__table__  # type: ignore[attr-defined]
FINGERPRINT_KEY = "scoring_fingerprint"


def scoring_fingerprint(scoring: Scoring) -> str:
    """A hash of what scores and fit grades are computed from: equal for the same settings
    however the file spells them (key order, comments, layout)."""
    canonical = json.dumps(scoring.model_dump(mode="json", by_alias=True), sort_keys=True,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def stored_fingerprint(connection: Connection) -> str | None:
    """The fingerprint the stored scores were computed with, if known."""
    query = select(SETTINGS.c.value).where(SETTINGS.c.key == FINGERPRINT_KEY)
    return connection.execute(query).scalar()


def scoring_changed(connection: Connection, scoring: Scoring) -> bool:
    """Were the stored scores computed with other settings (or unknown ones)?"""
    return stored_fingerprint(connection) != scoring_fingerprint(scoring)


def rescore_if_changed(engine: Engine, scoring: Scoring, now: datetime) -> int | None:
    """When `scoring` is not what the stored scores were computed with: mark every lead for
    the rules sweep to rebuild its score and store the new fingerprint; returns how many leads
    were marked, or None when the configuration is unchanged (nothing written)."""
    with engine.connect() as connection:
        if not scoring_changed(connection, scoring):
            return None
    fingerprint = scoring_fingerprint(scoring)
    with writing(engine) as connection:
        # Leads already due keep their place in the sweep's queue; the others are due now.
        marked = connection.execute(update(LEADS).values(
            scored_at=None,
            rules_due_at=case((LEADS.c.rules_due_at <= now, LEADS.c.rules_due_at),
                              else_=now))).rowcount
        insert = dialect_insert(connection, SETTINGS).values(key=FINGERPRINT_KEY,
                                                             value=fingerprint)
        connection.execute(insert.on_conflict_do_update(index_elements=[SETTINGS.c.key],
                                                        set_={"value": fingerprint}))
    return int(marked)
