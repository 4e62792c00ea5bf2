"""The metric types growth teams need beyond MetricFlow: cohort, retention, funnel and uplift (and conversion).

Cohort, retention and conversion metrics give one value per period (and dimensions), so they are *leaves* of the
main compiler: :func:`leaf_select` returns the CTEs computing them, and ratio or derived metrics can combine them
with others (LTV:CAC divides a cohort metric by simple ones). Funnels and uplifts have output columns of their own
(a count per step; treatment, control and a confidence interval) and are whole queries: :func:`growth_query`.

Every type reads *event rows* of a measure: the rows of its semantic model that the measure counts (its
expression is not NULL; for ``sum_boolean``, true), each with the entity, the measure's time and its value.
"""

from __future__ import annotations

from statistics import NormalDist

from sqlglot import exp

from northstar.errors import CompileError, ProjectError
from northstar.metrics.builders import (
    Rows,
    aggregate,
    and_all,
    date_range,
    interval,
    order_limit,
    qualify,
    row_ids,
    truncate,
)
from northstar.metrics.plan import Compiled, Group, Leaf
from northstar.metrics.spec import (
    CohortParams,
    ConversionParams,
    Filter,
    FunnelParams,
    MeasureInput,
    Metric,
    RetentionParams,
    UpliftParams,
    Window,
)

COHORT_AGE = "cohort_age"

Cte = tuple[str, exp.Select, str]  # (name, body, comment)


def _time_group(c: Compiled, default: str) -> tuple[Group | None, str]:
    group = next((g for g in c.groups if g.grain is not None), None)
    return group, group.grain if group and group.grain else default


def _dims(c: Compiled) -> list[Group]:
    return [g for g in c.groups if not g.is_time and g.name != COHORT_AGE]


def event_rows(
    c: Compiled,
    metric: Metric,
    item: MeasureInput,
    entity: str,
    filters: tuple[Filter, ...] = (),
    dims: list[Group] | None = None,
    where: bool = False,
    extra: tuple[tuple[str, str], ...] = (),
    every_row: bool = False,
) -> exp.Select:
    """SELECT entity, at, value[, dims][, extra] over the rows a measure counts, with filters (and ``--where``).

    ``extra`` adds dimensions by name under an alias; ``every_row`` keeps rows whose value is NULL too (a conversion
    metric pairs events whatever their value, as MetricFlow does)."""
    sem = c.sem
    model = sem.model_of(item.name, metric)
    measure = model.measure(item.name)
    entity_def = model.entity(entity)
    assert measure is not None and entity_def is not None
    rows = Rows(sem, model, metric, measure=item.name)
    value = qualify(measure.sql, rows.alias)
    columns = [
        exp.alias_(qualify(entity_def.sql, rows.alias), "entity", copy=False),
        exp.alias_(rows.time(item.name), "event_at", copy=False),
        exp.alias_(value, "value", copy=False),
    ]
    columns += [exp.alias_(rows.dimension(g.dimension, "--by"), g.column, copy=False) for g in dims or []]
    what = f"The constant_properties of metric '{metric.name}'"
    columns += [exp.alias_(rows.dimension(dimension, what), alias, copy=False) for dimension, alias in extra]
    texts = (*filters, item.filter) if item.filter else filters
    conditions = rows.filters(texts, item.name)
    if where and c.where is not None:
        conditions.append(rows.condition(c.where, item.name, "--where"))
    counted = (
        value.copy() if measure.agg == "sum_boolean" else exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null()))
    )
    if not every_row:
        conditions.append(counted)
    select = rows.source().select(*columns, copy=False)
    return select.where(and_all(conditions), copy=False)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table)


def _per_member(numerator: exp.Expr, members: exp.Expr) -> exp.Expr:
    return exp.Div(
        this=exp.Cast(this=numerator, to=exp.DataType(this=exp.DataType.Type.DOUBLE)),
        expression=exp.func("nullif", members, exp.Literal.number(0)),
    )


# -- leaves ------------------------------------------------------------------------------------------------------


