"""Metrics "as of each period's end, over a trailing window": ``coverage`` and ``pyramid``.

Growth teams look at the customer base as it stands at the end of each month: who was active in the 12 months
before it, which product lines each of them bought in those 12 months, how many bought twice. Neither a period's own
rows (simple metrics) nor a running total (cumulative metrics) say that: an entity counts in a period when its rows
fall in the window *ending* with that period, whatever period they happened in.

Both types start from a spine of periods (every period between the first and the last row, gaps included) and join
each measure's *event rows* (:func:`northstar.metrics.growth.event_rows`) to every period whose window holds them:

- ``coverage`` (one value per period and category, so ratio and derived metrics can use it): of the entities with a
  ``base`` row in the window (active customers), the share with a ``measure`` row in it (``penetration``) or without
  one (``white_space``), per category of the measure's rows (``--by product_line``). Every category is paired with
  every active entity, so a product line a customer never bought is a pair too.
- ``pyramid`` (its own columns, one per level): the number of entities per level, each level a measure over its own
  window with an optional test: ``min`` (e.g. at least 2 orders) or ``top_share`` (the fewest entities bringing 70%
  of the total).

>>> print(compile_request(sem, Request(("customer_base",), by=("month",))))   # doctest: +SKIP
WITH customer_base_periods AS (
  /* customer_base: every month from the first to the last row of the levels */
  ...
"""

from __future__ import annotations

from sqlglot import exp

from northstar.errors import ProjectError
from northstar.metrics.builders import (
    aggregate,
    and_all,
    date_range,
    interval,
    order_limit,
    period_series,
    truncate,
)
from northstar.metrics.growth import Cte, event_rows
from northstar.metrics.plan import Compiled, Group, Leaf
from northstar.metrics.resolve import Semantics
from northstar.metrics.spec import (
    GRAINS,
    CoverageParams,
    Metric,
    PyramidLevel,
    PyramidParams,
    SemanticModel,
    Window,
)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table)


def _numbered(count: int) -> list[exp.Expr]:
    return [exp.Literal.number(i + 1) for i in range(count)]


def _time(c: Compiled, metric: Metric) -> Group:
    """The request's time grain: these metrics exist only as of the end of a period."""
    time = next((g for g in c.groups if g.is_time), None)
    if time is None:
        raise ProjectError(
            f"'{metric.name}' is a {metric.type} metric, counted as of the end of each period: add a time grain, "
            "e.g. --by month."
        )
    return time


def _window(event_at: exp.Expr, period: exp.Expr, grain: str, window: Window | None) -> exp.Expr:
    """The event falls in the window ending with the period: ``end - window <= event_at < end``."""
    end = exp.Add(this=period, expression=interval(Window(1, grain)))
    conditions: list[exp.Expr] = [exp.LT(this=event_at, expression=end)]
    if window is not None:
        conditions.append(
            exp.GTE(this=event_at.copy(), expression=exp.Sub(this=end.copy(), expression=interval(window)))
        )
    condition = and_all(conditions)
    assert condition is not None
    return condition


def _periods(c: Compiled, grain: str, sources: list[str]) -> exp.Select:
    """Every period from the first to the last event of ``sources`` (CTE names), within --start/--end."""
    events: exp.Expr = exp.select(_col("event_at"), copy=False).from_(sources[0], copy=False)
    for source in sources[1:]:
        events = exp.union(
            events, exp.select(_col("event_at"), copy=False).from_(source, copy=False), distinct=False, copy=False
        )
    spine = exp.select(period_series(truncate(_col("event_at"), grain), grain, "period"), copy=False).from_(
        exp.Subquery(this=events, alias=exp.TableAlias(this=exp.to_identifier("events"))), copy=False
    )
    periods = exp.select(_col("period"), copy=False).from_(spine.subquery("spine"), copy=False)
    conditions = date_range(_col("period"), c.request.start, c.request.end)
    if conditions:
        periods = periods.where(and_all(conditions), copy=False)
    return periods


def _reaches(sem: Semantics, model: SemanticModel, name: str) -> bool:
    """Whether ``name`` (a dimension, entity or time dimension with a grain) is usable with ``model``'s rows."""
    names = sem.available(model)
    head, _, tail = name.rpartition("__")
    return name in names or bool(head) and tail in GRAINS and head in names


# -- coverage ----------------------------------------------------------------------------------------------------


