"""``jupyter mm whoami`` outside a hub and ``jupyter mm team init-db --print``."""

from __future__ import annotations

import getpass

import pytest


def test_whoami_outside_a_hub_says_the_identity_is_unverified(cli, monkeypatch) -> None:
    monkeypatch.delenv("JUPYTERHUB_API_URL", raising=False)
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    monkeypatch.setenv("JUPYTERHUB_USER", "ada")
    answer = cli("whoami", "--json").json()
    assert (answer["name"], answer["authenticated"]) == ("ada", False)
    assert answer["source"] == "$JUPYTERHUB_USER (unverified)"
    monkeypatch.delenv("JUPYTERHUB_USER")
    answer = cli("whoami", "--json").json()
    assert (answer["name"], answer["source"]) == (getpass.getuser(), "OS user")
    # nothing configured: a single-user store is open to its user
    assert answer["roles"] == {"*": ["read", "register", "stage", "approve", "manage"]}


def test_init_db_prints_grants_policies_and_quoted_user_roles(cli) -> None:
    result = cli("team", "init-db", "--print", "--user", "o'neil=pa'ss", "--user", "bob")
    assert result.code == 0, result.err
    sql = result.out
    assert 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "mm_users";' in sql
    assert "ALTER TABLE runs ENABLE ROW LEVEL SECURITY;" in sql
    assert 'WITH CHECK ("user" = current_user)' in sql
    assert "CREATE ROLE \"o'neil\" LOGIN PASSWORD 'pa''ss'" in sql
    # no registry table is ever granted a write
    for table in ("models", "model_versions", "events"):
        assert f" ON {table} TO" not in sql


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("team", "init-db"), "needs the PostgreSQL URL"),
        (("team", "init-db", "--print", "--user", 'bad"name'), "is not a usable role name"),
    ],
)
def test_init_db_bad_input_is_one_line(cli, monkeypatch, argv, message) -> None:
    monkeypatch.delenv("JUPYTER_MM_STORE", raising=False)
    result = cli(*argv)
    assert result.code == 2 and message in result.err
    assert len(result.err.strip().splitlines()) == 1
