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
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import sqlglot
from sqlglot import exp

from northstar.errors import CompileError, ProjectError, did_you_mean
from northstar.metrics.filters import parse_condition, render_filter
from northstar.metrics.plan import Compiled, Leaf, plan, with_filter
from northstar.metrics.request import Request
from northstar.metrics.resolve import DimensionRef, Semantics
from northstar.metrics.spec import (
    GRAINS,
    CumulativeParams,
    Measure,
    Metric,
    SemanticModel,
    Window,
)
from northstar.render.jinja import Relation

# -- SQL helpers ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)  # YAML expressions repeat across metrics; parsing is the slow part
def _parse(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, dialect="duckdb")


def qualify(sql: str, alias: str) -> exp.Expression:
    """Parse a column expression from YAML and prefix its bare columns with the table alias."""
    tree = _parse(sql).copy()
    for column in tree.find_all(exp.Column):
        if not column.table:
            column.set("table", exp.to_identifier(alias))
    return tree


def relation_table(relation: Relation) -> exp.Table:
    """A warehouse relation as a table node, built rather than parsed from its name."""
    return exp.table_(relation.identifier, db=relation.schema)


def truncate(value: exp.Expression, grain: str) -> exp.Expression:
    """The period a timestamp falls in, as a DATE: ``CAST(DATE_TRUNC('month', t) AS DATE)``."""
    return exp.Cast(
        this=exp.func("date_trunc", exp.Literal.string(grain), value), to=exp.DataType(this=exp.DataType.Type.DATE)
    )


def interval(window: Window) -> exp.Interval:
    return exp.Interval(this=exp.Literal.string(str(window.count)), unit=exp.var(window.unit.upper()))


def period_series(value: exp.Expression, grain: str, alias: str) -> exp.Alias:
    """Every period from the first to the last of a DATE column, gaps included, one row each:
    ``CAST(UNNEST(GENERATE_SERIES(MIN(v), MAX(v), INTERVAL '1' MONTH)) AS DATE) AS alias``."""
    series = exp.func("generate_series", exp.Min(this=value), exp.Max(this=value.copy()), interval(Window(1, grain)))
    return exp.alias_(
        exp.Cast(this=exp.Unnest(expressions=[series]), to=exp.DataType(this=exp.DataType.Type.DATE)),
        alias,
        copy=False,
    )


def aggregate(measure: Measure, value: exp.Expression) -> exp.Expression:
    """The SQL aggregation of a measure."""
    agg = measure.agg
    if agg == "sum":
        return exp.Sum(this=value)
    if agg == "count":
        return exp.Count(this=value)
    if agg == "count_distinct":
        return exp.Count(this=exp.Distinct(expressions=[value]))
    if agg == "average":
        return exp.Avg(this=value)
    if agg == "min":
        return exp.Min(this=value)
    if agg == "max":
        return exp.Max(this=value)
    if agg == "median":
        return exp.func("median", value)
    if agg == "percentile":
        name = "quantile_disc" if measure.discrete else "quantile_cont"
        return exp.func(name, value, exp.Literal.number(measure.percentile))
    if agg == "sum_boolean":
        return exp.Sum(
            this=exp.Case(ifs=[exp.If(this=value, true=exp.Literal.number(1))], default=exp.Literal.number(0))
        )
    raise AssertionError(agg)  # pragma: no cover


def _and_all(conditions: list[exp.Expression]) -> exp.Expression | None:
    if not conditions:
        return None
    return exp.and_(*[exp.Paren(this=c) if isinstance(c, exp.Or) else c for c in conditions], copy=False)


