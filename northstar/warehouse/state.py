"""Fingerprints: what a node is made of, so a build re-executes only what changed.

A node's *content hash* covers its own definition: rendered SQL, config, relation, docs, the bytes of a seed file, a
source's location. Its *fingerprint* adds the fingerprints of its inputs (and, for a source another tool loads, a
hash of the data itself), so a change anywhere upstream changes every fingerprint downstream of it.

Fingerprints of what a build made are stored in the warehouse itself (``select * from _northstar.nodes()``), so they
travel with the published file and can never describe tables other than the ones beside them. A build keeps a
selected seed or model when its fingerprint equals the stored one and its relation exists; everything else is built.

``state:modified`` compares content hashes with a previous run's ``manifest.json`` instead (dbt's CI workflow).

>>> versions = source_versions(con, manifest, existing)  # doctest: +SKIP
>>> plan = plan_build(manifest, selected, stored(con), existing, versions)  # doctest: +SKIP
>>> sorted(plan.kept)[:1]  # doctest: +SKIP
['model.growth.stg_orders']
"""

from __future__ import annotations

import datetime
import functools
import glob
import hashlib
import json
import os
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import duckdb

from northstar.errors import ProjectError
from northstar.nodes import MetricNode, ModelNode, Node, NodeId, SeedNode, SnapshotNode, SourceNode, TestNode
from northstar.render.jinja import External, Relation, quote, sql_string
from northstar.render.manifest import Manifest
from northstar.warehouse import working_copy as warehouse

if TYPE_CHECKING:
    import sqlglot
    from sqlglot import exp
else:
    from northstar.lazy import exp, sqlglot

SCHEMA = "_northstar"
TABLE = "nodes"
UNCHANGED = "unchanged"
# Functions whose result changes from one run to the next: a node calling them is rebuilt every time.
# sqlglot's classes for them, named here and looked up when a query is parsed (sqlglot is imported only then).
_VOLATILE_TYPES = (
    "CurrentDate",
    "CurrentTimestamp",
    "CurrentTime",
    "CurrentDatetime",
    "Localtimestamp",
    "Rand",
    "Uuid",
)
_VOLATILE_NAMES = frozenset(
    {"now", "today", "random", "uuidv7", "get_current_time", "get_current_timestamp", "transaction_timestamp"}
)
# Every word sqlglot's DuckDB dialect reads as one of _VOLATILE_TYPES (tests/test_state.py checks the list against
# the dialect): SQL containing none of them cannot call a volatile function, so it need not be parsed at all.
_VOLATILE_WORDS = _VOLATILE_NAMES | frozenset(
    {
        "current_date",
        "current_datetime",
        "current_localtimestamp",
        "current_time",
        "current_timestamp",
        "gen_random_uuid",
        "generate_uuid",
        "localtimestamp",
        "rand",
        "uuid",
        "uuid_string",
    }
)
_WORD = re.compile(r"[a-z_][a-z0-9_]*")


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _docs(node: Node) -> list[Any]:
    return [[c.name, c.description, c.data_type] for c in node.columns]


def _location(node: SourceNode, root: Path) -> str:
    relation = node.relation
    if isinstance(relation, External):
        location = relation.location
        with_root = str(root) + os.sep
        return location[len(with_root) :] if location.startswith(with_root) else location
    return str(relation)


