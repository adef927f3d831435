"""``jupyter mm team init-db``: the PostgreSQL roles and policies of a team store.

The database enforces what no user's code can get around
(``docs/architecture.md#security-model-team-mode``):

- the owner of the tables (the role that created the store, which the registry service
  connects as) writes everything; PostgreSQL exempts a table's owner from row security;
- members of the users' group role (``mm_users``) may read every table, but write only:

  * ``runs`` rows whose ``user`` is their own login role, and the rows of their own runs
    in the run tables (params, metrics, data, artifacts, blob links) — row-level security;
  * the rows they write themselves in the tables of :data:`WRITER_TABLES` (the prediction
    log, labels, serving endpoints and their request failures, kernel sessions and their
    execution logs): a row's
    ``writer`` must be their own login role on INSERT, and only rows they wrote may be
    updated or deleted — row-level security; an execution is appended only to a kernel
    session the same role wrote;
  * new environments, insert only: an environment's id is the hash of its body, so with no
    UPDATE nobody can change what an id names;

- nothing else: the registry's tables (models, versions, the audit trail) and any table a
  later migration adds stay read-only for users until listed here.

A user's login role must be named as the hub user (``runs.user`` is compared with
``current_user``).
"""

from __future__ import annotations

import re

#: tables whose rows belong to one run, written only for the user's own runs
RUN_CHILD_TABLES = (
    "params",
    "metrics",
    "latest_metrics",
    "data_refs",
    "artifacts",
    "run_blobs",
)
#: tables whose rows name their writer (revision 0009): each user writes and changes only
#: their own rows
WRITER_TABLES = (
    "kernel_sessions",
    "session_executions",
    "prediction_batches",
    "prediction_labels",
    "serving_endpoints",
    "request_failures",
)
#: content-addressed tables users may add to but never change
INSERT_ONLY_TABLES = ("environments",)
DEFAULT_GROUP_ROLE = "mm_users"

_OWN_RUN = 'EXISTS (SELECT 1 FROM runs r WHERE r.id = run_id AND r."user" = current_user)'
_OWN_ROW = "writer = current_user"
#: an execution goes only into a kernel session of the same writer, by INSERT or by
#: UPDATE: positions are predictable, and a row squatted in someone else's session would
#: become their log
_OWN_SESSION = (
    "writer = current_user AND EXISTS (SELECT 1 FROM kernel_sessions s "
    "WHERE s.id = session_id AND s.writer = current_user)"
)


def quote_ident(name: str) -> str:
    """A PostgreSQL identifier, quoted."""
    if not name or "\x00" in name:
        raise ValueError(f"{name!r} is not a role name")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def policy_statements(group: str = DEFAULT_GROUP_ROLE) -> list[str]:
    """Grants and row-level security for the users' group role (idempotent: run it again
    after a migration adds tables)."""
    g = quote_ident(group)
    statements = [
        f"DO $$ BEGIN CREATE ROLE {g} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
        f"GRANT USAGE ON SCHEMA public TO {g}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public FROM {g}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {g}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {g}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {g}",
        f"GRANT INSERT, UPDATE ON runs TO {g}",
        "ALTER TABLE runs ENABLE ROW LEVEL SECURITY",
    ]
    statements += _policies("runs", group, '"user" = current_user')
    for table in RUN_CHILD_TABLES:
        statements += [
            f"GRANT INSERT, UPDATE, DELETE ON {table} TO {g}",
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            *_policies(table, group, _OWN_RUN),
        ]
    for table in WRITER_TABLES:
        own = _OWN_SESSION if table == "session_executions" else _OWN_ROW
        statements += [
            f"GRANT INSERT, UPDATE, DELETE ON {table} TO {g}",
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            *_policies(table, group, own),
        ]
    statements += [f"GRANT INSERT ON {table} TO {g}" for table in INSERT_ONLY_TABLES]
    return statements


def _policies(table: str, group: str, own: str) -> list[str]:
    g = quote_ident(group)
    return [
        f"DROP POLICY IF EXISTS mm_read ON {table}",
        f"DROP POLICY IF EXISTS mm_own_insert ON {table}",
        f"DROP POLICY IF EXISTS mm_own_update ON {table}",
        f"DROP POLICY IF EXISTS mm_own_delete ON {table}",
        f"CREATE POLICY mm_read ON {table} FOR SELECT TO {g} USING (true)",
        f"CREATE POLICY mm_own_insert ON {table} FOR INSERT TO {g} WITH CHECK ({own})",
        f"CREATE POLICY mm_own_update ON {table} FOR UPDATE TO {g} USING ({own}) "
        f"WITH CHECK ({own})",
        f"CREATE POLICY mm_own_delete ON {table} FOR DELETE TO {g} USING ({own})",
    ]


def user_statements(name: str, password: str | None, group: str = DEFAULT_GROUP_ROLE) -> list[str]:
    """A login role for hub user ``name`` in the users' group (created, or its password
    reset)."""
    user = quote_ident(name)
    login = f"LOGIN PASSWORD {quote_literal(password)}" if password else "LOGIN"
    return [
        f"DO $$ BEGIN CREATE ROLE {user} {login}; "
        f"EXCEPTION WHEN duplicate_object THEN ALTER ROLE {user} {login}; END $$",
        f"GRANT {quote_ident(group)} TO {user}",
    ]


def parse_user_spec(spec: str) -> tuple[str, str | None]:
    """``alice`` or ``alice=PASSWORD`` -> (name, password)."""
    name, _, password = spec.partition("=")
    if not re.fullmatch(r"[^\x00-\x1f\"]{1,63}", name):
        raise ValueError(f"{name!r} is not a usable role name")
    return name, password or None


def apply(admin_url: str, statements: list[str]) -> None:
    """Bring the store's schema up to this version's head (creating it in an empty
    database), then run ``statements`` in one transaction, as the store's owner
    (``admin_url``). The policies name columns of the newest schema, so running
    ``team init-db`` again after upgrading jupyter-mm upgrades the store and its policies
    together; users' logins cannot upgrade a schema they do not own."""
    from sqlalchemy import text

    from ..store.sql.engine import create_store_engine, display_url, ensure_schema, normalize_url

    url = normalize_url(admin_url)
    engine = create_store_engine(url, busy_timeout=30.0)
    try:
        ensure_schema(engine, display_url(url))
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()
