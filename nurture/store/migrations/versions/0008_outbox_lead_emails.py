"""One source's (or industry's, or owner's) emails read from indexes alone, for the sequences
report filtered by lead (reports/emails.py): that source's emails lie all over the outbox, so
reading them through the old index read most of the table.

- The index on outbox (lead_id, sent_at) also holds what the report counts (status,
  enrollment, touch, variant, outcomes and subject). The key still starts (lead_id, sent_at):
  every query that used the old index uses this one. It costs an index entry rewritten when an
  email's outcomes change (once per kind of outcome at most).
- On PostgreSQL the lower(source) and lower(industry) indexes of leads also hold the column
  itself: its planner reads an expression index alone (an index-only scan) only then, and
  otherwise reads a fifth of the lead table to find one source's ids.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

LEAD_COLUMNS = ("source", "industry")


def upgrade() -> None:
    op.create_index("ix_outbox_lead_emails", "outbox",
                    ["lead_id", "sent_at", "status", "enrollment_id", "touch_index", "variant",
                     "outcomes", "subject"])
    op.drop_index("ix_outbox_lead_id_sent_at", table_name="outbox")
    if op.get_bind().dialect.name == "postgresql":
        for column in LEAD_COLUMNS:
            _lower_index(column, include=True)
        # An expression index's statistics go with it; without them the planner guesses that
        # a source has few leads and fetches each one's emails from the table.
        op.execute("ANALYZE lead")


def downgrade() -> None:
    op.create_index("ix_outbox_lead_id_sent_at", "outbox", ["lead_id", "sent_at"])
    op.drop_index("ix_outbox_lead_emails", table_name="outbox")
    if op.get_bind().dialect.name == "postgresql":
        for column in LEAD_COLUMNS:
            _lower_index(column, include=False)
        op.execute("ANALYZE lead")


def _lower_index(column: str, *, include: bool) -> None:
    """Make ix_lead_<column>_lower again, holding `column` itself or not."""
    name = f"ix_lead_{column}_lower"
    op.drop_index(name, table_name="lead")
    op.create_index(name, "lead", [sa.text(f"lower({column})"), "id"],
                    postgresql_include=[column] if include else [])
