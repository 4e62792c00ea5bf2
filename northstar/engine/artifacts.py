"""Files written to ``target/``: compiled SQL, dbt's ``run_results.json`` and ``manifest.json``, and Northstar's
own ``northstar_manifest.json`` beside them (format: docs/manifest.md).

Writes go through a temporary file and a rename, so a reader never sees half a JSON document.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from northstar import __version__
from northstar import lineage as column_lineage
from northstar.engine import dbt_manifest, northstar_manifest
from northstar.engine.execute import NodeResult
from northstar.jsonfile import write_json
from northstar.lineage.graph import Lineage
from northstar.metrics.build_cache import CACHE_FILE, MetricBuildCache
from northstar.metrics.nodes import SCHEMA as METRICS_SCHEMA
from northstar.metrics.nodes import read_nodes
from northstar.nodes import AnalysisNode, MetricNode, ModelNode, NodeId
from northstar.render.manifest import Manifest

RUN_RESULTS_SCHEMA = "https://schemas.getdbt.com/dbt/run-results/v6.json"


def write_run_results(
    target_dir: Path,
    results: Iterable[NodeResult],
    elapsed: float,
    invocation_id: str,
    args: Mapping[str, Any],
    relations: Mapping[NodeId, str],
) -> Path:
    path = target_dir / "run_results.json"
    # dbt's run results metadata has no room for Northstar's version: it is in args.
    metadata = dbt_manifest.metadata(invocation_id, RUN_RESULTS_SCHEMA)
    data = {
        "metadata": metadata,
        "results": [
            {
                "unique_id": r.unique_id,
                "status": r.status,
                "execution_time": round(r.elapsed, 6),
                "message": r.message,
                "failures": r.failures,
                "relation_name": relations.get(r.unique_id),
                "thread_id": "Thread-1",  # dbt's field is a name; Northstar's workers are not told apart here
                "timing": [],
                # dbt-duckdb reports rows here; Northstar's own per-node details (e.g. kept unchanged) too.
                "adapter_response": {
                    **({"rows_affected": r.rows} if r.rows is not None else {}),
                    **({"northstar": dict(r.details)} if r.details else {}),
                },
            }
            for r in results
        ],
        "elapsed_time": round(elapsed, 6),
        "args": {**dict(args), "northstar_version": __version__},
    }
    write_json(path, data)
    return path


def compiled_path(target_dir: Path, project_name: str, node_path: str) -> Path:
    return target_dir / "compiled" / project_name / node_path


def write_compiled(
    manifest: Manifest,
    target_dir: Path,
    nodes: Iterable[NodeId] | None = None,
    translate: Callable[[str], str] | None = None,
) -> None:
    """Write each model's rendered SQL to ``target/compiled/<project>/<path>``, as dbt does; ``translate`` gives the
    SQL another engine runs instead (a Spark target's)."""
    name = manifest.project.config.name
    for uid in nodes if nodes is not None else manifest.nodes:
        node = manifest.nodes[uid]
        # Analyses only when asked for (metrics compile), as dbt writes them only then.
        if isinstance(node, ModelNode) or (isinstance(node, AnalysisNode) and nodes is not None):
            path = compiled_path(target_dir, name, node.path)
            text = (translate(node.sql) if translate else node.sql) + "\n"
            # Rewriting an unchanged file is not free (ext4 flushes a truncated, rewritten file): a no-change
            # build of 100 models spent most of its time here.
            with contextlib.suppress(OSError):
                if path.read_text(encoding="utf-8") == text:
                    continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


def write_manifest(
    manifest: Manifest, target_dir: Path, columns: Mapping[tuple[str, str], dict[str, str]] | None = None
) -> Path:
    """Write ``target/manifest.json`` (dbt's schema v12, nothing else) and, beside it, Northstar's own
    ``target/northstar_manifest.json`` (fingerprints, metric definitions, column lineage). ``columns``: those of
    the warehouse, when the caller has them (else read from the published file)."""
    # A broken metric YAML leaves the metrics out here: the metric commands report it themselves.
    built = dict(columns) if columns is not None else None
    lineage = column_lineage.project_lineage(manifest, strict=False, built=built)
    data = dbt_manifest_data(manifest, lineage)
    write_json(target_dir / northstar_manifest.FILE_NAME, northstar_manifest.northstar_manifest(manifest, lineage))
    path = target_dir / "manifest.json"
    write_json(path, data)
    return path


def dbt_manifest_data(manifest: Manifest, lineage: Lineage) -> dict[str, Any]:
    """manifest.json's content: nodes, sources, unit tests, semantic models, metrics and the maps between them."""
    nodes, sources, unit_tests = dbt_manifest.node_entries(manifest)
    add_found_columns(lineage, nodes, sources)
    semantic_models, metrics, saved_queries = semantic_sections(manifest, lineage)
    exposures = dbt_manifest.exposure_entries(manifest)
    sections = (nodes, sources, semantic_models, metrics, unit_tests, saved_queries, exposures)
    parent_map, child_map = dbt_manifest.graph_maps(sections)
    return {
        "metadata": dbt_manifest.metadata(
            manifest.render_env.invocation_id, dbt_manifest.MANIFEST_SCHEMA, manifest.project.config.name
        ),
        "nodes": nodes,
        "sources": sources,
        "semantic_models": semantic_models,
        "metrics": metrics,
        "unit_tests": unit_tests,
        "exposures": exposures,
        "docs": dbt_manifest.doc_entries(manifest),
        "groups": dbt_manifest.group_entries(manifest),
        "group_map": dbt_manifest.group_map(manifest),
        "parent_map": parent_map,
        "child_map": child_map,
        **dbt_manifest.empty_sections(),
        "saved_queries": saved_queries,
    }


def add_found_columns(lineage: Lineage, nodes: dict[str, Any], sources: dict[str, Any]) -> None:
    """The columns and types lineage found (a model's output columns, a seed's CSV header, a source's table) that
    the YAML does not list, added to ``nodes`` and ``sources`` in place."""
    for section in (nodes, sources):
        for uid, entry in section.items():
            found = lineage.nodes.get(uid)
            if found is None:
                continue
            for name in found.output_columns:
                column = entry["columns"].setdefault(
                    name, {"name": name, "description": "", "meta": {}, "constraints": [], "quote": None, "tags": []}
                )
                if not column.get("data_type") and found.types.get(name, "UNKNOWN") != "UNKNOWN":
                    column["data_type"] = found.types[name]
                column.setdefault("data_type", None)


def semantic_sections(manifest: Manifest, lineage: Lineage) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``semantic_models``, ``metrics`` and ``saved_queries`` in dbt's shape. A metric depends on its semantic models,
    its input metrics and every model its SQL reads (a dimension joined through an entity reads another model)."""
    layer = lineage.layer
    if not (layer.semantic_models or layer.metrics or layer.saved_queries):
        return {}, {}, {}
    # Imported here: the semantic layer's definitions cost ~60 ms to import, a tenth of a small project's build.
    from northstar.engine import dbt_semantic

    project = manifest.project.config.name
    known = MetricBuildCache.tables_only(manifest.project.config.target_dir / CACHE_FILE)
    semantic_models = {}
    for model in layer.semantic_models:
        uid = f"semantic_model.{project}.{model.name}"
        entry = dbt_semantic.semantic_model_entry(manifest, model, list(lineage.graph[uid].parents))
        semantic_models[uid] = entry
    owners = {
        (node.built.schema, node.built.identifier): uid
        for uid, node in manifest.nodes.items()
        if node.built is not None and node.feeds_fingerprints and not isinstance(node, MetricNode)
    }
    metrics = {}
    for info in layer.metrics:
        uid = f"metric.{project}.{info.name}"
        spec = layer.specs[info.name]
        sql = layer.sql.get(info.name)
        parents = [*lineage.graph[uid].parents, *(read_nodes(sql, owners, known) if sql else ())]
        metrics[uid] = dbt_semantic.metric_entry(project, spec, info, parents)
    saved_queries = {
        f"saved_query.{project}.{query.name}": dbt_semantic.saved_query_entry(project, query, METRICS_SCHEMA)
        for query in layer.saved_queries
    }
    return semantic_models, metrics, saved_queries
