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
    SUB_DAILY,
    TIME_GRAINS,
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


def parse_by(items: tuple[str, ...], default_grain: str = "day", custom: tuple[str, ...] = ()) -> tuple[Group, ...]:
    """``month`` -> metric_time__month; ``metric_time__week`` -> week; anything else is a dimension name.
    ``custom`` names the time spine's custom granularities (``fiscal_quarter``, ``metric_time__fiscal_quarter``)."""
    grains = (*TIME_GRAINS, *custom)
    groups: list[Group] = []
    for item in items:
        item = item.strip()
        if item in grains:
            group = Group(f"metric_time__{item}", item)
        elif item == "metric_time":
            group = Group(f"metric_time__{default_grain}", default_grain)
        elif item.startswith("metric_time__extract_") and item.removeprefix("metric_time__extract_") in DATE_PARTS:
            group = Group(item, None, item)  # a date part of metric time: grouped like a dimension
        elif item.startswith("metric_time__"):
            grain = item.removeprefix("metric_time__")
            if grain not in grains:
                raise ProjectError(f"--by {item}: unknown grain '{grain}'. Valid grains: {', '.join(grains)}.")
            group = Group(item, grain)
        else:
            group = Group(item, None, item)
        if any(g.column == group.column for g in groups):
            raise ProjectError(f"--by {item} is given twice.")
        groups.append(group)
    if sum(1 for g in groups if g.is_time) > 1:
        raise ProjectError(f"Give at most one time grain in --by ({', '.join(grains)}).")
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
    # offset_to_grain: each period takes the value at the start of its period of this grain (MetricFlow's rule:
    # the rows of the day it starts on, or of the queried period when that grain is no coarser than this one).
    to_grain: str | None = None
    spine: bool = False  # join_to_timespine: every period of the time spine is a row

    @property
    def shifted(self) -> bool:
        """Whether the leaf reads other periods than the one it is reported in (offset_window or offset_to_grain)."""
        return self.offset is not None or self.to_grain is not None


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
            elif leaf.to_grain is not None:
                name = f"{base}__start_of_{leaf.to_grain}"
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
    groups = parse_by(request.by, default_grain, sem.custom_grains)
    where = parse_condition(request.where, "--where") if request.where else None
    state = _Plan(sem)
    formulas = []
    for metric in metrics:
        if not metric.own_shape:  # funnels and uplifts are planned by growth.py
            formulas.append((metric.name, _formula(state, metric, (), _Shift())))
    leaves = tuple((leaf, name, state.context[leaf]) for leaf, name in state.leaves.items())
    if any(g.name == "cohort_age" for g in groups) and not any(
        isinstance(leaf.special, CohortParams) for leaf in state.leaves
    ):
        raise ProjectError("--by cohort_age only applies to cohort metrics.")
    _check_time_grain(sem, groups, leaves)
    fine = next((g.grain for g in groups if g.grain is not None and g.grain not in GRAINS), None)
    if fine is not None and growth:
        raise ProjectError(f"--by metric_time__{fine}: {growth[0].type} metrics are grouped by day or coarser.")
    if (
        any(leaf.shifted for leaf in state.leaves)
        and not any(g.is_time for g in groups)
        and not _by_agg_time(sem, groups, leaves)
    ):
        raise ProjectError(
            f"{', '.join(request.metrics)}: a metric here compares periods (offset_window or offset_to_grain), so "
            "the query needs a time grain: add e.g. --by month."
        )
    return Compiled(sem, request, groups, metrics, tuple(formulas), leaves, where)


@dataclass(frozen=True)
class _Shift:
    """The time shift an input of a derived metric asks for: an offset_window, or an offset_to_grain."""

    window: Window | None = None
    to_grain: str | None = None


def _by_agg_time(sem: Semantics, groups: tuple[Group, ...], leaves: tuple[tuple[Leaf, str, Metric], ...]) -> bool:
    """Whether every offset_window leaf is grouped by its agg time dimension at a grain (``order__ordered_at__month``),
    which MetricFlow reads as metric time. offset_to_grain needs metric time itself."""
    for leaf, _, metric in leaves:
        if not leaf.shifted:
            continue
        if leaf.to_grain is not None:
            return False
        model = sem.model_of(leaf.measure, metric)
        if not any(g.name and sem.agg_time_grain(model, leaf.measure, g.name, metric) for g in groups):
            return False
    return True