def content_hash(node: Node, root: Path | None = None) -> str:
    """A node's own definition, independent of where the project is checked out.

    Rendered SQL (so macro and var changes count), config, relation and docs for a model; the file's bytes for a
    seed; the location for a source. Node kinds added later hash their fields.
    """
    if isinstance(node, ModelNode):
        relation = str(node.relation) if isinstance(node.relation, Relation) else None
        return _digest(
            ["model", relation, node.config.as_dict(), node.sql, node.description, _docs(node)],
        )
    if isinstance(node, SeedNode):
        return _digest(
            ["seed", str(node.relation), node.config.as_dict(), node.checksum, node.description, _docs(node)]
            + (["dbt_types"] if node.dbt_types else [])  # typed as dbt-duckdb types them: a different table
        )
    if isinstance(node, SourceNode):
        return _digest(["source", _location(node, root or Path("/")), node.description, _docs(node)])
    if isinstance(node, SnapshotNode):  # its history is kept whatever changes: this says when to run it again
        return _digest(["snapshot", str(node.relation), node.config.as_dict(), node.sql, node.description, _docs(node)])
    if isinstance(node, MetricNode):  # materialized from its compiled SQL, like a table model
        return _digest(["metric", str(node.relation), node.sql, node.description, _docs(node)])
    if isinstance(node, TestNode):  # its compiled query says what it checks
        return _digest([node.kind, node.sql])
    return _digest([node.kind, repr(node)])


class Queried(Protocol):
    """A node made by a query: a model, a test, a metric."""

    @property
    def sql(self) -> str: ...


def volatile(node: Queried) -> bool:
    """Whether a node's SQL calls a function such as ``now()``, ``current_date`` or ``random()``, so the same SQL
    gives other rows on another day: such a node is never kept.

    A word scan answers for SQL that names none of these functions (nearly every model: parsing each one cost most of
    a no-change build); SQL that names one is parsed, and counts as volatile if it does not parse.

    >>> volatile_sql("select * from orders where day < current_date")
    True
    >>> volatile_sql("select 'current_date' as label")
    False
    """
    return volatile_sql(node.sql)


def volatile_sql(sql: str) -> bool:
    """Whether a query calls a volatile function (or does not parse)."""
    if not sql or _VOLATILE_WORDS.isdisjoint(_WORD.findall(sql.lower())):
        return False
    return _calls_volatile(sql)


@functools.lru_cache(maxsize=1024)
def _calls_volatile(sql: str) -> bool:
    try:
        tree = sqlglot.parse_one(sql, dialect="duckdb")
    except sqlglot.errors.SqlglotError:
        return True
    types = tuple(getattr(exp, name) for name in _VOLATILE_TYPES if hasattr(exp, name))
    return any(
        isinstance(item, types) or (isinstance(item, exp.Anonymous) and item.name.lower() in _VOLATILE_NAMES)
        for item in tree.walk()
    )


@dataclass(frozen=True)
class Stored:
    """One node's row in ``_northstar.nodes()``: what the warehouse holds for it."""

    unique_id: NodeId
    kind: str
    relation: tuple[str, str] | None  # (schema, name); None for an ephemeral model
    fingerprint: str
    built_at: str
    volatile: bool = False  # its SQL calls now(), random()...: rebuilt every time


_COLUMNS = ("unique_id", "kind", "schema_name", "relation_name", "fingerprint", "built_at", "volatile")
# The JSON shape of the rows: a list of structs with those columns, in that order.
_SHAPE = json.dumps([{name: "BOOLEAN" if name == "volatile" else "VARCHAR" for name in _COLUMNS}])


# A constant query, written once without sqlglot's generator: every build reads it first, and generating it loaded
# sqlglot's DuckDB dialect (~40 ms) on the path of a build that changes nothing.
_STORED = f"SELECT {', '.join(quote(c) for c in _COLUMNS)} FROM {quote(SCHEMA)}.{quote(TABLE)}()"


def stored(connection: duckdb.DuckDBPyConnection) -> dict[NodeId, Stored]:
    """The fingerprints recorded in a warehouse (none in a new one or one made by another tool)."""
    try:
        rows = connection.execute(_STORED).fetchall()
    except (duckdb.CatalogException, duckdb.BinderException):  # none yet, or from an older Northstar
        return {}  # (asking the catalog first, via duckdb_functions(), costs more than this)
    found = {}
    for text, kind, schema, name, fingerprint, built_at, flag in rows:
        uid = NodeId.parse(text)
        found[uid] = Stored(uid, kind, (schema, name) if name is not None else None, fingerprint, built_at, bool(flag))
    return found