def leaf_select(c: Compiled, leaf: Leaf, name: str, metric: Metric) -> list[Cte]:
    """The CTEs computing a cohort, retention or conversion leaf; the last one is named ``name``."""
    p = leaf.special
    if any(g.name == COHORT_AGE for g in c.groups) and not isinstance(p, CohortParams):
        raise ProjectError(f"--by {COHORT_AGE} only applies to cohort metrics; '{metric.name}' is a {metric.type}.")
    if leaf.offset is not None:
        raise CompileError(
            f"offset_window on '{metric.name}', a {metric.type} metric, is not supported.",
            metric.where.path,
            metric.where.line,
        )
    if isinstance(p, CohortParams):
        return _cohort(c, leaf, name, metric, p)
    if isinstance(p, RetentionParams):
        return _retention(c, leaf, name, metric, p)
    if isinstance(p, ConversionParams):
        return _conversion(c, leaf, name, metric, p)
    raise AssertionError(p)  # pragma: no cover


def _cohort(c: Compiled, leaf: Leaf, name: str, metric: Metric, p: CohortParams) -> list[Cte]:
    time, grain = _time_group(c, p.grain)
    dims = _dims(c)
    age = next((g for g in c.groups if g.name == COHORT_AGE), None)
    first = event_rows(c, metric, p.first_event, p.entity, leaf.filters, dims, where=True).subquery("events")
    dim_cols = [_col(g.column, "events") for g in dims]
    partition = ([truncate(exp.Min(this=_col("event_at", "events")), grain)] if time else []) + [
        d.copy() for d in dim_cols
    ]
    size = (
        exp.Window(this=exp.Count(this=exp.Star()), partition_by=partition)
        if partition
        else exp.Window(this=exp.Count(this=exp.Star()))
    )
    members = (
        exp.select(
            _col("entity", "events"),
            *dim_cols,
            exp.alias_(exp.Min(this=_col("event_at", "events")), "first_at", copy=False),
            copy=False,
        )
        .select(exp.alias_(size, "cohort_size", copy=False), copy=False)
        .from_(first, copy=False)
        .group_by(_col("entity", "events"), *[d.copy() for d in dim_cols], copy=False)
    )
    outcomes = event_rows(c, metric, p.measure, p.entity)
    model = c.sem.model_of(p.measure.name, metric)
    measure = model.measure(p.measure.name)
    assert measure is not None
    on = [
        exp.EQ(this=_col("entity", "outcomes"), expression=_col("entity", "members")),
        exp.GTE(this=_col("event_at", "outcomes"), expression=_col("first_at", "members")),
    ]
    if p.horizon is not None:
        on.append(
            exp.LT(
                this=_col("event_at", "outcomes"),
                expression=exp.Add(this=_col("first_at", "members"), expression=interval(p.horizon)),
            )
        )
    selects: list[exp.Expr] = []
    keys: list[exp.Expr] = []
    if time:
        keys.append(exp.alias_(truncate(_col("first_at", "members"), grain), time.column, copy=False))
    keys += [exp.alias_(_col(g.column, "members"), g.column, copy=False) for g in dims]
    if age:
        months = exp.DateDiff(
            this=truncate(_col("event_at", "outcomes"), grain),
            expression=truncate(_col("first_at", "members"), grain),
            unit=exp.var(grain.upper()),
        )
        keys.append(exp.alias_(months, COHORT_AGE, copy=False))
    total = exp.func("coalesce", aggregate(measure, _col("value", "outcomes")), exp.Literal.number(0))
    value = total if p.calculation == "total" else _per_member(total, exp.Max(this=_col("cohort_size", "members")))
    selects = [*keys, exp.alias_(value, name, copy=False)]
    body = (
        exp.select(*selects, copy=False)
        .from_(exp.table_(f"{name}_members").as_("members"), copy=False)
        .join(exp.table_(f"{name}_outcomes").as_("outcomes"), on=and_all(on), join_type="left", copy=False)
    )
    conditions = date_range(_col("first_at", "members"), c.request.start, c.request.end)
    if age:
        conditions.append(exp.Not(this=exp.Is(this=_col("entity", "outcomes"), expression=exp.Null())))
    if conditions:
        body = body.where(and_all(conditions), copy=False)
    if keys:
        body = body.group_by(*[exp.Literal.number(i + 1) for i in range(len(keys))], copy=False)
    horizon = f" within {p.horizon} of" if p.horizon else " after"
    how = "per member" if p.calculation == "per_member" else "in total"
    return [
        (
            f"{name}_members",
            members,
            f"{name}: each {p.entity}'s first {p.first_event.name} (the cohort) and cohort size",
        ),
        (f"{name}_outcomes", outcomes, f"{name}: the {p.measure.name} rows of every {p.entity}"),
        (
            name,
            body,
            f"{name}: {measure.agg} of {measure.expr}{horizon} the first {p.first_event.name}, {how}, by cohort "
            f"{grain}{' and age' if age else ''}",
        ),
    ]


