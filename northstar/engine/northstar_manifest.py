"""``target/northstar_manifest.json``: what Northstar knows beyond dbt's manifest (format: docs/manifest.md).

dbt's schema has no room for it, so it lives beside ``manifest.json``, keyed by the same unique ids: each node's
fingerprint (``state:modified`` compares them), each metric's definition as Northstar computes it (growth metrics
appear in dbt's manifest as their nearest dbt type) and the column lineage.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from northstar import __version__
from northstar import lineage as column_lineage
from northstar.engine.dbt_manifest import database_name, generated_at, quoted_relation
from northstar.lineage.graph import Lineage
from northstar.nodes import MetricNode, NodeId
from northstar.render.jinja import Relation
from northstar.render.manifest import Manifest
from northstar.warehouse.state import content_hash

FILE_NAME = "northstar_manifest.json"
# Changes only when a field described in docs/manifest.md changes meaning or disappears; new fields may appear.
# Version 1 was Northstar's extras inside manifest.json itself.
VERSION = 2


def northstar_manifest(manifest: Manifest, lineage: Lineage) -> dict[str, Any]:
    config = manifest.project.config
    project = config.name
    layer = lineage.layer
    database = database_name(manifest)
    metrics: dict[str, Any] = {}
    for info in layer.metrics:
        uid = NodeId("metric", project, info.name)
        spec = layer.specs.get(info.name)
        node = manifest.nodes.get(uid)
        metrics[uid] = {
            "type": info.type,
            "type_params": _plain(spec.params) if spec is not None else None,
            "filter": spec.filter.text if spec is not None and spec.filter is not None else None,
            "owner": info.owner,
            "measures": list(info.measures),
            "dimensions": list(info.dimensions),
            "models": list(info.models),
            "compiled_code": layer.sql.get(info.name),
            # The table `metrics build` writes, when this manifest has the metric nodes.
            "relation_name": quoted_relation(database, node.relation) if isinstance(node, MetricNode) else None,
        }
    return {
        "metadata": {
            "northstar_manifest_version": VERSION,
            "northstar_version": __version__,
            "generated_at": generated_at(),
            "invocation_id": manifest.render_env.invocation_id,
            "project_name": project,
        },
        "fingerprints": {uid: content_hash(node, config.root) for uid, node in sorted(manifest.nodes.items())},
        "metrics": metrics,
        "column_lineage": {uid: column_lineage.to_json(node) for uid, node in sorted(lineage.nodes.items())},
    }


def _plain(value: Any) -> Any:
    """A spec dataclass as JSON-ready values: filters as written, no parsed trees or source lines."""
    # Imported here, where a project has metrics: the semantic layer's definitions cost ~40 ms to import.
    from northstar.metrics.spec import Filter

    if isinstance(value, Filter):
        return value.text
    if isinstance(value, Relation):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name not in ("line", "sql", "where", "names_metric")
        }
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
