"""Join the two migrations written side by side from 0001: rules (0002_rules) and handoff
(0002_handoff). Nothing to change; after it the history has one head again.

Revision ID: 0003
Revises: 0002_rules, 0002_handoff
Create Date: 2026-11-23
"""

from __future__ import annotations

revision = "0003"
down_revision = ("0002_rules", "0002_handoff")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
