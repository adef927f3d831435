"""Each run's latest value of each metric, for listings filtered or sorted by a metric.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Creates ``latest_metrics`` and fills it from the metric points already stored: for each
(run, metric) the point at the highest step, the latest timestamp breaking ties (the point
``SqlStore.latest_metrics`` has always reported). From this revision on, every write of
metric points keeps the table up to date in the same transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RUN_ID = sa.String(26)

# One pass over the metrics primary key; each point is kept when no point of the same
# (run, metric) is later (higher step, or same step and later timestamp). Portable SQL.
BACKFILL = """
INSERT INTO latest_metrics (run_id, name, step, timestamp, value)
SELECT m.run_id, m.name, m.step, m.timestamp, m.value
FROM metrics AS m
WHERE NOT EXISTS (
    SELECT 1 FROM metrics AS later
    WHERE later.run_id = m.run_id
      AND later.name = m.name
      AND (later.step > m.step OR (later.step = m.step AND later.timestamp > m.timestamp))
)
"""


def upgrade() -> None:
    op.create_table(
        "latest_metrics",
        sa.Column("run_id", RUN_ID, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("value", sa.Double),
        sa.PrimaryKeyConstraint("run_id", "name", name="pk_latest_metrics"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_latest_metrics_run_id_runs"),
    )
    op.create_index(
        "ix_latest_metrics_name_value_run_id", "latest_metrics", ["name", "value", "run_id"]
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("latest_metrics")
