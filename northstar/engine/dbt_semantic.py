"""Semantic models and metrics in dbt's manifest shape (schema v12), for ``target/manifest.json``.

dbt knows five metric types (simple, ratio, derived, cumulative, conversion). Northstar's growth metrics (cohort,
retention, funnel, uplift, coverage, pyramid) are each computed per entity from a first measure and a later one, so
dbt's manifest shows them as the nearest dbt type, ``conversion`` over the same entity, measures and window, with
``config.meta.northstar_type`` naming the real type. Their value is *not* a conversion's: the definition Northstar
computes is in ``target/northstar_manifest.json`` (docs/manifest.md, "Growth metrics in dbt's manifest").

>>> GROWTH_AS_CONVERSION["funnel"]
'conversion_rate'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from northstar.engine.dbt_manifest import database_name, quoted_relation, within_folder
from northstar.metrics.resolve import MetricInfo
from northstar.metrics.spec import (
    CohortParams,
    ConversionParams,
    CoverageParams,
    CumulativeParams,
    DerivedParams,
    Filter,
    FunnelParams,
    MeasureInput,
    Metric,
    MetricInput,
    Params,
    PyramidParams,
    RatioParams,
    RetentionParams,
    SavedQuery,
    SemanticModel,
    SimpleParams,
    UpliftParams,
    Window,
)
from northstar.nodes import NodeId
from northstar.render.jinja import Relation
from northstar.render.manifest import Manifest

# The `calculation` a growth metric's conversion stand-in says: a share (rate) or an amount (conversions).
GROWTH_AS_CONVERSION = {
    "cohort": "conversions",
    "retention": "conversion_rate",
    "funnel": "conversion_rate",
    "uplift": "conversions",
    "coverage": "conversion_rate",
    "pyramid": "conversions",
}


def semantic_model_entry(manifest: Manifest, model: SemanticModel, parents: list[str]) -> dict[str, Any]:
    project = manifest.project.config.name
    parent = manifest.by_name.get(model.model)
    node = manifest.nodes.get(parent) if parent else None
    relation = node.built if node is not None else None
    database = database_name(manifest)
    return {
        "unique_id": f"semantic_model.{project}.{model.name}",
        "resource_type": "semantic_model",
        "package_name": project,
        "name": model.name,
        "path": within_folder(model.where.path),
        "original_file_path": model.where.path,
        "fqn": [project, model.name],
        "description": model.description,
        "label": None,
        "model": f"ref('{model.model}')",
        "node_relation": _node_relation(database, relation) if isinstance(relation, Relation) else None,
        "defaults": {"agg_time_dimension": model.default_agg_time},
        "primary_entity": model.primary_entity,
        "entities": [
            {"name": e.name, "type": e.type, "description": e.description or None, "expr": e.expr, "role": None}
            for e in model.entities
        ],
        "dimensions": [
            {
                "name": d.name,
                "type": d.type,
                "description": d.description or None,
                "expr": d.expr,
                "is_partition": False,
                "type_params": {"time_granularity": d.granularity or "day", "validity_params": None}
                if d.is_time
                else None,
            }
            for d in model.dimensions
        ],
        "measures": [
            {
                "name": m.name,
                "agg": m.agg,
                "description": m.description or None,
                "expr": m.expr,
                "create_metric": False,
                "agg_params": {"percentile": m.percentile, "use_discrete_percentile": m.discrete}
                if m.percentile is not None
                else None,
                "non_additive_dimension": {
                    "name": m.non_additive.dimension,
                    "window_choice": m.non_additive.window_choice,
                    "window_groupings": list(m.non_additive.groupings),
                }
                if m.non_additive is not None
                else None,
                "agg_time_dimension": m.agg_time_dimension,
            }
            for m in model.measures
        ],
        "depends_on": {"macros": [], "nodes": parents},
        "refs": [{"name": model.model, "package": None, "version": None}],
        "config": {"enabled": True, "meta": {}},
        "unrendered_config": {},
    }


def _node_relation(database: str, relation: Relation) -> dict[str, Any]:
    return {
        "alias": relation.identifier,
        "schema_name": relation.schema,
        "database": database,
        "relation_name": quoted_relation(database, relation),
    }


def metric_entry(project: str, metric: Metric, info: MetricInfo, parents: list[str]) -> dict[str, Any]:
    """A metric in dbt's shape; a growth metric as its conversion stand-in, ``config.meta.northstar_type`` set."""
    meta = dict(metric.meta)
    if metric.type in GROWTH_AS_CONVERSION:
        meta["northstar_type"] = metric.type
    inputs = [i.name for i in _metric_inputs(metric.params)]
    return {
        "unique_id": f"metric.{project}.{metric.name}",
        "resource_type": "metric",
        "package_name": project,
        "name": metric.name,
        "path": within_folder(metric.where.path),
        "original_file_path": metric.where.path,
        "fqn": [project, metric.name],
        "description": metric.description,
        "label": metric.label or metric.name,
        "type": "conversion" if metric.type in GROWTH_AS_CONVERSION else metric.type,
        "type_params": {
            **type_params(metric.type, metric.params),
            "input_measures": [_measure({"name": name}) for name in info.measures],
        },
        "filter": _filter(metric.filter),
        "config": {"enabled": True, "meta": meta},
        "unrendered_config": {},
        "meta": meta,
        "tags": [],
        "sources": [],
        "refs": [],
        "metrics": [[name] for name in inputs],
        "depends_on": {"macros": [], "nodes": sorted({*parents, *(str(NodeId("metric", project, n)) for n in inputs)})},
    }


