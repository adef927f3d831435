"""Retraining from the notebook that made the production model.

Steps, each one a ``retrain`` event on the model (``reason``: JSON with ``step``, the
``alert`` that caused it when there is one, and what the step found):

1. ``started``: the production version's run and its notebook checkpoint are found;
2. the checkpoint, cut after the tracked cell (as ``reproduce`` does), is written to a
   scratch directory with the inputs that lived beside the notebook copied next to it,
   ``parameters`` (``--data PATH`` is ``data_path=PATH``) injected after the notebook's
   ``parameters`` cell, and executed headless in a fresh kernel by
   :func:`jupyter_mm.runner.run_notebook`, recording into the same store;
3. ``registered``: the model artifact the re-run logged (same artifact name as production's)
   becomes the next version — unless the notebook registered it itself — with a
   description naming the alert; the event links alert → new version;
4. ``staged``: the new version moves to staging (the staging gates apply);
5. with ``promote``: ``compared`` scores the new version (challenger) and production
   (champion) on the same recent labelled predictions of production (ROC-AUC for binary
   classifiers with scores, else accuracy; both models loaded with the registry's safe
   loader), and ``promoted`` moves the challenger to production only if it scores higher
   (the production gates apply).

Any failure stops there with a ``failed`` step and an ``alert`` event saying why;
production is never touched before the last step.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import ENV_ARTIFACTS, ENV_STORE
from ..errors import Conflict, InvalidInput, MMError, NotFound

if TYPE_CHECKING:
    from ..entities import ModelVersion
    from ..store.abstract import AbstractStore

#: labelled predictions of production used for champion/challenger
COMPARE_ROWS = 1000


@dataclass
class RetrainReport:
    model: str
    ok: bool = False
    alert_id: int | None = None
    from_version: int | None = None
    new_version: int | None = None
    run_id: str | None = None
    stage: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    comparison: dict[str, Any] | None = None
    problem: str | None = None

    def summary(self) -> str:
        if not self.ok:
            return f"retrain of {self.model} failed: {self.problem}"
        return (
            f"{self.model} version {self.new_version} (run {str(self.run_id)[:8]}) "
            f"retrained from version {self.from_version}, now in {self.stage}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class _Step(MMError):
    """A retrain step that failed; the message is the reason shown."""


def _record(
    store: AbstractStore,
    report: RetrainReport,
    step: str,
    actor: str | None,
    version: int | None = None,
    **found: Any,
) -> None:
    from .evaluate import event_reason
    from .webhooks import publish_events

    details = {"step": step, "alert": report.alert_id, "from_version": report.from_version}
    details.update(found)
    details["summary"] = f"retrain {step}" + (f": {found['detail']}" if "detail" in found else "")
    report.steps.append(details)
    event = store.append_event(
        "retrain",
        model=report.model,
        version=version if version is not None else report.from_version,
        user=actor,
        reason=event_reason(details),
    )
    publish_events(store, [event])


def _store_environment(store: AbstractStore) -> dict[str, str]:
    """The environment that makes the kernel record into ``store``."""
    url = getattr(store, "url", None)
    root = getattr(store.blobs, "root", None)
    if not url or not root:
        raise _Step("the store cannot be named to a kernel (no URL or artifact root)")
    return {ENV_STORE: str(url), ENV_ARTIFACTS: str(root)}


def _execute(
    store: AbstractStore,
    production: ModelVersion,
    parameters: dict[str, Any],
    kernel_name: str | None,
    timeout: float | None,
) -> str:
    """Re-execute the production run's checkpoint into ``store``; the new run's id."""
    import nbformat

    from ..capture.checkpoint import load_checkpoint
    from ..registry.reproduce import _copy_inputs, _notebook_up_to_cell, _pick_new_run
    from ..runner import run_notebook

    old = store.get_run_detail(production.run_id)
    if not old.run.checkpoint_digest:
        raise _Step(f"run {old.run.id[:8]} has no notebook checkpoint to re-execute")
    nb = _notebook_up_to_cell(
        load_checkpoint(store.blobs, old.run.checkpoint_digest), old.run.cell_id
    )
    workdir = Path(tempfile.mkdtemp(prefix="mm-retrain-")).resolve()
    recorded = old.run.notebook_path
    notebook = workdir / (Path(recorded).name if recorded else "checkpoint.ipynb")
    try:
        nbformat.write(nb, str(notebook))
        if recorded:
            _copy_inputs(old, Path(recorded).parent, workdir)
        result = run_notebook(
            notebook,
            parameters=parameters,
            kernel_name=kernel_name,
            timeout=timeout,
            cwd=workdir,
            env=_store_environment(store),
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if result.failure is not None:
        raise _Step(f"the re-run failed: {result.failure}")
    new_id = _pick_new_run(store, result.run_ids, old) if result.run_ids else None
    if new_id is None:
        raise _Step("the re-run recorded no run for the tracked cell")
    if store.get_run(new_id).status != "finished":
        raise _Step(f"the re-run's run {new_id[:8]} did not finish")
    return new_id


def _register(
    store: AbstractStore, production: ModelVersion, run_id: str, alert_id: int | None, actor: Any
) -> ModelVersion:
    from ..registry import register_model

    mine = [v for v in store.versions_of_run(run_id) if v.model == production.model]
    if mine:  # the notebook registers its model itself
        return mine[-1]
    why = f"retrained for alert #{alert_id}" if alert_id else "retrained by hand"
    return register_model(
        run_id,
        production.artifact,
        production.model,
        f"{why} from version {production.version}",
        store=store,
        actor=actor,
    )


def retrain(
    model: str,
    *,
    store: AbstractStore | None = None,
    parameters: dict[str, Any] | None = None,
    data: str | None = None,
    promote: bool = False,
    alert_id: int | None = None,
    actor: str | None = None,
    kernel_name: str | None = None,
    timeout: float | None = None,
) -> RetrainReport:
    """Retrain ``model`` from its production version's notebook (see the module
    docstring). Never raises for a failed step: the report (and the events) say why."""
    from ..identity import process_user
    from ..registry import _store, transition

    store = _store(store)
    who = actor or process_user()
    report = RetrainReport(model=model, alert_id=alert_id)
    parameters = dict(parameters or {})
    if data is not None:
        parameters["data_path"] = str(Path(data).expanduser().resolve())
    try:
        production = _production(store, model)
        report.from_version = production.version
        _record(store, report, "started", who, parameters=parameters)
        report.run_id = _execute(store, production, parameters, kernel_name, timeout)
        new = _register(store, production, report.run_id, alert_id, who)
        report.new_version = new.version
        _record(store, report, "registered", who, new.version, run=report.run_id)
        transition(model, new.version, "staging", _why(alert_id), store=store, actor=who)
        report.stage = "staging"
        _record(store, report, "staged", who, new.version)
        if promote:
            _promote(store, report, production, new, who)
        report.ok = True
    except MMError as exc:
        report.problem = str(exc)
        _fail(store, report, who)
    return report


def _why(alert_id: int | None) -> str:
    return f"retrain for alert #{alert_id}" if alert_id else "retrain"


def _production(store: AbstractStore, model: str) -> ModelVersion:
    found = [v for v in store.list_versions(model) if v.stage == "production"]
    if not found:
        raise NotFound(f"Model {model} has no production version to retrain from.")
    return found[0]


def _promote(
    store: AbstractStore,
    report: RetrainReport,
    champion: ModelVersion,
    challenger: ModelVersion,
    actor: str | None,
) -> None:
    from ..registry import transition

    comparison = compare_on_recent(store, champion, challenger)
    report.comparison = comparison
    _record(store, report, "compared", actor, challenger.version, **comparison)
    if not comparison["challenger_wins"]:
        return
    transition(
        champion.model, challenger.version, "production", _why(report.alert_id), store=store,
        actor=actor,
    )  # fmt: skip
    report.stage = "production"
    _record(store, report, "promoted", actor, challenger.version)


def _fail(store: AbstractStore, report: RetrainReport, actor: str | None) -> None:
    from .evaluate import event_reason
    from .webhooks import publish_events

    try:
        _record(store, report, "failed", actor, detail=report.problem)
        if report.from_version is not None:
            details = {
                "key": "retrain",
                "summary": report.summary(),
                "alert": report.alert_id,
                "rule": "retrain failed",
            }
            alert = store.append_event(
                "alert",
                model=report.model,
                version=report.from_version,
                user=actor,
                reason=event_reason(details),
            )
            publish_events(store, [alert])  # as a rule's notify action would
    except MMError:  # the report still says what went wrong
        pass


def compare_on_recent(
    store: AbstractStore, champion: ModelVersion, challenger: ModelVersion
) -> dict[str, Any]:
    """Score both versions on the newest labelled predictions of the champion (features
    from the prediction log, labels joined by request id; only rows of the writers the
    model's monitoring trusts, so nobody else's labels can pick the winner)."""
    from ..monitoring.trust import writer_trust
    from .source import _collect

    writers = writer_trust(store, champion.model).writers
    frame = _collect(
        store, champion.model, champion.version, COMPARE_ROWS, labelled=True, writers=writers
    )
    if frame is None or not len(frame):
        raise Conflict(
            f"{champion.model} version {champion.version} has no labelled predictions to "
            "compare a retrained version on; it stays in staging."
        )
    features = frame[[c for c in frame.columns if c.startswith("feature.")]]
    features = features.rename(columns=lambda c: c.removeprefix("feature."))
    truth = [str(json.loads(t)) for t in frame["label"]]
    scores = {
        "champion": _score(store, champion, features, truth),
        "challenger": _score(store, challenger, features, truth),
    }
    metric = scores["champion"][0]
    return {
        "metric": metric,
        "rows": len(frame),
        "champion": {"version": champion.version, "value": scores["champion"][1]},
        "challenger": {"version": challenger.version, "value": scores["challenger"][1]},
        "challenger_wins": scores["challenger"][1] > scores["champion"][1],
        "detail": f"{metric} {scores['challenger'][1]:.4f} (v{challenger.version}) vs "
        f"{scores['champion'][1]:.4f} (v{champion.version}) on {len(frame)} labelled",
    }


def _score(store: AbstractStore, version: ModelVersion, features: Any, truth: list[str]) -> Any:
    import numpy as np
    from sklearn import metrics

    from ..monitoring.model_outputs import predictions_and_scores
    from ..registry import load_model

    loaded = load_model(f"{version.model}/{version.version}", store=store)
    if not hasattr(loaded, "predict"):
        raise InvalidInput(f"{version.model}/{version.version} is not a model with predict().")
    data = features if _named(features) else features.to_numpy()
    predictions, scores, classes = predictions_and_scores(loaded, data)
    names = [str(c) for c in classes] if classes is not None else []
    if scores is not None and len(names) == 2 and set(truth) <= set(names):
        y = np.asarray([t == names[1] for t in truth])
        if len(set(y)) == 2:
            return "roc_auc", float(metrics.roc_auc_score(y, scores[:, 1]))
    return "accuracy", float(metrics.accuracy_score(truth, [str(p) for p in predictions]))


def _named(features: Any) -> bool:
    """Whether the logged feature names are the model's own (a DataFrame was logged)."""
    return not all(str(c).isdigit() for c in features.columns)
