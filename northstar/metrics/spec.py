"""Metric YAML as written: ``semantic_models`` and ``metrics`` as frozen dataclasses.

:mod:`northstar.metrics.reader` builds them from YAML, checking the *shape* of each entry once and remembering
where it was written. SQL expressions are parsed once, there, and kept as sqlglot trees (``sql``) beside the text
as written (``expr``, for messages and docs); the compiler copies a tree before changing it. Whether names refer
to things that exist is checked by :mod:`northstar.metrics.resolve`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from northstar.errors import NorthstarError

if TYPE_CHECKING:
    from sqlglot import exp

GRAINS = ("day", "week", "month", "quarter", "year")
# Grains below a day, for time dimensions declared with them (time_granularity: hour); their periods are TIMESTAMPs.
SUB_DAILY = ("second", "minute", "hour")
TIME_GRAINS = SUB_DAILY + GRAINS  # finest first
# MetricFlow's date parts, grouped by as `metric_time__extract_month`: dow is the ISO day of the week (Monday 1 to
# Sunday 7), week the ISO week, doy the day of the year.
DATE_PARTS = ("year", "quarter", "month", "week", "day", "dow", "doy")
AGGREGATIONS = ("sum", "count", "count_distinct", "average", "min", "max", "median", "percentile", "sum_boolean")
ENTITY_TYPES = ("primary", "foreign", "unique", "natural")
DIMENSION_TYPES = ("categorical", "time")
SIMPLE_TYPES = ("simple", "ratio", "derived", "cumulative", "conversion")
GROWTH_TYPES = ("cohort", "retention", "funnel", "uplift", "coverage", "pyramid")
METRIC_TYPES = SIMPLE_TYPES + GROWTH_TYPES


@dataclass(frozen=True)
class Where:
    """Where something was written, for error messages."""

    path: str
    line: int | None


@dataclass(frozen=True)
class Window:
    """A duration such as ``14 days`` or ``3 months``."""

    count: int
    unit: str  # singular: day, week, month, quarter, year, hour, minute

    def __str__(self) -> str:
        return f"{self.count} {self.unit}{'s' if self.count != 1 else ''}"


@dataclass(frozen=True)
class Entity:
    name: str
    type: str
    expr: str
    description: str = ""
    line: int | None = None
    sql: exp.Expr = field(kw_only=True, compare=False, repr=False)


@dataclass(frozen=True)
class Dimension:
    name: str
    type: str
    expr: str
    granularity: str | None = None  # time dimensions only
    description: str = ""
    line: int | None = None
    sql: exp.Expr = field(kw_only=True, compare=False, repr=False)
    # A slowly changing dimension's validity window: this time dimension is its "start" or its "end".
    validity: str | None = field(default=None, kw_only=True)

    @property
    def is_time(self) -> bool:
        return self.type == "time"


@dataclass(frozen=True)
class NonAdditive:
    """A semi-additive measure (a balance): only the rows at the first or last value of ``dimension`` count, per
    period queried and per ``groupings`` entity, instead of summing every day of the period."""

    dimension: str
    # max: the last value; min: the first, MetricFlow's default (dbt requires the key, MetricFlow's own YAML does not)
    window_choice: str = "min"
    groupings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Measure:
    name: str
    agg: str
    expr: str
    agg_time_dimension: str | None = None
    percentile: float | None = None
    discrete: bool = False
    approximate: bool = False  # use_approximate_percentile: DuckDB's approx_quantile, as MetricFlow renders it
    description: str = ""
    line: int | None = None
    non_additive: NonAdditive | None = None
    sql: exp.Expr = field(kw_only=True, compare=False, repr=False)


@dataclass(frozen=True)
class SemanticModel:
    name: str
    model: str  # the model it reads, from ``ref('...')``
    where: Where
    description: str = ""
    default_agg_time: str | None = None
    primary_entity: str | None = None
    entities: tuple[Entity, ...] = ()
    dimensions: tuple[Dimension, ...] = ()
    measures: tuple[Measure, ...] = ()

    def entity(self, name: str) -> Entity | None:
        return next((e for e in self.entities if e.name == name), None)

    def dimension(self, name: str) -> Dimension | None:
        return next((d for d in self.dimensions if d.name == name), None)

    def measure(self, name: str) -> Measure | None:
        return next((m for m in self.measures if m.name == name), None)

    @property
    def validity(self) -> tuple[Dimension, Dimension] | None:
        """A slowly changing dimension's window, (start, end): a row is the entity's version from start until before
        end (NULL: still current). None for other semantic models."""
        start = next((d for d in self.dimensions if d.validity == "start"), None)
        end = next((d for d in self.dimensions if d.validity == "end"), None)
        return (start, end) if start is not None and end is not None else None

    @property
    def primary(self) -> Entity | None:
        """The entity each row is one of (primary or unique), if any."""
        return next((e for e in self.entities if e.type in ("primary", "unique", "natural")), None)


@dataclass(frozen=True)
class Filter:
    """A filter as written (``{{ Dimension('user__channel') }} = 'email'``), equal to another by its text, and its
    condition over dimension names, parsed once by the reader. A filter that is not a valid condition keeps its
    error, raised where the filter is checked or used, so a metric refused for another reason still loads."""

    text: str
    parsed: exp.Expr | NorthstarError = field(compare=False, repr=False)

    def condition(self) -> exp.Expr:
        """A copy of the parsed condition, free to change; the parse error if the text is not a condition."""
        if isinstance(self.parsed, NorthstarError):
            raise self.parsed.with_traceback(None)
        return self.parsed.copy()


@dataclass(frozen=True)
class MeasureInput:
    """A measure as a metric uses it: by name, optionally filtered."""

    name: str
    filter: Filter | None = None
    alias: str | None = None
    fill_nulls_with: float | None = None
    names_metric: bool = False  # dbt 1.12's spec names a simple metric (input_metric); the reader swaps its measure
    join_to_timespine: bool = False  # every period of the time spine is a row, filled with fill_nulls_with


@dataclass(frozen=True)
class MetricInput:
    """A metric used by a ratio or derived metric, optionally filtered, renamed or shifted in time."""

    name: str
    filter: Filter | None = None
    alias: str | None = None
    offset_window: Window | None = None
    offset_to_grain: str | None = None

    @property
    def ref(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True)
class SimpleParams:
    measure: MeasureInput


@dataclass(frozen=True)
class RatioParams:
    numerator: MetricInput
    denominator: MetricInput


@dataclass(frozen=True)
class DerivedParams:
    expr: str
    metrics: tuple[MetricInput, ...]
    sql: exp.Expr = field(kw_only=True, compare=False, repr=False)


# How a cumulative metric's daily running values become one value per coarser period (MetricFlow's period_agg):
# the value on the period's first day with one (MetricFlow's default), its last day, or the average of its days.
PERIOD_AGGS = ("first", "last", "average")


@dataclass(frozen=True)
class CumulativeParams:
    """A running aggregate: for each day, the rows up to it, within ``window`` or since the start of its
    ``grain_to_date`` period (else all time); at a coarser grain, ``period_agg`` picks one of the period's days."""

    measure: MeasureInput
    window: Window | None = None
    grain_to_date: str | None = None
    period_agg: str = "first"