def _retention(c: Compiled, leaf: Leaf, name: str, metric: Metric, p: RetentionParams) -> list[Cte]:
    time, grain = _time_group(c, p.grain)
    dims = _dims(c)
    rows = event_rows(c, metric, p.activity, p.entity, leaf.filters, dims, where=True).subquery("events")
    active = (
        exp.select(
            _col("entity", "events"),
            exp.alias_(truncate(_col("event_at", "events"), grain), "period", copy=False),
            *[_col(g.column, "events") for g in dims],
            copy=False,
        )
        .from_(rows, copy=False)
        .distinct(copy=False)
    )
    step = interval(Window(1, grain))
    next_period = exp.Cast(
        this=exp.Add(this=_col("period", "prev"), expression=step.copy()), to=exp.DataType(this=exp.DataType.Type.DATE)
    )
    kept = exp.Div(
        this=exp.Cast(this=exp.Count(this=_col("entity", "curr")), to=exp.DataType(this=exp.DataType.Type.DOUBLE)),
        expression=exp.Count(this=exp.Star()),
    )
    value = kept if p.calculation == "retention" else exp.Sub(this=exp.Literal.number(1), expression=kept)
    keys = ([exp.alias_(next_period, time.column, copy=False)] if time else []) + [
        exp.alias_(_col(g.column, "prev"), g.column, copy=False) for g in dims
    ]
    last = exp.select(exp.Max(this=_col("period")), copy=False).from_(f"{name}_active", copy=False).subquery()
    conditions: list[exp.Expr] = [exp.LT(this=_col("period", "prev"), expression=last)]
    conditions += date_range(next_period.copy(), c.request.start, c.request.end)
    body = (
        exp.select(*keys, exp.alias_(value, name, copy=False), copy=False)
        .from_(exp.table_(f"{name}_active").as_("prev"), copy=False)
        .join(
            exp.table_(f"{name}_active").as_("curr"),
            on=and_all(
                [
                    exp.EQ(this=_col("entity", "curr"), expression=_col("entity", "prev")),
                    exp.EQ(this=_col("period", "curr"), expression=next_period.copy()),
                ]
            ),
            join_type="left",
            copy=False,
        )
        .where(and_all(conditions), copy=False)
    )
    if keys:
        body = body.group_by(*[exp.Literal.number(i + 1) for i in range(len(keys))], copy=False)
    share = "still active" if p.calculation == "retention" else "no longer active"
    return [
        (f"{name}_active", active, f"{name}: which {p.entity} had {p.activity.name} in which {grain}"),
        (
            name,
            body,
            f"{name}: of the {p.entity}s active in a {grain}, the share {share} in the next (reported against "
            "the next)",
        ),
    ]


