"""The prediction log and the serving endpoints.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

``prediction_batches`` indexes batches of logged predictions whose rows are blobs;
``prediction_labels`` holds ground truth by request id; ``serving_endpoints`` the serving
processes with their heartbeat. New tables only: nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prediction_batches",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("arm", sa.String(16), nullable=False),
        sa.Column("start_time", sa.Double, nullable=False),
        sa.Column("end_time", sa.Double, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("source", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_prediction_batches"),
    )
    op.create_index("ix_prediction_batches_model_end", "prediction_batches", ["model", "end_time"])
    op.create_table(
        "prediction_labels",
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("model", sa.String(255)),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("time", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_prediction_labels"),
    )
    op.create_table(
        "serving_endpoints",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started", sa.Double, nullable=False),
        sa.Column("heartbeat", sa.Double, nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_serving_endpoints"),
    )


def downgrade() -> None:
    op.drop_table("serving_endpoints")
    op.drop_table("prediction_labels")
    op.drop_table("prediction_batches")
