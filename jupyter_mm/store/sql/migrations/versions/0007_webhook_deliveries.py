"""The webhook delivery log.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

``webhook_deliveries`` holds one row per attempt to deliver a webhook (registry events and
alerts). A new table only: nothing existing changes. Alerts themselves are events in the
existing ``events`` table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("delivery", sa.String(32), nullable=False),
        sa.Column("time", sa.Double, nullable=False),
        sa.Column("hook", sa.String(255), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("model", sa.String(255)),
        sa.Column("event_id", sa.Integer),
        sa.Column("status", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("duration_ms", sa.Double),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
    )
    op.create_index("ix_webhook_deliveries_model", "webhook_deliveries", ["model"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
