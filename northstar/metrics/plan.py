"""Plan a metric request: expand each metric into *leaves* (one aggregated measure each, with its filters and time
offset) and a formula over their columns; :mod:`northstar.metrics.compile` then builds the SQL from the plan.

Derived and ratio metrics expand recursively, so LTV:CAC becomes a division of a cohort leaf by simple ones; equal
leaves are shared, so a measure two metrics use is aggregated once.

>>> parse_by(("month", "country"))
(Group(column='metric_time__month', grain='month', name=None), Group(column='country', grain=None, name='country'))
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from northstar.errors import CompileError, ProjectError
from northstar.metrics.filters import parse_condition
from northstar.metrics.request import Request
from northstar.metrics.resolve import Semantics
from northstar.metrics.spec import (
    DATE_PARTS,
    GRAINS,
    CohortParams,
    ConversionParams,
    CoverageParams,
    CumulativeParams,
    DerivedParams,
    Filter,
    MeasureInput,
    Metric,
    MetricInput,
    Params,
    RatioParams,
    RetentionParams,
    SimpleParams,
    Window,
)


@dataclass(frozen=True)
class Group:
    """One ``--by`` item: the output column, and either a metric_time grain or a dimension name."""

    column: str
    grain: str | None = None  # metric_time at this grain
    name: str | None = None  # a dimension or entity name

    @property
    def is_time(self) -> bool:
        return self.name is None

    @property
    def dimension(self) -> str:
        """The dimension name of a group that is not metric_time."""
        if self.name is None:
            raise AssertionError(f"--by {self.column} is metric_time, not a dimension")
        return self.name


def parse_by(items: tuple[str, ...], default_grain: str = "day") -> tuple[Group, ...]:
    """``month`` -> metric_time__month; ``metric_time__week`` -> week; anything else is a dimension name."""
    groups: list[Group] = []
    for item in items:
        item = item.strip()
        if item in GRAINS:
            group = Group(f"metric_time__{item}", item)
        elif item == "metric_time":
            group = Group(f"metric_time__{default_grain}", default_grain)
        elif item.startswith("metric_time__extract_") and item.removeprefix("metric_time__extract_") in DATE_PARTS:
            group = Group(item, None, item)  # a date part of metric time: grouped like a dimension
        elif item.startswith("metric_time__"):
            grain = item.removeprefix("metric_time__")
            if grain not in GRAINS:
                raise ProjectError(f"--by {item}: unknown grain '{grain}'. Valid grains: {', '.join(GRAINS)}.")
            group = Group(item, grain)
        else:
            group = Group(item, None, item)
        if any(g.column == group.column for g in groups):
            raise ProjectError(f"--by {item} is given twice.")
        groups.append(group)
    if sum(1 for g in groups if g.is_time) > 1:
        raise ProjectError("Give at most one time grain in --by (day, week, month, quarter or year).")
    return tuple(groups)


@dataclass(frozen=True)
class Leaf:
    """One aggregated measure: the unit a CTE computes."""

    measure: str
    filters: tuple[Filter, ...] = ()
    offset: Window | None = None
    # A leaf that is not a plain aggregation: a cumulative, conversion, cohort or retention metric, computed in
    # its own CTE (see growth.py) as one value per group.
    special: Params | None = None
    metric: str | None = None


@dataclass
class _Plan:
    """Leaves collected while expanding metric formulas; mutable only while planning one request."""

    sem: Semantics
    leaves: dict[Leaf, str] = field(default_factory=dict)
    columns: dict[str, exp.Expr] = field(default_factory=dict)
    context: dict[Leaf, Metric] = field(default_factory=dict)

    def column(self, leaf: Leaf, metric: Metric) -> str:
        if leaf not in self.leaves:
            base = leaf.metric or leaf.measure
            name = base if base not in self.leaves.values() else f"{base}_{len(self.leaves) + 1}"
            if leaf.offset is not None:
                name = f"{base}__offset_{leaf.offset.count}_{leaf.offset.unit}"
            self.leaves[leaf] = name
            self.context[leaf] = metric
        return self.leaves[leaf]


@dataclass(frozen=True)
class Compiled:
    """A planned request: everything the passes need."""

    sem: Semantics
    request: Request
    groups: tuple[Group, ...]
    metrics: tuple[Metric, ...]
    formulas: tuple[tuple[str, exp.Expr], ...]
    leaves: tuple[tuple[Leaf, str, Metric], ...]
    where: exp.Expr | None


def plan(sem: Semantics, request: Request) -> Compiled:
    """Expand each requested metric into leaves and a formula over their columns."""
    if not request.metrics:
        raise ProjectError("Name at least one metric.")
    metrics = tuple(sem.metric(name) for name in request.metrics)
    for metric in metrics:
        refused = sem.refusal(metric)
        if refused is not None:
            raise refused
    growth = [m for m in metrics if m.own_shape]
    if growth and len(metrics) > 1:
        raise ProjectError(
            f"'{growth[0].name}' is a {growth[0].type} metric with its own output columns; query it on its own."
        )
    default_grain = next((m.default_grain for m in metrics if m.default_grain), "day")
    groups = parse_by(request.by, default_grain)
    where = parse_condition(request.where, "--where") if request.where else None
    state = _Plan(sem)
    formulas = []
    for metric in metrics:
        if not metric.own_shape:  # funnels and uplifts are planned by growth.py
            formulas.append((metric.name, _formula(state, metric, (), None)))
    leaves = tuple((leaf, name, state.context[leaf]) for leaf, name in state.leaves.items())
    if any(g.name == "cohort_age" for g in groups) and not any(
        isinstance(leaf.special, CohortParams) for leaf in state.leaves
    ):
        raise ProjectError("--by cohort_age only applies to cohort metrics.")
    if any(leaf.offset is not None for leaf in state.leaves) and not any(g.is_time for g in groups):
        raise ProjectError(
            f"{', '.join(request.metrics)}: a metric here compares periods (offset_window), so the query needs a "
            "time grain: add e.g. --by month."
        )
    return Compiled(sem, request, groups, metrics, tuple(formulas), leaves, where)


def _formula(state: _Plan, metric: Metric, filters: tuple[Filter, ...], offset: Window | None) -> exp.Expr:
    """The metric as an expression over leaf columns, registering the leaves it needs."""
    sem = state.sem
    own = (*filters, metric.filter) if metric.filter else filters
    p = metric.params
    if isinstance(p, SimpleParams):
        return _measure_column(state, metric, p.measure, own, offset)
    if isinstance(p, CumulativeParams | ConversionParams | CohortParams | RetentionParams | CoverageParams):
        first = sem.measure_inputs(metric)[0]
        leaf = Leaf(first.name, own, offset, special=p, metric=metric.name)
        return exp.column(state.column(leaf, metric))
    if isinstance(p, RatioParams):
        num = _input(state, metric, p.numerator, own, offset)
        den = _input(state, metric, p.denominator, own, offset)
        return exp.Div(
            this=exp.Cast(this=num, to=exp.DataType(this=exp.DataType.Type.DOUBLE)),
            expression=exp.func("nullif", den, exp.Literal.number(0)),
        )
    if isinstance(p, DerivedParams):
        tree = p.sql
        values = {item.ref: _input(state, metric, item, own, offset) for item in p.metrics}

        def swap(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Column) and node.name in values:
                value = values[node.name].copy()
                return value if isinstance(value, exp.Column) else exp.Paren(this=value)
            return node

        return tree.transform(swap)
    raise CompileError(
        f"'{metric.name}' is a {metric.type} metric; it cannot be an input of another metric.",
        metric.where.path,
        metric.where.line,
    )


def _input(
    state: _Plan, metric: Metric, item: MetricInput, filters: tuple[Filter, ...], offset: Window | None
) -> exp.Expr:
    used = state.sem.metric(item.name, metric)
    shift = _add_windows(offset, item.offset_window)
    return _formula(state, used, with_filter(filters, item.filter), shift)


def _measure_column(
    state: _Plan, metric: Metric, item: MeasureInput, filters: tuple[Filter, ...], offset: Window | None
) -> exp.Expr:
    state.sem.model_of(item.name, metric)
    leaf = Leaf(item.name, with_filter(filters, item.filter), offset)
    column: exp.Expr = exp.column(state.column(leaf, metric))
    if item.fill_nulls_with is not None:
        column = exp.func("coalesce", column, exp.Literal.number(item.fill_nulls_with))
    return column


def with_filter(filters: tuple[Filter, ...], extra: Filter | None) -> tuple[Filter, ...]:
    """The filters of a leaf with one more, if there is one."""
    return (*filters, extra) if extra else filters


def _add_windows(a: Window | None, b: Window | None) -> Window | None:
    if a is None or b is None:
        return a or b
    if a.unit != b.unit:
        raise CompileError(f"Nested offset windows must share a unit; got '{a}' and '{b}'.")
    return Window(a.count + b.count, a.unit)
