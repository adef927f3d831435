"""An index on the audit trail's action: the alert listings read only alert events.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

The lab polls ``GET /alerts`` (``action IN ('alert', 'alert_cleared') ORDER BY id DESC``):
without this index every poll walks the whole audit trail when a store has few alerts
(a quarter of a second per poll at a million events on SQLite). An index only.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_action_id", "events", ["action", "id"])


def downgrade() -> None:
    op.drop_index("ix_events_action_id", table_name="events")
