"""Query-parameter parsing for the REST handlers: each bad value is an InvalidInput (HTTP 400)
whose message names the parameter, what was given and what is accepted."""

from __future__ import annotations

from ...entities import METRIC_OPERATORS, RUN_STATUSES, MetricFilter, MetricOrder
from ...errors import InvalidInput
from ...store.validation import TIME_ORDERS, check_order

#: largest page the API serves (the store allows more; a browser never needs it)
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
#: metric columns a client may ask for in one listing
MAX_METRIC_NAMES = 50
#: metric filters a client may give in one listing
MAX_METRIC_FILTERS = 10
#: search text and filter values longer than this are refused, not silently cut
MAX_TEXT = 500

_TRUE = ("1", "true", "yes")
_FALSE = ("0", "false", "no")


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def parse_limit(value: str | None, *, default: int = DEFAULT_LIMIT) -> int:
    if value is None:
        return default
    text = value.strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidInput(
            f"The limit must be a whole number from 1 to {MAX_LIMIT}, not {_shown(value)}."
        )
    return int(text)


def parse_status(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if value not in RUN_STATUSES:
        raise InvalidInput(
            f"Unknown run status {_shown(value)}; use one of {', '.join(RUN_STATUSES)}."
        )
    return value


def parse_order(value: str | None) -> str | MetricOrder:
    """``newest`` (default), ``oldest``, or ``metric:NAME[:asc|desc]`` (by the latest value
    of a metric, descending unless ``:asc``)."""
    if value is None or value == "":
        return "newest"
    if (value in TIME_ORDERS or value.startswith("metric:")) and (
        len(value) <= MAX_TEXT and "\x00" not in value
    ):
        return check_order(value)
    raise InvalidInput(
        f"Unknown order {_shown(value)}; use 'newest', 'oldest' or 'metric:NAME[:asc|desc]'."
    )


def parse_metric_filters(values: list[str]) -> list[MetricFilter]:
    """``metric_filter`` values, each ``NAME OP NUMBER`` (OP one of < <= > >= ==), several
    per value separated by commas, the parameter repeatable; all must hold (AND)."""
    filters: list[MetricFilter] = []
    for value in values:
        if len(value) > MAX_TEXT or "\x00" in value:
            raise InvalidInput(
                f"The parameter 'metric_filter' must be at most {MAX_TEXT} characters of text."
            )
        for part in value.split(","):
            if not part.strip():
                continue
            try:
                filters.append(MetricFilter.parse(part))
            except ValueError:
                raise InvalidInput(
                    f"The metric filter {_shown(part.strip())} is not NAME OP NUMBER with OP "
                    f"one of {' '.join(METRIC_OPERATORS)} (e.g. metric_filter=acc>=0.9)."
                ) from None
    if len(filters) > MAX_METRIC_FILTERS:
        raise InvalidInput(
            f"At most {MAX_METRIC_FILTERS} metric filters can be given at once, not {len(filters)}."
        )
    return filters


def parse_bool(name: str, value: str | None, *, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidInput(
        f"The parameter {name!r} must be 0 or 1 (or true/false), not {_shown(value)}."
    )


def parse_text(name: str, value: str | None) -> str | None:
    """A free-text filter; empty means no filter."""
    if value is None or value.strip() == "":
        return None
    if len(value) > MAX_TEXT or "\x00" in value:
        raise InvalidInput(f"The parameter {name!r} must be at most {MAX_TEXT} characters of text.")
    return value.strip()


def parse_token(value: str | None) -> str | None:
    """Page tokens are opaque; the store checks them. Only the size is checked here."""
    if value is None or value == "":
        return None
    if len(value) > MAX_TEXT:
        raise InvalidInput(
            "The page token is malformed or belongs to another listing; start again from "
            "the first page."
        )
    return value


def parse_metric_names(value: str | None) -> list[str] | None:
    """``None`` when absent (all metrics, capped), else the listed names in order, without
    repeats; an empty value asks for no metric columns at all."""
    if value is None:
        return None
    names = list(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
    if len(names) > MAX_METRIC_NAMES:
        raise InvalidInput(
            f"At most {MAX_METRIC_NAMES} metric columns can be listed at once, not {len(names)}."
        )
    return names
