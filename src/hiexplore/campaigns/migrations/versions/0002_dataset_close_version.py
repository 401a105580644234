"""Campaigns remember their dataset, when they were last changed and closed, and an edit counter.

``version`` lets the store refuse an edit made from a stale copy (two sessions editing the same
campaign) instead of silently overwriting the other session's change. Existing rows get
``updated_at = recorded_at`` and ``version = 1``.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("dataset", sa.String(500), nullable=True))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.execute("UPDATE campaigns SET updated_at = recorded_at WHERE updated_at IS NULL")
    with op.batch_alter_table("campaigns") as batch:
        batch.alter_column("updated_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.create_index("ix_campaigns_start_date", ["start_date"])


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_index("ix_campaigns_start_date")
        batch.drop_column("version")
        batch.drop_column("closed_at")
        batch.drop_column("updated_at")
        batch.drop_column("dataset")
