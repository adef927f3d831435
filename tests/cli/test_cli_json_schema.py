"""Every ``--json`` output of the CLI, produced for real on a populated store, is valid
against the JSON Schema generated from its typed model (``jupyter_mm.cli.schema``, built
from the REST API's wire models), and the documented shapes are rendered from those types."""

from __future__ import annotations

import json

import jsonschema
import pytest

from jupyter_mm.cli import JSON_SHAPES, build_parser
from jupyter_mm.cli.schema import CLI_JSON_MODELS, CLI_MODELS
from jupyter_mm.server.schema_render import schema_for, shape_text

APPROVAL_COMMANDS = {"request --json", "approve --json", "reject --json", "requests --json"}


def _validate(command: str, output: str) -> None:
    model = CLI_JSON_MODELS[f"{command} --json"]
    validator = jsonschema.Draft202012Validator(schema_for(model, CLI_MODELS))
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(json.loads(output))
    ]
    assert errors == [], f"{command} --json does not match {model.__name__}"


def test_every_json_output_matches_its_typed_model(cli, populated) -> None:
    first, second = populated.first, populated.second
    commands = [
        ("runs",),
        ("show", first),
        ("diff", first, second),
        ("env", first),
        ("verify",),
        ("gc",),
        ("config",),
        ("register", first, "--artifact", "model", "--name", "churn"),
        ("register", second, "--artifact", "model", "--name", "churn"),
        ("promote", "churn", "1", "staging"),
        ("promote", "churn", "1", "production"),
        ("promote", "churn", "2", "staging"),
        ("promote", "churn", "2", "production"),  # archives version 1
        ("models",),
        ("model", "churn"),
        ("lineage", "churn@production"),
        ("reproduce", first),  # its inputs are gone: reported, not executed
        ("whoami",),
        ("watch", "--check"),  # no rules configured: no outcomes (tests/alerts fills them)
        ("alerts",),
        ("deliveries",),
        ("retrain", "nomodel"),  # fails before any kernel starts; the report says why
    ]
    seen = set()
    for argv in commands:
        result = cli(*argv, "--json")
        assert result.out, (argv, result.err)
        _validate(argv[0], result.out)
        seen.add(f"{argv[0]} --json")
        if argv[:4] == ("promote", "churn", "2", "production"):
            assert json.loads(result.out)["archived"] == [1]
    _profile_and_log_predictions(populated.url, "churn", 2)
    result = cli("monitor", "churn", "--window", "50", "--json")
    assert result.code == 0, result.err
    _validate("monitor", result.out)
    seen.add("monitor --json")
    # request / approve / reject / requests need two users: tests/cli/test_approvals_cli.py
    assert seen == set(CLI_JSON_MODELS) - APPROVAL_COMMANDS


def _profile_and_log_predictions(url: str, model: str, version: int) -> None:
    """A reference profile and 50 logged predictions for ``monitor`` (the store's models
    are placeholder bytes, so the profile has no prediction part)."""
    import numpy as np
    import pandas as pd

    from jupyter_mm.monitoring.profile import build_profile
    from jupyter_mm.monitoring.stored import attach_profile
    from jupyter_mm.serving.batchfile import batch_table, write_batch
    from jupyter_mm.store import open_store

    frame = pd.DataFrame({"x": np.linspace(0, 1, 50), "kind": ["a", "b"] * 25})
    with open_store(url) as store:
        attach_profile(store, store.get_version(model, version), build_profile(frame), "test")
        batch = batch_table(
            [f"r{i}" for i in range(50)], np.arange(50.0) + 1e9, np.ones(50), frame, np.zeros(50)
        )
        write_batch(store, model, version, "batch", batch)


def test_every_json_flag_has_a_typed_model_and_a_rendered_shape() -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    with_json = {
        f"{n} --json"
        for n, p in commands.items()
        if any("--json" in a.option_strings for a in p._actions)
    }
    assert with_json == set(CLI_JSON_MODELS)
    for command, model in CLI_JSON_MODELS.items():
        assert JSON_SHAPES[command] == shape_text(model, [*_rest_models(), *CLI_MODELS])


def _rest_models() -> list[type]:
    from jupyter_mm.server.schema import MODELS

    return MODELS


@pytest.mark.parametrize("bad", [{"runs": [], "count": "3"}, {"runs": [{"id": "x"}], "count": 1}])
def test_the_schema_refuses_a_wrong_shape(bad: dict) -> None:
    validator = jsonschema.Draft202012Validator(
        schema_for(CLI_JSON_MODELS["runs --json"], CLI_MODELS)
    )
    assert list(validator.iter_errors(bad))


def test_config_never_shows_a_database_password(cli, tmp_path, monkeypatch) -> None:
    secret_url = "postgresql://ada:s3cret-pw@db.example:5432/mm?sslmode=require"
    monkeypatch.setenv("JUPYTER_MM_STORE", secret_url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "jupyter_mm_config.py").write_text(f"c.MMConfig.store_url = {secret_url!r}\n")
    for argv in (("config",), ("config", "--json")):
        result = cli(*argv)
        assert result.code == 0, result.err
        assert "s3cret-pw" not in result.out and "db.example:5432/mm" in result.out
    settings = json.loads(cli("config", "--json").out)
    assert settings["MMConfig"]["store_url"] == "postgresql://db.example:5432/mm"
