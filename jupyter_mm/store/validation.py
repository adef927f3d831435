"""Argument checks shared by the store contract, its implementations and its callers, and
the column helper of :meth:`AbstractRunStore.run_columns`.

The contract says which arguments are malformed (``InvalidInput``); these functions are
that rule, so the server, the CLI and every backend refuse the same inputs with the same
sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..entities import STAGES
from ..errors import InvalidInput

if TYPE_CHECKING:
    from ..entities import MetricOrder


def check_unicode(text: str, what: str) -> str:
    """``text`` when it is Unicode every backend can store: a lone UTF-16 surrogate (what a
    JSON ``\\ud800`` escape or an undecodable command-line byte turns into) is not a
    character, and UTF-8 has no encoding for it; PostgreSQL text holds no NUL (SQLite
    does, so it is refused on both alike). Raises InvalidInput naming ``what``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"{what} holds U+{ord(text[exc.start]):04X}, a lone surrogate that is not a "
            "character; send valid Unicode text."
        ) from None
    if "\x00" in text:
        raise InvalidInput(f"{what} holds a NUL character, which a store cannot keep as text.")
    return text


# -- runs and listings ------------------------------------------------------------------------


def check_listing_limit(limit: object) -> int:
    """``limit`` when it is a positive integer (a bulk listing has no upper bound)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInput(f"limit must be a positive integer, not {limit!r}.")
    return limit


def check_status(status: object) -> str | None:
    """``status`` when it is None (any) or one of the run statuses. Raises InvalidInput."""
    from ..entities import RUN_STATUSES

    if status is not None and status not in RUN_STATUSES:
        raise InvalidInput(
            f"Unknown run status {status!r}; expected one of {', '.join(RUN_STATUSES)}."
        )
    return status


#: the listing orders by start time; a listing can also be ordered by a metric
TIME_ORDERS = ("newest", "oldest")


def check_order(order: object) -> str | MetricOrder:
    """``newest``, ``oldest``, a MetricOrder, or its text form ``metric:NAME[:asc|desc]``."""
    from ..entities import MetricOrder

    if isinstance(order, MetricOrder):
        if not isinstance(order.name, str) or not order.name:
            raise InvalidInput("A metric order needs a metric name.")
        return order
    if isinstance(order, str) and order in TIME_ORDERS:
        return order
    if isinstance(order, str) and order.startswith("metric:"):
        try:
            return MetricOrder.parse(order)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
    raise InvalidInput(
        f"Unknown order {order!r}; use 'newest', 'oldest' or 'metric:NAME[:asc|desc]'."
    )


def add_value_columns(
    columns: dict[str, list[Any]], prefix: str, values: Iterable[tuple[str, str, Any]]
) -> None:
    """Spread ``(run id, name, value)`` triples into one ``prefix + name`` column per name,
    aligned with ``columns["id"]`` (None where a run has no value). Triples of runs not in
    ``columns["id"]`` are ignored."""
    position = {run_id: index for index, run_id in enumerate(columns["id"])}
    count = len(position)
    for run_id, name, value in values:
        index = position.get(run_id)
        if index is None:
            continue
        column = columns.get(prefix + name)
        if column is None:
            column = columns[prefix + name] = [None] * count
        column[index] = value


# -- the registry -------------------------------------------------------------------------------

#: Model names travel in URLs and in references like ``name@production`` and ``name/3``, so
#: ``@`` and ``/`` are out; the rest is what file names and MLflow allow.
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,254}")
#: An alias must not look like a version number or a stage, or ``name@x`` would be ambiguous.
_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,63}")


def check_model_name(name: object) -> str:
    """Return ``name`` when it can name a model; InvalidInput otherwise."""
    if not isinstance(name, str) or not _MODEL_NAME.fullmatch(name):
        raise InvalidInput(
            f"{name!r} is not a model name: use 1 to 255 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit."
        )
    return name


def check_alias(alias: object) -> str:
    """Return ``alias`` when it can be an alias; InvalidInput otherwise."""
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
        raise InvalidInput(
            f"{alias!r} is not an alias: use a letter followed by up to 63 letters, digits, "
            "'_' or '-'."
        )
    if alias in STAGES or alias == "latest":
        raise InvalidInput(f"{alias!r} is a stage name, so it cannot be an alias.")
    return alias


def check_stage(stage: object) -> str:
    if stage not in STAGES:
        raise InvalidInput(f"Unknown stage {stage!r}; expected one of {', '.join(STAGES)}.")
    return str(stage)


def check_version(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInput(f"A model version is a positive integer, not {version!r}.")
    return version
