"""Monitor rules, alerts and their actions (notify, rollback, retrain), and webhooks.

* :mod:`.rules` — ``c.Monitor`` and the rule language (the registry gates' parser);
* :mod:`.source` — where rules read metrics (the ``MetricsSource`` contract);
* :mod:`.evaluate` — one pass: verdicts, ``alert`` events, de-duplication;
* :mod:`.actions` — notify, rollback, retrain;
* :mod:`.retrain` — re-execute the production notebook and register the result;
* :mod:`.webhooks` — ``c.Webhooks``: signed deliveries of registry events, with a log.

See docs/architecture.md#alerts-and-webhooks.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check", "retrain"]


def check(**kwargs: Any) -> Any:
    """One monitor pass over the configured rules (see :func:`.evaluate.check`)."""
    from ..tracking import default_store
    from .evaluate import check as run_check

    store = kwargs.pop("store", None) or default_store()
    return run_check(store, **kwargs)


def retrain(model: str, **kwargs: Any) -> Any:
    """Retrain ``model`` from its production notebook (see :func:`.retrain.retrain`)."""
    from .retrain import retrain as run_retrain

    return run_retrain(model, **kwargs)