def record(
    connection: duckdb.DuckDBPyConnection,
    manifest: Manifest,
    fingerprints: Mapping[NodeId, str],
    previous: Mapping[NodeId, Stored],
) -> None:
    """Store the fingerprints of the nodes a build made, in the same file as the tables they describe.

    They live in a table macro, ``SELECT * FROM _northstar.nodes()``, rather than a table: BI tools and table
    listings do not see it, yet it is part of the file, so it is published (or not) together with the data.
    """
    if not fingerprints:  # nothing was built: what the warehouse records is still true
        return
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    rows = dict(previous)
    for uid, fingerprint in fingerprints.items():
        node = manifest.nodes[uid]
        relation = node.built
        key = (relation.schema, relation.identifier) if relation is not None else None
        calls_volatile = volatile(node) if isinstance(node, ModelNode | SnapshotNode | TestNode | MetricNode) else False
        calls_volatile = calls_volatile or (isinstance(node, ModelNode) and node.introspects is not None)
        rows[uid] = Stored(uid, node.kind, key, fingerprint, now, calls_volatile)

    # One JSON string literal that DuckDB unpacks when the macro is read: a VALUES list of 7 literals per node cost
    # ~0.15 s of sqlglot and DuckDB parsing per 1,000 nodes, on every build that built something and every read.
    data = [
        {
            "unique_id": row.unique_id,
            "kind": row.kind,
            "schema_name": row.relation[0] if row.relation else None,
            "relation_name": row.relation[1] if row.relation else None,
            "fingerprint": row.fingerprint,
            "built_at": row.built_at,
            "volatile": row.volatile,
        }
        for row in sorted(rows.values(), key=lambda r: r.unique_id)
    ]
    # Written as text (every name and literal quoted by quote() and sql_string()): building it with sqlglot's
    # builders and generator imported sqlglot (~0.15 s) into every build that built something.
    rows_json = sql_string(json.dumps(data, separators=(",", ":")))
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(SCHEMA)}")
    connection.execute(
        f"CREATE OR REPLACE MACRO {quote(SCHEMA)}.{quote(TABLE)}() AS TABLE "
        f"SELECT UNNEST(FROM_JSON({rows_json}, {sql_string(_SHAPE)}), recursive := TRUE)"
    )


def source_versions(
    connection: duckdb.DuckDBPyConnection,
    manifest: Manifest,
    existing: Mapping[tuple[str, str], str],
    known: Mapping[str, str] | None = None,
) -> dict[NodeId, str]:
    """A version of the data behind each source that another tool loads (not a seed): changes when the data does.

    A table is hashed row by row (one scan, only for sources outside the project) unless ``known`` already has its
    version (see :func:`remembered_versions`); files read in place are known by name, size and modification time;
    remote files cannot be checked cheaply, so they always count as changed. ``existing``: the relations of the
    connected database (``catalog.relations``), which the caller has read for its plan already.
    """
    known = known or {}

    def table_version(relation: Relation) -> str:
        if (relation.schema, relation.identifier) not in existing:
            return "missing"
        return known.get(str(relation)) or _table_version(connection, relation)

    return versions_of_sources(manifest, table_version)


def versions_of_sources(manifest: Manifest, table_version: Callable[[Relation], str]) -> dict[NodeId, str]:
    """:func:`source_versions` on any engine: files read in place are versioned here, a table by ``table_version``
    (the engine's business; a Spark target, which cannot version another tool's table cheaply, says "changed")."""
    versions: dict[NodeId, str] = {}
    for uid, node in manifest.nodes.items():
        if not isinstance(node, SourceNode) or node.depends_on:
            continue
        relation = node.relation
        if isinstance(relation, External):
            versions[uid] = files_version(relation) or str(uuid.uuid4())
        else:
            versions[uid] = table_version(relation)
    return versions


