"""When each run's process started, next to its pid.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

Adds ``runs.process_start_time``: a token naming when the process that records the run
started (see ``jupyter_mm.store.processes``). With the pid alone, a process killed but not
yet reaped (a zombie) or a later process given the same pid kept a dead run ``running``.
Runs recorded before this revision have none and are checked by their pid as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("process_start_time", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("process_start_time")
