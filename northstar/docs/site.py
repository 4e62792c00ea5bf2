"""The data of the docs site: every node with its docs, columns, SQL, YAML and lineage, and each metric's values.

The site is static and must open from ``file://``, where browsers refuse ``fetch()``; so the data is written as a
script, ``data.js``, that sets ``window.NORTHSTAR_DOCS``, next to ``index.html`` and the bundled assets.

>>> index = write_site(manifest)       # doctest: +SKIP
>>> index.name                         # doctest: +SKIP
'index.html'
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from northstar import __version__
from northstar.docs import charts
from northstar.lineage import ROWS, ColumnRef, Lineage, NodeLineage, SemanticLayer, project_lineage
from northstar.metrics import load_semantics
from northstar.metrics.compile import compile_request
from northstar.metrics.request import Request
from northstar.nodes import ModelNode, NodeId, SeedNode, SourceNode
from northstar.render.manifest import Manifest
from northstar.warehouse import catalog

ASSETS = Path(__file__).parent / "assets"
MAX_POINTS = 2000  # rows read per metric


def yaml_entry(root: Path, path: str | None, line: int | None) -> str:
    """The text of the YAML list entry that starts at ``path:line`` (a model's properties, a metric), dedented.

    >>> yaml_entry(Path("."), None, None)
    ''
    """
    if not path or not line:
        return ""
    try:
        lines = (root / path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    start = line - 1
    while start > 0 and not lines[start].lstrip().startswith("- "):
        start -= 1  # the line of a mapping points at its first key; the entry starts at its dash
    if start >= len(lines):
        return ""
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines):
        text = lines[end]
        if text.strip() and len(text) - len(text.lstrip()) <= indent:
            break
        end += 1
    block = [text[indent:] if len(text) >= indent else text.strip() for text in lines[start:end]]
    return "\n".join(block).rstrip() + "\n"


def _tests(items: Any) -> list[str]:
    names = []
    for item in items or ():
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, Mapping) and item:
            name = next(iter(item))
            arguments = item[name]
            if isinstance(arguments, Mapping) and arguments:
                shown = ", ".join(f"{k}: {v}" for k, v in arguments.items() if k not in ("config", "severity"))
                names.append(f"{name} ({shown})" if shown else str(name))
            else:
                names.append(str(name))
    return names


def _node_entry(manifest: Manifest, lineage: Lineage, uid: NodeId) -> dict[str, Any]:
    node = manifest.nodes[uid]
    assert isinstance(node, ModelNode | SeedNode | SourceNode), node
    graph = lineage.graph[uid]
    found = lineage.nodes.get(uid)
    declared = {c.name: c for c in node.columns}
    names = list(dict.fromkeys([*(found.output_columns if found else []), *declared]))
    columns = []
    for name in names:
        column = declared.get(name)
        kind = (column.data_type if column else None) or (found.types.get(name) if found else None)
        columns.append(
            {
                "name": name,
                "type": None if kind == "UNKNOWN" else kind,
                "description": column.description if column else "",
                "tests": _tests(column.tests) if column else [],
            }
        )
    entry: dict[str, Any] = {
        "id": uid,
        "kind": node.kind,
        "name": graph.name,
        "path": node.path,
        "description": node.description,
        "columns": columns,
        "tests": _tests(node.tests),
        "parents": list(graph.parents),
        "relation": str(node.reads_as) if node.reads_as is not None else None,
        "unresolved": dict(found.unresolved) if found else {},
    }
    if isinstance(node, ModelNode):
        entry["materialized"] = node.materialized
        entry["sql"] = node.sql
        entry["raw_sql"] = node.raw_sql
        entry["yaml"] = yaml_entry(manifest.project.root, node.yaml_path, _properties_line(manifest, node))
    elif isinstance(node, SeedNode):
        entry["yaml"] = yaml_entry(manifest.project.root, node.yaml_path, _properties_line(manifest, node))
    elif isinstance(node, SourceNode):
        entry["yaml"] = yaml_entry(manifest.project.root, node.path, node.line)
    return entry


def _properties_line(manifest: Manifest, node: ModelNode | SeedNode) -> int | None:
    """The line of the node's entry in its properties YAML (kept on the loaded file, not on the node)."""
    files = manifest.project.models if isinstance(node, ModelNode) else manifest.project.seeds
    found = next((f for f in files if f.name == node.name), None)
    return found.properties.line if found is not None and found.properties is not None else None


def metric_chart(
    connection: duckdb.DuckDBPyConnection | None,
    sql: str,
    metric: Any,
    table: str | None = None,
    end: datetime.date | None = None,
) -> tuple[dict[str, Any] | None, str | None]:
    """Read a metric from the warehouse and shape it for its chart (``docs/charts.py``), or say why it cannot be.

    ``table`` is the table ``metrics build`` materialized the metric into, when there is one: the same rows as the
    metric's query ``sql``, read at once. ``end`` is the last day its data covers, to mark a partial last period.
    """
    if connection is None:
        return None, "The warehouse is not built yet: run 'metrics build' to see this metric's values."
    try:
        relation = connection.table(table) if table else connection.sql(sql)
        rows = relation.limit(MAX_POINTS).fetchall()
    except duckdb.Error as error:
        return None, f"The metric could not be read from the warehouse: {str(error).splitlines()[0]}"
    return charts.chart(metric, list(relation.columns), rows, end)


def _metric_data_end(
    connection: duckdb.DuckDBPyConnection, manifest: Manifest, layer: SemanticLayer, info: Any
) -> datetime.date | None:
    relations = {}
    for name in info.semantic_models:
        model = next((m for m in layer.semantic_models if m.name == name), None)
        uid = manifest.by_name.get(model.model) if model is not None else None
        node = manifest.nodes[uid] if uid is not None else None
        time = model.dimension(model.default_agg_time) if model is not None and model.default_agg_time else None
        if node is None or time is None or not isinstance(node, ModelNode | SeedNode):
            continue
        relations[str(node.relation)] = time.expr or time.name
    return charts.data_end(connection, relations) if relations else None


def _warehouse_columns(connection: duckdb.DuckDBPyConnection, schema: str) -> dict[str, list[dict[str, Any]]]:
    """Table -> its columns with type and comment, as the warehouse has them (``metrics build`` documents them)."""
    return {
        table: [{"name": name, "type": kind, "description": comment, "tests": []} for name, kind, comment in columns]
        for table, columns in catalog.documented_columns(connection, schema).items()
    }


def _metric_entries(manifest: Manifest, lineage: Lineage, layer: SemanticLayer) -> list[dict[str, Any]]:
    prefix = manifest.project.config.name
    entries: list[dict[str, Any]] = []
    warehouse = manifest.project.config.warehouse
    connection = None
    unreadable = None
    if layer.metrics and warehouse.exists():
        try:
            connection = duckdb.connect(str(warehouse), read_only=True)
        except duckdb.Error as error:
            # Another process may hold the file open for writing; the site is still written, without charts.
            unreadable = f"The warehouse could not be opened: {str(error).splitlines()[0]}"
    try:
        materialized = _warehouse_columns(connection, "metrics") if connection is not None else {}
        for info in layer.metrics:
            uid = f"metric.{prefix}.{info.name}"
            table = f"metrics.{info.name}" if info.name in materialized else None
            end = _metric_data_end(connection, manifest, layer, info) if connection is not None else None
            spec = layer.specs[info.name]
            if connection is not None and spec.type == "funnel" and (spec.default_grain or "day") == "day":
                # Two years of daily bars are a few pixels each and bury a bad week in daily noise: a funnel is drawn
                # per week, asked of the metric itself (its steps count each entity once per week).
                sql = compile_request(load_semantics(manifest), Request((info.name,), by=("week",)))
                series, problem = metric_chart(connection, sql, spec, None, end)
            else:
                series, problem = metric_chart(connection, layer.sql[info.name], spec, table, end)
            problem = unreadable or problem
            found = lineage.nodes.get(uid)
            columns = materialized.get(info.name) or [
                {"name": c, "type": None, "description": "", "tests": []} for c in _columns(found)
            ]
            entries.append(
                {
                    "id": uid,
                    "kind": "metric",
                    "name": info.name,
                    "path": info.path,
                    "description": info.description,
                    "type": info.type,
                    "owner": info.owner,
                    "measures": list(info.measures),
                    "dimensions": list(info.dimensions),
                    "parents": list(lineage.graph[uid].parents),
                    "columns": columns,
                    "sql": layer.sql[info.name],
                    "yaml": yaml_entry(manifest.project.root, info.path, info.line),
                    "series": series,
                    "series_problem": problem,
                    "unresolved": dict(found.unresolved) if found else {},
                }
            )
    finally:
        if connection is not None:
            connection.close()
    return entries


def _columns(found: NodeLineage | None) -> list[str]:
    return found.output_columns if found else []


def _semantic_entries(manifest: Manifest, lineage: Lineage, layer: SemanticLayer) -> list[dict[str, Any]]:
    prefix = manifest.project.config.name
    entries = []
    for model in layer.semantic_models:
        uid = f"semantic_model.{prefix}.{model.name}"
        elements = [
            *(("entity", e.name, e.expr, e.description) for e in model.entities),
            *(("dimension", d.name, d.expr, d.description) for d in model.dimensions),
            *(("measure", m.name, f"{m.agg}({m.expr})", m.description) for m in model.measures),
        ]
        found = lineage.nodes.get(uid)
        entries.append(
            {
                "id": uid,
                "kind": "semantic_model",
                "name": lineage.graph[uid].name,
                "path": model.where.path,
                "description": model.description,
                "parents": list(lineage.graph[uid].parents),
                "columns": [
                    {"name": name, "type": role, "description": (text or "") + f" ({expr})", "tests": []}
                    for role, name, expr, text in elements
                ],
                "yaml": yaml_entry(manifest.project.root, model.where.path, model.where.line),
                "unresolved": dict(found.unresolved) if found else {},
            }
        )
    return entries


def site_data(manifest: Manifest) -> dict[str, Any]:
    """Everything the site shows, as JSON-ready data."""
    lineage = project_lineage(manifest)
    layer = lineage.layer
    # Models, seeds and sources; metrics have entries of their own below.
    nodes = [
        _node_entry(manifest, lineage, uid)
        for uid in manifest.dag.sorted()
        if uid in lineage.graph and isinstance(manifest.nodes[uid], ModelNode | SeedNode | SourceNode)
    ]
    nodes += _semantic_entries(manifest, lineage, layer)
    nodes += _metric_entries(manifest, lineage, layer)
    edges: dict[str, dict[str, list[list[str]]]] = {}
    for uid, found in lineage.nodes.items():
        edges[uid] = {
            column: [[kind, ref.node, ref.column] for kind, ref in lineage.parents(ColumnRef(uid, column))]
            for column in found.columns
            if column != ROWS or lineage.parents(ColumnRef(uid, column))
        }
    return {
        "project": manifest.project.config.name,
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "northstar_version": __version__,
        "nodes": nodes,
        "column_edges": edges,
    }


def write_site(manifest: Manifest, target_dir: Path | None = None) -> Path:
    """Write ``target/docs/`` (index.html, data.js, assets/) and return the path of index.html."""
    out = (target_dir or manifest.project.config.target_dir) / "docs"
    out.mkdir(parents=True, exist_ok=True)
    data = json.dumps(site_data(manifest), separators=(",", ":"), default=str)
    # "</" would end the script element if the data were ever inlined; escaping it costs nothing.
    _write(out / "data.js", "window.NORTHSTAR_DOCS = " + data.replace("</", "<\\/") + ";\n")
    assets = out / "assets"
    if assets.exists():
        shutil.rmtree(assets)
    shutil.copytree(ASSETS, assets, ignore=shutil.ignore_patterns("index.html", "__pycache__"))
    _write(out / "index.html", (ASSETS / "index.html").read_text(encoding="utf-8"))
    return out / "index.html"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
