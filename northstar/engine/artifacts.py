"""Files written to ``target/``: compiled SQL, ``run_results.json`` and ``manifest.json`` (dbt-shaped).

Writes go through a temporary file and a rename, so a reader never sees half a JSON document.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from northstar import __version__
from northstar import lineage as column_lineage
from northstar.checks.datatests import manifest_entry as test_entry
from northstar.engine.execute import NodeResult
from northstar.jsonfile import write_json
from northstar.nodes import ModelNode, Node, NodeId, SeedNode, SourceNode, TestNode
from northstar.render.jinja import Relation
from northstar.render.manifest import Manifest
from northstar.warehouse.state import content_hash

RUN_RESULTS_SCHEMA = "https://schemas.getdbt.com/dbt/run-results/v6.json"
# The dbt release whose artifact schemas (manifest v12, run results v6) these files follow: readers such as DataHub
# read `metadata.dbt_version` to know which fields to expect.
DBT_VERSION = "1.9.0"
MANIFEST_SCHEMA = "https://schemas.getdbt.com/dbt/manifest/v12.json"
NORTHSTAR_MANIFEST_VERSION = 1


def _metadata(invocation_id: str, schema: str) -> dict[str, Any]:
    return {
        "dbt_schema_version": schema,
        "dbt_version": DBT_VERSION,
        "northstar_version": __version__,
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z"),
        "invocation_id": invocation_id,
    }


def write_run_results(
    target_dir: Path,
    results: Iterable[NodeResult],
    elapsed: float,
    invocation_id: str,
    args: Mapping[str, Any],
    relations: Mapping[NodeId, str],
) -> Path:
    path = target_dir / "run_results.json"
    metadata = _metadata(invocation_id, RUN_RESULTS_SCHEMA)
    metadata.pop("northstar_version")  # dbt's run results metadata has no room for it; it is in args
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
        if isinstance(node, ModelNode):
            path = compiled_path(target_dir, name, node.path)
            text = (translate(node.sql) if translate else node.sql) + "\n"
            # Rewriting an unchanged file is not free (ext4 flushes a truncated, rewritten file): a no-change
            # build of 100 models spent most of its time here.
            with contextlib.suppress(OSError):
                if path.read_text(encoding="utf-8") == text:
                    continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


def _columns(node: Node) -> dict[str, Any]:
    return {
        c.name: {"name": c.name, "description": c.description, "data_type": c.data_type, "meta": dict(c.meta)}
        for c in node.columns
    }


def manifest_nodes(manifest: Manifest) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``nodes`` and ``sources`` sections of manifest.json."""
    project = manifest.project.config.name
    database = manifest.project.config.target.path.stem  # DuckDB's catalog name for the warehouse file
    default_schema = manifest.project.config.target.schema
    nodes: dict[str, Any] = {}
    sources: dict[str, Any] = {}

    for uid, node in manifest.nodes.items():
        if isinstance(node, SourceNode):
            sources[uid] = {
                "unique_id": uid,
                "resource_type": "source",
                "package_name": project,
                "source_name": node.source_name,
                "name": node.name,
                "original_file_path": node.path,
                "database": database,
                # A source over files has no table: its schema and identifier are the names `source()` takes.
                "schema": node.relation.schema if isinstance(node.relation, Relation) else node.source_name,
                "identifier": node.relation.identifier if isinstance(node.relation, Relation) else node.name,
                "relation_name": str(node.relation),
                "fingerprint": content_hash(node, manifest.project.config.root),
                "description": node.description,
                "columns": _columns(node),
                "depends_on": {"nodes": list(node.depends_on)},
            }
        elif isinstance(node, (ModelNode, SeedNode)):
            entry = {
                "unique_id": uid,
                "resource_type": node.kind,
                "package_name": project,
                "name": node.name,
                "original_file_path": node.path,
                "patch_path": node.yaml_path,
                "database": database,
                # An ephemeral model is no relation: dbt still names the schema and alias it would have.
                "schema": node.built.schema if node.built else node.config.schema or default_schema,
                "alias": node.relation.identifier,
                "identifier": node.relation.identifier,
                "relation_name": str(node.built) if node.built else None,
                "config": node.config.as_dict(),
                "tags": list(node.config.tags),
                "description": node.description,
                "columns": _columns(node),
                "depends_on": {"nodes": list(node.depends_on)},
                "checksum": {"name": "sha256", "checksum": node.checksum},
                "fingerprint": content_hash(node, manifest.project.config.root),
                "fqn": [project, *Path(node.path).with_suffix("").parts[1:]],
            }
            if isinstance(node, ModelNode):
                entry["raw_code"] = node.raw_sql
                entry["compiled_code"] = node.sql
                entry["language"] = "sql"
            nodes[uid] = entry
        elif isinstance(node, TestNode):
            nodes[uid] = test_entry(node, project)
    return nodes, sources


