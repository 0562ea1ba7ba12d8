"""Handoff to reps: what a rep covers and how busy they may be, handled handoff requests with
their SLA clock, the cursor of the request scan, notices (rep emails, webhooks) and an index on
the handoff requests among the events.

Plain SQLAlchemy types on purpose, as in 0001: a migration is a frozen record.

Revision ID: 0002_handoff
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_handoff"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
REP_COLUMNS = (
    ("countries", JSON, "[]"), ("regions", JSON, "[]"), ("industries", JSON, "[]"),
    ("capacity", sa.Integer(), "50"), ("weight", sa.Integer(), "1"),
    ("timezone", sa.String(), "UTC"), ("working_hours", sa.String(), "09:00-17:00"),
    ("working_days", sa.String(), "mon-fri"), ("out_of_office", JSON, "[]"),
    ("away", JSON, "[]"), ("rotation_credit", sa.Float(), "0"),
)
PENDING_REQUESTS = "type = 'handoff_requested'"


def _when(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def upgrade() -> None:
    with op.batch_alter_table("rep") as batch:
        for name, kind, default in REP_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=False, server_default=default))
    op.create_index("ix_event_handoff_requested", "event", ["id"],
                    sqlite_where=sa.text(PENDING_REQUESTS),
                    postgresql_where=sa.text(PENDING_REQUESTS))
    op.create_table(
        "handoff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        *(sa.Column(name, sa.String(), nullable=True)
          for name in ("rule", "from_stage", "to_stage")),
        _when("created_at"), _when("assigned_at", nullable=True),
        sa.Column("holders", JSON, nullable=False),
        sa.Column("sla_state", sa.String(), nullable=True),
        _when("sla_due_at", nullable=True),
        _fk("handoff", "event_id", "event", "CASCADE"),
        _fk("handoff", "lead_id", "lead", "CASCADE"),
        _fk("handoff", "rep_id", "rep", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_handoff"),
        sa.UniqueConstraint("event_id", name="uq_handoff_event_id"),
    )
    op.create_index("ix_handoff_lead_id", "handoff", ["lead_id"])
    op.create_index("ix_handoff_rep_id_assigned_at", "handoff", ["rep_id", "assigned_at"])
    op.create_index("ix_handoff_sla_due", "handoff", ["sla_due_at"],
                    sqlite_where=sa.text("sla_due_at IS NOT NULL"),
                    postgresql_where=sa.text("sla_due_at IS NOT NULL"))
    op.create_table(
        "handoff_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=False),
        sa.Column("candidate", sa.Integer(), nullable=True),
        _when("candidate_since", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_cursor"),
    )
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.String(), nullable=False)
          for name in ("key", "kind", "purpose")),
        sa.Column("rep_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        *(sa.Column(name, sa.String(), nullable=False)
          for name in ("recipient", "message_id", "body", "status")),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at", nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        _when("created_at"), _when("sent_at", nullable=True),
        sa.Column("lease_token", sa.String(), nullable=True),
        _when("lease_expires_at", nullable=True),
        _fk("notice", "rep_id", "rep", "SET NULL"),
        _fk("notice", "lead_id", "lead", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_notice"),
        sa.UniqueConstraint("key", name="uq_notice_key"),
    )
    op.create_index("ix_notice_due", "notice", ["next_attempt_at"],
                    sqlite_where=sa.text("status = 'pending'"),
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_index("ix_notice_rep_id_purpose_created_at", "notice",
                    ["rep_id", "purpose", "created_at"])


def downgrade() -> None:
    for table in ("notice", "handoff_cursor", "handoff"):
        op.drop_table(table)
    op.drop_index("ix_event_handoff_requested", "event")
    with op.batch_alter_table("rep") as batch:
        for name, _, _ in reversed(REP_COLUMNS):
            batch.drop_column(name)
