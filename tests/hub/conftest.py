"""Fixtures of the team-mode tests: one real JupyterHub with the jupyter-mm registry
service over a team store on the suite's PostgreSQL, for the whole package
(:mod:`tests.hub.harness` says what runs and who may do what). Other test packages reuse
it through :func:`tests.hub.harness.running_hub`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import Hub, TeamDatabase, make_team_database, running_hub


@pytest.fixture(scope="package")
def team_db(postgres_server: object, tmp_path_factory: pytest.TempPathFactory) -> TeamDatabase:
    return make_team_database(postgres_server, tmp_path_factory.mktemp("team"))


@pytest.fixture(scope="package")
def hub(team_db: TeamDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with running_hub(tmp_path_factory.mktemp("hub"), team_db) as running:
        print(f"\nJupyterHub (proxy, registry service) ready in {running.started_in:.1f} s")
        yield running
