"""Compile a metric request into ONE readable DuckDB query, built as a sqlglot AST.

A request (metrics, ``--by``, ``--where``, dates, order, limit) is planned into *leaves* by
:mod:`northstar.metrics.plan`: one aggregated measure each (a measure, its filters, an optional time offset). Then a
short tuple of pure ``Expression -> Expression`` passes
builds the query: one CTE per semantic model and filter set (with a comment saying what it aggregates), the CTEs
joined on the group-by columns, the metric formulas over their columns, then order and limit.

>>> print(compile_request(sem, Request(("revenue",), by=("month",))))   # doctest: +SKIP
WITH orders AS (
  /* orders: revenue = sum of payment_total, per metric_time__month */
  SELECT ...
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from northstar.errors import CompileError, NorthstarError, ProjectError
from northstar.metrics.builders import (
    Rows,
    aggregate,
    and_all,
    date_part,
    date_range,
    interval,
    order_limit,
    period,
    qualify,
)
from northstar.metrics.cumulative import cumulative_select
from northstar.metrics.dimensions import dimension_query
from northstar.metrics.experiment import outcomes_query
from northstar.metrics.filters import render_filter
from northstar.metrics.growth import growth_query, leaf_select
from northstar.metrics.plan import Compiled, Leaf, plan
from northstar.metrics.request import Request
from northstar.metrics.resolve import Semantics
from northstar.metrics.saved import expand, saved_query
from northstar.metrics.spec import (
    GRAINS,
    CoverageParams,
    CumulativeParams,
    Measure,
    Metric,
    UpliftParams,
)
from northstar.metrics.spine import spine_periods
from northstar.metrics.to_grain import to_grain_select
from northstar.metrics.trailing import coverage, pyramid_query

# -- the passes -------------------------------------------------------------------------------------------------


def _leaf_select(c: Compiled, leaves: list[tuple[Leaf, str, Metric]]) -> tuple[exp.Select, str]:
    """One CTE body aggregating leaves that share a semantic model, filters and offset; and its comment."""
    first, _, metric = leaves[0]
    model = c.sem.model_of(first.measure, metric)
    rows = Rows(c.sem, model, metric, metric_table=_metric_table(c.sem), measure=first.measure)
    time = rows.time(first.measure)
    if first.offset is not None:
        time = exp.Add(this=time, expression=interval(first.offset))
    keys: list[exp.Expr] = []
    timed = rows.time_groups(c.groups, first.measure) if first.offset is not None else {}
    for group in c.groups:
        if group.grain is not None or group.column in timed:
            keys.append(period(c.sem, time.copy(), group.grain or timed[group.column], metric))
        elif group.column.startswith("metric_time__extract_"):
            keys.append(date_part(time.copy(), group.column.removeprefix("metric_time__extract_")))
        else:
            keys.append(rows.dimension(group.dimension, "--by"))
    described = []
    values: list[tuple[Measure, exp.Expr, str]] = []
    for leaf, name, _metric in leaves:
        measure = model.measure(leaf.measure)
        assert measure is not None
        values.append((measure, qualify(measure.sql, rows.alias), name))
        described.append(f"{name} = {measure.agg.replace('_', ' ')} of {measure.expr}")
    conditions = rows.filters(first.filters, first.measure)
    if c.where is not None:
        conditions.append(rows.condition(c.where, first.measure, "--where"))
    conditions += date_range(rows.time(first.measure), c.request.start, c.request.end, first.offset)
    semi = values[0][0].non_additive
    if semi is None:
        selects = [exp.alias_(key, g.column, copy=False) for key, g in zip(keys, c.groups, strict=True)]
        selects += [exp.alias_(aggregate(measure, value), name, copy=False) for measure, value, name in values]
        select = rows.source().select(*selects, copy=False)
    else:
        # A semi-additive measure (a balance): keep only the rows at the last (max) or first (min) value of the
        # non-additive dimension, per period queried and per window_groupings entity, then aggregate those.
        dimension = model.dimension(semi.dimension)
        assert dimension is not None  # checked by resolve
        at = qualify(dimension.sql, rows.alias)
        partition = _semi_additive_period(c, rows, keys, first.measure, semi.dimension)
        partition += [rows.dimension(entity, "window_groupings") for entity in semi.groupings]
        edge = exp.Window(
            this=(exp.Max if semi.window_choice == "max" else exp.Min)(this=at.copy()),
            partition_by=partition or None,
        )
        inner = rows.source().select(
            *[exp.alias_(key, g.column, copy=False) for key, g in zip(keys, c.groups, strict=True)],
            *[exp.alias_(value, name, copy=False) for _, value, name in values],
            copy=False,
        )
        condition = and_all(conditions)
        if condition is not None:
            inner = inner.where(condition, copy=False)
        inner = inner.qualify(exp.EQ(this=at.copy(), expression=edge), copy=False)
        conditions = []
        selects = [exp.column(g.column) for g in c.groups]
        selects += [exp.alias_(aggregate(m, exp.column(name)), name, copy=False) for m, _, name in values]
        select = exp.select(*selects, copy=False).from_(inner.subquery("semi_additive_rows"), copy=False)
        per_edge = "last" if semi.window_choice == "max" else "first"
        groupings = f" per {', '.join(semi.groupings)}" if semi.groupings else ""
        described.append(f"only rows at the {per_edge} {semi.dimension}{groupings} of each period")
    condition = and_all(conditions)
    if condition is not None:
        select = select.where(condition, copy=False)
    if c.groups:
        select = select.group_by(*[exp.Literal.number(i + 1) for i in range(len(c.groups))], copy=False)
    per = f", per {', '.join(g.column for g in c.groups)}" if c.groups else ""
    shifted = f", shifted {first.offset} later" if first.offset else ""
    where = f"; rows where {' and '.join(render_filter(f.text) for f in first.filters)}" if first.filters else ""
    comment = f"{model.name}: {'; '.join(described)}{per}{shifted}{where}"
    return select, comment


def _semi_additive_period(c: Compiled, rows: Rows, keys: list[exp.Expr], measure: str, name: str) -> list[exp.Expr]:
    """The period a semi-additive measure takes its first or last rows in, as MetricFlow chooses it: the first
    group-by that is its non-additive dimension (``balance__balance_date__month``, through any entity), or metric
    time when that dimension is the measure's agg time dimension; none (the whole range) otherwise."""
    agg_time = c.sem.agg_time(rows.model, measure, rows.metric).name
    for key, group in zip(keys, c.groups, strict=True):
        if group.is_time or group.column.startswith("metric_time__extract_"):
            if name == agg_time:
                return [key.copy()]
            continue
        ref = c.sem.dimension(rows.model, group.dimension, rows.metric, "--by")
        if ref.dimension is not None and ref.dimension.name == name and ref.is_time:
            return [key.copy()]
    return []