@dataclass
class Rows:
    """The FROM clause of one semantic model's rows, growing the joins that referenced dimensions need."""

    sem: Semantics
    model: SemanticModel
    metric: Metric | None
    joins: dict[str, DimensionRef] = field(default_factory=dict)  # alias -> ref that needed it

    @property
    def alias(self) -> str:
        return self.model.name

    def source(self) -> exp.Select:
        relation = self.sem.relation(self.model)
        select = exp.select(copy=False).from_(relation_table(relation).as_(self.alias), copy=False)
        for alias, ref in self.joins.items():
            assert ref.join is not None
            target_entity = ref.owner.entity(ref.join.name)
            assert target_entity is not None
            on = exp.EQ(this=qualify(ref.join.expr, self.alias), expression=qualify(target_entity.expr, alias))
            table = relation_table(self.sem.relation(ref.owner)).as_(alias)
            select = select.join(table, on=on, join_type="left", copy=False)
        return select

    def dimension(self, name: str, what: str) -> exp.Expression:
        """A dimension's expression over these rows, adding the join it needs."""
        ref = self.sem.dimension(self.model, name, self.metric, what)
        alias = self.alias
        if ref.join is not None:
            alias = ref.owner.name if ref.owner.name != self.alias else f"{ref.owner.name}_{ref.join.name}"
            known = self.joins.get(alias)
            if known is not None and known.join != ref.join:
                alias = f"{ref.owner.name}_{ref.join.name}"
            self.joins[alias] = ref
        value = qualify(ref.expr, alias)
        return truncate(value, ref.grain) if ref.grain else value

    def time(self, measure: str) -> exp.Expression:
        dimension = self.sem.agg_time(self.model, measure, self.metric)
        return qualify(dimension.expr, self.alias)

    def condition(self, condition: exp.Expression, measure: str, what: str) -> exp.Expression:
        """Replace the dimension names of a parsed condition by their expressions over these rows."""

        def swap(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column) and not node.table:
                name = node.name
                if name == "metric_time" or name.startswith("metric_time__"):
                    grain = name.removeprefix("metric_time").removeprefix("__") or None
                    if grain is not None and grain not in GRAINS:
                        raise ProjectError(f"{what} uses '{name}': unknown grain. Valid: {', '.join(GRAINS)}.")
                    time = self.time(measure)
                    return truncate(time, grain) if grain else time
                return self.dimension(name, what)
            return node

        return condition.copy().transform(swap)

    def filters(self, texts: tuple[str, ...], measure: str) -> list[exp.Expression]:
        what = f"The filter of metric '{self.metric.name}'" if self.metric else "A filter"
        conditions = []
        for text in dict.fromkeys(texts):
            try:
                parsed = parse_condition(text, "Filter")
            except ProjectError as error:
                where = self.metric.where if self.metric else None
                raise CompileError(
                    error.message, where.path if where else None, where.line if where else None
                ) from None
            conditions.append(self.condition(parsed, measure, what))
        return conditions


def date_range(
    time: exp.Expression, start: date | None, end: date | None, shift: Window | None = None
) -> list[exp.Expression]:
    """Row conditions keeping ``start <= time < end + 1 day`` (both dates inclusive)."""
    value = exp.Add(this=time, expression=interval(shift)) if shift else time
    out: list[exp.Expression] = []
    if start is not None:
        out.append(
            exp.GTE(
                this=value.copy(),
                expression=exp.Cast(
                    this=exp.Literal.string(start.isoformat()), to=exp.DataType(this=exp.DataType.Type.DATE)
                ),
            )
        )
    if end is not None:
        upper = exp.Add(
            this=exp.Cast(this=exp.Literal.string(end.isoformat()), to=exp.DataType(this=exp.DataType.Type.DATE)),
            expression=interval(Window(1, "day")),
        )
        out.append(exp.LT(this=value.copy(), expression=upper))
    return out


# -- the passes -------------------------------------------------------------------------------------------------


def _leaf_select(c: Compiled, leaves: list[tuple[Leaf, str, Metric]]) -> tuple[exp.Select, str]:
    """One CTE body aggregating leaves that share a semantic model, filters and offset; and its comment."""
    first, _, metric = leaves[0]
    model = c.sem.model_of(first.measure, metric)
    rows = Rows(c.sem, model, metric)
    time = rows.time(first.measure)
    if first.offset is not None:
        time = exp.Add(this=time, expression=interval(first.offset))
    selects: list[exp.Expression] = []
    for group in c.groups:
        if group.is_time:
            selects.append(exp.alias_(truncate(time.copy(), group.grain), group.column, copy=False))
        else:
            selects.append(exp.alias_(rows.dimension(group.name, "--by"), group.column, copy=False))
    described = []
    for leaf, name, _metric in leaves:
        measure = model.measure(leaf.measure)
        assert measure is not None
        selects.append(exp.alias_(aggregate(measure, qualify(measure.expr, rows.alias)), name, copy=False))
        described.append(f"{name} = {measure.agg.replace('_', ' ')} of {measure.expr}")
    conditions = rows.filters(first.filters, first.measure)
    if c.where is not None:
        conditions.append(rows.condition(c.where, first.measure, "--where"))
    conditions += date_range(rows.time(first.measure), c.request.start, c.request.end, first.offset)
    select = rows.source().select(*selects, copy=False)
    condition = _and_all(conditions)
    if condition is not None:
        select = select.where(condition, copy=False)
    if c.groups:
        select = select.group_by(*[exp.Literal.number(i + 1) for i in range(len(c.groups))], copy=False)
    per = f", per {', '.join(g.column for g in c.groups)}" if c.groups else ""
    shifted = f", shifted {first.offset} later" if first.offset else ""
    where = f"; rows where {' and '.join(render_filter(f) for f in first.filters)}" if first.filters else ""
    comment = f"{model.name}: {'; '.join(described)}{per}{shifted}{where}"
    return select, comment