def coverage(c: Compiled, leaf: Leaf, name: str, metric: Metric, p: CoverageParams) -> list[Cte]:
    """The CTEs of a coverage leaf; the last one, ``name``, has the time column, the categories and the value."""
    time = _time(c, metric)
    grain = time.grain or p.grain
    dims = [g for g in c.groups if not g.is_time]
    sem = c.sem
    base_model = sem.model_of(p.base.name, metric)
    # --by and --where pick categories of the measure's rows; the population (the base) is never split, so a name
    # the base rows also have would be ambiguous: refuse it rather than guess.
    names = [(g.name or "", "--by") for g in dims]
    if c.where is not None:
        names += [
            (column.name, "--where")
            for column in c.where.find_all(exp.Column)
            if not column.table and not column.name.startswith("metric_time")
        ]
    for used, option in names:
        if _reaches(sem, base_model, used):
            raise ProjectError(
                f"{option} {used}: '{metric.name}' is a coverage metric, whose {option} picks categories of the "
                f"'{p.measure.name}' rows; '{used}' is also a dimension of its population ('{p.base.name}' rows), "
                "which coverage metrics do not split. Use a dimension of the measure's own rows, e.g. product_line."
            )
    base = event_rows(c, metric, p.base, p.entity, leaf.filters)
    activity = event_rows(c, metric, p.measure, p.entity, leaf.filters, dims, where=True)
    periods = _periods(c, grain, [f"{name}_base"])
    not_null = exp.Not(this=exp.Is(this=_col("entity", "base"), expression=exp.Null()))
    active = (
        exp.select(_col("period", "periods"), _col("entity", "base"), copy=False)
        .distinct(copy=False)
        .from_(exp.table_(f"{name}_periods").as_("periods"), copy=False)
        .join(
            exp.table_(f"{name}_base").as_("base"),
            on=_window(_col("event_at", "base"), _col("period", "periods"), grain, p.window),
            join_type="inner",
            copy=False,
        )
        .where(not_null, copy=False)
    )
    covered = (
        exp.select(
            _col("period", "periods"),
            _col("entity", "activity"),
            *[_col(g.column, "activity") for g in dims],
            copy=False,
        )
        .distinct(copy=False)
        .from_(exp.table_(f"{name}_periods").as_("periods"), copy=False)
        .join(
            exp.table_(f"{name}_activity").as_("activity"),
            on=_window(_col("event_at", "activity"), _col("period", "periods"), grain, p.window),
            join_type="inner",
            copy=False,
        )
    )
    on: list[exp.Expr] = [
        exp.EQ(this=_col("period", "covered"), expression=_col("period", "active")),
        exp.EQ(this=_col("entity", "covered"), expression=_col("entity", "active")),
    ]
    on += [exp.NullSafeEQ(this=_col(g.column, "covered"), expression=_col(g.column, "categories")) for g in dims]
    share = exp.Div(
        this=exp.Cast(this=exp.Count(this=_col("entity", "covered")), to=exp.DataType(this=exp.DataType.Type.DOUBLE)),
        expression=exp.Count(this=exp.Star()),
    )
    value = share if p.calculation == "penetration" else exp.Sub(this=exp.Literal.number(1), expression=share)
    keys = [exp.alias_(_col("period", "active"), time.column, copy=False)]
    keys += [exp.alias_(_col(g.column, "categories"), g.column, copy=False) for g in dims]
    body = exp.select(*keys, exp.alias_(value, name, copy=False), copy=False).from_(
        exp.table_(f"{name}_active").as_("active"), copy=False
    )
    if dims:
        body = body.join(exp.table_(f"{name}_categories").as_("categories"), join_type="cross", copy=False)
    body = body.join(
        exp.table_(f"{name}_covered").as_("covered"), on=and_all(on), join_type="left", copy=False
    ).group_by(*_numbered(len(keys)), copy=False)
    span = f"the {p.window} up to" if p.window else "all time up to"
    ctes: list[Cte] = [
        (f"{name}_base", base, f"{name}: the {p.base.name} rows, which make a {p.entity} active"),
        (f"{name}_activity", activity, f"{name}: the {p.measure.name} rows"),
        (f"{name}_periods", periods, f"{name}: every {grain} from the first to the last {p.base.name} row"),
        (f"{name}_active", active, f"{name}: the {p.entity}s active in {span} the end of each {grain}"),
        (
            f"{name}_covered",
            covered,
            f"{name}: the {p.entity}s with {p.measure.name} in {span} the end of each {grain}"
            + (f", per {', '.join(g.column for g in dims)}" if dims else ""),
        ),
    ]
    if dims:
        categories = (
            exp.select(*[_col(g.column) for g in dims], copy=False)
            .distinct(copy=False)
            .from_(f"{name}_activity", copy=False)
        )
        ctes.append((f"{name}_categories", categories, f"{name}: every {', '.join(g.column for g in dims)}"))
    what = "with" if p.calculation == "penetration" else "without"
    per = f" and {', '.join(g.column for g in dims)}" if dims else ""
    ctes.append((name, body, f"{name}: share of active {p.entity}s {what} {p.measure.name}, per {grain}{per}"))
    return ctes


# -- pyramid -----------------------------------------------------------------------------------------------------


