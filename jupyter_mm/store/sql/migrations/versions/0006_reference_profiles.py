"""Reference profiles of model versions (monitoring).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

``reference_profiles`` links a model version to the blob holding its reference profile
(per-feature histograms, category counts, missing rates, calibrated drift thresholds), so
monitoring compares logged predictions with kilobytes instead of the training data. An index
on ``prediction_labels.time`` lets monitoring fetch the labels that arrived since a window
began instead of looking up every request id of the window. Nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reference_profiles",
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_time", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("model", "version", name="pk_reference_profiles"),
    )
    op.create_index("ix_prediction_labels_time", "prediction_labels", ["time"])


def downgrade() -> None:
    op.drop_index("ix_prediction_labels_time", table_name="prediction_labels")
    op.drop_table("reference_profiles")