def files_version(source: External) -> str | None:
    """A version of the files a source reads in place, from their names, sizes and modification times; None when
    they cannot be known without reading them (remote files, a computed path)."""
    if not source.is_expression:
        return None if "://" in source.location else _files_version(source.location)
    # read_parquet('...', ...) as written: versioned by its files when it names local ones literally.
    files = _expression_files(source.location)
    if files is None:
        return None
    return _digest([_files_version(f) for f in files])


SOURCES_FILE = "northstar_sources.json"


def remembered_versions(target_dir: Path, published: warehouse.Identity) -> dict[str, str]:
    """Source table versions a previous build computed, by relation, if the warehouse file is still exactly the one
    that build left (same inode, size and modification time, no log): then no tool has written a row since, and
    hashing the sources again would only cost a scan of each.
    """
    try:
        data = json.loads((target_dir / SOURCES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("warehouse") != json.loads(json.dumps(published)):
        return {}
    return dict(data.get("versions") or {})


def remember_versions(
    target_dir: Path, published: warehouse.Identity, manifest: Manifest, versions: Mapping[NodeId, str]
) -> None:
    """Keep the source versions of this build for the next one, tied to the warehouse file they describe."""
    by_relation = {
        str(node.relation): versions[uid]
        for uid, node in manifest.nodes.items()
        if uid in versions and isinstance(node, SourceNode) and isinstance(node.relation, Relation)
    }
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / SOURCES_FILE
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"warehouse": published, "versions": by_relation}), encoding="utf-8")
    os.replace(tmp, path)


# DuckDB's table functions whose first argument is the file (or list of files, or glob) they read, and nothing else.
_FILE_READERS = frozenset(
    {
        "parquet_scan",
        "read_blob",
        "read_csv",
        "read_csv_auto",
        "read_json",
        "read_json_auto",
        "read_json_objects",
        "read_ndjson",
        "read_ndjson_auto",
        "read_parquet",
        "read_text",
    }
)


_ONE_FILE = re.compile(r"\s*([A-Za-z_]+)\s*\(\s*'([^']*)'\s*\)\s*", re.ASCII)


def _expression_files(location: str) -> list[str] | None:
    """The files (or globs) a source written as a call reads, ``read_parquet('data/*.parquet', ...)``, when the call
    is one of DuckDB's file readers and names them as string literals; None when that cannot be known without
    running it (another function, a computed path, a remote file): such a source always counts as changed.

    >>> _expression_files("read_parquet(['/data/a.parquet', '/data/b/*.parquet'], hive_partitioning = true)")
    ['/data/a.parquet', '/data/b/*.parquet']
    >>> _expression_files("read_parquet(getvariable('path'))") is None
    True
    >>> _expression_files("read_parquet('/data/orders.parquet')")
    ['/data/orders.parquet']
    """
    # The usual shape, one reader and one quoted path, is read without sqlglot (whose DuckDB parser would otherwise
    # load on every build's start-up path); anything else is parsed.
    simple = _ONE_FILE.fullmatch(location)
    if simple is not None and simple.group(1).lower() in _FILE_READERS:
        return None if "://" in simple.group(2) else [simple.group(2)]
    try:
        query = sqlglot.parse_one(f"SELECT * FROM {location}", dialect="duckdb")
    except sqlglot.errors.SqlglotError:
        return None
    source = query.find(exp.From)
    call = source.this.this if source is not None and isinstance(source.this, exp.Table) else None
    if not isinstance(call, exp.Func) or query.args.get("joins"):  # one call, nothing else
        return None
    name = call.name if isinstance(call, exp.Anonymous) else call.sql_name()
    if name.lower() not in _FILE_READERS:
        return None
    first = call.this if isinstance(call.this, exp.Expression) else (call.expressions or [None])[0]
    items = first.expressions if isinstance(first, exp.Array) else [first]
    if not items or not all(isinstance(item, exp.Literal) and item.is_string for item in items):
        return None
    files = [item.name for item in items if isinstance(item, exp.Literal)]
    return None if any("://" in path for path in files) else files