@dataclass(frozen=True)
class ConstantProperty:
    """A conversion metric's ``constant_properties`` item: the base event's dimension or entity that must equal the
    conversion event's for the two to pair (the same product viewed and bought)."""

    base_property: str
    conversion_property: str


@dataclass(frozen=True)
class ConversionParams:
    """MetricFlow's conversion metric: each conversion event is paired with the closest base event before it (same
    entity, within the window, equal constant properties) and counted once, in that base event's period and
    dimensions; the rate divides by the base measure aggregated as usual."""

    base_measure: MeasureInput
    conversion_measure: MeasureInput
    entity: str
    window: Window | None = None
    calculation: str = "conversion_rate"  # or conversions
    constant_properties: tuple[ConstantProperty, ...] = ()


@dataclass(frozen=True)
class CohortParams:
    """Entities grouped by the period of their first event, then a measure over their life (per member)."""

    entity: str
    first_event: MeasureInput
    measure: MeasureInput
    horizon: Window | None = None
    grain: str = "month"
    calculation: str = "per_member"  # or total


@dataclass(frozen=True)
class RetentionParams:
    """Of the entities active in a period, the share active (retention) or not (churn) in the next."""

    entity: str
    activity: MeasureInput
    grain: str = "month"
    calculation: str = "retention"  # or churn


@dataclass(frozen=True)
class FunnelStep:
    name: str
    measure: MeasureInput
    window: Window | None = None  # after the previous step; None: any time later


@dataclass(frozen=True)
class FunnelParams:
    entity: str
    steps: tuple[FunnelStep, ...]
    grain: str = "day"


@dataclass(frozen=True)
class UpliftOutcome:
    """One outcome of a multi-outcome uplift: a measure per member, or a ratio of two (e.g. revenue per order)."""

    name: str
    measure: MeasureInput | None = None
    numerator: MeasureInput | None = None
    denominator: MeasureInput | None = None

    @property
    def measures(self) -> tuple[MeasureInput, ...]:
        return tuple(m for m in (self.measure, self.numerator, self.denominator) if m is not None)


@dataclass(frozen=True)
class UpliftParams:
    """Treatment minus control of a per-member outcome within a window after exposure."""

    entity: str
    exposure: MeasureInput  # one row per member: entity, exposure time, group
    group: str  # the dimension of the exposure's semantic model holding the group name
    outcome: MeasureInput
    window: Window
    treatment: str = "treatment"
    control: str = "control"
    confidence: float = 0.95
    outcomes: tuple[UpliftOutcome, ...] = ()  # several outcomes at once; ``outcome`` is then the first measure


@dataclass(frozen=True)
class CoverageParams:
    """As of each period's end: of the entities active in the trailing window (a ``base`` row in it), the share
    with (penetration) or without (white space) a ``measure`` row in it, per category of the measure's rows."""

    entity: str
    base: MeasureInput
    measure: MeasureInput
    window: Window | None = None  # None: all time up to the period's end
    grain: str = "month"
    calculation: str = "penetration"  # or white_space