def _conversion(c: Compiled, leaf: Leaf, name: str, metric: Metric, p: ConversionParams) -> list[Cte]:
    """MetricFlow's conversion: every conversion event paired with the closest base event before it (same entity,
    within the window, equal constant properties), counted once in that base event's period and dimensions; the
    base measure aggregated as usual beside it."""
    time, grain = _time_group(c, "day")
    dims = _dims(c)
    base_props = tuple((pair.base_property, f"property_{i}") for i, pair in enumerate(p.constant_properties))
    conversion_props = tuple(
        (pair.conversion_property, f"property_{i}") for i, pair in enumerate(p.constant_properties)
    )
    base = event_rows(
        c, metric, p.base_measure, p.entity, leaf.filters, dims, where=True, extra=base_props, every_row=True
    )
    range_ = date_range(_col("event_at", "events"), c.request.start, c.request.end)
    if range_:  # --start/--end: base events in the range (conversions are paired with those)
        base = exp.select("*", copy=False).from_(base.subquery("events"), copy=False).where(and_all(range_))
    events = event_rows(c, metric, p.conversion_measure, p.entity, extra=conversion_props, every_row=True)
    conversions = exp.select(
        "*", exp.alias_(row_ids([_col("entity"), _col("event_at")]), "conversion_id", copy=False), copy=False
    ).from_(events.subquery("events"), copy=False)
    # Both times at their own dimension's grain, as MetricFlow compares them (a conversion on the base event's day
    # pairs with it); the window ends before base + window (a purchase exactly 7 days later is outside 7 days).
    base_at = truncate(_col("event_at", "base"), _grain_of(c, metric, p.base_measure))
    conversion_at = truncate(_col("event_at", "conversions"), _grain_of(c, metric, p.conversion_measure))
    on: list[exp.Expr] = [
        exp.EQ(this=_col("entity", "base"), expression=_col("entity", "conversions")),
        exp.LTE(this=base_at, expression=conversion_at),
    ]
    on += [exp.EQ(this=_col(alias, "base"), expression=_col(alias, "conversions")) for _, alias in base_props]
    if p.window is not None:
        on.append(
            exp.GT(this=base_at.copy(), expression=exp.Sub(this=conversion_at.copy(), expression=interval(p.window)))
        )
    keys: list[exp.Expr] = []
    if time:
        keys.append(exp.alias_(truncate(_col("event_at", "base"), grain), time.column, copy=False))
    keys += [exp.alias_(_col(g.column, "base"), g.column, copy=False) for g in dims]
    closest = exp.Window(
        this=exp.RowNumber(),
        partition_by=[_col("conversion_id", "conversions")],
        order=exp.Order(expressions=[exp.Ordered(this=base_at.copy(), desc=True)]),
    )
    pairs = (
        exp.select(*keys, exp.alias_(_col("value", "conversions"), "value", copy=False), copy=False)
        .select(exp.alias_(closest, "closest", copy=False), copy=False)
        .from_(exp.table_(f"{name}_base").as_("base"), copy=False)
        .join(exp.table_(f"{name}_events").as_("conversions"), on=and_all(on), join_type="inner", copy=False)
    )
    columns = [k.alias_or_name for k in keys]
    matched = (
        exp.select(*columns, "value", copy=False)
        .from_(pairs.subquery("pairs"), copy=False)
        .where(exp.EQ(this=_col("closest"), expression=exp.Literal.number(1)), copy=False)
    )
    return [
        (f"{name}_base", base, f"{name}: the {p.base_measure.name} rows (base events)"),
        (f"{name}_events", conversions, f"{name}: the {p.conversion_measure.name} rows (conversion events)"),
        (
            f"{name}_matched",
            matched,
            f"{name}: each conversion with the closest base event before it"
            + (f" within {p.window}" if p.window else ""),
        ),
        (name, _conversion_value(c, metric, p, name, columns, time), f"{name}: {p.calculation.replace('_', ' ')}"),
    ]


def _grain_of(c: Compiled, metric: Metric, item: MeasureInput) -> str:
    """The grain of a measure's time dimension, as declared (``time_granularity``)."""
    model = c.sem.model_of(item.name, metric)
    return c.sem.agg_time(model, item.name, metric).granularity or "day"


