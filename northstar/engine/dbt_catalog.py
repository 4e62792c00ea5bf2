"""``target/catalog.json`` in dbt's catalog schema v1: what the published warehouse holds for each model, seed,
snapshot and source, read from the file read-only (``metrics docs`` writes it, as ``dbt docs generate`` does).

Each entry has the relation's metadata (type, schema, name, database, comment), its columns (type, 1-based index,
comment) and stats (``has_stats``, and for tables ``num_rows``, the id DataHub reads). Relations not in the
warehouse (never built, ephemeral, files read in place) are left out, as dbt leaves them out; a warehouse that
cannot be opened is named in ``errors``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from northstar.engine.dbt_manifest import database_name, metadata
from northstar.jsonfile import write_json
from northstar.nodes import ModelNode, NodeId, SeedNode, SnapshotNode, SourceNode
from northstar.render.jinja import Relation
from northstar.render.manifest import Manifest
from northstar.warehouse import catalog as catalog_of

CATALOG_SCHEMA = "https://schemas.getdbt.com/dbt/catalog/v1.json"
FILE_NAME = "catalog.json"


def write_catalog(manifest: Manifest, target_dir: Path) -> Path:
    path = target_dir / FILE_NAME
    write_json(path, catalog(manifest))
    return path


def catalog(manifest: Manifest) -> dict[str, Any]:
    # A source over a seed's table shares the seed's relation: the table is listed under both, as dbt does.
    wanted: dict[tuple[str, str], list[NodeId]] = {}
    for uid, node in manifest.nodes.items():
        relation = node.reads_as if isinstance(node, ModelNode | SeedNode | SnapshotNode | SourceNode) else None
        if isinstance(relation, Relation):
            wanted.setdefault((relation.schema.lower(), relation.identifier.lower()), []).append(uid)
    nodes: dict[str, Any] = {}
    sources: dict[str, Any] = {}
    errors: list[str] = []
    warehouse = manifest.project.config.warehouse
    tables: dict[NodeId, _Table] = {}
    if warehouse.exists():
        try:
            connection = duckdb.connect(str(warehouse), read_only=True)
        except duckdb.Error as error:
            # Another process may hold the file open for writing: the catalog says so instead of failing the command.
            errors.append(f"{warehouse} could not be opened read-only: {str(error).splitlines()[0]}")
        else:
            with connection:
                tables = _read(connection, wanted)
    database = database_name(manifest)
    for uid, (metadata_row, columns, stats) in sorted(tables.items()):
        schema, name, kind, comment = metadata_row
        entry = {
            "metadata": {"type": kind, "schema": schema, "name": name, "database": database, "comment": comment},
            "columns": columns,
            "stats": stats,
            "unique_id": uid,
        }
        (sources if uid.resource_type == "source" else nodes)[uid] = entry
    return {
        "metadata": metadata(manifest.render_env.invocation_id, CATALOG_SCHEMA),
        "nodes": nodes,
        "sources": sources,
        "errors": errors or None,
    }


_Table = tuple[tuple[str, str, str, str | None], dict[str, Any], dict[str, Any]]


def _read(
    connection: duckdb.DuckDBPyConnection, wanted: Mapping[tuple[str, str], list[NodeId]]
) -> dict[NodeId, _Table]:
    found: dict[tuple[str, str], _Table] = {}
    for schema, name, kind, comment in catalog_of.described_relations(connection):
        key = (schema.lower(), name.lower())
        if key in wanted:
            found[key] = ((schema, name, kind, comment), {}, _stats(connection, schema, name, kind))
    for schema, table, column, data_type, index, comment in catalog_of.described_columns(connection):
        key = (schema.lower(), table.lower())
        if key in found:
            found[key][1][column] = {"type": data_type, "index": index, "name": column, "comment": comment}
    return {uid: table for key, table in found.items() for uid in wanted[key]}


def _stats(connection: duckdb.DuckDBPyConnection, schema: str, name: str, kind: str) -> dict[str, Any]:
    stats: dict[str, Any] = {
        "has_stats": {
            "id": "has_stats",
            "label": "Has Stats?",
            "value": kind == "BASE TABLE",
            "include": False,
            "description": "Indicates whether there are statistics for this table",
        }
    }
    if kind == "BASE TABLE":
        stats["num_rows"] = {
            "id": "num_rows",
            "label": "# Rows",
            "value": catalog_of.row_count(connection, schema, name),
            "include": True,
            "description": "Rows in the table when the catalog was written",
        }
    return stats