def write_manifest(
    manifest: Manifest,
    target_dir: Path,
    extra: Mapping[str, Any] | None = None,
    columns: Mapping[tuple[str, str], dict[str, str]] | None = None,
) -> Path:
    """Write ``target/manifest.json``: nodes, sources, parent and child maps, close to dbt's format. ``columns``:
    those of the warehouse, when the caller has them (else read from the published file)."""
    nodes, sources = manifest_nodes(manifest)
    dag = manifest.dag
    data = {
        "metadata": {
            **_metadata(manifest.render_env.invocation_id, MANIFEST_SCHEMA),
            "northstar_manifest_version": NORTHSTAR_MANIFEST_VERSION,
            "project_name": manifest.project.config.name,
        },
        "nodes": nodes,
        "sources": sources,
        "parent_map": {uid: sorted(dag.parents[uid]) for uid in sorted(dag)},
        "child_map": {uid: sorted(dag.children[uid]) for uid in sorted(dag)},
        **lineage_sections(manifest, nodes, sources, columns),
        **(extra or {}),
    }
    for uid, entry in data["metrics"].items():
        if uid in manifest.nodes:  # the metric's table, as state:modified compares it
            entry["northstar_fingerprint"] = content_hash(manifest.nodes[uid], manifest.project.config.root)
    for uid, entry in data["nodes"].items():
        if "fingerprint" not in entry and uid in manifest.nodes:  # data tests and other kinds
            entry["fingerprint"] = content_hash(manifest.nodes[uid], manifest.project.config.root)
    # Semantic models and metrics are nodes of the graph too, as in dbt's maps.
    for uid, entry in (*data["semantic_models"].items(), *data["metrics"].items()):
        data["parent_map"][uid] = sorted({*data["parent_map"].get(uid, ()), *entry["depends_on"]["nodes"]})
        data["child_map"].setdefault(uid, [])
        for parent in entry["depends_on"]["nodes"]:
            children = data["child_map"].setdefault(parent, [])
            if uid not in children:
                children.append(uid)
    path = target_dir / "manifest.json"
    write_json(path, data, compact=True)
    return path


def lineage_sections(
    manifest: Manifest,
    nodes: dict[str, Any],
    sources: dict[str, Any],
    columns: Mapping[tuple[str, str], dict[str, str]] | None = None,
) -> dict[str, Any]:
    """``semantic_models``, ``metrics`` and ``column_lineage`` (format: docs/manifest.md), and the columns and types
    lineage found that the YAML does not list, added to ``nodes`` and ``sources`` in place.

    Lineage is cached in target/, so a build pays only for the models that changed.
    """
    # A broken metric YAML leaves the metrics out here: the metric commands report it themselves.
    built = dict(columns) if columns is not None else None
    lineage = column_lineage.project_lineage(manifest, strict=False, built=built)
    layer = lineage.layer
    for section in (nodes, sources):
        for uid, entry in section.items():
            found = lineage.nodes.get(uid)
            if found is None:
                continue
            for name in found.output_columns:
                column = entry["columns"].setdefault(name, {"name": name, "description": "", "meta": {}})
                if not column.get("data_type") and found.types.get(name, "UNKNOWN") != "UNKNOWN":
                    column["data_type"] = found.types[name]
                column.setdefault("data_type", None)
    semantic_models, metrics = _semantic_entries(manifest, layer, lineage)
    return {
        "semantic_models": semantic_models,
        "metrics": metrics,
        "column_lineage": {uid: column_lineage.to_json(node) for uid, node in sorted(lineage.nodes.items())},
    }


def _plain(value: Any) -> Any:
    """A spec dataclass as JSON-ready dicts, without the source line numbers."""
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name not in ("line",)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _semantic_entries(manifest: Manifest, layer: Any, lineage: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    project = manifest.project.config.name
    semantic_models: dict[str, Any] = {}
    for model in layer.semantic_models:
        uid = f"semantic_model.{project}.{model.name}"
        definition = _plain(model)
        where = definition.pop("where", {}) or {}
        parent = manifest.by_name.get(model.model)
        node = manifest.nodes.get(parent) if parent else None
        semantic_models[uid] = {
            "unique_id": uid,
            "resource_type": "semantic_model",
            "package_name": project,
            "name": model.name,
            "original_file_path": where.get("path"),
            "description": model.description,
            "model": f"ref('{model.model}')",
            "node_relation": {"relation_name": str(node.reads_as)} if node is not None else None,
            "defaults": {"agg_time_dimension": model.default_agg_time},
            "primary_entity": model.primary_entity,
            "entities": definition["entities"],
            "dimensions": definition["dimensions"],
            "measures": definition["measures"],
            "depends_on": {"nodes": list(lineage.graph[uid].parents)},
            "fingerprint": _digest(definition),
        }
    metrics: dict[str, Any] = {}
    for info in layer.metrics:
        uid = f"metric.{project}.{info.name}"
        spec = layer.specs.get(info.name)
        definition = _plain(spec) if spec is not None else {}
        definition.pop("where", None)
        metrics[uid] = {
            "unique_id": uid,
            "resource_type": "metric",
            "package_name": project,
            "name": info.name,
            "original_file_path": info.path,
            "description": info.description,
            "label": definition.get("label") or info.name,
            "type": info.type,
            "type_params": definition.get("params"),
            "filter": definition.get("filter"),
            "owner": info.owner,
            "measures": list(info.measures),
            "dimensions": list(info.dimensions),
            "models": list(info.models),
            "compiled_code": layer.sql.get(info.name),
            "depends_on": {"nodes": list(lineage.graph[uid].parents)},
            "fingerprint": _digest([definition, layer.sql.get(info.name)]),
        }
    return semantic_models, metrics


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