def _ctes(expression: exp.Select, c: Compiled) -> exp.Select:
    """Pass 1: one CTE per semantic model + filter set (+ offset), each with a comment."""
    buckets: dict[tuple[object, ...], list[tuple[Leaf, str, Metric]]] = {}
    for leaf, name, metric in c.leaves:
        if leaf.special is not None:
            key: tuple[object, ...] = (leaf,)
        else:
            model = c.sem.model_of(leaf.measure)
            measure = model.measure(leaf.measure)
            semi = (leaf.measure, measure.non_additive) if measure and measure.non_additive else None
            key = (model.name, leaf.filters, leaf.offset, leaf.to_grain, leaf.spine, semi)
        buckets.setdefault(key, []).append((leaf, name, metric))
    used: set[str] = set()

    def unique(name: str) -> str:
        base, n = name, 2
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        return name

    for leaves in buckets.values():
        leaf, name, metric = leaves[0]
        if isinstance(leaf.special, CumulativeParams):
            body, comment = cumulative_select(c, leaf, name, metric, _metric_table(c.sem))
            ctes = [(name, body, comment)]
        elif isinstance(leaf.special, CoverageParams):
            ctes = coverage(c, leaf, name, metric, leaf.special)
        elif leaf.special is not None:
            ctes = leaf_select(c, leaf, name, metric)
        elif leaf.to_grain is not None:
            body, comment = to_grain_select(c, leaves, _metric_table(c.sem))
            ctes = [(f"{c.sem.model_of(leaf.measure).name}_start_of_{leaf.to_grain}", body, comment)]
        else:
            body, comment = _leaf_select(c, leaves)
            if leaf.spine:
                body, comment = spine_periods(c, body, comment, leaf, metric)
            model_name = c.sem.model_of(leaf.measure).name
            ctes = [(model_name if not leaf.offset else f"{model_name}_offset", body, comment)]
        for cte_name, body, comment in ctes:
            cte_name = unique(cte_name)
            body.add_comments([comment])
            expression = expression.with_(cte_name, as_=body, copy=False)
        shifted = leaf.offset or leaf.to_grain
        expression.meta.setdefault("ctes", []).append((cte_name, [lname for _, lname, _ in leaves], shifted))
    return expression


