"""``offset_to_grain``: an input of a derived metric read at the start of its period of a grain (month to date
compared with the month's first day, a quarter's opening value), as MetricFlow computes it.

Each queried period ``p`` takes the measure over the rows whose period is ``date_trunc(grain, p)``. Which period of
the rows is compared follows MetricFlow's rule: when the queried grain is no coarser than the offset's grain (and is
not a week, which does not roll up into months), the rows' own period at the queried grain (so ``offset_to_grain:
month`` queried by month is the month itself, and ``quarter`` by month the quarter's first month); otherwise their
day (``month`` queried by week: the rows of the first day of the month each week starts in). Periods whose start
matches no rows have no value, as with MetricFlow's inner join to its time spine.

The periods are those of the project's time spine, as in MetricFlow; a project without one gets them from the first
row's period to the end of the last row's offset period.
"""

from __future__ import annotations

from sqlglot import exp

from northstar.errors import CompileError
from northstar.metrics.builders import (
    MetricTable,
    Rows,
    aggregate,
    and_all,
    date_part,
    date_range,
    interval,
    qualify,
    relation_table,
    truncate,
)
from northstar.metrics.filters import render_filter
from northstar.metrics.plan import Compiled, Leaf
from northstar.metrics.spec import GRAINS, Metric, Window
from northstar.metrics.spine import declared_days

_PERIOD = "period_start"
_DATE = exp.DataType.Type.DATE


def compared_grain(grain: str, to_grain: str) -> str:
    """The grain at which rows are matched with the start of each queried period's ``to_grain`` period.

    >>> compared_grain("month", "quarter"), compared_grain("week", "month"), compared_grain("quarter", "month")
    ('month', 'day', 'day')
    """
    if GRAINS.index(grain) <= GRAINS.index(to_grain) and grain != "week":
        return grain
    return "day"


def to_grain_select(
    c: Compiled, leaves: list[tuple[Leaf, str, Metric]], metric_table: MetricTable | None = None
) -> tuple[exp.Select, str]:
    """One CTE body: the leaves (one semantic model, filters and ``to_grain``) per queried period, and its comment
    (``metric_table``: for ``Metric()`` in their filters)."""
    first, _, metric = leaves[0]
    to_grain = first.to_grain
    assert to_grain is not None
    grain = next(g.grain for g in c.groups if g.grain is not None)  # plan() requires a time grain
    model = c.sem.model_of(first.measure, metric)
    rows = Rows(c.sem, model, metric, metric_table=metric_table, measure=first.measure)
    compared = compared_grain(grain, to_grain)
    key = truncate(rows.time(first.measure), compared)
    period = exp.column(_PERIOD, "periods")
    values = []
    for leaf, name, _ in leaves:
        measure = model.measure(leaf.measure)
        assert measure is not None
        if measure.non_additive is not None:
            raise CompileError(
                f"Metric '{metric.name}' reads '{measure.name}', a semi-additive measure, at the start of each "
                f"{to_grain} (offset_to_grain); Northstar does not support that yet. Other metrics are not affected.",
                metric.where.path,
                metric.where.line,
            )
        values.append(exp.alias_(aggregate(measure, qualify(measure.sql, rows.alias)), name, copy=False))
    keys: list[exp.Expr] = []
    for group in c.groups:
        value: exp.Expr
        if group.grain is not None:
            value = period.copy()
        elif group.column.startswith("metric_time__extract_"):
            value = date_part(period.copy(), group.column.removeprefix("metric_time__extract_"))
        else:
            value = rows.dimension(group.dimension, "--by")
        keys.append(exp.alias_(value, group.column, copy=False))
    periods = _spine_periods(c, grain, compared) or exp.select(_periods(key.copy(), grain, to_grain), copy=False).from_(
        relation_table(c.sem.relation(model)).as_(rows.alias), copy=False
    )
    source = rows.source()
    on = exp.EQ(this=truncate(period.copy(), to_grain), expression=key)
    select = exp.select(*keys, *values, copy=False).from_(periods.subquery("periods"), copy=False)
    select = select.join(source.args["from_"].this, on=on, join_type="inner", copy=False)
    for join in source.args.get("joins") or []:
        select = select.join(join, copy=False)
    conditions = rows.filters(first.filters, first.measure)
    if c.where is not None:
        conditions.append(rows.condition(c.where, first.measure, "--where"))
    conditions += date_range(period.copy(), c.request.start, c.request.end)
    condition = and_all(conditions)
    if condition is not None:
        select = select.where(condition, copy=False)
    select = select.group_by(*[exp.Literal.number(i + 1) for i in range(len(c.groups))], copy=False)
    names = ", ".join(name for _, name, _ in leaves)
    where = f"; rows where {' and '.join(render_filter(f.text) for f in first.filters)}" if first.filters else ""
    comment = (
        f"{model.name}: {names} at the start of each {to_grain}: per {grain}, the rows of the {compared} "
        f"date_trunc('{to_grain}', {grain}) starts{where}"
    )
    return select, comment


def _spine_periods(c: Compiled, grain: str, compared: str) -> exp.Select | None:
    """The queried periods of the project's time spine, as MetricFlow takes them: the days that start a period when
    rows are compared by day, else each period the spine's days fall in."""
    days = declared_days(c, "day")
    if days is None:
        return None
    day = exp.column("day", "spine_days")
    start = truncate(day.copy(), grain)
    periods = exp.select(exp.alias_(start.copy(), _PERIOD, copy=False), copy=False).from_(
        days.subquery("spine_days"), copy=False
    )
    if compared == "day":
        return periods.where(exp.EQ(this=start, expression=day), copy=False)
    return periods.distinct(copy=False)


def _periods(key: exp.Expr, grain: str, to_grain: str) -> exp.Expr:
    """Every queried period from the first row's to the end of the last row's ``to_grain`` period."""
    last = exp.Sub(
        this=exp.Add(this=exp.Max(this=key.copy()), expression=interval(Window(1, to_grain))),
        expression=interval(Window(1, "day")),
    )
    series = exp.func(
        "generate_series",
        truncate(exp.Min(this=key), grain),
        exp.Cast(this=last, to=exp.DataType(this=_DATE)),
        interval(Window(1, grain)),
    )
    return exp.alias_(exp.Cast(this=exp.Unnest(expressions=[series]), to=exp.DataType(this=_DATE)), _PERIOD, copy=False)
