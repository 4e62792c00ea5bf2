"""The sqlglot building blocks of metric queries, shared by :mod:`~northstar.metrics.compile` (simple, ratio,
derived and cumulative metrics) and :mod:`~northstar.metrics.growth` (cohort, retention, conversion, funnel, uplift):
a semantic model's rows with the joins its dimensions need, periods, intervals, aggregations, conditions, and the
ORDER BY and LIMIT every query ends with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlglot import exp

from northstar.errors import CompileError, ProjectError, did_you_mean
from northstar.metrics.plan import Compiled, Group
from northstar.metrics.resolve import Semantics
from northstar.metrics.spec import (
    DATE_PARTS,
    SUB_DAILY,
    TIME_GRAINS,
    Entity,
    Filter,
    Measure,
    Metric,
    SemanticModel,
    Window,
)
from northstar.render.jinja import Relation

# The query of a metric per entity, for Metric('revenue', group_by=['customer']) in filters: (metric, entity) -> query.
MetricTable = Callable[[str, str], exp.Select]


def qualify(sql: exp.Expr, alias: str) -> exp.Expr:
    """A copy of a column expression from YAML with its bare columns prefixed by the table alias."""
    tree = sql.copy()
    for column in tree.find_all(exp.Column):
        if not column.table:
            column.set("table", exp.to_identifier(alias))
    return tree


def relation_table(relation: Relation) -> exp.Table:
    """A warehouse relation as a table node, built rather than parsed from its name."""
    return exp.table_(relation.identifier, db=relation.schema)


def period(sem: Semantics, value: exp.Expr, grain: str, context: Metric | None) -> exp.Expr:
    """The period of ``grain`` a time falls in: :func:`truncate` for a standard grain; for a custom granularity of
    the time spine (``fiscal_quarter``), the spine's column for it on the time's day, as MetricFlow reads it."""
    if grain in TIME_GRAINS:
        return truncate(value, grain)
    spine, relation = sem.spine(context, f"The custom granularity '{grain}' is read from the time spine")
    day = exp.column(spine.column, "time_spine")
    return exp.Subquery(
        this=exp.select(exp.column(dict(spine.custom)[grain], "time_spine"), copy=False)
        .from_(relation_table(relation).as_("time_spine"), copy=False)
        .where(exp.EQ(this=day, expression=truncate(value, "day")), copy=False)
    )


def truncate(value: exp.Expr, grain: str) -> exp.Expr:
    """The period a timestamp falls in, as a DATE: ``CAST(DATE_TRUNC('month', t) AS DATE)``; below a day, the
    TIMESTAMP ``DATE_TRUNC('hour', t)``."""
    if grain in SUB_DAILY:
        return exp.func("date_trunc", exp.Literal.string(grain), value)
    return exp.Cast(
        this=exp.func("date_trunc", exp.Literal.string(grain), value), to=exp.DataType(this=exp.DataType.Type.DATE)
    )


def date_part(value: exp.Expr, part: str) -> exp.Expr:
    """A date part as MetricFlow groups by it: ``EXTRACT(MONTH FROM t)``; dow is ISO (Monday 1 to Sunday 7)."""
    unit = {"dow": "ISODOW", "doy": "DOY"}.get(part, part.upper())
    return exp.Extract(this=exp.var(unit), expression=value)


def interval(window: Window) -> exp.Interval:
    return exp.Interval(this=exp.Literal.string(str(window.count)), unit=exp.var(window.unit.upper()))


def row_ids(order: list[exp.Expr]) -> exp.Window:
    """``ROW_NUMBER() OVER (ORDER BY ...)``: ids numbered in a stated order, so they are the same on every engine
    (Spark refuses a ROW_NUMBER without one)."""
    ordered = [exp.Ordered(this=e.copy(), nulls_first=False) for e in order]
    return exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=ordered))


def period_series(value: exp.Expr, grain: str, alias: str) -> exp.Alias:
    """Every period from the first to the last of a DATE column, gaps included, one row each:
    ``CAST(UNNEST(GENERATE_SERIES(MIN(v), MAX(v), INTERVAL '1' MONTH)) AS DATE) AS alias``."""
    series = exp.func("generate_series", exp.Min(this=value), exp.Max(this=value.copy()), interval(Window(1, grain)))
    return exp.Alias(
        this=exp.Cast(this=exp.Unnest(expressions=[series]), to=exp.DataType(this=exp.DataType.Type.DATE)),
        alias=exp.to_identifier(alias),
    )


def aggregate(measure: Measure, value: exp.Expr) -> exp.Expr:
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
        return (
            exp.func("approx_quantile", value, exp.Literal.number(0.5))
            if measure.approximate
            else exp.func("median", value)
        )
    if agg == "percentile":
        name = "approx_quantile" if measure.approximate else "quantile_disc" if measure.discrete else "quantile_cont"
        return exp.func(name, value, exp.Literal.number(measure.percentile))
    if agg == "sum_boolean":
        return exp.Sum(
            this=exp.Case(ifs=[exp.If(this=value, true=exp.Literal.number(1))], default=exp.Literal.number(0))
        )
    raise AssertionError(agg)  # pragma: no cover


def and_all(conditions: Sequence[exp.Expr]) -> exp.Expr | None:
    if not conditions:
        return None
    return exp.and_(*[exp.Paren(this=c) if isinstance(c, exp.Or) else c for c in conditions], copy=False)


@dataclass
class Rows:
    """The FROM clause of one semantic model's rows, growing the joins that referenced dimensions need."""

    sem: Semantics
    model: SemanticModel
    metric: Metric | None
    # alias -> (alias joined from, entity of that model, semantic model joined), in the order they were needed
    joins: dict[str, tuple[str, Entity, SemanticModel]] = field(default_factory=dict)
    paths: dict[tuple[str, ...], str] = field(default_factory=dict)  # entity path -> alias
    # Metric('revenue', group_by=['customer']) in a filter: the query of a metric per entity (given by the compiler,
    # which builds metric queries), and the ones joined so far: alias -> (entity expression here, query, entity).
    metric_table: MetricTable | None = None
    metric_joins: dict[str, tuple[exp.Expr, exp.Select, str]] = field(default_factory=dict)
    # The measure whose time picks the version of a slowly changing dimension joined (None: no measure, as in a
    # dimension-only query, which cannot join one).
    measure: str | None = None

    @property
    def alias(self) -> str:
        return self.model.name

    def source(self) -> exp.Select:
        relation = self.sem.relation(self.model)
        select = exp.select(copy=False).from_(relation_table(relation).as_(self.alias), copy=False)
        for alias, (before, entity, target) in self.joins.items():
            target_entity = target.entity(entity.name)
            assert target_entity is not None
            on: exp.Expr = exp.EQ(this=qualify(entity.sql, before), expression=qualify(target_entity.sql, alias))
            if target.validity is not None:
                on = exp.and_(on, self._version(before, target, alias), copy=False)
            table = relation_table(self.sem.relation(target)).as_(alias)
            select = select.join(table, on=on, join_type="left", copy=False)
        for alias, (key, query, column) in self.metric_joins.items():
            joined = exp.EQ(this=key.copy(), expression=exp.column(column, alias))
            select = select.join(query.subquery(alias), on=joined, join_type="left", copy=False)
        return select

    def _version(self, before: str, target: SemanticModel, alias: str) -> exp.Expr:
        """The version of a slowly changing dimension each row reads, as MetricFlow joins it: the measure's time (at
        its dimension's grain) at or after the window's start and before its end (or the end is NULL)."""
        assert target.validity is not None
        if self.measure is None or before != self.alias:
            why = "a query without metrics" if self.measure is None else "a join through another semantic model"
            raise CompileError(
                f"Semantic model '{target.name}' is a slowly changing dimension, joined at the time of each row of a "
                f"metric's semantic model; {why} has no such time. Join it directly from a metric's semantic model.",
                target.where.path,
                target.where.line,
            )
        agg_time = self.sem.agg_time(self.model, self.measure, self.metric)
        time = truncate(qualify(agg_time.sql, self.alias), agg_time.granularity or "day")
        start, end = (qualify(d.sql, alias) for d in target.validity)
        in_window = exp.or_(exp.LT(this=time.copy(), expression=end), exp.Is(this=end.copy(), expression=exp.Null()))
        return exp.and_(exp.GTE(this=time, expression=start), exp.Paren(this=in_window), copy=False)

    def dimension(self, name: str, what: str) -> exp.Expr:
        """A dimension's expression over these rows, adding the joins it needs (one per entity on its path)."""
        try:
            ref = self.sem.dimension(self.model, name, self.metric, what)
        except CompileError:
            found = self.sem.metric_dimension(self.model, name)
            if found is None:
                raise
            raise CompileError(
                f"{what} uses '{name}', Metric('{found[1].name}') per {found[0].name}, which MetricFlow reads in "
                f"filters only: write it in --where or a filter ({{{{ Metric('{found[1].name}', "
                f"group_by=['{found[0].name}']) }}}} > 100)."
            ) from None
        alias = self.alias
        for depth, (entity, target) in enumerate(ref.path):
            key = tuple(hop[0].name for hop in ref.path[: depth + 1])
            if key not in self.paths:
                taken = {self.alias, *self.joins}
                fresh = target.name if target.name not in taken else f"{target.name}_{'_'.join(key)}"
                self.paths[key] = fresh
                self.joins[fresh] = (alias, entity, target)
            alias = self.paths[key]
        value = qualify(ref.sql, alias)
        if ref.date_part:
            return date_part(value, ref.date_part)
        return period(self.sem, value, ref.grain, self.metric) if ref.grain else value

    def time_groups(self, groups: Sequence[Group], measure: str) -> dict[str, str]:
        """Group-bys naming ``measure``'s own agg time dimension at a grain (``order__ordered_at__month``), column ->
        grain. MetricFlow reads them as metric time: the period of a cumulative value's day, or of a row's time
        after an offset, not of the row's own time."""
        found = {}
        for group in groups:
            grain = self.sem.agg_time_grain(self.model, measure, group.name, self.metric) if group.name else None
            if grain is not None:
                found[group.column] = grain
        return found

    def value(self, name: str, what: str) -> exp.Expr:
        """A name in a filter over these rows: a dimension or entity, or a metric per entity (``customer__revenue``,
        as ``Metric('revenue', group_by=['customer'])`` renders)."""
        found = None
        try:
            self.sem.dimension(self.model, name, self.metric, what)
        except CompileError:
            found = self.sem.metric_dimension(self.model, name)
        if found is None:
            return self.dimension(name, what)
        return self._metric_value(name, found[1], what)

    def _metric_value(self, name: str, metric: Metric, what: str) -> exp.Expr:
        """A metric per entity as a value of these rows: the metric's query grouped by the entity, left-joined on
        it (rows whose entity has no value get NULL, which fails any comparison), as MetricFlow does."""
        entity = name.rpartition("__")[0]
        if self.metric_table is None:
            owner = f"metric '{self.metric.name}'" if self.metric else "this query"
            kind = f", a {self.metric.type} metric" if self.metric else ""
            raise CompileError(
                f"{what} uses Metric('{metric.name}'), which Northstar supports in filters of simple, ratio, derived "
                f"and cumulative metrics and --where, not in {owner}{kind}.",
                *((self.metric.where.path, self.metric.where.line) if self.metric else (None, None)),
            )
        alias = f"{entity}__{metric.name}".replace("__", "_")
        if alias not in self.metric_joins:
            key = self.dimension(entity, what)
            entity_name = entity.rpartition("__")[2]
            self.metric_joins[alias] = (key, self.metric_table(metric.name, entity_name), entity_name)
        return exp.column(metric.name, alias)

    def time(self, measure: str) -> exp.Expr:
        dimension = self.sem.agg_time(self.model, measure, self.metric)
        return qualify(dimension.sql, self.alias)

    def condition(self, condition: exp.Expr, measure: str, what: str) -> exp.Expr:
        """Replace the dimension names of a parsed condition by their expressions over these rows."""

        def swap(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Column) and not node.table:
                name = node.name
                if (
                    name.startswith("metric_time__extract_")
                    and name.removeprefix("metric_time__extract_") in DATE_PARTS
                ):
                    return date_part(self.time(measure), name.removeprefix("metric_time__extract_"))
                if name == "metric_time" or name.startswith("metric_time__"):
                    grain = name.removeprefix("metric_time").removeprefix("__") or None
                    grains = (*TIME_GRAINS, *self.sem.custom_grains)
                    if grain is not None and grain not in grains:
                        raise ProjectError(f"{what} uses '{name}': unknown grain. Valid: {', '.join(grains)}.")
                    time = self.time(measure)
                    return period(self.sem, time, grain, self.metric) if grain else time
                return self.value(name, what)
            return node

        return condition.copy().transform(swap)

    def filters(self, filters: tuple[Filter, ...], measure: str) -> list[exp.Expr]:
        what = f"The filter of metric '{self.metric.name}'" if self.metric else "A filter"
        conditions = []
        for written in dict.fromkeys(filters):
            try:
                parsed = written.condition()
            except ProjectError as error:
                where = self.metric.where if self.metric else None
                raise CompileError(
                    error.message, where.path if where else None, where.line if where else None
                ) from None
            conditions.append(self.condition(parsed, measure, what))
        return conditions


def date_range(time: exp.Expr, start: date | None, end: date | None, shift: Window | None = None) -> list[exp.Expr]:
    """Row conditions keeping ``start <= time < end + 1 day`` (both dates inclusive)."""
    value = exp.Add(this=time, expression=interval(shift)) if shift else time
    out: list[exp.Expr] = []
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


def order_limit(expression: exp.Select, c: Compiled) -> exp.Select:
    """The last pass of every query: ORDER BY (the group-by columns unless --order says otherwise) and LIMIT."""
    names = list(expression.named_selects)
    order = []
    for item in c.request.order or tuple(g.column for g in c.groups):
        descending = item.startswith("-")
        name = item.lstrip("-").strip()
        if name in TIME_GRAINS:
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
