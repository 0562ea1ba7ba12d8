"""The initial schema: leads, reps, suppressions, stage and score history, enrollments, the
outbox, events and tasks.

Plain SQLAlchemy types on purpose: a migration is a frozen record and must not change when the
models do. DateTime(timezone=True) is what nurture.store.types.UTCDateTime stores; the email and
suppression columns are lowercased by the application (LowerString) before they get here.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), nullable=False)


def _text(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(), nullable=nullable)


def _int(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _float(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Float(), nullable=nullable)


def _when(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def _unique(table: str, *columns: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(*columns, name=f"uq_{table}_{'_'.join(columns)}")


def _index(table: str, *columns: str) -> None:
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns))


def upgrade() -> None:
    op.create_table(
        "rep",
        _id(), _text("name"), _text("email"),
        sa.Column("teams", JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _pk("rep"), _unique("rep", "email"),
    )
    op.create_table(
        "suppression",
        _id(), _text("value"), _text("kind"), _text("reason"), _when("created_at"),
        _pk("suppression"), _unique("suppression", "value"),
    )
    op.create_table(
        "lead",
        _id(), _text("email"),
        *(_text(name, nullable=True) for name in ("first_name", "last_name", "company", "title",
                                                  "industry")),
        _int("employees", nullable=True),
        *(_text(name, nullable=True) for name in ("source", "country", "region", "timezone",
                                                  "phone", "website")),
        _float("deal_value", nullable=True),
        sa.Column("custom", JSON, nullable=False),
        _text("stage"), _text("status"), _when("paused_until", nullable=True),
        _float("score"), _text("fit"), _int("owner_id", nullable=True),
        _when("stage_entered_at"), _when("last_engaged_at", nullable=True),
        _when("created_at"), _when("updated_at"),
        sa.Column("needs_enrollment", sa.Boolean(), nullable=False),
        _fk("lead", "owner_id", "rep", "SET NULL"), _pk("lead"), _unique("lead", "email"),
    )
    _index("lead", "owner_id")
    _index("lead", "stage", "status")
    op.create_index(
        "ix_lead_needs_enrollment", "lead", ["id"],
        sqlite_where=sa.text("needs_enrollment"), postgresql_where=sa.text("needs_enrollment"),
    )
    op.create_table(
        "enrollment",
        _id(), _int("lead_id"), _text("sequence_id"), _text("stage"), _when("stage_entered_at"),
        _int("position"), _when("next_touch_at", nullable=True), _text("status"),
        _text("stop_reason", nullable=True), _when("created_at"), _when("updated_at"),
        _text("claimed_by", nullable=True), _text("lease_token", nullable=True),
        _when("lease_expires_at", nullable=True),
        _fk("enrollment", "lead_id", "lead", "CASCADE"), _pk("enrollment"),
        _unique("enrollment", "lead_id", "sequence_id", "stage_entered_at"),
    )
    op.create_index(
        "ix_enrollment_due", "enrollment", ["next_touch_at"],
        sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "stage_change",
        _id(), _int("lead_id"), _text("from_stage", nullable=True), _text("to_stage"),
        _when("at"), _text("rule", nullable=True), _text("reason"),
        _float("score_before"), _float("score_after"),
        _fk("stage_change", "lead_id", "lead", "CASCADE"), _pk("stage_change"),
    )
    _index("stage_change", "lead_id", "at")
    op.create_table(
        "outbox",
        _id(), _int("enrollment_id"), _int("touch_index"), _int("lead_id"), _text("message_id"),
        _text("subject"), _int("variant"), _text("status"), _text("reason", nullable=True),
        _int("attempts"), _when("next_attempt_at", nullable=True), _when("created_at"),
        _when("sent_at", nullable=True), _text("transport", nullable=True),
        _fk("outbox", "enrollment_id", "enrollment", "CASCADE"),
        _fk("outbox", "lead_id", "lead", "CASCADE"), _pk("outbox"),
        _unique("outbox", "enrollment_id", "touch_index"), _unique("outbox", "message_id"),
    )
    _index("outbox", "lead_id")
    _index("outbox", "status", "next_attempt_at")
    _index("outbox", "sent_at")
    op.create_table(
        "task",
        _id(), _int("lead_id"), _int("owner_id", nullable=True),
        _int("enrollment_id", nullable=True), _int("touch_index", nullable=True),
        _text("title"), _when("due_at"), _when("done_at", nullable=True),
        _fk("task", "enrollment_id", "enrollment", "SET NULL"),
        _fk("task", "lead_id", "lead", "CASCADE"), _fk("task", "owner_id", "rep", "SET NULL"),
        _pk("task"), _unique("task", "enrollment_id", "touch_index"),
    )
    _index("task", "lead_id")
    _index("task", "owner_id")
    op.create_table(
        "event",
        _id(), _int("lead_id"), _text("type"), _when("at"),
        sa.Column("data", JSON, nullable=False), _int("outbox_id", nullable=True),
        _text("source", nullable=True), _text("client_id", nullable=True),
        sa.Column("machine", sa.Boolean(), nullable=False),
        _fk("event", "lead_id", "lead", "CASCADE"), _fk("event", "outbox_id", "outbox", "SET NULL"),
        _pk("event"), _unique("event", "source", "client_id"),
    )
    _index("event", "lead_id", "at")
    _index("event", "outbox_id")
    op.create_table(
        "score_change",
        _id(), _int("lead_id"), _int("event_id", nullable=True), _when("at"),
        _float("delta"), _float("score_after"), _text("reason"),
        _fk("score_change", "event_id", "event", "SET NULL"),
        _fk("score_change", "lead_id", "lead", "CASCADE"), _pk("score_change"),
    )
    _index("score_change", "event_id")
    _index("score_change", "lead_id", "at")


def downgrade() -> None:
    for table in ("score_change", "event", "task", "outbox", "stage_change", "enrollment",
                  "lead", "suppression", "rep"):
        op.drop_table(table)