def _join(expression: exp.Select, c: Compiled) -> exp.Select:
    """Pass 2: join the CTEs on the group-by columns (full outer: a period with one metric only still shows, as
    does a period only a shifted input reaches, such as the month after the last one for `offset_window: 1 month`,
    as in MetricFlow). The CTEs of unshifted leaves come first, so the rows' keys are theirs where they have them.

    Metric time is never NULL, so time keys join with USING. A dimension can be NULL, and NULL is a group of its own
    (as in MetricFlow): dimension keys join NULL-safely (IS NOT DISTINCT FROM) on the key so far, the COALESCE of the
    CTEs already joined, so one NULL row holds every metric's value instead of one row per CTE."""
    ctes = expression.meta["ctes"]
    keys = [g.column for g in c.groups]
    ordered = [cte for cte in ctes if cte[2] is None] + [cte for cte in ctes if cte[2] is not None]
    expression = expression.from_(ordered[0][0], copy=False)
    null_safe = any(not g.is_time for g in c.groups) and len(ctes) > 1
    seen: dict[str, list[exp.Expr]] = {key: [exp.column(key, ordered[0][0])] for key in keys}

    def key_so_far(key: str) -> exp.Expr:
        first, *rest = (part.copy() for part in seen[key])
        return exp.Coalesce(this=first, expressions=rest) if rest else first

    def on(name: str) -> exp.Expr | None:
        return and_all([exp.NullSafeEQ(this=key_so_far(key), expression=exp.column(key, name)) for key in keys])

    for name, _, _ in ordered[1:]:
        if not keys:
            expression = expression.join(name, join_type="cross", copy=False)
        elif null_safe:
            expression = expression.join(name, on=on(name), join_type="full outer", copy=False)
            for key in keys:
                seen[key].append(exp.column(key, name))
        else:
            expression = expression.join(name, using=tuple(keys), join_type="full outer", copy=False)
    if null_safe:
        expression.meta["keys"] = {key: key_so_far(key) for key in keys}
    return expression


def _select(expression: exp.Select, c: Compiled) -> exp.Select:
    """Pass 3: the group-by columns, then each metric's formula over the CTE columns."""
    keys: dict[str, exp.Expr] = expression.meta.pop("keys", {})
    columns = [
        exp.alias_(keys[g.column], g.column, copy=False) if g.column in keys else exp.column(g.column) for g in c.groups
    ]
    formulas = [
        formula.copy()
        if isinstance(formula, exp.Column) and formula.name == name
        else exp.alias_(formula.copy(), name, copy=False)
        for name, formula in c.formulas
    ]
    return expression.select(*columns, *formulas, copy=False)


PASSES: tuple[Callable[[exp.Select, Compiled], exp.Select], ...] = (_ctes, _join, _select, order_limit)


def build(c: Compiled) -> exp.Select:
    """Run the passes over an empty SELECT."""
    expression = exp.Select()
    for step in PASSES:
        expression = step(expression, c)
    expression.meta.pop("ctes", None)
    return expression


def compile_expression(sem: Semantics, request: Request) -> exp.Select:
    """The query of a request as a sqlglot expression (growth metrics have their own builders)."""
    if request.saved_query is None:
        return _compile_expression(sem, request)
    query = saved_query(sem, request.saved_query)
    try:
        return _compile_expression(sem, expand(sem, request))
    except NorthstarError as error:
        if error.path is not None or error.message.startswith("--saved-query"):
            raise
        # The group-bys, filters and order are the saved query's: point at it, not at the command line.
        message = error.message
        for option, key in (("--by", "group_by"), ("--where", "where"), ("--order", "order_by")):
            if message.startswith(option + " ") and not getattr(request, option.removeprefix("--")):
                message = key + message.removeprefix(option)
        raise CompileError(f"Saved query '{query.name}': {message}", query.where.path, query.where.line) from None


def _compile_expression(sem: Semantics, request: Request) -> exp.Select:
    if not request.metrics and request.by:
        return dimension_query(sem, request, _metric_table(sem))
    c = plan(sem, request)
    params = c.metrics[0].params
    if c.metrics[0].type == "pyramid":
        return pyramid_query(c)
    if isinstance(params, UpliftParams) and params.outcomes:
        return outcomes_query(c, c.metrics[0], params)
    if c.metrics[0].own_shape:
        return growth_query(c)
    return build(c)


def _metric_table(sem: Semantics) -> Callable[[str, str], exp.Select]:
    """The query of a metric per entity, for Metric('revenue', group_by=['customer']) in filters: the metric's own
    filters apply, the outer query's do not (MetricFlow computes it on its own, then joins it)."""

    def table(metric: str, entity: str) -> exp.Select:
        query = _compile_expression(sem, Request((metric,), by=(entity,)))
        query.set("order", None)
        return query

    return table


def compile_request(sem: Semantics, request: Request, dialect: str = "duckdb") -> str:
    """The SQL of a request, pretty-printed for ``dialect``."""
    return render(compile_expression(sem, request), dialect)


def render(expression: exp.Expr, dialect: str = "duckdb") -> str:
    try:
        return expression.sql(dialect=dialect, pretty=True)
    except ValueError as error:
        raise ProjectError(f"Cannot write the SQL for dialect '{dialect}': {error}") from None


def default_request(metric: Metric, sem: Semantics | None = None) -> Request:
    """The request ``metrics build`` materializes: the metric at its default grain and dimensions.

    A metric comparing periods (``offset_window``) without ``defaults:``, as MetricFlow projects write them, is
    materialized at the grain of its offset (``1 month`` -> month; units below a day -> day)."""
    by = tuple(metric.default_by)
    grain = metric.default_grain or (sem.offset_grain(metric) if sem is not None else None)
    if grain and not any(b in GRAINS or b.startswith("metric_time") for b in by):
        by = (grain, *by)
    return Request((metric.name,), by=by)
