"""Saved queries: ``metrics query --saved-query NAME`` asks for what the saved query names.

A saved query (MetricFlow's ``saved_queries:``) is a request written in YAML: metrics, group-bys, filters, order and
limit. :func:`expand` turns a request naming one into the plain request it stands for, so a saved query compiles,
caches and answers exactly like the same ``metrics query`` typed by hand.
"""

from __future__ import annotations

from dataclasses import replace

from northstar.errors import CompileError, ProjectError, did_you_mean
from northstar.metrics.request import Request
from northstar.metrics.resolve import Semantics
from northstar.metrics.spec import SavedQuery


def saved_query(sem: Semantics, name: str) -> SavedQuery:
    """The saved query of that name; an error listing the saved queries otherwise."""
    found = sem.spec.saved_query(name)
    if found is None:
        choices = [q.name for q in sem.spec.saved_queries]
        hint = did_you_mean(name, choices) or (
            f" Saved queries: {', '.join(sorted(choices))}."
            if choices
            else " The project declares none (`saved_queries:` in a YAML file under metrics/ or the model paths)."
        )
        raise ProjectError(f"--saved-query {name}: no saved query has that name.{hint}")
    if found.error is not None:
        raise found.error.with_traceback(None)
    if not found.enabled:
        raise CompileError(
            f"Saved query '{name}' is disabled (`config: {{enabled: false}}`). Enable it to query it.",
            found.where.path,
            found.where.line,
        )
    return found


def expand(sem: Semantics, request: Request) -> Request:
    """The request a saved query stands for; a request naming none is returned as it is.

    ``--where`` adds a filter to the saved query's (both must hold); ``--order`` and ``--limit`` replace its own;
    ``--start``/``--end`` apply as usual. Metrics and ``--by`` cannot be added: write another saved query."""
    if request.saved_query is None:
        return request
    if request.metrics or request.by:
        raise ProjectError(
            f"--saved-query {request.saved_query} names its own metrics and group-bys: leave out "
            f"{'the metric names' if request.metrics else '--by'} (or query the metrics without --saved-query)."
        )
    query = saved_query(sem, request.saved_query)
    filters = [*query.filters, *([request.where] if request.where else [])]
    where = " AND ".join(f"({text})" for text in filters) if len(filters) > 1 else (filters[0] if filters else None)
    return replace(
        request,
        metrics=query.metrics,
        by=query.group_by,
        where=where,
        order=request.order or query.order_by,
        limit=request.limit if request.limit is not None else query.limit,
        saved_query=None,
    )
