"""Initial schema: runs and their records, environments, and the registry tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Written out in full rather than generated from the models at run time: a migration must
keep creating the schema it created on the day it was released.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

RUN_ID = sa.String(26)
DIGEST = sa.String(64)
ENV_ID = sa.String(128)


def upgrade() -> None:
    op.create_table(
        "environments",
        sa.Column("id", ENV_ID, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_environments"),
    )
    op.create_table(
        "runs",
        sa.Column("id", RUN_ID, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start_time", sa.Double, nullable=False),
        sa.Column("end_time", sa.Double),
        sa.Column("notebook_path", sa.Text),
        sa.Column("cell_id", sa.Text),
        sa.Column("user", sa.Text),
        sa.Column("host", sa.Text),
        sa.Column("pid", sa.Integer),
        sa.Column("parent_id", RUN_ID),
        sa.Column("note", sa.Text),
        sa.Column("checkpoint_digest", DIGEST),
        sa.Column("checkpoint_source", sa.String(16), nullable=False),
        sa.Column("environment_id", ENV_ID),
        sa.Column("error", sa.Text),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("execution_log", sa.JSON, nullable=False),
        sa.Column("flags", sa.JSON, nullable=False),
        sa.Column("warnings", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.ForeignKeyConstraint(["parent_id"], ["runs.id"], name="fk_runs_parent_id_runs"),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name="fk_runs_environment_id_environments"
        ),
    )
    op.create_index("ix_runs_start_time_id", "runs", ["start_time", "id"])
    op.create_index(
        "ix_runs_notebook_path_start_time_id", "runs", ["notebook_path", "start_time", "id"]
    )
    op.create_index("ix_runs_status", "runs", ["status"])
    op.create_index("ix_runs_parent_id", "runs", ["parent_id"])

    def run_child(table: str, *columns: sa.Column, pk: list[str]) -> None:
        op.create_table(
            table,
            sa.Column("run_id", RUN_ID, nullable=False),
            *columns,
            sa.PrimaryKeyConstraint(*pk, name=f"pk_{table}"),
            sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=f"fk_{table}_run_id_runs"),
        )

    run_child(
        "params",
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        pk=["run_id", "name"],
    )
    run_child(
        "metrics",
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("value", sa.Double),
        pk=["run_id", "name", "step", "timestamp"],
    )
    run_child(
        "data_refs",
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("size", sa.BigInteger),
        sa.Column("algorithm", sa.String(32), nullable=False),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("detail", sa.Text),
        pk=["run_id", "name", "role"],
    )
    run_child(
        "artifacts",
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("digest", DIGEST, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("media_type", sa.Text, nullable=False),
        pk=["run_id", "name"],
    )
    run_child("run_blobs", sa.Column("digest", DIGEST, nullable=False), pk=["run_id", "digest"])

    op.create_table(
        "models",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("created_time", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_models"),
    )
    op.create_table(
        "model_versions",
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("run_id", RUN_ID, nullable=False),
        sa.Column("artifact", sa.Text, nullable=False),
        sa.Column("digest", DIGEST, nullable=False),
        sa.Column("flavor", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("aliases", sa.JSON, nullable=False),
        sa.Column("signature", sa.JSON),
        sa.Column("description", sa.Text),
        sa.Column("created_time", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("model", "version", name="pk_model_versions"),
        sa.ForeignKeyConstraint(["model"], ["models.name"], name="fk_model_versions_model_models"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_model_versions_run_id_runs"),
    )
    op.create_index("ix_model_versions_run_id", "model_versions", ["run_id"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("time", sa.Double, nullable=False),
        sa.Column("user", sa.Text),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("model", sa.String(255)),
        sa.Column("version", sa.Integer),
        sa.Column("from_stage", sa.String(16)),
        sa.Column("to_stage", sa.String(16)),
        sa.Column("reason", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_model_version", "events", ["model", "version"])


def downgrade() -> None:
    for table in (
        "events",
        "model_versions",
        "models",
        "run_blobs",
        "artifacts",
        "data_refs",
        "metrics",
        "params",
        "runs",
        "environments",
    ):
        op.drop_table(table)
