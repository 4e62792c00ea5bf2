"""``join_to_timespine``: a measure reported for every period of the project's time spine, as MetricFlow does.

A simple metric whose measure sets ``join_to_timespine: true`` and is queried by metric time has a row for every
period the time spine model covers (all of it, or the days between ``--start`` and ``--end``), its value NULL where
no row falls in the period, or the measure's ``fill_nulls_with``. The measure's own rows are joined on metric time
only, so a period without rows is one row whose other group-bys are NULL. Queried without metric time, nothing
changes. The spine is the model declared with ``time_spine:`` (dbt 1.9+), else the legacy
``metricflow_time_spine`` model (``date_day``).
"""

from __future__ import annotations

from sqlglot import exp

from northstar.errors import CompileError
from northstar.metrics.builders import and_all, date_range, relation_table, truncate
from northstar.metrics.plan import Compiled, Leaf
from northstar.metrics.spec import Metric

_ROWS = "measure_rows"


def spine_periods(c: Compiled, body: exp.Select, comment: str, leaf: Leaf, metric: Metric) -> tuple[exp.Select, str]:
    """``body`` (a CTE aggregating ``leaf`` per group) with a row for every period of the time spine."""
    grain = next((g.grain for g in c.groups if g.grain is not None), None)
    if grain is None:
        return body, comment
    if leaf.to_grain is not None or any(g.column.startswith("metric_time__extract_") for g in c.groups):
        raise CompileError(
            f"Metric '{metric.name}' joins the time spine (join_to_timespine); Northstar does not support that with "
            "offset_to_grain or a metric_time date part yet. Other metrics are not affected.",
            metric.where.path,
            metric.where.line,
        )
    spine, relation = c.sem.spine(metric)
    column = f"metric_time__{grain}"
    day = exp.column(spine.column, "time_spine")
    # A custom granularity's period is the spine's own column for it.
    start = exp.column(dict(spine.custom)[grain], "time_spine") if grain in spine.custom_names else truncate(day, grain)
    periods = exp.select(exp.alias_(start, column, copy=False), copy=False).from_(
        relation_table(relation).as_("time_spine"), copy=False
    )
    condition = and_all(date_range(day, c.request.start, c.request.end))
    if condition is not None:
        periods = periods.where(condition, copy=False)
    periods = periods.distinct(copy=False)
    selects = [
        exp.column(column, "periods") if name == column else exp.column(name, _ROWS) for name in body.named_selects
    ]
    select = exp.select(
        *[exp.alias_(value, name, copy=False) for value, name in zip(selects, body.named_selects, strict=True)],
        copy=False,
    ).from_(periods.subquery("periods"), copy=False)
    on = exp.EQ(this=exp.column(column, "periods"), expression=exp.column(column, _ROWS))
    select = select.join(body.subquery(_ROWS), on=on, join_type="left", copy=False)
    return select, f"{comment}; every {grain} of the time spine {spine.model} (join_to_timespine)"


def declared_days(c: Compiled, column: str) -> exp.Select | None:
    """The days of the project's time spine as ``column`` (None when the project declares no spine Northstar
    builds): cumulative metrics and ``offset_to_grain`` run over them, as MetricFlow does."""
    spine = c.sem.spec.time_spine
    relation = c.sem.relations.get(spine.model) if spine is not None else None
    if spine is None or relation is None:
        return None
    day = exp.column(spine.column, "time_spine")
    return exp.select(exp.alias_(day, column, copy=False), copy=False).from_(
        relation_table(relation).as_("time_spine"), copy=False
    )
