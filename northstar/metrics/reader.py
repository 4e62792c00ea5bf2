"""Read ``semantic_models`` and ``metrics`` from YAML into the frozen dataclasses of :mod:`northstar.metrics.spec`.

This module checks the *shape* of each entry (known keys, known types, required fields) and remembers where it was
written, so every later error can name the file and line. Whether names refer to things that exist is checked by
:mod:`northstar.metrics.resolve`.

>>> from northstar.project.yamlfile import loads
>>> doc = loads('''
... semantic_models:
...   - name: orders
...     model: ref('fct_orders')
...     defaults: {agg_time_dimension: ordered_at}
...     entities: [{name: order, type: primary, expr: order_id}]
...     dimensions: [{name: ordered_at, type: time, type_params: {time_granularity: day}}]
...     measures: [{name: revenue, agg: sum, expr: payment_total}]
... metrics:
...   - name: revenue
...     type: simple
...     type_params: {measure: revenue}
... ''', "metrics/orders.yml")
>>> spec = read_spec([("metrics/orders.yml", doc)])
>>> spec.semantic_models[0].model, spec.metrics[0].params.measure.name
('fct_orders', 'revenue')
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from northstar.errors import CompileError, NorthstarError, ProjectError
from northstar.metrics.latest import METRIC_INPUT, MODEL_KEYS, legacy_metric, model_entries
from northstar.metrics.spec import (
    AGGREGATIONS,
    DIMENSION_TYPES,
    ENTITY_TYPES,
    GRAINS,
    METRIC_TYPES,
    PERIOD_AGGS,
    TIME_GRAINS,
    BrokenModel,
    CohortParams,
    ConstantProperty,
    ConversionParams,
    CoverageParams,
    CumulativeParams,
    DerivedParams,
    Dimension,
    Entity,
    Export,
    Filter,
    FunnelParams,
    FunnelStep,
    Measure,
    MeasureInput,
    Metric,
    MetricInput,
    NonAdditive,
    Params,
    PyramidLevel,
    PyramidParams,
    RatioParams,
    Refusal,
    RetentionParams,
    SavedQuery,
    SemanticModel,
    SimpleParams,
    Spec,
    TimeSpine,
    UpliftOutcome,
    UpliftParams,
    Where,
    Window,
)
from northstar.project.yamlfile import YamlDict, check_keys
from northstar.render.refs import parse_relation_call

if TYPE_CHECKING:
    from sqlglot import exp

SEMANTIC_MODEL_KEYS = {
    "name",
    "description",
    "model",
    "defaults",
    "entities",
    "dimensions",
    "measures",
    "primary_entity",
    "label",
    "config",
    "meta",
}
ENTITY_KEYS = {"name", "type", "expr", "description", "role", "label", "config", "meta"}
DIMENSION_KEYS = {"name", "type", "type_params", "expr", "description", "label", "is_partition", "config", "meta"}
MEASURE_KEYS = {
    "name",
    "agg",
    "expr",
    "description",
    "agg_time_dimension",
    "agg_params",
    "label",
    "create_metric",
    "non_additive_dimension",
    "config",
    "meta",
}
METRIC_KEYS = {
    "name",
    "type",
    "type_params",
    "filter",
    "description",
    "label",
    "config",
    "meta",
    "time_granularity",
    # Northstar's additions: who answers for the metric, the formula in words, what `metrics build` materializes,
    # and the metric's tests.
    "owner",
    "formula",
    "defaults",
    "tests",
}
_TYPE_PARAM_KEYS = {
    "simple": {"measure"},
    "ratio": {"numerator", "denominator"},
    "derived": {"expr", "metrics"},
    "cumulative": {"measure", "window", "grain_to_date", "cumulative_type_params"},
    "conversion": {"conversion_type_params"},
    "cohort": {"entity", "first_event", "measure", "horizon", "grain", "calculation"},
    "retention": {"entity", "activity", "grain", "calculation"},
    "funnel": {"entity", "steps", "grain"},
    "uplift": {"entity", "exposure", "group", "treatment", "control", "outcome", "outcomes", "window", "confidence"},
    "coverage": {"entity", "base", "measure", "window", "grain", "calculation"},
    "pyramid": {"entity", "levels", "grain"},
}
_WINDOW = re.compile(r"^\s*(\d+)\s+(day|week|month|quarter|year|hour|minute)s?\s*$", re.IGNORECASE)


def read_spec(docs: Iterable[tuple[str, Mapping[str, Any]]]) -> Spec:
    """Read the ``semantic_models`` and ``metrics`` of property files given as ``(path, data)`` pairs."""
    models: list[SemanticModel] = []
    metrics: list[Metric] = []
    saved: list[SavedQuery] = []
    broken: list[BrokenModel] = []
    spines: list[TimeSpine] = []
    seen: dict[str, Where] = {}
    for path, data in docs:
        spines += _time_spines(data, path)
        for entry in _list(data, "saved_queries", path):
            try:
                query = _saved_query(entry, path)
            except CompileError as error:  # refused when asked for only
                where = Where(path, _line(entry))
                query = SavedQuery(name=str(entry.get("name") or "?"), where=where, metrics=(), error=error)
            _unique(seen, f"saved query '{query.name}'", f"sq:{query.name}", query.where)
            saved.append(query)
        for entry in _list(data, "semantic_models", path):
            if not _enabled(entry, "semantic model", path):
                continue
            try:
                model = _semantic_model(entry, path)
            except CompileError as error:  # refused for the metrics reading it only
                broken.append(broken_model(entry, error))
                continue
            _unique(seen, f"semantic model '{model.name}'", f"sm:{model.name}", model.where)
            models.append(model)
        entries = [legacy_metric(entry) for entry in _list(data, "metrics", path)]
        entries += [
            metric
            for entry in _list(data, "semantic_models", path)
            if _enabled(entry, "semantic model", path)
            for metric in _created_metrics(entry, path)
        ]
        for entry in _list(data, "models", path):
            if any(key in entry for key in MODEL_KEYS):
                model_entry, model_metrics = _latest_model(entry, path, broken)
                if model_entry is not None:
                    _unique(seen, f"semantic model '{model_entry.name}'", f"sm:{model_entry.name}", model_entry.where)
                    models.append(model_entry)
                entries += model_metrics
        for entry in entries:
            if not _enabled(entry, "metric", path):
                continue
            metric = _metric(entry, path)
            _unique(seen, f"metric '{metric.name}'", f"m:{metric.name}", metric.where)
            metrics.append(metric)
    return Spec(
        tuple(models),
        tuple(_metric_inputs(metrics)),
        tuple(saved),
        broken=tuple(broken),
        time_spine=spines[0] if spines else None,
    )


def _latest_model(entry: YamlDict, path: str, broken: list[BrokenModel]) -> tuple[SemanticModel | None, list[YamlDict]]:
    """A model entry of dbt 1.12's spec: its semantic model (None if it declares none, or set aside in ``broken``
    with its mistake) and its metrics."""
    if isinstance(entry, YamlDict) and entry.path is None:
        entry.path = path
    try:
        raw, metrics = model_entries(entry, path)
        return (_semantic_model(raw, path) if raw is not None else None), metrics
    except CompileError as error:
        raw_metrics = [m for m in entry.get("metrics") or [] if isinstance(m, YamlDict)]
        names = tuple(str(m.get("name")) for m in raw_metrics if m.get("agg") is not None)
        broken.append(BrokenModel(str(entry.get("name")), names, error))
        return None, [legacy_metric(m) for m in raw_metrics if m.get("agg") is None] + [
            _stand_in(m) for m in raw_metrics if m.get("agg") is not None
        ]


def _enabled(entry: Mapping[str, Any], what: str, path: str) -> bool:
    """``config: {enabled: false}`` on a semantic model or metric: dbt leaves it out of the project, and so do we."""
    config = entry.get("config") if isinstance(entry, Mapping) else None
    if config is None:
        return True
    name = f"{what} '{entry.get('name')}'"
    if not isinstance(config, Mapping):
        raise CompileError(f"'config' of the {name} must be a mapping.", path, _line(entry, "config"))
    enabled = config.get("enabled", True)
    if not isinstance(enabled, bool):
        raise CompileError(
            f"'enabled' in the config of the {name} must be true or false, not {enabled!r}.",
            path,
            _line(config, "enabled"),
        )
    return enabled


def _created_metrics(entry: YamlDict, path: str) -> list[YamlDict]:
    """``create_metric: true`` on a measure: a simple metric of the measure's name over it, as dbt creates one
    (labelled as the measure); a metric of the same name written too is the duplicate dbt refuses."""
    found = []
    measures = entry.get("measures")
    for measure in measures if isinstance(measures, list) else []:
        if not isinstance(measure, YamlDict) or measure.get("create_metric") in (None, False):
            continue
        if measure.get("create_metric") is not True:
            raise CompileError(
                f"'create_metric' of measure '{measure.get('name')}' must be true or false, not "
                f"{measure.get('create_metric')!r}.",
                path,
                _line(measure, "create_metric"),
            )
        name = measure.get("name")
        created = YamlDict({"name": name, "type": "simple", "type_params": {"measure": name}})
        for key in ("label", "description"):
            if measure.get(key) is not None:
                created[key] = measure[key]
        created.line, created.path = _line(measure), path
        found.append(created)
    return found


def _stand_in(entry: YamlDict) -> YamlDict:
    """A simple metric of a semantic model set aside: a metric over its (missing) measure, refused when used."""
    out = YamlDict({"name": entry.get("name"), "type": "simple", "type_params": {"measure": str(entry.get("name"))}})
    out.line, out.path = entry.line, entry.path
    return out


def _metric_inputs(metrics: list[Metric]) -> list[Metric]:
    """Measure inputs that name a simple metric (dbt 1.12's ``input_metric``, ``base_metric``...) replaced by that
    metric's measure, its filter and the input's own both applying."""
    simple = {m.name: m for m in metrics if isinstance(m.params, SimpleParams)}

    def swap(item: MeasureInput, metric: Metric) -> MeasureInput:
        if not item.names_metric:
            return item
        used = simple.get(item.name)
        if used is None or not isinstance(used.params, SimpleParams):
            raise CompileError(
                f"Metric '{metric.name}' uses metric '{item.name}', which is not a simple metric of the project. "
                f"Valid choices: {', '.join(sorted(simple)) or 'none'}.",
                metric.where.path,
                metric.where.line,
            )
        own = used.params.measure
        joined = _and(_and(own.filter, used.filter), item.filter)
        return replace(own, filter=joined, alias=item.alias or own.alias, names_metric=False)

    out = []
    for metric in metrics:
        p = metric.params
        if isinstance(p, CumulativeParams):
            p = replace(p, measure=swap(p.measure, metric))
        elif isinstance(p, ConversionParams):
            p = replace(
                p, base_measure=swap(p.base_measure, metric), conversion_measure=swap(p.conversion_measure, metric)
            )
        out.append(replace(metric, params=p) if p is not metric.params else metric)
    return out


def broken_model(entry: Mapping[str, Any], error: NorthstarError) -> BrokenModel:
    """A semantic model that cannot be read, with the measure names it declares (as far as they can be read), so
    the metrics using them are refused with its error."""

    def names(key: str) -> tuple[str, ...]:
        items = entry.get(key)
        found = [m.get("name") for m in items if isinstance(m, dict)] if isinstance(items, list) else []
        return tuple(n for n in found if isinstance(n, str))

    provides = (*names("entities"), *names("dimensions"))
    return BrokenModel(str(entry.get("name") or "?"), names("measures"), error, provides)


def _time_spines(data: Mapping[str, Any], path: str) -> list[TimeSpine]:
    """The daily time spines among a property file's models (their shape was checked when the project loaded).

    MetricFlow takes one spine per grain; Northstar reads the daily one (a spine of hours would serve sub-daily
    cumulative metrics, which Northstar does not build)."""
    found = []
    models = data.get("models")
    for entry in models if isinstance(models, list) else []:
        spine = entry.get("time_spine") if isinstance(entry, dict) else None
        if not isinstance(spine, dict) or not isinstance(spine.get("standard_granularity_column"), str):
            continue
        column = spine["standard_granularity_column"]
        declared = {c.get("name"): c.get("granularity") for c in entry.get("columns") or [] if isinstance(c, dict)}
        if str(declared.get(column) or "day").lower() == "day":
            custom = tuple(
                (str(item["name"]), str(item.get("column_name") or item["name"]))
                for item in spine.get("custom_granularities") or []
                if isinstance(item, dict) and item.get("name")
            )
            found.append(TimeSpine(str(entry.get("name")), column, Where(path, _line(entry)), custom))
    return found


def parse_window(value: Any, what: str, where: Where) -> Window:
    """``'14 days'`` -> Window(14, 'day'); anything else is an error naming the file and line."""
    match = _WINDOW.match(str(value))
    if not match:
        raise CompileError(
            f"{what} is '{value}', which is not a duration. Write a number and a unit, e.g. '14 days' or "
            "'3 months' (units: minute, hour, day, week, month, quarter, year).",
            where.path,
            where.line,
        )
    return Window(int(match.group(1)), match.group(2).lower())


def _unique(seen: dict[str, Where], what: str, key: str, where: Where) -> None:
    if key in seen:
        first = seen[key]
        raise CompileError(
            f"The {what} is defined twice: here and in {first.path}:{first.line}. Keep one of them.",
            where.path,
            where.line,
        )
    seen[key] = where


def _list(data: Mapping[str, Any], key: str, path: str) -> list[YamlDict]:
    value = data.get(key)
    if value is None:
        return []
    line = data.line_of(key) if isinstance(data, YamlDict) else None
    if not isinstance(value, list):
        raise CompileError(f"'{key}' must be a list of entries (- name: ...).", path, line)
    for item in value:
        if not isinstance(item, dict):
            raise CompileError(f"Each entry of '{key}' must be a mapping with a 'name'.", path, line)
    return value


def _line(entry: Mapping[str, Any], key: str | None = None) -> int | None:
    if not isinstance(entry, YamlDict):
        return None
    return entry.line_of(key) if key else entry.line


def _name(entry: Mapping[str, Any], what: str, path: str) -> str:
    name = entry.get("name")
    if not name or not isinstance(name, str):
        raise CompileError(f"A {what} has no 'name'. Add `name: ...`.", path, _line(entry))
    return name


def _choice(
    entry: Mapping[str, Any], key: str, choices: tuple[str, ...], what: str, path: str, default: str | None = None
) -> str:
    value = entry.get(key, default)
    if isinstance(value, str) and value.lower() in choices:  # MetricFlow reads enums in any case (agg: SUM)
        value = value.lower()
    if value not in choices:
        shown = "nothing" if value is None else f"'{value}'"
        raise CompileError(f"{what} has {key} {shown}. Valid choices: {', '.join(choices)}.", path, _line(entry, key))
    return str(value)


def _check(entry: Mapping[str, Any], allowed: set[str], what: str, path: str) -> None:
    if isinstance(entry, YamlDict) and entry.path is None:
        entry.path = path
    try:
        check_keys(entry, allowed, what)
    except Exception as error:  # ProjectError: re-raise as a CompileError of the same text
        raise CompileError(getattr(error, "message", str(error)), path, getattr(error, "line", None)) from None


def _semantic_model(entry: YamlDict, path: str) -> SemanticModel:
    name = _name(entry, "semantic model", path)
    what = f"semantic model '{name}'"
    _check(entry, SEMANTIC_MODEL_KEYS, what, path)
    model = _ref(entry.get("model"), what, path, _line(entry, "model"))
    defaults = entry.get("defaults") or {}
    _check(defaults, {"agg_time_dimension"}, f"the defaults of {what}", path)
    entities = tuple(_entity(e, what, path) for e in _sublist(entry, "entities", what, path))
    dimensions = tuple(_dimension(d, what, path) for d in _sublist(entry, "dimensions", what, path))
    measures = tuple(_measure(m, what, path) for m in _sublist(entry, "measures", what, path))
    for kind, items in (("entity", entities), ("dimension", dimensions), ("measure", measures)):
        names = [item.name for item in items]
        for item in items:
            if names.count(item.name) > 1:
                raise CompileError(
                    f"The {what} declares {kind} '{item.name}' twice. Rename or remove one.", path, item.line
                )
    _check_validity(dimensions, entities, what, path, _line(entry))
    return SemanticModel(
        name=name,
        model=model,
        where=Where(path, _line(entry)),
        description=str(entry.get("description") or "").strip(),
        default_agg_time=defaults.get("agg_time_dimension"),
        primary_entity=entry.get("primary_entity"),
        entities=entities,
        dimensions=dimensions,
        measures=measures,
    )


def _check_validity(
    dimensions: tuple[Dimension, ...], entities: tuple[Entity, ...], what: str, path: str, line: int | None
) -> None:
    """A slowly changing dimension has one start and one end, and a natural entity it is joined on."""
    ends = [d.validity for d in dimensions if d.validity is not None]
    if not ends:
        return
    if sorted(ends) != ["end", "start"]:
        raise CompileError(
            f"The {what} is a slowly changing dimension: give it one time dimension with validity_params "
            "{is_start: true} and one with {is_end: true}.",
            path,
            line,
        )
    if not any(e.type == "natural" for e in entities):
        raise CompileError(
            f"The {what} is a slowly changing dimension (validity_params): its entity, which repeats once per "
            "version, must be of type natural.",
            path,
            line,
        )


def _ref(value: Any, what: str, path: str, line: int | None) -> str:
    try:
        call = parse_relation_call(value, path, line)
    except CompileError:
        call = None
    if call is None or call.function != "ref" or len(call.args) != 1:
        raise CompileError(f"The {what} reads model {value!r}; write it as `model: ref('fct_orders')`.", path, line)
    return call.name


def _sublist(entry: YamlDict, key: str, what: str, path: str) -> list[YamlDict]:
    value = entry.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise CompileError(f"'{key}' of the {what} must be a list of mappings.", path, _line(entry, key))
    return value


def _entity(entry: YamlDict, owner: str, path: str) -> Entity:
    name = _name(entry, f"entity of the {owner}", path)
    what = f"entity '{name}' of the {owner}"
    _check(entry, ENTITY_KEYS, what, path)
    kind = _choice(entry, "type", ENTITY_TYPES, f"The {what}", path)
    expr = str(entry.get("expr") or name)
    sql = _sql_expr(entry, expr, what, path)
    return Entity(name, kind, expr, str(entry.get("description") or ""), _line(entry), sql=sql)


def _dimension(entry: YamlDict, owner: str, path: str) -> Dimension:
    name = _name(entry, f"dimension of the {owner}", path)
    what = f"dimension '{name}' of the {owner}"
    _check(entry, DIMENSION_KEYS, what, path)
    kind = _choice(entry, "type", DIMENSION_TYPES, f"The {what}", path)
    granularity = None
    params = entry.get("type_params") or {}
    _check(params, {"time_granularity", "validity_params"}, f"the type_params of {what}", path)
    if kind == "time":
        granularity = _choice(params, "time_granularity", TIME_GRAINS, f"The {what}", path, default="day")
    expr = str(name if entry.get("expr") is None else entry["expr"])
    sql = _sql_expr(entry, expr, what, path)
    validity = _validity(params.get("validity_params"), kind, what, path, _line(params, "validity_params"))
    return Dimension(
        name, kind, expr, granularity, str(entry.get("description") or ""), _line(entry), sql=sql, validity=validity
    )


def _validity(value: Any, kind: str, what: str, path: str, line: int | None) -> str | None:
    """``validity_params: {is_start: true}`` or ``{is_end: true}``: the start or end of a slowly changing
    dimension's window (None when not given)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise CompileError(f"'validity_params' of the {what} must be a mapping: {{is_start: true}}.", path, line)
    _check(value, {"is_start", "is_end"}, f"the validity_params of {what}", path)
    ends = [key.removeprefix("is_") for key in ("is_start", "is_end") if value.get(key) is True]
    if kind != "time" or len(ends) != 1:
        raise CompileError(
            f"The {what} sets validity_params: a time dimension with one of is_start: true or is_end: true.",
            path,
            line,
        )
    return ends[0]


def _measure(entry: YamlDict, owner: str, path: str) -> Measure:
    name = _name(entry, f"measure of the {owner}", path)
    what = f"measure '{name}' of the {owner}"
    _check(entry, MEASURE_KEYS, what, path)
    agg = _choice(entry, "agg", AGGREGATIONS, f"The {what}", path)
    params = entry.get("agg_params") or {}
    _check(params, {"percentile", "use_discrete_percentile", "use_approximate_percentile"}, what, path)
    percentile = params.get("percentile")
    if agg == "percentile" and not (isinstance(percentile, int | float) and 0 < percentile < 1):
        raise CompileError(
            f"The {what} is a percentile: give `agg_params: {{percentile: 0.9}}` with a value between 0 and 1.",
            path,
            _line(entry),
        )
    discrete, approximate = (
        _flag(params, key, what, path) for key in ("use_discrete_percentile", "use_approximate_percentile")
    )
    _check_agg_params(agg, params, discrete, approximate, what, path, _line(entry, "agg_params"))
    expr = str(name if entry.get("expr") is None else entry["expr"])
    sql = _sql_expr(entry, expr, what, path)
    return Measure(
        approximate=approximate,
        non_additive=_non_additive(entry.get("non_additive_dimension"), what, path, _line(entry)),
        name=name,
        agg=agg,
        expr=expr,
        agg_time_dimension=entry.get("agg_time_dimension"),
        percentile=float(percentile) if percentile is not None else None,
        discrete=discrete,
        description=str(entry.get("description") or ""),
        line=_line(entry),
        sql=sql,
    )


def _flag(params: Mapping[str, Any], key: str, what: str, path: str) -> bool:
    value = params.get(key, False)
    if not isinstance(value, bool):
        raise CompileError(f"'{key}' of the {what} must be true or false, not {value!r}.", path, _line(params, key))
    return value


def _check_agg_params(
    agg: str, params: Mapping[str, Any], discrete: bool, approximate: bool, what: str, path: str, line: int | None
) -> None:
    """agg_params as MetricFlow validates them: percentile parameters on a percentile (a median is the 0.5
    continuous one), and no approximate discrete percentile, which DuckDB has no function for."""
    if agg == "percentile" and discrete and approximate:
        raise CompileError(
            f"The {what} sets use_discrete_percentile and use_approximate_percentile: DuckDB has no approximate "
            "discrete percentile (MetricFlow refuses it too). Set one of them to false.",
            path,
            line,
        )
    if agg == "median":
        wrong = [key for key in ("use_discrete_percentile",) if discrete]
        wrong += ["percentile"] if params.get("percentile") not in (None, 0.5) else []
    elif agg != "percentile":
        wrong = [
            key for key in ("percentile", "use_discrete_percentile", "use_approximate_percentile") if params.get(key)
        ]
    else:
        wrong = []
    if wrong:
        raise CompileError(
            f"The {what} is a {agg} with agg_params {', '.join(wrong)}, which only a percentile takes (a median is "
            "the continuous 0.5 percentile). Remove them, or use agg: percentile.",
            path,
            line,
        )


def _non_additive(value: Any, what: str, path: str, line: int | None) -> NonAdditive | None:
    if value is None:
        return None
    if isinstance(value, str):
        return NonAdditive(value)
    if not isinstance(value, dict) or not value.get("name"):
        raise CompileError(
            f"The non_additive_dimension of the {what} needs a `name:` (a time dimension), e.g. "
            "`non_additive_dimension: {name: balance_date, window_choice: max}`.",
            path,
            line,
        )
    _check(value, {"name", "window_choice", "window_groupings"}, f"the non_additive_dimension of the {what}", path)
    choice = _choice(value, "window_choice", ("min", "max"), f"The non_additive_dimension of the {what}", path, "min")
    groupings = value.get("window_groupings") or []
    if isinstance(groupings, str):
        groupings = [groupings]
    return NonAdditive(str(value["name"]), choice, tuple(str(g) for g in groupings))


def _sql_expr(entry: Mapping[str, Any], expr: str, what: str, path: str) -> exp.Expr:
    """``expr`` parsed, once for every later use; an error at its line if it is not SQL."""
    import sqlglot  # here, not at the top: a cached `metrics query` reads no YAML and should import no sqlglot

    try:
        return sqlglot.parse_one(expr, dialect="duckdb")
    except sqlglot.errors.SqlglotError:
        raise CompileError(
            f"The expr of the {what} is not valid SQL: {expr!r}. Write a column or an expression on the model's "
            "columns, e.g. expr: amount * quantity.",
            path,
            _line(entry, "expr"),
        ) from None


def _metric(entry: YamlDict, path: str) -> Metric:
    name = _name(entry, "metric", path)
    what = f"metric '{name}'"
    _check(entry, METRIC_KEYS, what, path)
    kind = _choice(entry, "type", METRIC_TYPES, f"The {what}", path)
    where = Where(path, _line(entry))
    raw = entry.get("type_params")
    if not isinstance(raw, dict):
        raise CompileError(
            f"The {what} has no type_params. A {kind} metric needs: {', '.join(sorted(_TYPE_PARAM_KEYS[kind]))}.",
            path,
            _line(entry),
        )
    _check(raw, _TYPE_PARAM_KEYS[kind] | {"input_measures"}, f"the type_params of {what}", path)
    meta = entry.get("meta") or {}
    defaults = entry.get("defaults") or {}
    _check(defaults, {"grain", "by"}, f"the defaults of {what}", path)
    grain = defaults.get("grain", entry.get("time_granularity"))
    if grain is not None and grain not in GRAINS:
        raise CompileError(
            f"The {what} has default grain '{grain}'. Valid choices: {', '.join(GRAINS)}.", path, _line(defaults)
        )
    by = defaults.get("by") or []
    if isinstance(by, str):
        by = [by]
    tests = entry.get("tests") or []
    if not isinstance(tests, list):
        raise CompileError(f"'tests' of the {what} must be a list.", path, _line(entry, "tests"))
    return Metric(
        refusals=tuple(_refusals(raw, path, kind)),
        name=name,
        type=kind,
        params=_params(kind, raw, what, path, where),
        where=where,
        description=str(entry.get("description") or "").strip(),
        label=str(entry.get("label") or ""),
        owner=str(entry.get("owner") or meta.get("owner") or ""),
        formula=str(entry.get("formula") or meta.get("formula") or "").strip(),
        filter=_filter(entry.get("filter")),
        default_grain=grain,
        default_by=tuple(str(b) for b in by),
        meta=meta,
        tests=tuple(tests),
    )


SAVED_QUERY_KEYS = {"name", "description", "label", "query_params", "exports", "config"}
QUERY_PARAM_KEYS = {"metrics", "group_by", "where", "order_by", "limit"}
# A saved query's config: `enabled` and `export_as`/`schema` (its exports' defaults) act; `meta`, `group` and `tags`
# describe; `cache` is dbt Cloud's result cache (Northstar caches every query's SQL, and answers from the warehouse).
SAVED_QUERY_CONFIG_KEYS = {"enabled", "export_as", "schema", "cache", "meta", "group", "tags"}
EXPORT_CONFIG_KEYS = {"export_as", "schema", "alias"}


def _saved_query(entry: YamlDict, path: str) -> SavedQuery:
    """A saved query: its query_params read into ``--by``/``--order`` names, its exports with their defaults."""
    from northstar.metrics.filters import render_object

    name = _name(entry, "saved query", path)
    what = f"saved query '{name}'"
    _check(entry, SAVED_QUERY_KEYS, what, path)
    config = entry.get("config") or {}
    if not isinstance(config, dict):
        raise CompileError(f"'config' of the {what} must be a mapping.", path, _line(entry, "config"))
    _check(config, SAVED_QUERY_CONFIG_KEYS, f"the config of {what}", path)
    params = entry.get("query_params")
    if not isinstance(params, dict):
        raise CompileError(
            f"The {what} has no query_params. Give at least `query_params: {{metrics: [...]}}` or a group_by.",
            path,
            _line(entry),
        )
    _check(params, QUERY_PARAM_KEYS, f"the query_params of {what}", path)

    def names(key: str) -> tuple[str, ...]:
        value = params.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CompileError(f"'{key}' of the {what} must be a list of names.", path, _line(params, key))
        try:
            return tuple(render_object(v) if key != "metrics" else v.strip() for v in value)
        except ProjectError as error:
            raise CompileError(f"'{key}' of the {what}: {error.message}", path, _line(params, key)) from None

    metrics, group_by = names("metrics"), names("group_by")
    if not metrics and not group_by:
        raise CompileError(
            f"The query_params of {what} name no metrics and no group_by: give `metrics: [...]`, `group_by: [...]` or "
            "both.",
            path,
            _line(params),
        )
    where = params.get("where") or []
    if isinstance(where, str):
        where = [where]
    if not isinstance(where, list) or not all(isinstance(w, str) for w in where):
        raise CompileError(
            f"'where' of the {what} must be a filter or a list of filters.", path, _line(params, "where")
        )
    limit = params.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise CompileError(
            f"'limit' of the {what} must be a whole number, e.g. `limit: 10`.", path, _line(params, "limit")
        )
    enabled = config.get("enabled", True)
    exports = tuple(_export(item, what, path, config) for item in _sublist(entry, "exports", what, path))
    query = SavedQuery(
        name=name,
        where=Where(path, _line(entry)),
        metrics=metrics,
        group_by=group_by,
        filters=tuple(w.strip() for w in where if w.strip()),
        order_by=names("order_by"),
        limit=limit,
        description=str(entry.get("description") or "").strip(),
        label=str(entry.get("label") or ""),
        exports=exports,
        enabled=enabled is not False,
        group_by_written=_written(params.get("group_by")),
        order_by_written=_written(params.get("order_by")),
        config=dict(config),
    )
    return query


def _written(value: Any) -> tuple[str, ...]:
    """A list of names (or one) as written, stripped; checked by the caller."""
    items = [value] if isinstance(value, str) else value or []
    return tuple(str(item).strip() for item in items)


def _export(entry: YamlDict, owner: str, path: str, defaults: Mapping[str, Any]) -> Export:
    name = _name(entry, f"export of the {owner}", path)
    what = f"export '{name}' of the {owner}"
    _check(entry, {"name", "config"}, what, path)
    config = {k: v for k, v in defaults.items() if k in ("export_as", "schema")}
    own = entry.get("config") or {}
    if not isinstance(own, dict):
        raise CompileError(f"'config' of the {what} must be a mapping.", path, _line(entry, "config"))
    _check(own, EXPORT_CONFIG_KEYS, f"the config of {what}", path)
    config.update(own)
    if "export_as" not in config:
        raise CompileError(f"The {what} needs `config: {{export_as: table}}` (or view).", path, _line(entry))
    export_as = _choice(config, "export_as", ("table", "view"), f"The {what}", path)
    schema, alias = config.get("schema"), config.get("alias")
    return Export(name, export_as, str(schema) if schema else None, str(alias) if alias else None, _line(entry))


def _filter(value: Any) -> Filter | None:
    """MetricFlow allows one filter or a list of them (all must hold)."""
    if value is None:
        return None
    if isinstance(value, list):
        parts = [str(v).strip() for v in value if str(v).strip()]
        return _parsed_filter(" AND ".join(f"({p})" for p in parts)) if parts else None
    text = str(value).strip()
    return _parsed_filter(text) if text else None


def _parsed_filter(text: str) -> Filter:
    """A filter with its condition parsed once, here; its error kept for where the filter is used."""
    from northstar.metrics.filters import parse_condition  # here: a cached `metrics query` imports no sqlglot

    try:
        return Filter(text, parse_condition(text, "Filter"))
    except NorthstarError as error:
        return Filter(text, error)


def _measure_input(value: Any, what: str, path: str, line: int | None) -> MeasureInput:
    if isinstance(value, str):
        return MeasureInput(value)
    if not isinstance(value, dict) or "name" not in value:
        raise CompileError(f"{what} must be a measure name or a mapping with a 'name'.", path, line)
    _check(value, {"name", "filter", "alias", "fill_nulls_with", "join_to_timespine", METRIC_INPUT}, what, path)
    fill = value.get("fill_nulls_with")
    if fill is not None and (isinstance(fill, bool) or not isinstance(fill, int | float)):
        raise CompileError(f"fill_nulls_with of {what} must be a number, e.g. `fill_nulls_with: 0`.", path, line)
    spine = value.get("join_to_timespine", False)
    if not isinstance(spine, bool):
        raise CompileError(f"join_to_timespine of {what} must be true or false.", path, line)
    named = bool(value.get(METRIC_INPUT))
    return MeasureInput(
        str(value["name"]), _filter(value.get("filter")), value.get("alias"), fill, named, join_to_timespine=spine
    )


def _metric_input(value: Any, what: str, path: str, line: int | None) -> MetricInput:
    if isinstance(value, str):
        return MetricInput(value)
    if not isinstance(value, dict) or "name" not in value:
        raise CompileError(f"{what} must be a metric name or a mapping with a 'name'.", path, line)
    _check(value, {"name", "filter", "alias", "offset_window", "offset_to_grain"}, what, path)
    where = Where(path, _line(value))
    offset = value.get("offset_window")
    grain = value.get("offset_to_grain")
    if grain is not None:
        grain = _choice(value, "offset_to_grain", GRAINS, what, path)
    return MetricInput(
        name=str(value["name"]),
        filter=_filter(value.get("filter")),
        alias=value.get("alias"),
        offset_window=parse_window(offset, f"The offset_window of {what}", where) if offset else None,
        offset_to_grain=grain,
    )


def _required(raw: Mapping[str, Any], key: str, what: str, path: str) -> Any:
    if raw.get(key) in (None, "", []):
        raise CompileError(f"The type_params of {what} need '{key}'.", path, _line(raw))
    return raw[key]


@dataclass(frozen=True)
class _TypeParams:
    """A metric's ``type_params`` being read: the mapping, the metric (for messages) and where it was written."""

    raw: Mapping[str, Any]
    what: str
    path: str
    where: Where

    @property
    def line(self) -> int | None:
        return _line(self.raw)

    def required(self, key: str, source: Mapping[str, Any] | None = None) -> Any:
        return _required(self.raw if source is None else source, key, self.what, self.path)

    def measure(self, key: str, source: Mapping[str, Any] | None = None) -> MeasureInput:
        source = self.raw if source is None else source
        what = f"'{key}' of the {self.what}"
        return _measure_input(self.required(key, source), what, self.path, _line(source, key))

    def window(self, key: str, source: Mapping[str, Any] | None = None) -> Window | None:
        source = self.raw if source is None else source
        value = source.get(key)
        if not value:
            return None
        return parse_window(value, f"'{key}' of the {self.what}", Where(self.path, _line(source, key)))

    def grain(self, key: str, default: str, source: Mapping[str, Any] | None = None) -> str:
        return _choice(self.raw if source is None else source, key, GRAINS, f"The {self.what}", self.path, default)

    def choice(self, choices: tuple[str, ...], source: Mapping[str, Any] | None = None) -> str:
        """``calculation``: one of ``choices``, the first by default."""
        source = self.raw if source is None else source
        return _choice(source, "calculation", choices, f"The {self.what}", self.path, default=choices[0])

    def entity(self) -> str:
        return str(self.required("entity"))

    def error(self, message: str, line: int | None = None) -> CompileError:
        return CompileError(message, self.path, self.line if line is None else line)


def _simple(t: _TypeParams) -> SimpleParams:
    return SimpleParams(t.measure("measure"))


def _ratio(t: _TypeParams) -> RatioParams:
    numerator = _metric_input(t.required("numerator"), f"The numerator of {t.what}", t.path, t.line)
    denominator = _metric_input(t.required("denominator"), f"The denominator of {t.what}", t.path, t.line)
    return RatioParams(numerator, denominator)


def _derived(t: _TypeParams) -> DerivedParams:
    items = t.required("metrics")
    if not isinstance(items, list):
        raise t.error(f"'metrics' of the {t.what} must be a list.", _line(t.raw, "metrics"))
    inputs = tuple(_metric_input(i, f"An input of {t.what}", t.path, _line(t.raw, "metrics")) for i in items)
    expr = str(t.required("expr"))
    return DerivedParams(expr, inputs, sql=_derived_expr(expr, t.what, t.where))


def _cumulative(t: _TypeParams) -> CumulativeParams:
    source = t.raw.get("cumulative_type_params") or t.raw
    _check(source, {"measure", "window", "grain_to_date", "period_agg"} | set(t.raw), t.what, t.path)
    to_date = t.grain("grain_to_date", "month", source) if source.get("grain_to_date") is not None else None
    period_agg = _choice(source, "period_agg", PERIOD_AGGS, f"The {t.what}", t.path, default="first")
    params = CumulativeParams(t.measure("measure"), t.window("window", source), to_date, period_agg)
    if params.window and params.grain_to_date:
        raise t.error(f"The {t.what} has both a window and grain_to_date; keep one.")
    return params


def _conversion(t: _TypeParams) -> ConversionParams:
    source = t.required("conversion_type_params")
    _check(
        source,
        {"base_measure", "conversion_measure", "entity", "window", "calculation", "constant_properties"},
        f"the conversion_type_params of {t.what}",
        t.path,
    )
    calculation = t.choice(("conversion_rate", "conversions"), source)
    return ConversionParams(
        t.measure("base_measure", source),
        t.measure("conversion_measure", source),
        str(t.required("entity", source)),
        t.window("window", source),
        calculation,
        _constant_properties(source.get("constant_properties"), t),
    )


def _constant_properties(value: Any, t: _TypeParams) -> tuple[ConstantProperty, ...]:
    """``constant_properties: [{base_property: product, conversion_property: product}]``."""
    if value in (None, []):
        return ()
    what = f"constant_properties of the {t.what}"
    example = "e.g. `- {base_property: product, conversion_property: product}`"
    if not isinstance(value, list):
        raise t.error(f"The {what} must be a list of mappings, {example}.")
    found = []
    for item in value:
        if not isinstance(item, dict):
            raise t.error(f"Each item of the {what} must be a mapping, {example}.")
        _check(item, {"base_property", "conversion_property"}, f"an item of the {what}", t.path)
        base, conversion = item.get("base_property"), item.get("conversion_property")
        if not isinstance(base, str) or not isinstance(conversion, str) or not base or not conversion:
            raise t.error(
                f"Each item of the {what} needs base_property and conversion_property, {example}.", _line(item)
            )
        found.append(ConstantProperty(base.strip(), conversion.strip()))
    return tuple(found)


def _cohort(t: _TypeParams) -> CohortParams:
    calculation = t.choice(("per_member", "total"))
    return CohortParams(
        t.entity(),
        t.measure("first_event"),
        t.measure("measure"),
        t.window("horizon"),
        t.grain("grain", "month"),
        calculation,
    )


def _retention(t: _TypeParams) -> RetentionParams:
    calculation = t.choice(("retention", "churn"))
    return RetentionParams(t.entity(), t.measure("activity"), t.grain("grain", "month"), calculation)


def _funnel(t: _TypeParams) -> FunnelParams:
    items = t.required("steps")
    if not isinstance(items, list) or len(items) < 2:
        raise t.error(f"The {t.what} needs at least two steps (a list under 'steps').")
    steps = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise t.error(f"Step {i + 1} of the {t.what} must be a mapping.")
        _check(item, {"name", "measure", "filter", "window"}, f"step {i + 1} of the {t.what}", t.path)
        base = t.measure("measure", item)
        if item.get("filter"):
            base = MeasureInput(base.name, _and(base.filter, _filter(item.get("filter"))), base.alias)
        steps.append(FunnelStep(str(item.get("name") or base.name), base, t.window("window", item)))
    names = [s.name for s in steps]
    if len(set(names)) != len(names):
        raise t.error(f"The steps of the {t.what} need distinct names; got {', '.join(names)}.")
    return FunnelParams(t.entity(), tuple(steps), t.grain("grain", "day"))


def _uplift(t: _TypeParams) -> UpliftParams:
    raw, what = t.raw, t.what
    confidence = raw.get("confidence", 0.95)
    if not isinstance(confidence, int | float) or not 0 < confidence < 1:
        raise t.error(f"The confidence of {what} must be between 0 and 1, e.g. 0.95.")
    span = t.window("window")
    if span is None:
        raise t.error(f"The type_params of {what} need 'window', e.g. `window: 14 days`.")
    if ("outcome" in raw) == ("outcomes" in raw):
        raise t.error(
            f"The type_params of {what} need either 'outcome' (one measure) or 'outcomes' (a list of "
            "{name, measure} or {name, numerator, denominator})."
        )
    outcomes = _outcomes(raw, what, t.path) if "outcomes" in raw else ()
    return UpliftParams(
        t.entity(),
        t.measure("exposure"),
        str(t.required("group")),
        outcomes[0].measures[0] if outcomes else t.measure("outcome"),
        span,
        str(raw.get("treatment", "treatment")),
        str(raw.get("control", "control")),
        float(confidence),
        outcomes,
    )


def _coverage(t: _TypeParams) -> CoverageParams:
    calculation = t.choice(("penetration", "white_space"))
    return CoverageParams(
        t.entity(), t.measure("base"), t.measure("measure"), t.window("window"), t.grain("grain", "month"), calculation
    )


def _pyramid(t: _TypeParams) -> PyramidParams:
    return PyramidParams(t.entity(), _levels(t.raw, t.what, t.path), t.grain("grain", "month"))


# One reader per metric type; each checks what its type needs (the keys themselves were checked by _metric).
_PARAMS: dict[str, Callable[[_TypeParams], Params]] = {
    "simple": _simple,
    "ratio": _ratio,
    "derived": _derived,
    "cumulative": _cumulative,
    "conversion": _conversion,
    "cohort": _cohort,
    "retention": _retention,
    "funnel": _funnel,
    "uplift": _uplift,
    "coverage": _coverage,
    "pyramid": _pyramid,
}


def _params(kind: str, raw: Mapping[str, Any], what: str, path: str, where: Where) -> Params:
    return _PARAMS[kind](_TypeParams(raw, what, path, where))  # kind is one of METRIC_TYPES: _choice checked it


def _outcomes(raw: Mapping[str, Any], what: str, path: str) -> tuple[UpliftOutcome, ...]:
    """The outcomes of a multi-outcome uplift: ``{name, measure}`` or ``{name, numerator, denominator}`` each."""
    items = raw.get("outcomes")
    if not isinstance(items, list) or not items:
        raise CompileError(f"'outcomes' of the {what} must be a non-empty list.", path, _line(raw, "outcomes"))
    outcomes = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("name"):
            raise CompileError(
                f"Outcome {i + 1} of the {what} must be a mapping with a name, e.g. `- {{name: orders, measure: "
                "completed_orders}`.",
                path,
                _line(raw, "outcomes"),
            )
        outcome = f"outcome '{item['name']}' of the {what}"
        _check(item, {"name", "description", "measure", "numerator", "denominator"}, outcome, path)
        line = _line(item)
        if ("measure" in item) == ("numerator" in item or "denominator" in item) or ("numerator" in item) != (
            "denominator" in item
        ):
            raise CompileError(
                f"The {outcome} needs either `measure:` (a value per member) or both `numerator:` and "
                "`denominator:` (a ratio of two sums, e.g. revenue per order).",
                path,
                line,
            )

        sides = [
            _measure_input(item[key], f"'{key}' of the {outcome}", path, line) if item.get(key) is not None else None
            for key in ("measure", "numerator", "denominator")
        ]
        outcomes.append(UpliftOutcome(str(item["name"]), *sides))
    names = [o.name for o in outcomes]
    if len(set(names)) != len(names):
        raise CompileError(
            f"The outcomes of the {what} need distinct names; got {', '.join(names)}.", path, _line(raw, "outcomes")
        )
    return tuple(outcomes)


def _levels(raw: Mapping[str, Any], what: str, path: str) -> tuple[PyramidLevel, ...]:
    """The levels of a pyramid metric, each a mapping with a name, a measure and an optional window and test."""
    items = _required(raw, "levels", what, path)
    if not isinstance(items, list) or len(items) < 2:
        raise CompileError(f"The {what} needs at least two levels (a list under 'levels').", path, _line(raw, "levels"))
    levels = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("name"):
            raise CompileError(
                f"Level {i + 1} of the {what} must be a mapping with a name, e.g. `- {{name: buyers, measure: "
                "orders, window: 12 months}`.",
                path,
                _line(raw, "levels"),
            )
        level = f"level '{item['name']}' of the {what}"
        _check(item, {"name", "description", "measure", "filter", "window", "min", "top_share"}, level, path)
        line = _line(item)
        base = _measure_input(_required(item, "measure", level, path), f"'measure' of the {level}", path, line)
        if item.get("filter"):
            base = MeasureInput(base.name, _and(base.filter, _filter(item.get("filter"))), base.alias)
        span = item.get("window")
        window = parse_window(span, f"'window' of the {level}", Where(path, _line(item, "window"))) if span else None
        low, share = item.get("min"), item.get("top_share")
        if low is not None and (isinstance(low, bool) or not isinstance(low, int | float)):
            raise CompileError(f"'min' of the {level} must be a number, e.g. `min: 2`.", path, _line(item, "min"))
        if share is not None and (isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1):
            raise CompileError(
                f"'top_share' of the {level} must be a share between 0 and 1, e.g. `top_share: 0.7`.",
                path,
                _line(item, "top_share"),
            )
        if low is not None and share is not None:
            raise CompileError(f"The {level} sets both min and top_share; keep one.", path, line)
        levels.append(
            PyramidLevel(
                str(item["name"]),
                base,
                window,
                float(low) if low is not None else None,
                float(share) if share is not None else None,
            )
        )
    names = [level.name for level in levels]
    if len(set(names)) != len(names):
        raise CompileError(
            f"The levels of the {what} need distinct names; got {', '.join(names)}.", path, _line(raw, "levels")
        )
    return tuple(levels)


# Valid MetricFlow that Northstar does not build yet. A metric using one is refused when it is queried, compiled or
# built (naming the key and its line); refusing it beats computing something else, and other metrics keep working.
_UNSUPPORTED = {
    "join_to_timespine": "only a simple metric's measure joins the time spine",
}


def _refusals(raw: Any, path: str, kind: str) -> list[Refusal]:
    found = []
    stack = [raw]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                allowed = key == "join_to_timespine" and (not value or kind == "simple")
                if key in _UNSUPPORTED and value not in (None, [], {}) and not allowed:
                    line = item.line_of(key) if isinstance(item, YamlDict) else None
                    found.append(Refusal(key, _UNSUPPORTED[key], path, line))
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _and(left: Filter | None, right: Filter | None) -> Filter | None:
    """Both filters, as one written ``(left) AND (right)``."""
    if left and right:
        return _parsed_filter(f"({left.text}) AND ({right.text})")
    return left or right


def _derived_expr(expr: str, what: str, where: Where) -> exp.Expr:
    """A derived metric's ``expr``, parsed once; an error at the metric if it is not SQL."""
    import sqlglot  # here, not at the top: a cached `metrics query` reads no YAML and should import no sqlglot

    try:
        return sqlglot.parse_one(expr, dialect="duckdb")
    except sqlglot.errors.SqlglotError:  # ParseError, or TokenError: an unclosed quote
        raise CompileError(f"The expr of derived {what} is not valid SQL: {expr!r}.", where.path, where.line) from None
