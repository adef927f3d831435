"""What maintenance (``gc``, ``verify``) asks of the database: the blobs rows name, and
rows that name something missing."""

from __future__ import annotations

from sqlalchemy import Connection, Table, func, select

from .models import (
    ARTIFACTS,
    DATA,
    ENVIRONMENTS,
    KERNEL_SESSIONS,
    LATEST_METRICS,
    METRICS,
    MODEL_VERSIONS,
    MODELS,
    PARAMS,
    PREDICTION_BATCHES,
    REFERENCE_PROFILES,
    RUN_BLOBS,
    RUNS,
)

#: tables whose rows belong to one run (deleted with it)
RUN_CHILDREN: tuple[Table, ...] = (PARAMS, METRICS, LATEST_METRICS, DATA, ARTIFACTS, RUN_BLOBS)


def referenced_digests(conn: Connection) -> set[str]:
    queries = [
        select(RUNS.c.checkpoint_digest).where(RUNS.c.checkpoint_digest.is_not(None)),
        select(RUNS.c.outputs_digest).where(RUNS.c.outputs_digest.is_not(None)),
        select(RUN_BLOBS.c.digest),
        select(ARTIFACTS.c.digest),
        select(MODEL_VERSIONS.c.digest),
        select(PREDICTION_BATCHES.c.digest),
        select(REFERENCE_PROFILES.c.digest),
    ]
    digests: set[str] = set()
    for query in queries:
        digests.update(conn.execute(query.distinct()).scalars())
    return digests


def checkpoint_manifests(conn: Connection) -> set[str]:
    query = select(RUNS.c.checkpoint_digest).where(RUNS.c.checkpoint_digest.is_not(None))
    return set(conn.execute(query.distinct()).scalars())


def check_integrity(conn: Connection, dialect: str) -> list[str]:
    problems: list[str] = []
    if dialect == "sqlite":
        result = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")]
        if result != ["ok"]:
            problems.extend(f"SQLite integrity check: {line}" for line in result)
        for table, rowid, parent, _fk in conn.exec_driver_sql("PRAGMA foreign_key_check"):
            problems.append(f"Row {rowid} of {table} names a missing {parent} row.")
    dangling = [(table, table.c.run_id, RUNS, RUNS.c.id) for table in (*RUN_CHILDREN,)] + [
        (RUNS, RUNS.c.parent_id, RUNS, RUNS.c.id),
        (RUNS, RUNS.c.environment_id, ENVIRONMENTS, ENVIRONMENTS.c.id),
        (RUNS, RUNS.c.session_id, KERNEL_SESSIONS, KERNEL_SESSIONS.c.id),
        (MODEL_VERSIONS, MODEL_VERSIONS.c.run_id, RUNS, RUNS.c.id),
        (MODEL_VERSIONS, MODEL_VERSIONS.c.model, MODELS, MODELS.c.name),
    ]
    for table, column, parent, parent_key in dangling:
        target = parent.alias("target")
        missing = (
            select(func.count())
            .select_from(table)
            .where(
                column.is_not(None),
                ~select(target.c[parent_key.name])
                .where(target.c[parent_key.name] == column)
                .exists(),
            )
        )
        count = conn.execute(missing).scalar_one()
        if count:
            problems.append(
                f"{count} row(s) of {table.name} name a missing {parent.name} row ({column.name})."
            )
    # SQLite's foreign_key_check and the portable check report the same rows once each
    return list(dict.fromkeys(problems))
