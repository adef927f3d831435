"""Who writes a row: the ``writer`` column of the per-user tables (revision 0009).

On PostgreSQL the writer is the connection's login role (``current_user``): the row-level
security policies of ``jupyter mm team init-db`` accept a row only when its writer is the
role inserting it, and let a role change or delete only its own rows. The store names it
explicitly, so the same statements run on SQLite, where the writer is the OS user of the
process — informational only, since any process that can write the file can write anything.

The owner of the tables (the role that created the store; the registry service connects as
it) is exempt from row security and is the one writer every team store trusts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection


def connection_writer(conn: Connection) -> str:
    """The writer rows written through ``conn`` carry."""
    if conn.dialect.name == "postgresql":
        return str(conn.exec_driver_sql("SELECT current_user").scalar_one())
    from ...identity import os_user

    return os_user() or ""


def tables_owner(conn: Connection) -> str | None:
    """The role owning the store's tables on PostgreSQL; None on SQLite (no roles)."""
    if conn.dialect.name != "postgresql":
        return None
    row = conn.exec_driver_sql(
        "SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() "
        "AND tablename = 'prediction_labels'"
    ).first()
    return None if row is None else str(row[0])


class SqlWritersMixin:
    """The store's writer name, asked once (a store's connections all log in as one role)."""

    _row_writer_name: str | None = None
    _dialect: str
    _read: Any

    def _row_writer(self, conn: Connection) -> str:
        if self._row_writer_name is None:
            self._row_writer_name = connection_writer(conn)
        return self._row_writer_name

    def writer_trust_base(self) -> str | None:
        """The writer every reader of a team store trusts (the tables' owner), or None when
        the store has no database identities (SQLite: every writer is trusted)."""
        if self._dialect != "postgresql":
            return None
        with self._read() as conn:
            return tables_owner(conn) or ""
