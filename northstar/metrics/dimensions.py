"""Dimension-only queries: ``metrics query --by user__city`` with no metric lists the values a dimension takes.

As MetricFlow answers them: the distinct combinations of the dimensions asked for, read from the semantic model that
reaches them all with the fewest joins (the model holding ``city`` for ``user__city``, not a fact table whose rows
happen to name some users), NULL values included.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from northstar.errors import NorthstarError, ProjectError
from northstar.metrics.builders import Rows, and_all, order_limit
from northstar.metrics.filters import parse_condition
from northstar.metrics.plan import Compiled, parse_by
from northstar.metrics.request import Request
from northstar.metrics.resolve import Semantics
from northstar.metrics.spec import SemanticModel


def dimension_query(
    sem: Semantics, request: Request, metric_table: Callable[[str, str], exp.Select] | None = None
) -> exp.Select:
    """``SELECT DISTINCT`` the dimensions of ``request.by`` (with ``--where``, ``--order``, ``--limit``);
    ``metric_table`` builds a metric per entity for ``Metric()`` in ``--where`` (see ``builders.Rows``)."""
    groups = parse_by(request.by)
    if any(g.is_time or g.column.startswith("metric_time") for g in groups):
        raise ProjectError(
            "A query without metrics has no metric time: group by a time dimension of a semantic model instead "
            "(e.g. --by user__signed_up_at__month), or name a metric."
        )
    if request.start is not None or request.end is not None:
        raise ProjectError("--start and --end filter metric time, which a query without metrics has none of.")
    where = parse_condition(request.where, "--where") if request.where else None
    names = [g.column for g in groups]
    if where is not None:
        names += [c.name for c in where.find_all(exp.Column)]
    model = _home(sem, names)
    rows = Rows(sem, model, None, metric_table=metric_table)
    selects = [exp.alias_(rows.dimension(g.column, "--by"), g.column, copy=False) for g in groups]
    conditions = [rows.condition(where, "", "--where")] if where is not None else []
    select = rows.source().select(*selects, copy=False).distinct(copy=False)
    condition = and_all(conditions)
    if condition is not None:
        select = select.where(condition, copy=False)
    compiled = Compiled(sem, request, groups, (), (), (), None)
    select = order_limit(select, compiled)
    select.add_comments([f"{model.name}: the distinct values of {', '.join(g.column for g in groups)}"])
    return select


def _home(sem: Semantics, names: list[str]) -> SemanticModel:
    """The semantic model reaching every name with the fewest joins (the first declared on a tie)."""
    best: tuple[int, SemanticModel] | None = None
    first_error: NorthstarError | None = None
    for model in sem.spec.semantic_models:
        try:
            joins = sum(_joins(sem, model, name) for name in dict.fromkeys(names))
        except NorthstarError as error:
            first_error = first_error or error
            continue
        if best is None or joins < best[0]:
            best = (joins, model)
    if best is None:
        listed = ", ".join(dict.fromkeys(names))
        detail = f" ({first_error.message})" if first_error is not None and len(names) == 1 else ""
        raise ProjectError(
            f"No semantic model reaches {listed} through its entities{detail}. Group by dimensions of semantic models "
            "joined by entities, or name a metric."
        )
    return best[1]


def _joins(sem: Semantics, model: SemanticModel, name: str) -> int:
    """How many joins reaching ``name`` from ``model`` takes: 0 or 1 for a dimension (the joins of its path are
    counted once), 1 more for ``customer__revenue`` (``Metric('revenue', group_by=['customer'])``) over its entity."""
    try:
        return int(sem.dimension(model, name, None, "--by").join is not None)
    except NorthstarError:
        found = sem.metric_dimension(model, name)
        if found is None:
            raise
        return int(found[0].join is not None) + 1