def saved_query_entry(project: str, query: SavedQuery, metrics_schema: str) -> dict[str, Any]:
    """A saved query in dbt's shape: its query_params as written, its exports with the schema they are written to."""
    config = query.config
    return {
        "unique_id": f"saved_query.{project}.{query.name}",
        "resource_type": "saved_query",
        "package_name": project,
        "name": query.name,
        "path": within_folder(query.where.path),
        "original_file_path": query.where.path,
        "fqn": [project, query.name],
        "description": query.description or None,
        "label": query.label or None,
        "query_params": {
            "metrics": list(query.metrics),
            "group_by": list(query.group_by_written),
            "where": {"where_filters": [{"where_sql_template": text} for text in query.filters]}
            if query.filters
            else None,
            "order_by": list(query.order_by_written),
            "limit": query.limit,
        },
        "exports": [
            {
                "name": export.name,
                "config": {
                    "export_as": export.export_as,
                    "schema_name": export.schema or metrics_schema,
                    "alias": export.alias or export.name,
                    "database": None,
                },
                "unrendered_config": {},
            }
            for export in query.exports
        ],
        "config": {
            "enabled": True,
            "group": config.get("group"),
            "meta": dict(config.get("meta") or {}),
            "export_as": config.get("export_as"),
            "schema": config.get("schema"),
            "cache": {"enabled": bool((config.get("cache") or {}).get("enabled", False))},
        },
        "unrendered_config": {},
        "group": config.get("group"),
        "depends_on": {"macros": [], "nodes": sorted(str(NodeId("metric", project, name)) for name in query.metrics)},
        "refs": [],
        "tags": list(config.get("tags") or []),
    }


