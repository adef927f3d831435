"""Alembic: the packaged scripts, the models and the fast revision check agree."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from jupyter_mm.errors import InvalidInput
from jupyter_mm.store import open_store
from jupyter_mm.store.sql.engine import KNOWN_REVISIONS, MIGRATIONS_DIR, SCHEMA_HEAD
from jupyter_mm.store.sql.models import Base


def _alembic_config(connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def test_known_revisions_match_the_packaged_scripts():
    scripts = ScriptDirectory.from_config(_alembic_config())
    assert scripts.get_heads() == [SCHEMA_HEAD]
    oldest_first = [s.revision for s in scripts.walk_revisions()][::-1]
    assert tuple(oldest_first) == KNOWN_REVISIONS


def test_migrated_schema_matches_the_models(store):
    with store._engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []


def test_downgrade_to_empty_then_reopen_recreates_the_schema(local_location):
    location = local_location
    with open_store(location) as store:
        with store._writer.begin() as conn:
            command.downgrade(_alembic_config(conn), "base")
        with store._engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == {"alembic_version"}
    with open_store(location) as store:
        assert store.schema_version() == SCHEMA_HEAD
        assert store.check_integrity() == []


def test_an_empty_database_is_not_created_when_create_is_false(local_location, tmp_path):
    location = local_location
    db = tmp_path / ".jupyter_mm" / "mm.db"
    db.touch()  # an empty file is a valid, empty SQLite database
    with pytest.raises(InvalidInput, match="no jupyter-mm store"):
        open_store(location, create=False)
    with open_store(location) as store:
        assert store.schema_version() == SCHEMA_HEAD
