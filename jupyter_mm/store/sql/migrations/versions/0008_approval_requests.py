"""Approval requests: transitions that wait for a second person.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

``approval_requests`` holds each request's current state (pending, approved, rejected,
expired, failed); every change of state is also an event in ``events``. A new table only:
nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("from_stage", sa.String(16), nullable=False),
        sa.Column("to_stage", sa.String(16), nullable=False),
        sa.Column("requester", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("created_time", sa.Double, nullable=False),
        sa.Column("expires_time", sa.Double, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.Text),
        sa.Column("decided_time", sa.Double),
        sa.Column("decision_reason", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_approval_requests"),
    )
    op.create_index("ix_approval_requests_status", "approval_requests", ["status"])
    op.create_index("ix_approval_requests_model_version", "approval_requests", ["model", "version"])


def downgrade() -> None:
    op.drop_index("ix_approval_requests_model_version", table_name="approval_requests")
    op.drop_index("ix_approval_requests_status", table_name="approval_requests")
    op.drop_table("approval_requests")