def _conversion_value(
    c: Compiled, metric: Metric, p: ConversionParams, name: str, columns: list[str], time: Group | None
) -> exp.Select:
    """The base measure per group beside the paired conversions per group (a full outer join, NULL groups equal),
    and the rate (or the conversions)."""
    sem = c.sem
    base_measure = sem.model_of(p.base_measure.name, metric).measure(p.base_measure.name)
    conversion_measure = sem.model_of(p.conversion_measure.name, metric).measure(p.conversion_measure.name)
    assert base_measure is not None and conversion_measure is not None
    base_keys: list[exp.Expr] = []
    if time is not None:
        base_keys.append(exp.alias_(truncate(_col("event_at"), time.grain or "day"), time.column, copy=False))
    base_keys += [_col(column) for column in columns if time is None or column != time.column]

    def per_group(source: str, measure_agg: exp.Expr, keys: list[exp.Expr]) -> exp.Select:
        select = exp.select(*keys, exp.alias_(measure_agg, "value", copy=False), copy=False).from_(source, copy=False)
        return select.group_by(*[exp.Literal.number(i + 1) for i in range(len(keys))], copy=False) if keys else select

    opportunities = per_group(f"{name}_base", aggregate(base_measure, _col("value")), base_keys)
    converted = per_group(f"{name}_matched", aggregate(conversion_measure, _col("value")), [_col(k) for k in columns])
    value: exp.Expr = _col("value", "conversions")
    if p.calculation == "conversion_rate":
        value = _per_member(value, _col("value", "base"))
    out = [exp.alias_(exp.func("coalesce", _col(k, "base"), _col(k, "conversions")), k, copy=False) for k in columns]
    body = exp.select(*out, exp.alias_(value, name, copy=False), copy=False).from_(
        opportunities.subquery("base"), copy=False
    )
    if not columns:
        return body.join(converted.subquery("conversions"), join_type="cross", copy=False)
    on = and_all([exp.NullSafeEQ(this=_col(k, "base"), expression=_col(k, "conversions")) for k in columns])
    return body.join(converted.subquery("conversions"), on=on, join_type="full outer", copy=False)


# -- whole queries -----------------------------------------------------------------------------------------------


def growth_query(c: Compiled) -> exp.Select:
    """The query of a funnel or uplift metric."""
    metric = c.metrics[0]
    if any(g.name == COHORT_AGE for g in c.groups):
        raise ProjectError(f"--by {COHORT_AGE} only applies to cohort metrics; '{metric.name}' is a {metric.type}.")
    p = metric.params
    if isinstance(p, FunnelParams):
        query = _funnel(c, metric, p)
    elif isinstance(p, UpliftParams):
        query = _uplift(c, metric, p)
    else:  # pragma: no cover
        raise AssertionError(p)
    return order_limit(query, c)


def _with(query: exp.Select, ctes: list[Cte]) -> exp.Select:
    for name, body, comment in ctes:
        body.add_comments([comment])
        query = query.with_(name, as_=body, copy=False)
    return query


