"""What a metric query asks for, kept apart from the compiler so answering from the cache imports no sqlglot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Request:
    """What ``metrics query``/``compile`` asks for. ``order`` items are column names, ``-name`` for descending.

    >>> Request(("north_star",), by=("month",))  # doctest: +NORMALIZE_WHITESPACE
    Request(metrics=('north_star',), by=('month',), where=None, start=None, end=None, order=(), limit=None,
            saved_query=None)

    With ``saved_query``, the saved query's metrics, group-bys and filters are asked for; ``where`` adds a filter and
    ``order``/``limit`` replace the saved query's own.
    """

    metrics: tuple[str, ...]
    by: tuple[str, ...] = ()
    where: str | None = None
    start: date | None = None
    end: date | None = None
    order: tuple[str, ...] = ()
    limit: int | None = None
    saved_query: str | None = None