def pyramid_query(c: Compiled) -> exp.Select:
    """The query of a pyramid metric: one row per period, a column per level."""
    metric = c.metrics[0]
    p = metric.params
    assert isinstance(p, PyramidParams)
    extra = [g.column for g in c.groups if not g.is_time]
    if extra:
        raise ProjectError(
            f"--by {extra[0]}: '{metric.name}' is a pyramid metric, one row per period with a column per level; "
            "it takes a time grain only (e.g. --by month). Narrow it with --where instead."
        )
    time = _time(c, metric)
    grain = time.grain or p.grain
    name = metric.name
    filters = (metric.filter,) if metric.filter else ()
    ctes: list[Cte] = []
    for level in p.levels:
        rows = event_rows(c, metric, level.measure, p.entity, filters, where=True)
        ctes.append((f"{name}_{level.name}_rows", rows, f"{name}: the {level.measure.name} rows of level {level.name}"))
    sources = [f"{name}_{level.name}_rows" for level in p.levels]
    ctes.append((f"{name}_periods", _periods(c, grain, sources), f"{name}: every {grain} from the first row on"))
    final = exp.select(exp.alias_(_col("period", "periods"), time.column, copy=False), copy=False).from_(
        exp.table_(f"{name}_periods").as_("periods"), copy=False
    )
    for level, source in zip(p.levels, sources, strict=True):
        ctes += _level(c, metric, p.entity, level, source, grain)
        final = final.select(
            exp.alias_(
                exp.func("coalesce", _col("entities", level.name), exp.Literal.number(0)), level.name, copy=False
            ),
            copy=False,
        ).join(
            exp.table_(f"{name}_{level.name}").as_(level.name),
            on=exp.EQ(this=_col("period", level.name), expression=_col("period", "periods")),
            join_type="left",
            copy=False,
        )
    for cte_name, body, comment in ctes:
        body.add_comments([comment])
        final = final.with_(cte_name, as_=body, copy=False)
    return order_limit(final, c)


def _level(c: Compiled, metric: Metric, entity: str, level: PyramidLevel, source: str, grain: str) -> list[Cte]:
    """The entities of one level per period (``<metric>_<level>_entities``) and their count (``<metric>_<level>``)."""
    measure = c.sem.model_of(level.measure.name, metric).measure(level.measure.name)
    assert measure is not None
    name = f"{metric.name}_{level.name}"
    per_entity = (
        exp.select(
            _col("period", "periods"),
            _col("entity", "events"),
            exp.alias_(aggregate(measure, _col("value", "events")), "value", copy=False),
            copy=False,
        )
        .from_(exp.table_(f"{metric.name}_periods").as_("periods"), copy=False)
        .join(
            exp.table_(source).as_("events"),
            on=_window(_col("event_at", "events"), _col("period", "periods"), grain, level.window),
            join_type="inner",
            copy=False,
        )
        .where(exp.Not(this=exp.Is(this=_col("entity", "events"), expression=exp.Null())), copy=False)
        .group_by(*_numbered(2), copy=False)
    )
    span = f"the {level.window} up to" if level.window else "all time up to"
    count = exp.alias_(exp.Count(this=exp.Star()), "entities", copy=False)
    entities = f"{name}_entities"
    if level.top_share is not None:
        # Rank each period's entities by value (ties by entity, so the count is deterministic); an entity is
        # needed while the ones ranked before it bring less than the share of the total.
        order = exp.Order(
            expressions=[exp.Ordered(this=_col("value"), desc=True), exp.Ordered(this=_col("entity"), desc=False)]
        )
        running = exp.Window(this=exp.Sum(this=_col("value")), partition_by=[_col("period")], order=order)
        total = exp.Window(this=exp.Sum(this=_col("value")), partition_by=[_col("period")])
        ranked = (
            exp.select(
                _col("period"),
                exp.alias_(exp.Sub(this=running, expression=_col("value")), "before", copy=False),
                exp.alias_(total, "total", copy=False),
                copy=False,
            )
            .from_(entities, copy=False)
            .where(exp.GT(this=_col("value"), expression=exp.Literal.number(0)), copy=False)
        )
        needed = exp.LT(
            this=_col("before"),
            expression=exp.Mul(this=exp.Literal.number(level.top_share), expression=_col("total")),
        )
        body = (
            exp.select(_col("period"), count, copy=False)
            .from_(ranked.subquery("ranked"), copy=False)
            .where(needed, copy=False)
            .group_by(exp.Literal.number(1), copy=False)
        )
        test = f"the fewest bringing {level.top_share:g} of the total {measure.name}"
    else:
        body = exp.select(_col("period"), count, copy=False).from_(entities, copy=False)
        test = f"with {measure.name}"
        if level.min is not None:
            body = body.where(exp.GTE(this=_col("value"), expression=exp.Literal.number(level.min)), copy=False)
            test = f"with {measure.name} of at least {level.min:g}"
        body = body.group_by(exp.Literal.number(1), copy=False)
    return [
        (
            entities,
            per_entity,
            f"{metric.name}: {measure.agg} of {measure.expr} per {entity} in {span} the end of each {grain}",
        ),
        (name, body, f"{metric.name}: level {level.name}, the {entity}s {test}"),
    ]
