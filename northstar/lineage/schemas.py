"""What Northstar knows about raw tables' columns: the built warehouse, YAML, a CSV header or a Parquet footer."""

from __future__ import annotations

import csv
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

import duckdb

from northstar.nodes import SeedNode, SnapshotNode, SourceNode
from northstar.render.jinja import External, Relation
from northstar.render.manifest import Manifest
from northstar.warehouse import catalog, state

# target/lineage_cache.json's entries: a fingerprint -> a JSON value read back from disk (a node's lineage, the
# metrics' SQL, a warehouse's columns); each reader knows the shape it wrote under its own keys.
JsonCache = MutableMapping[str, Any]


def warehouse_columns(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """``(schema, table) -> {column: type}`` of a built warehouse, or ``{}`` when it cannot be read.

    Opened read-only, so a BI reader or a build in progress (which writes a private copy) is never disturbed.
    """
    if not path.exists():
        return {}
    try:
        with duckdb.connect(str(path), read_only=True) as connection:
            return catalog.all_columns(connection)
    except duckdb.Error:
        return {}


# ``(schema, name) -> {column: type}``, as :func:`warehouse_columns` and ``catalog.all_columns`` give them.
Columns = dict[tuple[str, str], dict[str, str]]


def cached_warehouse_columns(path: Path, cache: JsonCache | None) -> dict[tuple[str, str], dict[str, str]]:
    """:func:`warehouse_columns`, cached by the file's size and modification time (a publish replaces the file)."""
    try:
        stat = path.stat()
    except OSError:
        return {}
    key = f"warehouse:{path}:{stat.st_size}:{stat.st_mtime_ns}"
    if cache is not None and (cached := cache.get(key)):
        cache[key] = cached
        return {(schema, table): columns for schema, table, columns in cached["tables"]}
    found = warehouse_columns(path)
    if cache is not None and found:
        cache[key] = {"tables": [[schema, table, columns] for (schema, table), columns in found.items()]}
    return found


def _sniff(connection: duckdb.DuckDBPyConnection, relation_sql: str) -> dict[str, str]:
    """Column names and types DuckDB reads from a file (a CSV's header and sample, a Parquet footer)."""
    try:
        rows = connection.execute(f"describe select * from {relation_sql}").fetchall()
    except duckdb.Error:
        return {}
    return {row[0]: row[1] for row in rows}


def _sniff_key(source: External) -> str | None:
    """The cache key of a source's sniffed columns: how it is read and the version of the files it reads; None (read
    every time) when their version cannot be known cheaply."""
    version = state.files_version(source)
    return None if version is None else f"sniff:{source.location}:{version}"


class _Sniffer:
    """Files' columns, read by one in-memory DuckDB opened on first use (~10 ms) unless ``cache`` has them."""

    def __init__(self, cache: JsonCache | None) -> None:
        self.cache = cache
        self.connection: duckdb.DuckDBPyConnection | None = None

    def columns(self, source: External) -> dict[str, str]:
        if self.cache is None or (key := _sniff_key(source)) is None:
            return self._sniff(source)
        found: dict[str, str] = self.cache.get(key) or self._sniff(source)
        if found:
            self.cache[key] = found  # kept: the cache holds what this run used
        return found

    def _sniff(self, source: External) -> dict[str, str]:
        self.connection = self.connection or duckdb.connect()
        return _sniff(self.connection, source.render())

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return next(csv.reader(handle), [])
    except OSError:
        return []


def raw_schemas(
    manifest: Manifest, built: Mapping[tuple[str, str], Mapping[str, str]], cache: JsonCache | None = None
) -> dict[str, dict[str, str]]:
    """``uid -> {column: type}`` for every seed, source and snapshot: the warehouse first, then YAML, then the file
    itself (its columns kept in ``cache`` while the file is unchanged)."""
    schemas: dict[str, dict[str, str]] = {}
    sniffer = _Sniffer(cache)
    seed_files = {
        (n.relation.schema.lower(), n.relation.identifier.lower()): n
        for n in manifest.nodes.values()
        if isinstance(n, SeedNode)
    }
    try:
        for uid, node in manifest.nodes.items():
            if not isinstance(node, (SeedNode, SourceNode, SnapshotNode)):
                continue
            relation = node.relation
            key = (relation.schema.lower(), relation.identifier.lower()) if isinstance(relation, Relation) else None
            declared = {c.name: c.data_type or "UNKNOWN" for c in node.columns}
            if key is not None and key in built:
                schemas[uid] = {**dict(built[key]), **{k: v for k, v in declared.items() if k not in built[key]}}
                continue
            if isinstance(node, SnapshotNode) or (isinstance(node, SourceNode) and declared and key not in seed_files):
                schemas[uid] = declared
                continue
            seed = node if isinstance(node, SeedNode) else seed_files.get(key) if key else None
            if seed is not None:
                # Not built yet: the header names the columns; types come with the first build.
                schemas[uid] = {**dict.fromkeys(_csv_header(seed.abs_path), "UNKNOWN"), **declared}
            elif isinstance(relation, External):
                schemas[uid] = sniffer.columns(relation) or declared
            else:
                schemas[uid] = declared
    finally:
        sniffer.close()
    return schemas