def _funnel(c: Compiled, metric: Metric, p: FunnelParams) -> exp.Select:
    time, grain = _time_group(c, p.grain)
    dims = _dims(c)
    filters = (metric.filter,) if metric.filter else ()
    ctes: list[Cte] = []
    first = p.steps[0]
    rows = event_rows(c, metric, first.measure, p.entity, filters, dims, where=True).subquery("events")
    keys = [_col("entity", "events"), exp.alias_(truncate(_col("event_at", "events"), grain), "period", copy=False)]
    keys += [_col(g.column, "events") for g in dims]
    step_1 = (
        exp.select(*keys, exp.alias_(exp.Min(this=_col("event_at", "events")), "event_at", copy=False), copy=False)
        # Numbered in the order of the group's keys, so the numbering is the same on every engine (Spark requires it).
        .select(
            exp.alias_(row_ids([k.this if isinstance(k, exp.Alias) else k for k in keys]), "journey_id", copy=False),
            copy=False,
        )
        .from_(rows, copy=False)
        .group_by(*[exp.Literal.number(i + 1) for i in range(len(keys))], copy=False)
    )
    conditions = date_range(_col("event_at", "events"), c.request.start, c.request.end)
    if conditions:
        step_1 = step_1.where(and_all(conditions), copy=False)
    names = [f"{metric.name}_{step.name}" for step in p.steps]
    ctes.append((names[0], step_1, f"{metric.name}: step 1, '{first.name}': each {p.entity}'s first per {grain}"))
    for i, step in enumerate(p.steps[1:], start=1):
        later = event_rows(c, metric, step.measure, p.entity, filters).subquery("events")
        on = [
            exp.EQ(this=_col("entity", "events"), expression=_col("entity", "previous")),
            exp.GTE(this=_col("event_at", "events"), expression=_col("event_at", "previous")),
        ]
        if step.window is not None:
            on.append(
                exp.LTE(
                    this=_col("event_at", "events"),
                    expression=exp.Add(this=_col("event_at", "previous"), expression=interval(step.window)),
                )
            )
        body = (
            exp.select(
                _col("journey_id", "previous"),
                _col("entity", "previous"),
                exp.alias_(exp.Min(this=_col("event_at", "events")), "event_at", copy=False),
                copy=False,
            )
            .from_(exp.table_(names[i - 1]).as_("previous"), copy=False)
            .join(later, on=and_all(on), join_type="inner", copy=False)
            .group_by(exp.Literal.number(1), exp.Literal.number(2), copy=False)
        )
        within = f"within {step.window} of" if step.window else "after"
        ctes.append((names[i], body, f"{metric.name}: step {i + 1}, '{step.name}', {within} step {i}"))
    out: list[exp.Expr] = []
    if time:
        out.append(exp.alias_(_col("period", names[0]), time.column, copy=False))
    out += [exp.alias_(_col(g.column, names[0]), g.column, copy=False) for g in dims]
    counts = [exp.Count(this=_col("journey_id", n)) for n in names]
    selects = [exp.alias_(counts[0].copy(), p.steps[0].name, copy=False)]
    for i, step in enumerate(p.steps[1:], start=1):
        selects.append(exp.alias_(counts[i].copy(), step.name, copy=False))
        selects.append(exp.alias_(_per_member(counts[i].copy(), counts[i - 1].copy()), f"{step.name}_rate", copy=False))
    selects.append(exp.alias_(_per_member(counts[-1].copy(), counts[0].copy()), metric.name, copy=False))
    query = exp.select(*out, *selects, copy=False).from_(names[0], copy=False)
    for n in names[1:]:
        query = query.join(n, using=["journey_id"], join_type="left", copy=False)
    if out:
        query = query.group_by(*[exp.Literal.number(i + 1) for i in range(len(out))], copy=False)
    return _with(query, ctes)