def _files_version(location: str) -> str:
    files = []
    for path in sorted(glob.glob(location, recursive=True)):
        st = os.stat(path)
        files.append([path, st.st_size, st.st_mtime_ns])
    return _digest(files)


def _table_version(connection: duckdb.DuckDBPyConnection, relation: Relation) -> str:
    return _digest(warehouse.table_version(connection, relation.schema, relation.identifier))


@dataclass(frozen=True)
class Plan:
    """What a build does with each node: every node's fingerprint as of this build, and which are kept."""

    fingerprints: Mapping[NodeId, str]
    kept: frozenset[NodeId]

    def built(self, executed: Iterable[NodeId]) -> dict[NodeId, str]:
        """Fingerprints to record for the nodes a build executed (kept ones are recorded already)."""
        return {uid: self.fingerprints[uid] for uid in executed if uid not in self.kept}


def plan_build(
    manifest: Manifest,
    selected: Iterable[NodeId],
    previous: Mapping[NodeId, Stored],
    existing: Mapping[tuple[str, str], str],
    versions: Mapping[NodeId, str],
    full_refresh: bool = False,
) -> Plan:
    """Fingerprint every node in DAG order and decide which selected seeds and models are already up to date.

    A node's fingerprint uses its inputs' fingerprints *as the warehouse will hold them*: a parent that is not
    selected keeps its stored fingerprint, so building a child against an old parent is recorded as such and the
    child is rebuilt once the parent is.
    """
    chosen = set(selected)
    root = manifest.project.config.root
    fingerprints: dict[NodeId, str] = {}
    kept = set()
    for uid in manifest.dag.sorted():
        node = manifest.nodes[uid]
        parents = sorted(
            fingerprints[parent]
            for parent in manifest.dag.parents[uid]
            if parent in fingerprints and manifest.nodes[parent].feeds_fingerprints
        )
        fingerprint = _digest([content_hash(node, root), parents, versions.get(uid)])
        if isinstance(node, ModelNode) and node.introspects is not None and uid in chosen:
            # Its SQL depends on what the warehouse holds when it renders, which no fingerprint taken before the
            # build can tell: it is rebuilt every time, and its fingerprint is this build's own, so whatever
            # reads it is rebuilt too.
            fingerprints[uid] = _digest([fingerprint, manifest.render_env.invocation_id])
            continue
        if node.keepable and uid not in chosen:
            old = previous.get(uid)
            fingerprint = old.fingerprint if old else "absent:" + fingerprint
        elif (
            node.keepable
            and not _refreshes(node, full_refresh)
            and _up_to_date(node, previous.get(uid), fingerprint, existing)
        ):
            kept.add(uid)
        fingerprints[uid] = fingerprint
    return Plan(fingerprints, frozenset(kept))


def _refreshes(node: Node, full_refresh: bool) -> bool:
    """Whether a build makes ``node`` again from scratch: a model's own ``full_refresh`` config wins over the flag."""
    return node.config.refreshes(full_refresh) if isinstance(node, ModelNode) else full_refresh


def _up_to_date(node: Node, old: Stored | None, fingerprint: str, existing: Mapping[tuple[str, str], str]) -> bool:
    if old is None or old.fingerprint != fingerprint or old.volatile:
        return False
    relation = node.built
    if relation is None:  # ephemeral: nothing in the warehouse to check
        return True
    return (relation.schema, relation.identifier) in existing


