"""A lead's scoring events read from one index: the index on event (lead_id, at) also holds
each event's type and machine flag (and, on PostgreSQL, its id; SQLite's indexes hold it
anyway), so rebuilding a score reads a few neighbouring index entries instead of one table page
per event, and the table only for the events whose data a bonus condition reads
(engine/scoring.py, `events_as_json`). The key still starts (lead_id, at): every query that
used the old index uses this one.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_event_lead_id_at_type_machine", "event",
                    ["lead_id", "at", "type", "machine"], postgresql_include=["id"])
    op.drop_index("ix_event_lead_id_at", table_name="event")


def downgrade() -> None:
    op.create_index("ix_event_lead_id_at", "event", ["lead_id", "at"])
    op.drop_index("ix_event_lead_id_at_type_machine", table_name="event")
