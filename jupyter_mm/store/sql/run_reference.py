"""Resolving what a user types for a run (``latest``, a full id, a unique id prefix) to
its ``runs`` row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, select

from ...errors import AmbiguousReference, InvalidInput, NotFound
from .models import RUNS


def resolve(conn: Connection, dialect: str, ref: str) -> Any:
    """The row of the run ``ref`` names. Raises NotFound, InvalidInput (a prefix shorter
    than 4 characters) or AmbiguousReference (a prefix of several runs)."""
    newest = (RUNS.c.start_time.desc(), RUNS.c.id.desc())
    if ref.lower() == "latest":
        row = conn.execute(select(RUNS).order_by(*newest).limit(1)).mappings().first()
        if row is None:
            raise NotFound("There are no runs in the store yet.")
        return row
    exact = conn.execute(select(RUNS).where(RUNS.c.id.in_({ref, ref.upper()})))
    row = exact.mappings().first()
    if row is not None:
        return row
    if len(ref) < 4:
        raise InvalidInput(
            f"Run reference {ref!r} is too short; give at least 4 characters of the id."
        )
    if not ref.isalnum() or not ref.isascii():
        raise NotFound(f"No run matches {ref!r}.")
    found: dict[str, Any] = {}
    for prefix in dict.fromkeys((ref.upper(), ref)):  # ULIDs are upper case
        if dialect == "sqlite":
            # SQLite compares bytewise, so ids starting with an alphanumeric prefix sort in
            # [prefix, prefix + DEL): a range the primary key index answers (its LIKE would
            # scan the table)
            match = and_(RUNS.c.id >= prefix, RUNS.c.id < prefix + "\x7f")
        else:
            # locale collations ignore DEL, so PostgreSQL gets a plain LIKE
            match = RUNS.c.id.startswith(prefix)
        query = select(RUNS).where(match).order_by(*newest).limit(6)
        for row in conn.execute(query).mappings():
            found[row["id"]] = row
    rows = list(found.values())
    if not rows:
        raise NotFound(f"No run matches {ref!r}.")
    if len(rows) > 1:
        shown = ", ".join(r["id"] for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
        raise AmbiguousReference(
            f"Run prefix {ref!r} matches several runs ({shown}); give more characters."
        )
    return rows[0]
