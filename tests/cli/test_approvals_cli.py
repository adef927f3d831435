"""``jupyter mm request / approve / reject / requests`` on a real SQLite store, with
``c.Registry.require_approval = ["production"]`` in the working directory's
``jupyter_mm_config.py``. The CLI acts as the process's user: the JupyterHub user when
``JUPYTERHUB_USER`` is set (as in a hub's single-user server), which is how alice and bob
take turns here. Every ``--json`` output is validated against its typed model."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from jupyter_mm.cli.schema import CLI_JSON_MODELS, CLI_MODELS
from jupyter_mm.server.schema import MODELS
from jupyter_mm.server.schema_render import schema_for


def _valid(command: str, output: str) -> dict:
    model = CLI_JSON_MODELS[f"{command} --json"]
    validator = jsonschema.Draft202012Validator(schema_for(model, [*MODELS, *CLI_MODELS]))
    body = json.loads(output)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert errors == [], f"{command} --json does not match {model.__name__}"
    return body


@pytest.fixture
def team(cli, populated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """churn v1 (first run) in production, v2 (second run) in staging; production needs
    approval. Returns a function switching the acting user."""
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "no-user-config"))
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "")
    monkeypatch.setenv("JUPYTER_MM_STORE", populated.url)
    monkeypatch.setenv("JUPYTERHUB_USER", "ada")
    for argv in (
        ("register", populated.first, "--artifact", "model", "--name", "churn"),
        ("register", populated.second, "--artifact", "model", "--name", "churn"),
        ("promote", "churn", "1", "staging"),
        ("promote", "churn", "1", "production"),
        ("promote", "churn", "2", "staging"),
    ):
        assert cli(*argv).code == 0, argv
    (tmp_path / "jupyter_mm_config.py").write_text(
        'c.Registry.require_approval = ["production"]\n', encoding="utf-8"
    )

    def act_as(name: str) -> None:
        monkeypatch.setenv("JUPYTERHUB_USER", name)

    return act_as


def test_request_then_approve_by_someone_else(cli, team) -> None:
    team("alice")
    refused = cli("promote", "churn", "2", "production")
    assert refused.code == 1
    assert "production needs an approved request" in refused.err
    assert refused.err.count("\n") == 1

    made = _valid(
        "request",
        cli("request", "churn/2", "--stage", "production", "--reason", "A/B won", "--json").out,
    )
    assert (made["requester"], made["status"]) == ("alice", "pending")
    rid = str(made["id"])

    own = cli("approve", rid, "--reason", "looks fine to me")
    assert own.code == 1
    assert own.err == (
        f"jupyter mm: error: Request #{rid} (churn version 2 -> production) was requested "
        "by alice; someone else has to approve or reject it.\n"
    )

    mine = _valid("requests", cli("requests", "--mine", "--json").out)
    assert [r["id"] for r in mine["requests"]] == [made["id"]] and mine["count"] == 1

    team("bob")
    assert _valid("requests", cli("requests", "--mine", "--json").out)["requests"] == []
    pending = _valid("requests", cli("requests", "--pending", "--json").out)
    assert [r["requester"] for r in pending["requests"]] == ["alice"]
    table = cli("requests")
    assert table.code == 0 and "alice" in table.out and "pending" in table.out

    approved = _valid("approve", cli("approve", rid, "--reason", "diff reviewed", "--json").out)
    assert (approved["status"], approved["decided_by"]) == ("approved", "bob")
    model = json.loads(cli("model", "churn", "--json").out)
    stages = {v["version"]: v["stage"] for v in model["versions"]}
    assert stages == {1: "archived", 2: "production"}
    actions = [(e["action"], e["user"]) for e in model["events"]][-4:]
    assert actions == [
        ("transition_requested", "alice"),
        ("transition_approved", "bob"),
        ("transition", "bob"),
        ("superseded", "bob"),
    ]
    again = cli("reject", rid, "--reason", "too late")
    assert again.code == 1 and "is approved by bob already" in again.err


def test_reject_leaves_the_version_where_it_was(cli, team) -> None:
    team("alice")
    rid = str(
        json.loads(
            cli("request", "churn/2", "--stage", "production", "--reason", "ship", "--json").out
        )["id"]
    )
    team("bob")
    rejected = _valid(
        "reject", cli("reject", rid, "--reason", "needs a fairness report", "--json").out
    )
    assert (rejected["status"], rejected["decision_reason"]) == (
        "rejected",
        "needs a fairness report",
    )
    stages = {
        v["version"]: v["stage"]
        for v in json.loads(cli("model", "churn", "--json").out)["versions"]
    }
    assert stages == {1: "production", 2: "staging"}
    printed = cli("reject", rid, "--reason", "x")
    assert printed.code == 1


def test_bad_input_is_one_line(cli, team) -> None:
    team("alice")
    cases = [
        (("request", "churn", "--stage", "production", "--reason", "x"), "NAME/VERSION"),
        (("request", "churn/2", "--stage", "staging", "--reason", "x"), "does not need approval"),
        (("request", "churn/2", "--stage", "production", "--reason", " "), "needs a reason"),
        (("request", "churn/9", "--stage", "production", "--reason", "x"), "no version 9"),
        (("approve", "0", "--reason", "x"), "positive whole number"),
        (("approve", "42", "--reason", "x"), "No approval request #42"),
        (("requests", "--pending", "--status", "approved"), "different states"),
    ]
    for argv, expected in cases:
        result = cli(*argv)
        assert result.code in (1, 2), argv
        assert expected in result.err, (argv, result.err)
        assert result.err.count("\n") == 1, result.err
