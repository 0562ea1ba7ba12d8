"""Scoring and stage rules: when a lead's score was computed (decay runs from then) and when the
rules sweep must look at it next, with the index that makes a sweep cost what is due.

Leads already stored, and leads inserted in bulk without naming the column (the CSV import),
get a `rules_due_at` long past: the next sweep scores them, grades their fit and applies the
rules.

Plain SQLAlchemy types on purpose, as in 0001: a migration is a frozen record.

Revision ID: 0002_rules
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_rules"
down_revision = "0001"
branch_labels = None
depends_on = None

DUE = "rules_due_at IS NOT NULL"


def upgrade() -> None:
    op.add_column("lead", sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("lead", sa.Column("rules_due_at", sa.DateTime(timezone=True), nullable=True,
                                    server_default=sa.text("'1970-01-01 00:00:00.000000'")))
    op.create_index("ix_lead_rules_due", "lead", ["rules_due_at"],
                    sqlite_where=sa.text(DUE), postgresql_where=sa.text(DUE))


def downgrade() -> None:
    op.drop_index("ix_lead_rules_due", table_name="lead")
    with op.batch_alter_table("lead") as batch:
        batch.drop_column("rules_due_at")
        batch.drop_column("scored_at")
