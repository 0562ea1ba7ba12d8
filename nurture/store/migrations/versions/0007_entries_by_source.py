"""An index of the stage entries of one lead source, ordered as the reports group them (stage,
then the stages before, after and tied), holding every column they read: a report filtered by
source reads its entries from this index alone and groups them without sorting, rather than
every entry of the period through ix_stage_entry_at and then each row (reports/entries.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_stage_entry_source", "stage_entry",
                    ["lead_source", "stage", "earlier", "later", "tied", "at", "prev_at"])


def downgrade() -> None:
    op.drop_index("ix_stage_entry_source", "stage_entry")
