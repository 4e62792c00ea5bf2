"""dbt 1.12's latest semantic-layer spelling, read into the legacy shape :mod:`northstar.metrics.reader` reads.

In the latest spec a model declares its semantic model in its own YAML (``semantic_model: {enabled: true}``,
``agg_time_dimension`` and ``primary_entity`` on the model, ``entity:``/``dimension:`` and ``granularity`` on its
columns, ``derived_semantics`` for expressions), simple metrics aggregate a column themselves (``agg``, ``expr``)
instead of naming a measure, and every metric type writes its parameters beside ``type`` rather than under
``type_params``. Each entry is checked here in the shape the user wrote (unknown keys refused by name, with their
line) and rewritten, lines kept, into a legacy ``semantic_models`` entry (one measure per simple metric, named after
it) and legacy ``metrics`` entries, so both spellings meet in one spec and may be mixed in one project.

Cumulative and conversion metrics name a *metric* in the latest spec (``input_metric``, ``base_metric``); they are
written here as that metric's name and resolved to its measure by the reader once every metric is read
(:data:`METRIC_INPUT`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from northstar.errors import CompileError, ProjectError
from northstar.project.yamlfile import YamlDict, check_keys

SEMANTIC_MODEL_KEYS = {"enabled", "name", "description", "label", "group", "config", "meta"}
# Keys a model entry may carry for its semantic model (beside dbt's own model properties).
MODEL_KEYS = ("semantic_model", "agg_time_dimension", "primary_entity", "derived_semantics", "metrics")
ENTITY_KEYS = {"name", "type", "description", "label", "config", "meta"}
DIMENSION_KEYS = {"name", "type", "description", "label", "is_partition", "validity_params", "config", "meta"}
# Keys every metric takes, in either spelling; then each type's own parameters in the latest spelling.
_COMMON = {"name", "type", "description", "label", "config", "meta", "filter", "time_granularity"}
_NORTHSTAR = {"owner", "formula", "defaults", "tests"}
LATEST_PARAMS = {
    "simple": {
        "agg",
        "expr",
        "agg_time_dimension",
        "percentile",
        "percentile_type",
        "fill_nulls_with",
        "join_to_timespine",
        "non_additive_dimension",
    },
    "ratio": {"numerator", "denominator"},
    "derived": {"expr", "input_metrics"},
    "cumulative": {"input_metric", "window", "grain_to_date", "period_agg"},
    "conversion": {"entity", "calculation", "base_metric", "conversion_metric", "window", "constant_properties"},
}
# The marker of a measure input that names a metric (latest spec): the reader swaps in that metric's measure.
METRIC_INPUT = "__metric__"


def _error(message: str, entry: Mapping[str, Any], key: str | None = None) -> CompileError:
    line = entry.line_of(key) if isinstance(entry, YamlDict) and key else getattr(entry, "line", None)
    return CompileError(message, getattr(entry, "path", None), line)


def _check(entry: Mapping[str, Any], allowed: set[str], what: str) -> None:
    try:
        check_keys(entry, allowed, what)
    except ProjectError as error:
        raise CompileError(error.message, error.path or getattr(entry, "path", None), error.line) from None


def _like(source: Mapping[str, Any], items: dict[str, Any], lines: Mapping[str, str] | None = None) -> YamlDict:
    """A mapping written at ``source``'s place: each key's line is that of the key it came from (``lines``)."""
    out = YamlDict(items)
    out.line = getattr(source, "line", None)
    out.path = getattr(source, "path", None)
    if isinstance(source, YamlDict):
        for key in items:
            line = source.key_lines.get((lines or {}).get(key, key))
            if line is not None:
                out.key_lines[key] = line
    return out


def is_semantic(entry: Mapping[str, Any]) -> bool:
    """Whether a model entry declares a semantic model (``semantic_model: true`` or a mapping not disabled)."""
    value = entry.get("semantic_model")
    if isinstance(value, Mapping):
        return value.get("enabled", True) is not False
    return value is True


def model_entries(entry: YamlDict, path: str) -> tuple[YamlDict | None, list[YamlDict]]:
    """A model entry of the latest spec as a legacy semantic model (None when it declares none) and its metrics."""
    name = str(entry.get("name"))
    if not is_semantic(entry):
        stray = [key for key in MODEL_KEYS[1:] if entry.get(key) not in (None, [], {})]
        if stray:
            raise _error(
                f"Model '{name}' sets {stray[0]}, which belongs to a semantic model, but declares none: add "
                "`semantic_model: {enabled: true}` (dbt 1.12's spec) or remove the key.",
                entry,
                stray[0],
            )
        return None, []
    semantic = entry.get("semantic_model")
    settings: Mapping[str, Any] = semantic if isinstance(semantic, Mapping) else {}
    _check(settings, SEMANTIC_MODEL_KEYS, f"the semantic_model of model '{name}'")
    what = f"semantic model of model '{name}'"
    entities: list[YamlDict] = []
    dimensions: list[YamlDict] = []
    for column in entry.get("columns") or []:
        if isinstance(column, YamlDict):
            _column(column, what, entities, dimensions)
    derived = entry.get("derived_semantics") or {}
    if not isinstance(derived, Mapping):
        raise _error(f"derived_semantics of the {what} must be a mapping of dimensions and entities.", entry)
    _check(derived, {"dimensions", "entities"}, f"the derived_semantics of the {what}")
    for item in derived.get("dimensions") or []:
        dimensions.append(_derived_dimension(item, what))
    entities.extend(derived.get("entities") or [])
    measures: list[YamlDict] = []
    metrics: list[YamlDict] = []
    for item in entry.get("metrics") or []:
        if not isinstance(item, YamlDict):
            raise _error(f"Each metric of model '{name}' must be a mapping with a name.", entry, "metrics")
        measure, metric = _model_metric(item, path)
        if measure is not None:
            measures.append(measure)
        metrics.append(metric)
    model = _like(
        entry,
        {
            "name": settings.get("name") or name,
            "description": settings.get("description") or entry.get("description") or "",
            "model": f"ref('{name}')",
            "defaults": {"agg_time_dimension": entry["agg_time_dimension"]} if entry.get("agg_time_dimension") else {},
            "entities": entities,
            "dimensions": dimensions,
            "measures": measures,
            **({"primary_entity": entry["primary_entity"]} if entry.get("primary_entity") else {}),
        },
        {"defaults": "agg_time_dimension"},
    )
    return model, metrics


def _column(column: YamlDict, what: str, entities: list[YamlDict], dimensions: list[YamlDict]) -> None:
    """A column's ``entity:`` or ``dimension:`` (with the column's ``granularity`` for a time dimension)."""
    name = str(column.get("name"))
    if column.get("entity") is not None and column.get("dimension") is not None:
        raise _error(
            f"Column '{name}' of the {what} is both an entity and a dimension; a column is one or the other (add "
            "the other under derived_semantics).",
            column,
        )
    entity = column.get("entity")
    if entity is not None:
        if not isinstance(entity, Mapping):
            raise _error(f"entity: of column '{name}' must be a mapping, e.g. `entity: {{type: primary}}`.", column)
        _check(entity, ENTITY_KEYS, f"the entity of column '{name}' of the {what}")
        entities.append(_like(entity, {**entity, "name": entity.get("name") or name, "expr": name}))
    dimension = column.get("dimension")
    if dimension is not None:
        if not isinstance(dimension, Mapping):
            raise _error(
                f"dimension: of column '{name}' must be a mapping, e.g. `dimension: {{type: categorical}}`.", column
            )
        _check(dimension, DIMENSION_KEYS, f"the dimension of column '{name}' of the {what}")
        items = {k: v for k, v in dimension.items() if k != "validity_params"}
        items |= {"name": dimension.get("name") or name, "expr": name}
        if str(dimension.get("type", "")).lower() == "time":
            if column.get("granularity") is None:
                raise _error(
                    f"Column '{name}' of the {what} is a time dimension without `granularity:` (on the column, e.g. "
                    "`granularity: day`).",
                    column,
                )
            items["type_params"] = {"time_granularity": column["granularity"]}
        if dimension.get("validity_params") is not None:
            items.setdefault("type_params", {})["validity_params"] = dimension["validity_params"]
        dimensions.append(_like(dimension, items))


def _derived_dimension(item: Any, what: str) -> Any:
    """A ``derived_semantics`` dimension: as legacy, with ``granularity`` beside ``type`` for a time one."""
    if not isinstance(item, YamlDict) or "granularity" not in item:
        return item
    items = {k: v for k, v in item.items() if k != "granularity"}
    items["type_params"] = {**(item.get("type_params") or {}), "time_granularity": item["granularity"]}
    return _like(item, items)


def _model_metric(entry: YamlDict, path: str) -> tuple[YamlDict | None, YamlDict]:
    """A metric under a model: a simple one with ``agg`` becomes a measure of that name and a metric over it."""
    name = str(entry.get("name"))
    kind = str(entry.get("type", "")).lower()
    if kind != "simple" or "type_params" in entry:
        return None, legacy_metric(entry)
    _check(entry, _COMMON | _NORTHSTAR | LATEST_PARAMS["simple"], f"metric '{name}'")
    if entry.get("agg") is None:
        raise _error(f"Simple metric '{name}' needs `agg:` (sum, count, ...) and usually `expr:`.", entry)
    measure_keys = ("agg", "expr", "agg_time_dimension", "non_additive_dimension")
    measure = {key: entry[key] for key in measure_keys if key in entry}
    measure["name"] = name
    if entry.get("percentile") is not None:
        measure["agg_params"] = {
            "percentile": _percentile(entry),
            "use_discrete_percentile": str(entry.get("percentile_type", "continuous")).lower() == "discrete",
        }
    elif entry.get("percentile_type") is not None:
        raise _error(f"Metric '{name}' sets percentile_type without percentile.", entry, "percentile_type")
    inputs: dict[str, Any] = {"name": name}
    for key in ("fill_nulls_with", "join_to_timespine"):
        if entry.get(key) is not None:
            inputs[key] = entry[key]
    metric = {k: v for k, v in entry.items() if k not in LATEST_PARAMS["simple"]}
    metric["type_params"] = _like(entry, {"measure": inputs})
    return _like(entry, measure), _like(entry, metric)


def _percentile(entry: YamlDict) -> float:
    """``percentile: 0.95``: a fraction, as MetricFlow takes it (dbt passes 95 through and the query fails)."""
    value = entry.get("percentile")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise _error(
            f"percentile of metric '{entry.get('name')}' is {value!r}; write a fraction between 0 and 1, e.g. 0.95 "
            "for the 95th percentile.",
            entry,
            "percentile",
        )
    return float(value)


def legacy_metric(entry: YamlDict) -> YamlDict:
    """A metric in the latest spelling (parameters beside ``type``) as a legacy one (under ``type_params``); a
    legacy metric as it is."""
    kind = str(entry.get("type", "")).lower()
    if "type_params" in entry or kind not in LATEST_PARAMS:
        return entry
    name = str(entry.get("name"))
    _check(entry, _COMMON | _NORTHSTAR | LATEST_PARAMS[kind], f"metric '{name}'")
    if kind == "simple":
        raise _error(
            f"Simple metric '{name}' has no type_params: in dbt 1.12's spec a simple metric with `agg:` is written "
            "under its model's `metrics:` (the model declaring `semantic_model:`); elsewhere give "
            "`type_params: {measure: ...}`.",
            entry,
        )
    params: dict[str, Any] = {}
    lines: dict[str, str] = {}
    if kind in ("ratio", "derived"):
        params = {k: entry[k] for k in ("numerator", "denominator", "expr") if k in entry}
        if "input_metrics" in entry:
            params["metrics"], lines["metrics"] = entry["input_metrics"], "input_metrics"
    elif kind == "cumulative":
        params = {k: entry[k] for k in ("window", "grain_to_date", "period_agg") if k in entry}
        if "input_metric" in entry:
            params["measure"], lines["measure"] = _metric_input(entry["input_metric"]), "input_metric"
    else:
        conversion = {k: entry[k] for k in ("entity", "calculation", "window", "constant_properties") if k in entry}
        for key, legacy in (("base_metric", "base_measure"), ("conversion_metric", "conversion_measure")):
            if key in entry:
                conversion[legacy] = _metric_input(entry[key])
        params = {"conversion_type_params": _like(entry, conversion)}
    rest = {k: v for k, v in entry.items() if k not in LATEST_PARAMS[kind]}
    return _like(entry, {**rest, "type_params": _like(entry, params, lines)})


def _metric_input(value: Any) -> Any:
    """``input_metric: revenue`` (or a mapping with a name and filter): marked as naming a metric."""
    if isinstance(value, str):
        return {"name": value, METRIC_INPUT: True}
    if isinstance(value, Mapping):
        return _like(value, {**value, METRIC_INPUT: True})
    return value