def _cumulative_select(c: Compiled, leaf: Leaf, name: str, metric: Metric) -> tuple[exp.Select, str]:
    """A running aggregate: for each period, the rows up to its end (within the window or since the grain start)."""
    params = leaf.special
    assert isinstance(params, CumulativeParams)
    model = c.sem.model_of(leaf.measure, metric)
    measure = model.measure(leaf.measure)
    assert measure is not None
    rows = Rows(c.sem, model, metric)
    time = rows.time(leaf.measure)
    grain = next((g.grain for g in c.groups if g.is_time), None)
    value = exp.alias_(aggregate(measure, qualify(measure.expr, rows.alias)), name, copy=False)
    conditions = rows.filters(with_filter(leaf.filters, params.measure.filter), leaf.measure)
    if c.where is not None:
        conditions.append(rows.condition(c.where, leaf.measure, "--where"))
    dims = [exp.alias_(rows.dimension(g.name, "--by"), g.column, copy=False) for g in c.groups if not g.is_time]
    if grain is None:
        select = rows.source().select(*dims, value, copy=False)
        conditions += date_range(time, None, c.request.end)
        what = "all time"
    else:
        column = f"metric_time__{grain}"
        spine = (
            exp.select(period_series(truncate(time.copy(), grain), grain, column), copy=False)
            .from_(relation_table(c.sem.relation(model)).as_(rows.alias), copy=False)
            .subquery("periods")
        )
        period_end = exp.Add(this=exp.column(column, "periods"), expression=interval(Window(1, grain)))
        on = [exp.LT(this=time.copy(), expression=period_end.copy())]
        if params.window is not None:
            on.append(
                exp.GTE(
                    this=time.copy(), expression=exp.Sub(this=period_end.copy(), expression=interval(params.window))
                )
            )
            what = f"the {params.window} up to the end of each {grain}"
        elif params.grain_to_date is not None:
            on.append(
                exp.GTE(this=time.copy(), expression=truncate(exp.column(column, "periods"), params.grain_to_date))
            )
            what = f"{params.grain_to_date} to date, at the end of each {grain}"
        else:
            what = f"all time up to the end of each {grain}"
        source = rows.source()
        base = source.args["from_"].this
        select = exp.select(exp.column(column, "periods"), *dims, value, copy=False).from_(spine, copy=False)
        select = select.join(base, on=_and_all(on), join_type="inner", copy=False)
        for join in source.args.get("joins") or []:
            select = select.join(join, copy=False)
        conditions += [
            cond.transform(lambda n: exp.column(column, "periods") if n == exp.column("__period__") else n)
            for cond in date_range(exp.column("__period__"), c.request.start, c.request.end)
        ]
    condition = _and_all(conditions)
    if condition is not None:
        select = select.where(condition, copy=False)
    count = len(c.groups)
    if count:
        select = select.group_by(*[exp.Literal.number(i + 1) for i in range(count)], copy=False)
    return select, f"{model.name}: {name} = {measure.agg} of {measure.expr} over {what}"


def _ctes(expression: exp.Select, c: Compiled) -> exp.Select:
    """Pass 1: one CTE per semantic model + filter set (+ offset), each with a comment."""
    buckets: dict[tuple, list[tuple[Leaf, str, Metric]]] = {}
    for leaf, name, metric in c.leaves:
        if leaf.special is not None:
            key: tuple = (leaf,)
        else:
            key = (c.sem.model_of(leaf.measure).name, leaf.filters, leaf.offset)
        buckets.setdefault(key, []).append((leaf, name, metric))
    used: set[str] = set()

    def unique(name: str) -> str:
        base, n = name, 2
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        return name

    for key, leaves in buckets.items():
        leaf, name, metric = leaves[0]
        if isinstance(leaf.special, CumulativeParams):
            body, comment = _cumulative_select(c, leaf, name, metric)
            ctes = [(name, body, comment)]
        elif leaf.special is not None:
            from northstar.metrics.growth import leaf_select

            ctes = leaf_select(c, leaf, name, metric)
        else:
            body, comment = _leaf_select(c, leaves)
            ctes = [(key[0] if not leaf.offset else f"{key[0]}_offset", body, comment)]
        for cte_name, body, comment in ctes:
            cte_name = unique(cte_name)
            body.add_comments([comment])
            expression = expression.with_(cte_name, as_=body, copy=False)
        expression.meta.setdefault("ctes", []).append((cte_name, [lname for _, lname, _ in leaves], leaf.offset))
    return expression


