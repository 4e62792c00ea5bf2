"""The semantic layer: YAML metrics compiled by sqlglot into one readable DuckDB query each.

Modules: ``spec`` (the frozen dataclasses), ``reader`` (YAML -> spec, shape errors with file:line), ``resolve``
(names checked, joins through entities, derived metrics expanded), ``filters`` (MetricFlow filter syntax and
``--where``), ``request`` and ``compile`` (the passes building one query), ``growth`` (cohort, retention,
conversion, funnel, uplift), ``query`` (run and format), ``cache`` (compiled SQL per request), ``nodes`` (metrics as
DAG nodes for ``metrics build``), ``checks`` (metric tests), ``cli`` (what the commands call).

The public API, used by the CLI and by lineage (here on the example project at the repository root):

>>> from pathlib import Path
>>> from northstar.project.loader import load_project
>>> project = load_project(Path("."))
>>> sem = load_semantics(project)              # a Project or a Manifest; validated once
>>> print(metric_sql(project, "north_star"))   # DuckDB SQL at the metric's default grain and dimensions
WITH orders AS (
  /* orders: completed_orders = count of case when is_completed then order_id end, per metric_time__month; ...
  SELECT
    CAST(DATE_TRUNC('MONTH', orders.ordered_at) AS DATE) AS metric_time__month,
...
>>> [(m.name, m.semantic_models, m.measures, m.dimensions) for m in list_metrics(project)][0]
('revenue', ('orders',), ('revenue',), ('orders.ordered_at',))

``metric_sql`` reads only warehouse relations (the models the semantic models name with ``ref()``).
``list_metrics`` returns :class:`~northstar.metrics.resolve.MetricInfo` values: name, type, description, owner, the
semantic models and the models (relations' names) it reads, its measures, and the dimensions it uses (agg-time
dimensions as ``semantic_model.dimension``, filter dimensions as written, e.g. ``order__is_crm_attributed``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

# Every module of the package runs this file first (`metrics query` answered from the cache imports
# metrics.cache): the imports of the functions below stay inside them so that path stays free of sqlglot and Jinja.
if TYPE_CHECKING:
    from northstar.metrics.resolve import MetricInfo, Semantics
    from northstar.nodes import Node, NodeId
    from northstar.project.loader import Project
    from northstar.render.jinja import Relation


class CompiledProject(Protocol):
    """A compiled project as the semantic layer reads it: a :class:`~northstar.render.manifest.Manifest` (named
    structurally: the manifest module itself reads the semantic layer)."""

    @property
    def project(self) -> Project: ...

    @property
    def nodes(self) -> Mapping[NodeId, Node]: ...


def project_of(project_or_manifest: Project | CompiledProject) -> Project:
    """The project itself, or the project a manifest was compiled from."""
    from northstar.project.loader import Project

    return project_or_manifest if isinstance(project_or_manifest, Project) else project_or_manifest.project


_SECTIONS = frozenset(("semantic_models", "metrics", "saved_queries"))


def model_relations(
    project_or_manifest: Project | CompiledProject, only: set[str] | None = None
) -> dict[str, Relation]:
    """Model name -> warehouse relation, without rendering any model (a manifest's relations if given one).

    A model whose SQL calls ``config()`` needs Jinja to read its schema or alias; with ``only``, that is done for
    those models alone, so answering a metric does not pay for parsing models it does not read.
    """
    from northstar.project.loader import Project

    if not isinstance(project_or_manifest, Project):  # the relations the manifest's models and seeds build
        from northstar.nodes import ModelNode, SeedNode

        nodes = project_or_manifest.nodes.values()
        return {n.name: n.built for n in nodes if isinstance(n, ModelNode | SeedNode) and n.built is not None}
    from northstar.project.config import build_config, merge_config, resolve_folder_config
    from northstar.project.loader import schema_for
    from northstar.render.jinja import Relation, make_environment, static_config

    project = project_or_manifest
    namer = None
    if project.names_relations:  # the project's generate_*_name macros decide: render them as a build would
        from northstar.render.naming import project_namer

        namer = project_namer(project)
    env = None
    relations: dict[str, Relation] = {}
    for model in project.models:
        static: dict[str, Any] = {}
        if "config(" in model.sql:
            if only is not None and model.name not in only:
                continue
            env = env or make_environment()
            static = static_config(env, model.sql, model.path)
        props = model.properties
        raw = merge_config(
            resolve_folder_config(project.config.models, (*model.folders, model.name)),
            props.config if props else {},
            static,
        )
        config = build_config(raw, "view", f"Model '{model.name}'", model.path, None)
        if config.materialized != "ephemeral" and config.enabled:
            relations[model.name] = (
                namer.relation("model", model.name, model.path, model.folders, config, model.package)
                if namer
                else Relation(schema_for(project.config, config.schema, model.folders), config.alias or model.name)
            )
    for seed in project.seeds:
        relations[seed.name] = (
            namer.relation("seed", seed.name, seed.path, seed.folders, seed.config, seed.package)
            if namer
            else Relation(seed.schema, seed.alias)
        )
    return relations


def semantic_docs(project: Project) -> list[tuple[str, Any]]:
    """``(path, data)`` of every YAML document the semantic layer reads (semantic models, metrics, saved queries,
    and models declaring MetricFlow's ``time_spine:``)."""
    return [
        (doc.path, doc.data)
        for doc in project.yaml_docs
        if _SECTIONS.intersection(doc.data) or _declares(doc.data) or _spine(doc.data)
    ]


def _declares(data: Any) -> bool:
    """Whether a property file declares a semantic model on a model (dbt 1.12's spec: ``semantic_model:``)."""
    models = data.get("models")
    return isinstance(models, list) and any(isinstance(m, dict) and "semantic_model" in m for m in models)


def _spine(data: Any) -> bool:
    models = data.get("models")
    return isinstance(models, list) and any(isinstance(m, dict) and "time_spine" in m for m in models)


# MetricFlow's time spine before dbt 1.9: a model of this name with one row per day in `date_day`.
LEGACY_SPINE = ("metricflow_time_spine", "date_day")


def load_semantics(project_or_manifest: Project | CompiledProject) -> Semantics:
    """Read and validate every semantic model and metric of a project (or of a manifest's project)."""
    from dataclasses import replace

    from northstar.metrics.reader import read_spec
    from northstar.metrics.resolve import semantics
    from northstar.metrics.spec import TimeSpine, Where

    project = project_of(project_or_manifest)
    spec = read_spec(semantic_docs(project))
    if spec.time_spine is None:
        legacy = next((m for m in project.models if m.name == LEGACY_SPINE[0]), None)
        if legacy is not None:
            spec = replace(spec, time_spine=TimeSpine(legacy.name, LEGACY_SPINE[1], Where(legacy.path, None)))
    read = {model.model for model in spec.semantic_models}
    if spec.time_spine is not None:
        read.add(spec.time_spine.model)
    return semantics(spec, model_relations(project_or_manifest, read))


def metric_sql(project_or_manifest: Project | CompiledProject, metric_name: str) -> str:
    """The DuckDB SQL of a metric at its default grain and dimensions (what ``metrics build`` materializes)."""
    from northstar.metrics.compile import compile_request, default_request

    sem = load_semantics(project_or_manifest)
    return compile_request(sem, default_request(sem.metric(metric_name), sem))


def list_metrics(project_or_manifest: Project | CompiledProject) -> list[MetricInfo]:
    """Every metric with its type, description, owner, semantic models, measures and dimensions."""
    sem = load_semantics(project_or_manifest)
    return [sem.info(metric) for metric in sem.spec.metrics]


__all__ = ["load_semantics", "semantic_docs", "metric_sql", "list_metrics", "model_relations", "project_of"]