def _unsupported(leaf: Leaf, metric: Metric, semi_additive: bool, grain: str) -> str | None:
    """What in a leaf Northstar cannot group by metric time at a sub-daily or custom ``grain`` yet, if anything:
    below a day, only plain aggregations; a custom granularity also takes cumulative and time spine leaves."""
    if leaf.shifted:
        return "an offset (offset_window or offset_to_grain)"
    if semi_additive:
        return "a semi-additive measure (non_additive_dimension)"
    if grain in SUB_DAILY and isinstance(leaf.special, CumulativeParams):
        return "a cumulative metric, which runs over days"
    if grain in SUB_DAILY and leaf.spine:
        return "join_to_timespine, whose spine is daily"
    if leaf.special is not None and not isinstance(leaf.special, CumulativeParams):
        return f"a {metric.type} metric"
    return None


def _check_time_grain(sem: Semantics, groups: tuple[Group, ...], leaves: tuple[tuple[Leaf, str, Metric], ...]) -> None:
    """A grain below a day needs every measure's time dimension that fine; some leaves cannot be grouped by it or by
    a custom granularity yet (:func:`_unsupported`)."""
    grain = next((g.grain for g in groups if g.grain is not None), None)
    if grain is None or grain in GRAINS:
        return
    for leaf, _, metric in leaves:
        model = sem.model_of(leaf.measure, metric)
        measure = model.measure(leaf.measure)
        reason = _unsupported(leaf, metric, bool(measure and measure.non_additive), grain)
        if reason is not None:
            what = "sub-daily grain" if grain in SUB_DAILY else "custom granularity"
            raise CompileError(
                f"--by metric_time__{grain}: Northstar does not yet support a {what} with {reason}; metric "
                f"'{metric.name}' needs it. Other metrics are not affected.",
                metric.where.path,
                metric.where.line,
            )
        declared = sem.agg_time(model, leaf.measure, metric).granularity or "day"
        if grain in SUB_DAILY and TIME_GRAINS.index(grain) < TIME_GRAINS.index(declared):
            raise ProjectError(
                f"--by metric_time__{grain} is finer than the time dimension of measure '{leaf.measure}' "
                f"(time_granularity: {declared}), which metric '{metric.name}' reads. Use {declared} or coarser."
            )


def _formula(state: _Plan, metric: Metric, filters: tuple[Filter, ...], offset: _Shift) -> exp.Expr:
    """The metric as an expression over leaf columns, registering the leaves it needs."""
    sem = state.sem
    own = (*filters, metric.filter) if metric.filter else filters
    p = metric.params
    if isinstance(p, SimpleParams):
        return _measure_column(state, metric, p.measure, own, offset)
    if isinstance(p, CumulativeParams | ConversionParams | CohortParams | RetentionParams | CoverageParams):
        first = sem.measure_inputs(metric)[0]
        if offset.to_grain is not None:
            raise CompileError(
                f"'{metric.name}' is a {metric.type} metric; Northstar does not support offset_to_grain over it yet. "
                "Use offset_to_grain on simple, ratio and derived metrics.",
                metric.where.path,
                metric.where.line,
            )
        leaf = Leaf(first.name, own, offset.window, special=p, metric=metric.name)
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


def _input(state: _Plan, metric: Metric, item: MetricInput, filters: tuple[Filter, ...], offset: _Shift) -> exp.Expr:
    used = state.sem.metric(item.name, metric)
    twice = CompileError(
        f"Metric '{metric.name}' shifts input '{item.ref}' twice (offset_to_grain with another offset); Northstar "
        "does not support combining them. Shift it once.",
        metric.where.path,
        metric.where.line,
    )
    if item.offset_to_grain is not None:
        if offset != _Shift() or item.offset_window is not None:
            raise twice
        shift = _Shift(to_grain=item.offset_to_grain)
    elif offset.to_grain is not None:
        if item.offset_window is not None:
            raise twice
        shift = offset
    else:
        shift = _Shift(window=_add_windows(offset.window, item.offset_window))
    return _formula(state, used, with_filter(filters, item.filter), shift)


def _measure_column(
    state: _Plan, metric: Metric, item: MeasureInput, filters: tuple[Filter, ...], offset: _Shift
) -> exp.Expr:
    state.sem.model_of(item.name, metric)
    leaf = Leaf(
        item.name,
        with_filter(filters, item.filter),
        offset.window,
        to_grain=offset.to_grain,
        spine=item.join_to_timespine,
    )
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
