"""Who wrote each row of the per-user tables: ``writer``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

On a team store every user's login may write the prediction log, the labels, the serving
endpoints and the kernel sessions' execution logs. Until this revision those rows named
nobody, so one user could forge or overwrite another's. Each of these tables now has a
``writer`` column: the database login role that wrote the row (PostgreSQL ``current_user``,
checked by the row-level security policies of ``jupyter mm team init-db``), or the OS user
on SQLite, where nothing can check it and it is only informational.

Labels are kept per writer: the primary key of ``prediction_labels`` becomes
``(request_id, writer)``, so a label someone else wrote for a request can neither replace
nor block the one its rightful writer sends, and monitoring chooses whose labels it trusts.
Labels written before this revision get the writer ``''`` (unknown); rows of the other tables
keep a NULL writer. Neither is trusted by a team store's monitoring.

``environments`` gets no writer: a row's id is the hash of its body, users may only insert
(never update) them, so a row, once there, is the environment its id names.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

#: tables whose rows get a nullable writer (NULL: written before this revision)
OWNED_TABLES = ("prediction_batches", "serving_endpoints", "kernel_sessions", "session_executions")


def upgrade() -> None:
    for table in OWNED_TABLES:
        op.add_column(table, sa.Column("writer", sa.Text))
    # SQLite cannot change a primary key in place: batch mode copies the table (labels only)
    with op.batch_alter_table("prediction_labels", recreate="auto") as batch:
        batch.add_column(sa.Column("writer", sa.Text, nullable=False, server_default=""))
    with op.batch_alter_table("prediction_labels", recreate="auto") as batch:
        batch.drop_constraint("pk_prediction_labels", type_="primary")
        batch.create_primary_key("pk_prediction_labels", ["request_id", "writer"])
        batch.alter_column("writer", existing_type=sa.Text, server_default=None)


def downgrade() -> None:
    # keeps one label per request (the newest), as the table held before
    op.execute(
        "DELETE FROM prediction_labels WHERE EXISTS (SELECT 1 FROM prediction_labels newer "
        "WHERE newer.request_id = prediction_labels.request_id AND (newer.time > "
        "prediction_labels.time OR (newer.time = prediction_labels.time AND newer.writer > "
        "prediction_labels.writer)))"
    )
    with op.batch_alter_table("prediction_labels", recreate="auto") as batch:
        batch.drop_constraint("pk_prediction_labels", type_="primary")
        batch.create_primary_key("pk_prediction_labels", ["request_id"])
        batch.drop_column("writer")
    for table in OWNED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("writer")