def modified_selector(manifest: Manifest, state_dir: Path) -> Callable[[str], set[NodeId]]:
    """The ``state:`` selector method: nodes new or changed since the run whose artifacts are in ``state_dir``.

    The previous manifest is read when a ``state:`` selector is first used, so ``--state`` alone costs nothing.
    """
    root = manifest.project.config.root
    loaded: dict[str, tuple[str | None, str | None]] = {}

    def previous() -> dict[str, tuple[str | None, str | None]]:
        if not loaded:
            loaded.update(_previous_nodes(state_dir / "manifest.json", state_dir))
        return loaded

    def changed(uid: NodeId, node: Node) -> bool:
        fingerprint, checksum = previous()[uid]
        if fingerprint is not None:
            return fingerprint != content_hash(node, root)
        # A manifest without our fingerprints (dbt's, say): compare file checksums where there are some.
        return (
            checksum is None or not isinstance(node, ModelNode | SeedNode | SnapshotNode) or checksum != node.checksum
        )

    def select(value: str) -> set[NodeId]:
        new = {uid for uid in manifest.nodes if uid not in previous()}
        if value == "new":
            return new
        return new | {uid for uid, node in manifest.nodes.items() if uid in previous() and changed(uid, node)}

    return select


# Northstar's own file beside manifest.json, holding the fingerprints `state:modified` compares (docs/manifest.md).
NORTHSTAR_MANIFEST = "northstar_manifest.json"
NORTHSTAR_MANIFEST_VERSION = 2
_SECTIONS = ("nodes", "sources", "metrics", "semantic_models", "saved_queries", "exposures", "unit_tests")


def _previous_nodes(path: Path, state_dir: Path) -> dict[str, tuple[str | None, str | None]]:
    """unique_id -> (Northstar's fingerprint, dbt's file checksum) of every node of a previous run's manifest.

    Fingerprints come from ``northstar_manifest.json``; a manifest.json written by dbt has none (file checksums are
    compared then), one in format version 1 (an earlier Northstar) has them inside its entries.
    """
    data = _read_json(path, state_dir, required=True) or {}
    extras = _read_json(state_dir / NORTHSTAR_MANIFEST, state_dir, required=False)
    fingerprints: Mapping[str, Any] = {}
    if extras is not None:
        version = extras.get("metadata", {}).get("northstar_manifest_version")
        if not isinstance(version, int) or version > NORTHSTAR_MANIFEST_VERSION:
            raise ProjectError(
                f"--state: {NORTHSTAR_MANIFEST} has format version {version!r}; this Northstar reads versions up to "
                f"{NORTHSTAR_MANIFEST_VERSION}. Compare with artifacts written by this version of Northstar.",
                state_dir / NORTHSTAR_MANIFEST,
            )
        fingerprints = extras.get("fingerprints") or {}
    found: dict[str, tuple[str | None, str | None]] = {}
    for section in _SECTIONS:
        entries = data.get(section)
        if not isinstance(entries, dict):
            continue
        # Format version 1 kept fingerprints in the entries: under "fingerprint" in nodes and sources, under
        # "northstar_fingerprint" elsewhere (those sections had a "fingerprint" of their own making).
        legacy = "fingerprint" if section in ("nodes", "sources") else "northstar_fingerprint"
        for uid, entry in entries.items():
            if isinstance(entry, dict):
                fingerprint = fingerprints.get(uid) if extras is not None else entry.get(legacy)
                checksum = entry.get("checksum")  # {name, checksum} for nodes; a unit test's is a plain string
                found[uid] = (fingerprint, checksum.get("checksum") if isinstance(checksum, dict) else None)
    # Nodes dbt's manifest has no section for (a saved query's export tables) are known by their fingerprint alone.
    for uid, fingerprint in fingerprints.items():
        found.setdefault(uid, (fingerprint, None))
    return found


def _read_json(path: Path, state_dir: Path, required: bool) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if not required:
            return None
        raise ProjectError(
            f"--state {state_dir}: no manifest.json there. Point --state at the target/ folder of a previous run "
            "(for example a copy of the main branch's target/).",
            path,
        ) from None
    except json.JSONDecodeError as error:
        raise ProjectError(f"--state: {path.name} is not valid JSON: {error.msg}.", path, error.lineno) from None
    if not isinstance(data, dict):
        raise ProjectError(f"--state: {path.name} is not a JSON object.", path)
    return data


def kept_message(node: Node) -> str:
    return f"kept {node.built or node.name} ({UNCHANGED})"
