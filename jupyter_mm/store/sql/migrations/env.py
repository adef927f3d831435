"""Alembic environment for the jupyter-mm store.

jupyter-mm runs migrations programmatically (``jupyter_mm.store.sql.engine``) on a
connection it already holds (inside its schema lock), passed in
``config.attributes["connection"]``. Offline (``--sql``) mode renders SQL for an admin who
wants to apply a PostgreSQL upgrade by hand.
"""

from __future__ import annotations

from alembic import context

from jupyter_mm.store.sql.models import METADATA

target_metadata = METADATA


def run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode recreates tables when needed
        render_as_batch=connection.dialect.name == "sqlite",
        # the whole upgrade is one transaction (SQLite and PostgreSQL both have
        # transactional DDL), so a failed upgrade leaves the old schema intact
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