def type_params(kind: str, p: Params) -> dict[str, Any]:
    """``type_params`` of each metric type, in dbt's spelling (windows as ``{count, granularity}``)."""
    if isinstance(p, SimpleParams):
        return {"measure": _measure_input(p.measure)}
    if isinstance(p, RatioParams):
        return {"numerator": _metric_input(p.numerator), "denominator": _metric_input(p.denominator)}
    if isinstance(p, DerivedParams):
        return {"expr": p.expr, "metrics": [_metric_input(m) for m in p.metrics]}
    if isinstance(p, CumulativeParams):
        # Where dbt 1.8 writes them: dbt 1.9 repeats them in `cumulative_type_params`, which readers of dbt 1.8's
        # schema v12 (dbt-artifacts-parser before 0.8) refuse.
        return {"measure": _measure_input(p.measure), "window": _window(p.window), "grain_to_date": p.grain_to_date}
    if isinstance(p, ConversionParams):
        entry = _conversion(p.entity, p.base_measure, p.conversion_measure, p.window, p.calculation)
        if p.constant_properties:
            entry["conversion_type_params"]["constant_properties"] = [
                {"base_property": c.base_property, "conversion_property": c.conversion_property}
                for c in p.constant_properties
            ]
        return entry
    first, last, window = _growth_measures(p)
    return _conversion(_entity(p), first, last, window, GROWTH_AS_CONVERSION[kind])


def _growth_measures(p: Params) -> tuple[MeasureInput, MeasureInput, Window | None]:
    """A growth metric's first measure, later measure and window: what its conversion stand-in shows."""
    if isinstance(p, CohortParams):
        return p.first_event, p.measure, p.horizon
    if isinstance(p, RetentionParams):
        return p.activity, p.activity, Window(1, p.grain)
    if isinstance(p, FunnelParams):
        windows = [s.window for s in p.steps[1:]]
        units = {w.unit for w in windows if w is not None}
        total = (
            Window(sum(w.count for w in windows if w), units.pop()) if None not in windows and len(units) == 1 else None
        )
        return p.steps[0].measure, p.steps[-1].measure, total
    if isinstance(p, UpliftParams):
        return p.exposure, p.outcome, p.window
    if isinstance(p, CoverageParams):
        return p.base, p.measure, p.window
    if isinstance(p, PyramidParams):
        return p.levels[0].measure, p.levels[-1].measure, p.levels[-1].window
    raise TypeError(f"not a growth metric's parameters: {type(p).__name__}")


def _entity(p: Params) -> str:
    if isinstance(p, CohortParams | RetentionParams | FunnelParams | UpliftParams | CoverageParams | PyramidParams):
        return p.entity
    raise TypeError(f"not a growth metric's parameters: {type(p).__name__}")


def _conversion(
    entity: str, base: MeasureInput, conversion: MeasureInput, window: Window | None, calculation: str
) -> dict[str, Any]:
    return {
        "conversion_type_params": {
            "entity": entity,
            "base_measure": _measure_input(base),
            "conversion_measure": _measure_input(conversion),
            "calculation": calculation,
            "window": _window(window),
            "constant_properties": None,
        }
    }


def _metric_inputs(p: Params) -> list[MetricInput]:
    if isinstance(p, RatioParams):
        return [p.numerator, p.denominator]
    if isinstance(p, DerivedParams):
        return list(p.metrics)
    return []


def _filter(value: Filter | None) -> dict[str, Any] | None:
    return {"where_filters": [{"where_sql_template": value.text}]} if value is not None else None


def _window(value: Window | None) -> dict[str, Any] | None:
    return {"count": value.count, "granularity": value.unit} if value is not None else None


def _measure(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": values["name"],
        "filter": None,
        "alias": None,
        "join_to_timespine": False,
        "fill_nulls_with": None,
        **values,
    }


def _measure_input(value: MeasureInput) -> dict[str, Any]:
    fill = value.fill_nulls_with
    return _measure(
        {
            "name": value.name,
            "filter": _filter(value.filter),
            "alias": value.alias,
            # dbt's schema takes a whole number; another value is in Northstar's own file only.
            "fill_nulls_with": int(fill) if fill is not None and float(fill).is_integer() else None,
        }
    )


def _metric_input(value: MetricInput) -> dict[str, Any]:
    return {
        "name": value.name,
        "filter": _filter(value.filter),
        "alias": value.alias,
        "offset_window": _window(value.offset_window),
        "offset_to_grain": value.offset_to_grain,
    }
