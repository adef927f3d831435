"""Alerts raised once store-wide, a webhook outbox, and failed requests per time span.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

Three new tables; nothing existing changes.

* ``alert_keys``: one row per alert episode — (model, version, rule, episode) hashed into
  a primary key, written in the same transaction as the ``alert`` event. Two evaluators
  that decide at the same moment that a rule fires cannot both record it: the second
  insert violates the key.
* ``webhook_outbox``: a delivery waiting to be made (or made). The registry write only adds
  rows here; a background deliverer posts them with retries, so a slow receiver never
  delays the write, and a row still pending when a process stops is delivered by the next
  deliverer to run. ``webhook_deliveries`` stays the log of attempts.
* ``request_failures``: how many scoring requests of a model version failed in a time
  span (the serving process writes one row per second with failures), so the error rate
  of a monitoring window counts the failures of that window only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_keys",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("alert_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_alert_keys"),
    )
    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("delivery", sa.String(32), nullable=False),
        sa.Column("hook", sa.String(255), nullable=False),
        sa.Column("hook_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("model", sa.String(255)),
        sa.Column("event_id", sa.Integer),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_time", sa.Double, nullable=False),
        sa.Column("next_time", sa.Double, nullable=False),
        sa.Column("lease_until", sa.Double),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_outbox"),
    )
    op.create_index("ix_webhook_outbox_state_next_time", "webhook_outbox", ["state", "next_time"])
    op.create_table(
        "request_failures",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("arm", sa.String(16), nullable=False),
        sa.Column("start_time", sa.Double, nullable=False),
        sa.Column("end_time", sa.Double, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        # the login that wrote the row (team stores: row-level security, see 0009)
        sa.Column("writer", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_request_failures"),
    )
    op.create_index(
        "ix_request_failures_model_version_end_time",
        "request_failures",
        ["model", "version", "end_time"],
    )


def downgrade() -> None:
    op.drop_index("ix_request_failures_model_version_end_time", table_name="request_failures")
    op.drop_table("request_failures")
    op.drop_index("ix_webhook_outbox_state_next_time", table_name="webhook_outbox")
    op.drop_table("webhook_outbox")
    op.drop_table("alert_keys")
