"""The Python API of four eyes (``mm.request_transition``, ``mm.approve``, ``mm.reject``,
``mm.requests``) on the process's default store, with ``c.Registry.require_approval`` read
from a ``jupyter_mm_config.py`` in the working directory as a notebook's kernel reads it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from registry_runs import train_run

import jupyter_mm as mm
from jupyter_mm.errors import Conflict, InvalidInput


@pytest.fixture
def staged(mm_store, tmp_path: Path) -> object:
    """churn v1 (auc 0.80) in production, v2 (auc 0.85) in staging; production then needs
    approval and a gate."""
    for auc in (0.80, 0.85):
        mm.register_model(train_run(auc), "model", "churn")
    mm.transition("churn", 1, "staging")
    mm.transition("churn", 1, "production")
    mm.transition("churn", 2, "staging")
    (tmp_path / "jupyter_mm_config.py").write_text(
        "c.Registry.require_approval = ['production']\n"
        "c.Registry.gates = {'production': ['metrics.roc_auc >= 0.8']}\n",
        encoding="utf-8",
    )
    return mm_store


def test_request_and_approve_through_the_python_api(staged) -> None:
    with pytest.raises(Conflict, match="production needs an approved request"):
        mm.transition("churn", 2, "production")
    request = mm.request_transition("churn", 2, "production", reason="higher auc")
    assert request.requester == "ada"  # JUPYTERHUB_USER of this process
    with pytest.raises(Conflict, match="someone else has to approve"):
        mm.approve(request.id, reason="mine")
    assert [r.id for r in mm.requests(status="pending")] == [request.id]
    done = mm.approve(request.id, reason="reviewed", actor="grace")
    assert (done.status, done.decided_by) == ("approved", "grace")
    stages = {v.version: v.stage for v in mm.get_model("churn").versions}
    assert stages == {1: "archived", 2: "production"}


def test_reject_and_reasons_are_required(staged) -> None:
    with pytest.raises(InvalidInput, match="needs a reason"):
        mm.request_transition("churn", 2, "production", reason="")
    request = mm.request_transition("churn", 2, "production", reason="try")
    with pytest.raises(InvalidInput, match="needs a reason"):
        mm.reject(request.id, reason=" ", actor="grace")
    assert mm.reject(request.id, reason="not yet", actor="grace").status == "rejected"
    assert mm.get_model("churn").production.version == 1


def test_a_request_the_gates_refuse_is_not_made(staged, tmp_path: Path) -> None:
    (tmp_path / "jupyter_mm_config.py").write_text(
        "c.Registry.require_approval = ['production']\n"
        "c.Registry.gates = {'production': ['metrics.roc_auc >= 0.9']}\n",
        encoding="utf-8",
    )
    with pytest.raises(Conflict, match=re.escape("gate 'metrics.roc_auc >= 0.9' not met")):
        mm.request_transition("churn", 2, "production", reason="close enough")
    assert mm.requests() == []
    assert mm.get_model("churn").events[-1].action == "transition_refused"


def test_overdue_requests_expire_when_requests_are_read(staged) -> None:
    overdue = staged.create_approval_request(
        "churn",
        2,
        from_stage="staging",
        to_stage="production",
        user="ada",
        reason="forgotten",
        expires_time=time.time() - 60,
    )
    (listed,) = mm.requests()
    assert (listed.id, listed.status) == (overdue.id, "expired")
    assert mm.get_model("churn").events[-1].action == "transition_request_expired"
    with pytest.raises(Conflict, match="is expired already"):
        mm.approve(overdue.id, reason="late", actor="grace")


def test_bad_configuration_is_one_line(staged, tmp_path: Path) -> None:
    (tmp_path / "jupyter_mm_config.py").write_text(
        "c.Registry.require_approval = ['prod']\n", encoding="utf-8"
    )
    with pytest.raises(InvalidInput, match="require_approval names stage 'prod'"):
        mm.request_transition("churn", 2, "production", reason="x")
