"""Cumulative metrics as MetricFlow computes them: a running aggregate per day, then one value per period.

For each day of the time spine, the measure over the rows up to that day: within the ``window`` (rows on the day
and the window's other days before it), since the start of the day's ``grain_to_date`` period, or all time. Days
whose window holds no row have no value. Queried by day, those are the rows; queried by a coarser grain, each
period keeps one value per group, chosen by ``period_agg``: the value on its first day with one (MetricFlow's
default), on its last, or the average over its days with one. So a monthly ``revenue_7d`` is the 7 days up to
the month's first day with orders, not the month's total.

The days are those of the project's time spine, as in MetricFlow (so an all-time cumulative metric goes on to the
spine's last day). A project without one gets the days from the first row's day to the last day a row still counts
in: the last row's day for all time, its window's end for a window, the end of its ``grain_to_date`` period.
"""

from __future__ import annotations

from sqlglot import exp

from northstar.metrics.builders import (
    MetricTable,
    Rows,
    aggregate,
    and_all,
    date_range,
    interval,
    period,
    qualify,
    relation_table,
    truncate,
)
from northstar.metrics.plan import Compiled, Leaf, with_filter
from northstar.metrics.spec import CumulativeParams, Metric, Window
from northstar.metrics.spine import declared_days

DAY = "metric_time__day"
_DATE = exp.DataType.Type.DATE


def cumulative_select(
    c: Compiled, leaf: Leaf, name: str, metric: Metric, metric_table: MetricTable | None = None
) -> tuple[exp.Select, str]:
    """The CTE body of a cumulative leaf and its comment (``metric_table``: for ``Metric()`` in its filters)."""
    params = leaf.special
    assert isinstance(params, CumulativeParams)
    model = c.sem.model_of(leaf.measure, metric)
    measure = model.measure(leaf.measure)
    assert measure is not None
    rows = Rows(c.sem, model, metric, metric_table=metric_table, measure=leaf.measure)
    time = rows.time(leaf.measure)
    grain = next((g.grain for g in c.groups if g.grain is not None), None)
    value = exp.alias_(aggregate(measure, qualify(measure.sql, rows.alias)), name, copy=False)
    conditions = rows.filters(with_filter(leaf.filters, params.measure.filter), leaf.measure)
    if c.where is not None:
        conditions.append(rows.condition(c.where, leaf.measure, "--where"))
    timed = rows.time_groups(c.groups, leaf.measure)
    current = exp.column(DAY, "days")
    dims = [
        exp.alias_(
            period(c.sem, current.copy(), timed[g.column], metric)
            if g.column in timed
            else rows.dimension(g.dimension, "--by"),
            g.column,
            copy=False,
        )
        for g in c.groups
        if g.name is not None
    ]
    if grain is None and not timed:
        select = rows.source().select(*dims, value, copy=False)
        conditions += date_range(time, None, c.request.end)
        condition = and_all(conditions)
        if condition is not None:
            select = select.where(condition, copy=False)
        if dims:
            select = select.group_by(*[exp.Literal.number(i + 1) for i in range(len(dims))], copy=False)
        return select, f"{model.name}: {name} = {measure.agg} of {measure.expr} over all time"
    day = truncate(time.copy(), "day")
    days = declared_days(c, DAY) or exp.select(_days(day.copy(), params), copy=False).from_(
        relation_table(c.sem.relation(model)).as_(rows.alias), copy=False
    )
    spine = days.subquery("days")
    on: list[exp.Expr] = [exp.LTE(this=day.copy(), expression=current.copy())]
    if params.window is not None:
        since = exp.Sub(this=current.copy(), expression=interval(params.window))
        on.append(exp.GT(this=day.copy(), expression=since))
        what = f"the {params.window} up to each day"
    elif params.grain_to_date is not None:
        on.append(exp.GTE(this=day.copy(), expression=truncate(current.copy(), params.grain_to_date)))
        what = f"{params.grain_to_date} to date, each day"
    else:
        what = "all time up to each day"
    source = rows.source()
    daily = exp.select(exp.alias_(current.copy(), DAY, copy=False), *dims, value, copy=False).from_(spine, copy=False)
    daily = daily.join(source.args["from_"].this, on=and_all(on), join_type="inner", copy=False)
    for join in source.args.get("joins") or []:
        daily = daily.join(join, copy=False)
    condition = and_all(conditions + date_range(current.copy(), c.request.start, c.request.end))
    if condition is not None:
        daily = daily.where(condition, copy=False)
    daily = daily.group_by(*[exp.Literal.number(i + 1) for i in range(len(dims) + 1)], copy=False)
    comment = f"{model.name}: {name} = {measure.agg} of {measure.expr} over {what}"
    if grain == "day":
        return daily, comment
    per = grain or ", ".join(timed)
    keys = [exp.alias_(period(c.sem, exp.column(DAY), grain, metric), f"metric_time__{grain}")] if grain else []
    return _per_period(daily, keys, [g.column for g in c.groups if g.name is not None], name, params), (
        f"{comment}; per {per}, the value of its {_DESCRIBED[params.period_agg]}"
    )


_DESCRIBED = {"first": "first day", "last": "last day", "average": "days on average"}


def _days(day: exp.Expr, params: CumulativeParams) -> exp.Expr:
    """Every day from the first row's to the last one a row counts in, as ``metric_time__day``."""
    last: exp.Expr = exp.Max(this=day.copy())
    if params.window is not None:
        last = exp.Sub(
            this=exp.Add(this=last, expression=interval(params.window)), expression=interval(Window(1, "day"))
        )
    elif params.grain_to_date is not None:
        period = truncate(last, params.grain_to_date)
        last = exp.Sub(
            this=exp.Add(this=period, expression=interval(Window(1, params.grain_to_date))),
            expression=interval(Window(1, "day")),
        )
    series = exp.func(
        "generate_series",
        exp.Min(this=day),
        exp.Cast(this=last, to=exp.DataType(this=_DATE)),
        interval(Window(1, "day")),
    )
    return exp.alias_(exp.Cast(this=exp.Unnest(expressions=[series]), to=exp.DataType(this=_DATE)), DAY, copy=False)


def _per_period(
    daily: exp.Select, keys: list[exp.Expr], dims: list[str], name: str, params: CumulativeParams
) -> exp.Select:
    """One value per period (``keys``: the metric time period of each day, if queried) and group from the daily
    values: the first day's, the last day's or their average."""
    value = exp.column(name)
    day = exp.column(DAY)
    picked: exp.Expr
    if params.period_agg == "first":
        picked = exp.ArgMin(this=value, expression=day)
    elif params.period_agg == "last":
        picked = exp.ArgMax(this=value, expression=day)
    else:
        picked = exp.Avg(this=value)
    keys = [*keys, *[exp.column(d) for d in dims]]
    return (
        exp.select(*keys, exp.alias_(picked, name, copy=False), copy=False)
        .from_(daily.subquery("daily"), copy=False)
        .group_by(*[exp.Literal.number(i + 1) for i in range(len(keys))], copy=False)
    )