def _join(expression: exp.Select, c: Compiled) -> exp.Select:
    """Pass 2: join the CTEs on the group-by columns (full outer: a period with one metric only still shows)."""
    ctes = expression.meta["ctes"]
    keys = [g.column for g in c.groups]
    plain = [cte for cte in ctes if cte[2] is None] or ctes[:1]
    shifted = [cte for cte in ctes if cte not in plain]
    expression = expression.from_(plain[0][0], copy=False)
    for name, _, _ in plain[1:]:
        if keys:
            expression = expression.join(name, using=keys, join_type="full outer", copy=False)
        else:
            expression = expression.join(name, join_type="cross", copy=False)
    for name, _, _ in shifted:
        if keys:
            expression = expression.join(name, using=keys, join_type="left", copy=False)
        else:
            expression = expression.join(name, join_type="cross", copy=False)
    return expression


def _select(expression: exp.Select, c: Compiled) -> exp.Select:
    """Pass 3: the group-by columns, then each metric's formula over the CTE columns."""
    columns = [exp.column(g.column) for g in c.groups]
    formulas = [
        formula.copy()
        if isinstance(formula, exp.Column) and formula.name == name
        else exp.alias_(formula.copy(), name, copy=False)
        for name, formula in c.formulas
    ]
    return expression.select(*columns, *formulas, copy=False)


def _order_limit(expression: exp.Select, c: Compiled) -> exp.Select:
    """Pass 4: ORDER BY (the group-by columns unless --order says otherwise) and LIMIT."""
    names = list(expression.named_selects)
    order = []
    for item in c.request.order or tuple(g.column for g in c.groups):
        descending = item.startswith("-")
        name = item.lstrip("-").strip()
        if name in GRAINS:
            name = f"metric_time__{name}"
        if name not in names:
            hint = did_you_mean(name, names)
            raise ProjectError(f"--order {item}: no such column.{hint} Valid choices: {', '.join(names)}.")
        order.append(exp.Ordered(this=exp.column(name), desc=descending, nulls_first=False))
    if order:
        expression = expression.order_by(*order, copy=False)
    if c.request.limit is not None:
        expression = expression.limit(c.request.limit, copy=False)
    return expression


PASSES: tuple[Callable[[exp.Select, Compiled], exp.Select], ...] = (_ctes, _join, _select, _order_limit)


def build(c: Compiled) -> exp.Select:
    """Run the passes over an empty SELECT."""
    expression = exp.Select()
    for step in PASSES:
        expression = step(expression, c)
    expression.meta.pop("ctes", None)
    return expression


def compile_expression(sem: Semantics, request: Request) -> exp.Expression:
    """The query of a request as a sqlglot expression (growth metrics have their own builders)."""
    c = plan(sem, request)
    if c.metrics[0].own_shape:
        from northstar.metrics.growth import growth_query

        return growth_query(c)
    return build(c)


def compile_request(sem: Semantics, request: Request, dialect: str = "duckdb") -> str:
    """The SQL of a request, pretty-printed for ``dialect``."""
    return render(compile_expression(sem, request), dialect)


def render(expression: exp.Expression, dialect: str = "duckdb") -> str:
    try:
        return expression.sql(dialect=dialect, pretty=True)
    except ValueError as error:
        raise ProjectError(f"Cannot write the SQL for dialect '{dialect}': {error}") from None


def default_request(metric: Metric) -> Request:
    """The request ``metrics build`` materializes: the metric at its default grain and dimensions."""
    by = tuple(metric.default_by)
    if metric.default_grain and not any(b in GRAINS or b.startswith("metric_time") for b in by):
        by = (metric.default_grain, *by)
    return Request((metric.name,), by=by)