def _uplift(c: Compiled, metric: Metric, p: UpliftParams) -> exp.Select:
    time, grain = _time_group(c, "month")
    dims = _dims(c)
    sem = c.sem
    filters = (metric.filter,) if metric.filter else ()
    model = sem.model_of(p.exposure.name, metric)
    rows = Rows(sem, model, metric, measure=p.exposure.name)
    entity = model.entity(p.entity)
    assert entity is not None
    arm = rows.dimension(p.group, f"Uplift metric '{metric.name}' (group)")
    exposed_at = rows.time(p.exposure.name)
    columns = [
        exp.alias_(row_ids([qualify(entity.sql, rows.alias), exposed_at, arm]), "member_id", copy=False),
        exp.alias_(qualify(entity.sql, rows.alias), "entity", copy=False),
        exp.alias_(exposed_at, "exposed_at", copy=False),
        exp.alias_(arm, "arm", copy=False),
        *[exp.alias_(rows.dimension(g.dimension, "--by"), g.column, copy=False) for g in dims],
    ]
    conditions = rows.filters((*filters, p.exposure.filter) if p.exposure.filter else filters, p.exposure.name)
    if c.where is not None:
        conditions.append(rows.condition(c.where, p.exposure.name, "--where"))
    conditions.append(
        exp.In(this=arm.copy(), expressions=[exp.Literal.string(p.treatment), exp.Literal.string(p.control)])
    )
    conditions += date_range(exposed_at.copy(), c.request.start, c.request.end)
    members = rows.source().select(*columns, copy=False).where(and_all(conditions), copy=False)
    outcomes = event_rows(c, metric, p.outcome, p.entity)
    outcome_model = sem.model_of(p.outcome.name, metric)
    measure = outcome_model.measure(p.outcome.name)
    assert measure is not None
    name = metric.name
    keys = [_col("member_id", "members"), _col("arm", "members"), _col("exposed_at", "members")]
    keys += [_col(g.column, "members") for g in dims]
    on = [
        exp.EQ(this=_col("entity", "outcomes"), expression=_col("entity", "members")),
        exp.GTE(this=_col("event_at", "outcomes"), expression=_col("exposed_at", "members")),
        exp.LT(
            this=_col("event_at", "outcomes"),
            expression=exp.Add(this=_col("exposed_at", "members"), expression=interval(p.window)),
        ),
    ]
    per_member = (
        exp.select(
            *keys,
            exp.alias_(
                exp.func("coalesce", aggregate(measure, _col("value", "outcomes")), exp.Literal.number(0)),
                "outcome",
                copy=False,
            ),
            copy=False,
        )
        .from_(exp.table_(f"{name}_members").as_("members"), copy=False)
        .join(exp.table_(f"{name}_outcomes").as_("outcomes"), on=and_all(on), join_type="left", copy=False)
        .group_by(*[exp.Literal.number(i + 1) for i in range(len(keys))], copy=False)
    )

    def when(group: str, value: exp.Expr) -> exp.Case:
        return exp.Case(ifs=[exp.If(this=exp.EQ(this=_col("arm"), expression=exp.Literal.string(group)), true=value)])

    group_cols: list[exp.Expr] = []
    if time:
        group_cols.append(exp.alias_(truncate(_col("exposed_at"), grain), time.column, copy=False))
    group_cols += [_col(g.column) for g in dims]
    arms_select = [
        *group_cols,
        exp.alias_(exp.Count(this=when(p.treatment, exp.Literal.number(1))), "treatment_members", copy=False),
        exp.alias_(exp.Count(this=when(p.control, exp.Literal.number(1))), "control_members", copy=False),
        exp.alias_(exp.Avg(this=when(p.treatment, _col("outcome"))), "treatment_per_member", copy=False),
        exp.alias_(exp.Avg(this=when(p.control, _col("outcome"))), "control_per_member", copy=False),
        exp.alias_(exp.func("var_samp", when(p.treatment, _col("outcome"))), "treatment_variance", copy=False),
        exp.alias_(exp.func("var_samp", when(p.control, _col("outcome"))), "control_variance", copy=False),
    ]
    arms = exp.select(*arms_select, copy=False).from_(f"{name}_per_member", copy=False)
    if group_cols:
        arms = arms.group_by(*[exp.Literal.number(i + 1) for i in range(len(group_cols))], copy=False)
    z = round(NormalDist().inv_cdf((1 + p.confidence) / 2), 6)
    diff = exp.Paren(this=exp.Sub(this=_col("treatment_per_member"), expression=_col("control_per_member")))
    error = exp.func(
        "sqrt",
        exp.Add(
            this=exp.Div(this=_col("treatment_variance"), expression=_col("treatment_members")),
            expression=exp.Div(this=_col("control_variance"), expression=_col("control_members")),
        ),
    )
    margin = exp.Mul(this=exp.Literal.number(z), expression=error)
    out = [exp.column(g.column) for g in ([time] if time else []) + dims]
    level = f"{round(p.confidence * 100)}"
    query = exp.select(
        *out,
        _col("treatment_members"),
        _col("control_members"),
        _col("treatment_per_member"),
        _col("control_per_member"),
        exp.alias_(diff, name, copy=False),
        exp.alias_(
            exp.Div(this=diff.copy(), expression=exp.func("nullif", _col("control_per_member"), exp.Literal.number(0))),
            f"{name}_relative",
            copy=False,
        ),
        exp.alias_(exp.Sub(this=diff.copy(), expression=margin.copy()), f"{name}_ci{level}_low", copy=False),
        exp.alias_(exp.Add(this=diff.copy(), expression=margin.copy()), f"{name}_ci{level}_high", copy=False),
        copy=False,
    ).from_(f"{name}_arms", copy=False)
    ctes = [
        (f"{name}_members", members, f"{name}: one row per exposure ({p.treatment} or {p.control}) with its time"),
        (f"{name}_outcomes", outcomes, f"{name}: the {p.outcome.name} rows"),
        (
            f"{name}_per_member",
            per_member,
            f"{name}: {measure.agg} of {measure.expr} per member within {p.window} after exposure",
        ),
        (f"{name}_arms", arms, f"{name}: size, mean and variance of each group"),
    ]
    return _with(query, ctes)
