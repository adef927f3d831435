"""Kernel sessions' execution logs kept once and referenced by position; a run's outputs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Until this revision every run row carried its kernel session's whole execution log (capped
at 2000 entries), so what a run wrote grew with the session. From here on the log of a
kernel session is stored once, in ``session_executions`` (one row per execution, appended as
the session goes), and a run names its session and how many of its executions came before
it (``runs.session_id``, ``runs.log_position``). Rows written before keep their inline
``execution_log`` (``session_id`` is NULL) and are read as they are: nothing is rewritten.

``runs.outputs_digest`` names the blob holding what the tracked cell itself displayed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

RUN_ID = sa.String(26)
DIGEST = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "kernel_sessions",
        sa.Column("id", RUN_ID, nullable=False),
        sa.Column("start_time", sa.Double, nullable=False),
        sa.Column("host", sa.Text),
        sa.Column("pid", sa.Integer),
        sa.PrimaryKeyConstraint("id", name="pk_kernel_sessions"),
    )
    op.create_table(
        "session_executions",
        sa.Column("session_id", RUN_ID, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("exec_count", sa.Integer),
        sa.Column("cell_id", sa.Text),
        sa.Column("source_hash", DIGEST, nullable=False),
        sa.PrimaryKeyConstraint("session_id", "position", name="pk_session_executions"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["kernel_sessions.id"],
            name="fk_session_executions_session_id_kernel_sessions",
        ),
    )
    # Plain columns (no foreign key): SQLite cannot add a constraint to an existing table
    # without rebuilding it, and check_integrity looks for dangling session ids itself.
    op.add_column("runs", sa.Column("session_id", RUN_ID))
    op.add_column("runs", sa.Column("log_position", sa.BigInteger))
    op.add_column("runs", sa.Column("outputs_digest", DIGEST))


def downgrade() -> None:
    # native DROP COLUMN (SQLite 3.35+): rebuilding runs would trip its children's keys
    for column in ("outputs_digest", "log_position", "session_id"):
        op.drop_column("runs", column)
    op.drop_table("session_executions")
    op.drop_table("kernel_sessions")