@dataclass(frozen=True)
class PyramidLevel:
    """One level of a pyramid: the entities whose measure over the trailing window passes the level's test."""

    name: str
    measure: MeasureInput
    window: Window | None = None  # None: all time up to the period's end
    min: float | None = None  # the measure over the window is at least this; None: any row counts
    top_share: float | None = None  # the fewest entities bringing this share of the measure's total


@dataclass(frozen=True)
class PyramidParams:
    """As of each period's end, a count of entities per level (one column each): a customer-base structure."""

    entity: str
    levels: tuple[PyramidLevel, ...]
    grain: str = "month"


Params = (
    SimpleParams
    | RatioParams
    | DerivedParams
    | CumulativeParams
    | ConversionParams
    | CohortParams
    | RetentionParams
    | FunnelParams
    | UpliftParams
    | CoverageParams
    | PyramidParams
)


@dataclass(frozen=True)
class Refusal:
    """A valid MetricFlow key Northstar does not build yet: the metric using it fails when queried, compiled or
    built, naming this key and line, while every other metric keeps working."""

    key: str
    reason: str
    path: str
    line: int | None

    def message(self, metric: str) -> str:
        return f"Metric '{metric}' sets {self.key}, which Northstar does not support yet: {self.reason}."


@dataclass(frozen=True)
class Metric:
    name: str
    type: str
    params: Params
    where: Where
    description: str = ""
    label: str = ""
    owner: str = ""
    formula: str = ""
    filter: Filter | None = None
    default_grain: str | None = None
    default_by: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    tests: tuple[Any, ...] = ()
    refusals: tuple[Refusal, ...] = ()

    @property
    def own_shape(self) -> bool:
        """Funnels, uplifts and pyramids output several columns of their own; others are one value per group."""
        return self.type in ("funnel", "uplift", "pyramid")


@dataclass(frozen=True)
class Export:
    """A saved query's export: its rows written by ``metrics build`` to ``schema.alias`` as a table or a view."""

    name: str
    export_as: str  # table or view
    schema: str | None = None  # None: the schema metric tables go to
    alias: str | None = None  # None: the export's name
    line: int | None = None


@dataclass(frozen=True)
class SavedQuery:
    """MetricFlow's saved query: metrics, group-bys, filters, order and limit under a name
    (``metrics query --saved-query NAME``), optionally exported to tables by ``metrics build``.

    ``group_by`` and ``order_by`` hold names as ``--by``/``--order`` take them (``metric_time__month``,
    ``-revenue``); ``where`` the filters as written, all of which must hold."""

    name: str
    where: Where
    metrics: tuple[str, ...]
    group_by: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    order_by: tuple[str, ...] = ()
    limit: int | None = None
    description: str = ""
    label: str = ""
    exports: tuple[Export, ...] = ()
    enabled: bool = True  # config: {enabled: false} switches it off, as in dbt
    # As written, for manifest.json: group_by and order_by items (``TimeDimension('metric_time', 'month')``) and
    # the config.
    group_by_written: tuple[str, ...] = ()
    order_by_written: tuple[str, ...] = ()
    config: Mapping[str, Any] = field(default_factory=dict, compare=False)
    # A saved query with a mistake keeps it here, raised when it is asked for (and warned by metrics build), so it
    # blocks nothing else.
    error: NorthstarError | None = field(default=None, compare=False)


@dataclass(frozen=True)
class BrokenModel:
    """A semantic model with a mistake (an unknown key, an agg_time_dimension it lacks, a model that does not
    exist...): the metrics reading its measures fail with ``error``, naming its file and line; every other metric
    keeps working."""

    name: str
    measures: tuple[str, ...]
    error: NorthstarError = field(compare=False)
    provides: tuple[str, ...] = ()  # its entity and dimension names, so a query naming one is told why it is gone


@dataclass(frozen=True)
class TimeSpine:
    """MetricFlow's time spine: a model with one row per day in ``column`` (``time_spine:`` on the model, dbt 1.9+,
    or the legacy ``metricflow_time_spine`` model and its ``date_day``). ``join_to_timespine`` reports its periods."""

    model: str
    column: str
    where: Where
    custom: tuple[tuple[str, str], ...] = ()  # custom granularities: name -> the spine's column holding the period

    @property
    def custom_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.custom)


@dataclass(frozen=True)
class Spec:
    """Every semantic model, metric and saved query of a project, as written."""

    semantic_models: tuple[SemanticModel, ...] = ()
    metrics: tuple[Metric, ...] = ()
    saved_queries: tuple[SavedQuery, ...] = ()
    broken: tuple[BrokenModel, ...] = ()
    time_spine: TimeSpine | None = None

    def saved_query(self, name: str) -> SavedQuery | None:
        return next((q for q in self.saved_queries if q.name == name), None)

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)

    def semantic_model(self, name: str) -> SemanticModel | None:
        return next((s for s in self.semantic_models if s.name == name), None)
