"""The reports' summaries: stage entries (a lead's creation included) with what came before and
after each, what each lead adds to the daily counts, the stages a lead ever entered, each
email's outcomes, and the daily counts themselves (store/report_models.py); indexes the reports
read instead of the tables (a lead's stage now; leads by creation, source and industry;
refused emails; a lead's emails by time sent, which replaces the index on the lead alone).

The summaries of the leads, emails and events already stored are filled in here, from their
history, by the rebuild `nurture report rebuild` runs (reports/rebuild.py): the same code
that keeps them, so a later change to what they hold comes with its own migration.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FOLDED = sa.text("NOT pending")
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Columns = list[tuple[str, object]]
DAILY: dict[str, tuple[Columns, Columns]] = {  # table: key columns (after "day"), counted ones
    "daily_entries": ([("stage", str), ("prev_day", int), ("earlier", str), ("later", str),
                       ("tied", str)], [("n", int)]),
    "daily_gaps": ([("stage_order", str), ("from_stage", str)],
                   [("n", int), ("seconds", "big")]),
    "daily_leads": ([("source", str), ("industry", str), ("visited", str)],
                    [("n", int), ("value", float)]),
    "daily_emails": ([("sequence_id", str), ("touch_index", int), ("variant", int)],
                     [(name, int) for name in ("sent", "bounced", "opened", "clicked",
                                               "replied", "unsubscribed")]),
}
TYPES: dict[object, sa.types.TypeEngine] = {str: sa.String(), int: sa.Integer(),
                                             float: sa.Float(), "big": sa.BigInteger()}


def _column(name: str, kind: object, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, TYPES[kind], nullable=nullable)


def _when(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _lead_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["lead_id"], ["lead.id"], name=f"fk_{table}_lead_id_lead",
                                   ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "stage_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        _column("lead_id", int), _column("seq", int), _column("stage", str), _when("at"),
        _when("prev_at", nullable=True), _column("earlier", str), _column("later", str),
        _column("tied", str), _when("lead_created_at"),
        _column("deal_value", float, nullable=True), _column("lead_source", str, nullable=True),
        _column("lead_industry", str, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_stage_entry"), _lead_fk("stage_entry"))
    op.create_index("ix_stage_entry_lead_id_seq", "stage_entry", ["lead_id", "seq"],
                    unique=True)
    op.create_index("ix_stage_entry_at", "stage_entry", ["at", "lead_source", "lead_industry"])
    op.create_index("ix_stage_entry_stage", "stage_entry",
                    ["stage", "at", "earlier", "lead_created_at", "deal_value", "lead_source",
                     "lead_industry"])
    with_prev = sa.text("prev_at IS NOT NULL")
    op.create_index("ix_stage_entry_prev_at", "stage_entry", ["prev_at"],
                    sqlite_where=with_prev, postgresql_where=with_prev)
    op.create_table(
        "lead_tally",
        _column("lead_id", int), _column("day", int), _column("source", str),
        _column("industry", str), _column("visited", str),
        _column("deal_value", float, nullable=True),
        sa.PrimaryKeyConstraint("lead_id", name="pk_lead_tally"), _lead_fk("lead_tally"))
    for table, (keys, sums) in DAILY.items():
        op.create_table(
            table,
            sa.Column("id", ROW_ID, nullable=False), sa.Column("pending", sa.Boolean(),
                                                             nullable=False),
            _column("day", int), *(_column(name, kind) for name, kind in keys + sums),
            *([_column("subject", str, nullable=True)] if table == "daily_emails" else []),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"))
        op.create_index(f"uq_{table}_key", table, ["day", *(name for name, _ in keys)],
                        unique=True, sqlite_where=FOLDED, postgresql_where=FOLDED)
    op.add_column("lead", sa.Column("visited", sa.String(), nullable=False, server_default=""))
    op.add_column("outbox", sa.Column("outcomes", sa.Integer(), nullable=False,
                                      server_default="0"))
    op.drop_index("ix_outbox_lead_id", table_name="outbox")
    op.create_index("ix_outbox_lead_id_sent_at", "outbox", ["lead_id", "sent_at"])
    from nurture.reports.rebuild import rebuild  # noqa: PLC0415 - the backfill

    rebuild(op.get_bind())
    # Built once the backfill has set every lead's `visited`, rather than kept up meanwhile.
    op.drop_index("ix_lead_stage_status", table_name="lead")
    op.create_index("ix_lead_snapshot", "lead", ["stage", "status", "created_at",
                                                 "stage_entered_at", "deal_value", "visited"])
    op.create_index("ix_lead_created_at", "lead", ["created_at"])
    for column in ("source", "industry"):
        op.create_index(f"ix_lead_{column}_lower", "lead", [sa.text(f"lower({column})"), "id"])
    failed = sa.text("status = 'failed'")
    op.create_index("ix_outbox_failed_created", "outbox", ["created_at"],
                    sqlite_where=failed, postgresql_where=failed)


def downgrade() -> None:
    op.drop_index("ix_outbox_lead_id_sent_at", table_name="outbox")
    op.create_index("ix_outbox_lead_id", "outbox", ["lead_id"])
    op.drop_index("ix_outbox_failed_created", table_name="outbox")
    op.drop_index("ix_lead_created_at", table_name="lead")
    for column in ("source", "industry"):
        op.drop_index(f"ix_lead_{column}_lower", table_name="lead")
    op.drop_index("ix_lead_snapshot", table_name="lead")
    op.create_index("ix_lead_stage_status", "lead", ["stage", "status"])
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("outcomes")
    with op.batch_alter_table("lead") as batch:
        batch.drop_column("visited")
    for table in (*DAILY, "lead_tally", "stage_entry"):
        op.drop_table(table)
