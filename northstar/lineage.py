"""Column-level lineage: which upstream columns every model, metric and semantic-model column reads.

Each model's rendered SQL is parsed once with sqlglot, its tables are mapped to the manifest nodes they name, and the
query is qualified with the columns Northstar knows (seeds' and sources' columns from the warehouse, a declared YAML
list or DuckDB's sniffing of the file; upstream models' output columns from their own lineage), so ``select *`` is
expanded and every column names its table. Walking sqlglot's scopes (CTEs, derived tables, unions, subqueries) then
gives, per output column, three kinds of edges:

- ``value``: columns its value is computed from (``sum(amount)`` reads ``amount``; window partitions count too);
- ``filter``: columns that decide which rows it is computed over (``where``, join conditions, ``group by``,
  ``having``, ``qualify``);
- ``rows``: upstream models whose rows it is computed over, as the pseudo-column ``*`` ("the rows of stg_orders"),
  whose own edges are that model's filters. This is how ``count(*)`` depends on ``stg_orders``' ``where status = ...``.

A column that cannot be traced (a table Northstar does not know, SQL that does not parse) is listed in
``unresolved`` with the reason, and the rest of the lineage stands.

>>> lineage = build_lineage(manifest)                                 # doctest: +SKIP
>>> sorted(str(r) for r in lineage.raw_columns("model.shop.customers", "revenue"))  # doctest: +SKIP
['raw.orders.amount']
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

from northstar.errors import ProjectError, did_you_mean
from northstar.manifest import Manifest, ModelNode, SeedNode, SourceNode
from northstar.render import EPHEMERAL_PREFIX, Ephemeral, External, Relation

ROWS = "*"  # the pseudo-column "the rows of this node"
RAW_KINDS = frozenset({"seed", "source"})


@dataclass(frozen=True, order=True)
class ColumnRef:
    """One column of one node; ``column == "*"`` stands for the node's rows."""

    node: str
    column: str


@dataclass(frozen=True)
class Deps:
    """The edges of one column: columns its value reads, columns deciding its rows, nodes whose rows it reads."""

    value: frozenset[ColumnRef] = frozenset()
    filter: frozenset[ColumnRef] = frozenset()
    rows: frozenset[str] = frozenset()

    def __or__(self, other: Deps) -> Deps:
        return Deps(self.value | other.value, self.filter | other.filter, self.rows | other.rows)

    def as_filter(self) -> Deps:
        """The same columns, used to decide rows rather than to compute a value."""
        return Deps(frozenset(), self.value | self.filter, self.rows)

    def edges(self) -> list[tuple[str, ColumnRef]]:
        """``(kind, parent)`` pairs, value edges first, each kind sorted."""
        return [
            *(("value", r) for r in sorted(self.value)),
            *(("filter", r) for r in sorted(self.filter - self.value)),
            *(("rows", ColumnRef(n, ROWS)) for n in sorted(self.rows)),
        ]


@dataclass(frozen=True)
class NodeLineage:
    """The lineage of one node's columns (in output order); ``columns["*"]`` is the lineage of its rows."""

    unique_id: str
    columns: Mapping[str, Deps]
    types: Mapping[str, str] = field(default_factory=dict)
    unresolved: Mapping[str, str] = field(default_factory=dict)  # column (or "*") -> why it could not be traced

    @property
    def output_columns(self) -> list[str]:
        return [c for c in self.columns if c != ROWS]


@dataclass(frozen=True)
class GraphNode:
    """What the lineage graph shows for a node: its kind, display name, and node-level parents."""

    unique_id: str
    kind: str  # model, seed, source, semantic_model, metric
    name: str  # e.g. stg_orders, raw.orders (source), sarpu
    parents: tuple[str, ...] = ()


class Lineage:
    """Column lineage of a whole project: nodes, their columns and the edges between them."""

    def __init__(
        self, graph: Mapping[str, GraphNode], nodes: Mapping[str, NodeLineage], layer: SemanticLayer | None = None
    ) -> None:
        self.graph = graph
        self.nodes = nodes
        self.layer = layer if layer is not None else SemanticLayer()
        self._children: dict[ColumnRef, set[tuple[str, ColumnRef]]] = {}
        for uid, node in nodes.items():
            for column, deps in node.columns.items():
                for kind, parent in deps.edges():
                    self._children.setdefault(parent, set()).add((kind, ColumnRef(uid, column)))
        self._by_name = {g.name: uid for uid, g in graph.items()}
        self._rows_memo: dict[str, bool] = {}
        for uid, g in graph.items():
            if ":" in g.name:
                self._by_name.setdefault(g.name.partition(":")[2], uid)  # "orders" for semantic_model:orders if free

    # -- lookups --------------------------------------------------------------------------------------------------

    def resolve(self, text: str) -> tuple[str, str | None]:
        """``stg_orders`` -> (uid, None); ``raw.orders.status`` or ``stg_orders.status`` -> (uid, column).

        Returns ``("", None)`` when nothing matches.
        """
        if text in self.graph:
            return text, None
        if text in self._by_name:
            return self._by_name[text], None
        head, _, column = text.rpartition(".")
        if head and (head in self._by_name or head in self.graph):
            return self._by_name.get(head, head), column
        return "", None

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def label(self, ref: ColumnRef) -> str:
        name = self.graph[ref.node].name if ref.node in self.graph else ref.node
        return f"{name} (rows)" if ref.column == ROWS else f"{name}.{ref.column}"

    def columns_of(self, uid: str) -> list[str]:
        node = self.nodes.get(uid)
        return node.output_columns if node else []

    def deps(self, ref: ColumnRef) -> Deps:
        node = self.nodes.get(ref.node)
        return node.columns.get(ref.column, Deps()) if node else Deps()

    def parents(self, ref: ColumnRef) -> list[tuple[str, ColumnRef]]:
        # "Reads the rows of stg_orders" says nothing when nothing decides those rows: leave it out.
        return [(k, r) for k, r in self.deps(ref).edges() if k != "rows" or self._rows_matter(r.node)]

    def _rows_matter(self, uid: str, seen: frozenset[str] = frozenset()) -> bool:
        """Whether anything (a filter, or the rows of a node whose rows matter) decides the rows of ``uid``."""
        if uid not in self._rows_memo:
            deps = self.deps(ColumnRef(uid, ROWS))
            self._rows_memo[uid] = bool(deps.value or deps.filter) or any(
                self._rows_matter(n, seen | {uid}) for n in deps.rows if n not in seen and n != uid
            )
        return self._rows_memo[uid]

    def children(self, ref: ColumnRef) -> list[tuple[str, ColumnRef]]:
        found = set(self._children.get(ref, ()))
        if ref.column != ROWS:
            return sorted(found, key=lambda e: (e[1], e[0]))
        return sorted(found, key=lambda e: (e[1], e[0]))

    # -- closures -------------------------------------------------------------------------------------------------

    def upstream(self, ref: ColumnRef) -> set[ColumnRef]:
        """Every column (and rows pseudo-column) ``ref`` reads, directly or not."""
        return _closure(ref, lambda r: [p for _, p in self.parents(r)])

    def downstream(self, ref: ColumnRef) -> set[ColumnRef]:
        """Every column whose value or rows depend on ``ref``."""
        return _closure(ref, lambda r: [c for _, c in self.children(r)])

    def is_raw(self, ref: ColumnRef) -> bool:
        return ref.column not in ("", ROWS) and self.graph.get(ref.node, _NO_NODE).kind in RAW_KINDS

    def raw_columns(self, uid: str, column: str | None = None) -> set[ColumnRef]:
        """The first seed or source columns that ``uid.column`` (or any column of ``uid``) reads.

        A source loaded by a seed stops the walk: ``raw.orders.status``, not the seed's ``orders.status`` behind it.
        """
        starts = (
            [ColumnRef(uid, column)]
            if column
            else [ColumnRef(uid, c) for c in self.nodes.get(uid, _NO_LINEAGE).columns]
        )
        if self.graph.get(uid, _NO_NODE).kind in RAW_KINDS:
            return {s for s in starts if self.is_raw(s)}
        found: set[ColumnRef] = set()
        for start in starts:
            found |= _closure(start, lambda r: [] if self.is_raw(r) else [p for _, p in self.parents(r)])
        return {r for r in found if self.is_raw(r)}

    def unresolved(self, uid: str) -> dict[str, str]:
        """Unresolved columns of ``uid`` and of everything upstream of it, as ``label -> reason``."""
        seen = {uid} | _closure(uid, lambda u: self.graph[u].parents if u in self.graph else ())
        return {
            (f"{self.graph[u].name}.{c}" if c != ROWS else self.graph[u].name): why
            for u in sorted(seen)
            if u in self.nodes
            for c, why in self.nodes[u].unresolved.items()
        }


_NO_NODE = GraphNode("", "", "")
_NO_LINEAGE = NodeLineage("", {})


def _closure(start, step) -> set:
    seen: set = set()
    frontier = [start]
    while frontier:
        item = frontier.pop()
        for nxt in step(item):
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


# -- what Northstar knows about raw tables ---------------------------------------------------------------------------


def warehouse_columns(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """``(schema, table) -> {column: type}`` of a built warehouse, or ``{}`` when it cannot be read.

    Opened read-only, so a BI reader or a build in progress (which writes a private copy) is never disturbed.
    """
    if not path.exists():
        return {}
    try:
        with duckdb.connect(str(path), read_only=True) as connection:
            rows = connection.execute(
                "select table_schema, table_name, column_name, data_type from information_schema.columns "
                "order by table_schema, table_name, ordinal_position"
            ).fetchall()
    except duckdb.Error:
        return {}
    found: dict[tuple[str, str], dict[str, str]] = {}
    for schema, table, column, data_type in rows:
        found.setdefault((schema.lower(), table.lower()), {})[column] = data_type
    return found


def _cached_warehouse_columns(path: Path, cache: dict[str, dict] | None) -> dict[tuple[str, str], dict[str, str]]:
    """:func:`warehouse_columns`, cached by the file's size and modification time (a publish replaces the file)."""
    try:
        stat = path.stat()
    except OSError:
        return {}
    key = f"warehouse:{path}:{stat.st_size}:{stat.st_mtime_ns}"
    cached = cache.get(key) if cache is not None else None
    if cached:
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


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return next(csv.reader(handle), [])
    except OSError:
        return []


def raw_schemas(manifest: Manifest, built: Mapping[tuple[str, str], Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """``uid -> {column: type}`` for every seed and source: the warehouse first, then YAML, then the file itself."""
    schemas: dict[str, dict[str, str]] = {}
    sniffer: duckdb.DuckDBPyConnection | None = None
    seed_files = {
        (n.relation.schema.lower(), n.relation.identifier.lower()): n
        for n in manifest.nodes.values()
        if isinstance(n, SeedNode)
    }
    try:
        for uid, node in manifest.nodes.items():
            if not isinstance(node, (SeedNode, SourceNode)):
                continue
            relation = node.relation
            key = (relation.schema.lower(), relation.identifier.lower()) if isinstance(relation, Relation) else None
            declared = {c.name: c.data_type or "UNKNOWN" for c in node.columns}
            if key in built:
                schemas[uid] = {**dict(built[key]), **{k: v for k, v in declared.items() if k not in built[key]}}
                continue
            if isinstance(node, SourceNode) and declared and key not in seed_files:
                schemas[uid] = declared
                continue
            seed = node if isinstance(node, SeedNode) else seed_files.get(key) if key else None
            if seed is not None:
                # Not built yet: the header names the columns; types come with the first build.
                schemas[uid] = {**dict.fromkeys(_csv_header(seed.abs_path), "UNKNOWN"), **declared}
            elif isinstance(relation, External):
                sniffer = sniffer or duckdb.connect()
                schemas[uid] = _sniff(sniffer, relation.render()) or declared
            else:
                schemas[uid] = declared
    finally:
        if sniffer is not None:
            sniffer.close()
    return schemas


# -- one query -------------------------------------------------------------------------------------------------------


class RelationIndex:
    """Maps the tables a query names (``raw.orders``, ``read_parquet('...')``, an ephemeral CTE) to node ids."""

    def __init__(self, manifest: Manifest) -> None:
        self.by_relation: dict[tuple[str, str], list[str]] = {}
        self.by_function: dict[str, str] = {}
        self.by_ephemeral: dict[str, str] = {}
        for uid, node in manifest.nodes.items():
            relation = getattr(node, "relation", None)
            if isinstance(relation, Relation):
                key = (relation.schema.lower(), relation.identifier.lower())
                self.by_relation.setdefault(key, []).append(uid)
            elif isinstance(relation, External):
                table = sqlglot.parse_one(f"select * from {relation.render()}", dialect="duckdb").find(exp.Table)
                self.by_function[table.this.sql(dialect="duckdb")] = uid
            elif isinstance(relation, Ephemeral):
                self.by_ephemeral[relation.identifier.lower()] = uid

    def lookup(self, table: exp.Table, ctes: set[str], parents: Iterable[str] = ()) -> str | None:
        """The node a table names; a seed's table read through ``source()`` is the source, as the DAG says."""
        if isinstance(table.this, exp.Func):
            return self.by_function.get(table.this.sql(dialect="duckdb"))
        name = table.name.lower()
        if not table.db:
            return None if name in ctes else self.by_ephemeral.get(name)
        candidates = self.by_relation.get((table.db.lower(), name), [])
        preferred = [c for c in candidates if c in parents]
        return (preferred or candidates or [None])[0]


def analyze_sql(
    uid: str,
    sql: str | exp.Expr,
    index: RelationIndex,
    schemas: Mapping[str, Mapping[str, str]],
    parents: Iterable[str] = (),
) -> NodeLineage:
    """The lineage of one SELECT: every output column's edges to the columns of the nodes it reads.

    ``sql`` is text or an expression (which is changed in place); ``schemas`` gives the known columns of upstream
    nodes by unique id; ``parents`` the node's parents in the DAG, which decide between a seed and the source over
    the same table.
    """
    parents = frozenset(parents)
    try:
        query = sql if isinstance(sql, exp.Expr) else sqlglot.parse_one(sql, dialect="duckdb")
    except SqlglotError as error:
        return NodeLineage(uid, {ROWS: Deps()}, unresolved={ROWS: f"the SQL does not parse: {_first_line(error)}"})
    # Ephemeral models are inlined as CTEs for execution; for lineage they stay nodes of their own.
    for cte in list(query.find_all(exp.CTE)):
        if cte.alias_or_name.lower().startswith(EPHEMERAL_PREFIX):
            cte.pop()
    for with_ in list(query.find_all(exp.With)):
        if not with_.expressions:
            with_.pop()
    ctes = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    placeholders: dict[str, str] = {}
    schema: dict[str, dict[str, str]] = {}
    unknown_tables: set[str] = set()
    for table in list(query.find_all(exp.Table)):
        target = index.lookup(table, ctes, parents)
        if target is None:
            if table.db or (table.name.lower() not in ctes and not isinstance(table.this, exp.Func)):
                unknown_tables.add(table.sql(dialect="duckdb"))
            continue
        name = placeholders.setdefault(target, f"__ns_{len(placeholders)}")
        alias = table.alias or table.name or name
        table.replace(exp.Table(this=exp.to_identifier(name), alias=exp.TableAlias(this=exp.to_identifier(alias))))
        schema[name] = {column: (kind or "UNKNOWN") for column, kind in schemas.get(target, {}).items()}
    try:
        qualified = qualify(
            query,
            dialect="duckdb",
            schema=schema,
            validate_qualify_columns=False,
            quote_identifiers=False,
            identify=False,
        )
        root = build_scope(qualified)
    except SqlglotError as error:
        return NodeLineage(uid, {ROWS: Deps()}, unresolved={ROWS: f"the SQL cannot be qualified: {_first_line(error)}"})
    if root is None:
        return NodeLineage(uid, {ROWS: Deps()}, unresolved={ROWS: "the SQL is not a query"})
    tracer = _Tracer({v: k for k, v in placeholders.items()}, unknown_tables)
    columns: dict[str, Deps] = {}
    try:
        for position, name in enumerate(_output_names(root)):
            columns[name] = tracer.projection(root, position)
        columns[ROWS] = tracer.rowdeps(root)
    except (SqlglotError, RecursionError) as error:
        return NodeLineage(uid, {ROWS: Deps()}, unresolved={ROWS: f"the SQL cannot be traced: {_first_line(error)}"})
    unresolved = dict(tracer.unresolved_by_output(columns))
    if "*" in [n for n in _output_names(root)]:
        unresolved[ROWS] = "a 'select *' over a table whose columns are unknown"
    return NodeLineage(uid, columns, unresolved=unresolved)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _output_names(scope: Scope) -> list[str]:
    query = scope.expression
    while isinstance(query, exp.SetOperation):
        query = query.left
    if isinstance(query, exp.Subquery):
        query = query.unnest()
    return [s.alias_or_name for s in getattr(query, "selects", [])]


class _Tracer:
    """Walks sqlglot scopes from an output column down to the tables' columns, memoising per scope."""

    UNRESOLVED = "?"

    def __init__(self, placeholders: Mapping[str, str], unknown_tables: set[str]) -> None:
        self.placeholders = placeholders
        self.unknown_tables = unknown_tables
        self._projection: dict[tuple[int, int], Deps] = {}
        self._rows: dict[int, Deps] = {}
        self._joins: dict[tuple[int, str], Deps] = {}
        self.problems: dict[str, str] = {}  # "?:<column>" refs -> reason

    def projection(self, scope: Scope, position: int) -> Deps:
        key = (id(scope), position)
        if key not in self._projection:
            self._projection[key] = Deps()  # guards recursive CTEs
            self._projection[key] = self._projection_uncached(scope, position)
        return self._projection[key]

    def _projection_uncached(self, scope: Scope, position: int) -> Deps:
        if isinstance(scope.expression, exp.SetOperation):
            deps = Deps()
            for branch in scope.set_operation_scopes or []:
                deps |= self.projection(branch, position)
            return deps
        selects = scope.expression.selects
        if position >= len(selects):
            return Deps()
        return self._expression(scope, selects[position]) | self.rowdeps(scope)

    def by_name(self, scope: Scope, name: str) -> Deps:
        names = _output_names(scope)
        lowered = [n.lower() for n in names]
        if name.lower() in lowered:
            return self.projection(scope, lowered.index(name.lower()))
        return self._unresolved(name, f"column '{name}' is not an output of a subquery or CTE")

    def rowdeps(self, scope: Scope) -> Deps:
        key = id(scope)
        if key not in self._rows:
            self._rows[key] = Deps()
            self._rows[key] = self._rowdeps_uncached(scope)
        return self._rows[key]

    def _rowdeps_uncached(self, scope: Scope) -> Deps:
        query = scope.expression
        if isinstance(query, exp.SetOperation):
            deps = Deps()
            for branch in scope.set_operation_scopes or []:
                deps |= self.rowdeps(branch)
            return deps
        if not isinstance(query, exp.Select):
            return Deps()
        deps = Deps()
        for clause in ("where", "group", "having", "qualify"):
            part = query.args.get(clause)
            if part is not None:
                deps |= self._expression(scope, part).as_filter()
        group = query.args.get("group")
        if group is not None and group.args.get("all"):
            # DuckDB's GROUP BY ALL groups by every projection that is not an aggregate.
            for projection in query.selects:
                if not projection.find(exp.AggFunc):
                    deps |= self._expression(scope, projection).as_filter()
        distinct = query.args.get("distinct")
        if distinct is not None and distinct.args.get("on") is not None:
            deps |= self._expression(scope, distinct.args["on"]).as_filter()
        from_ = query.args.get("from_") or query.args.get("from")
        drivers = [from_.this] if from_ is not None else []
        for join in query.args.get("joins") or []:
            # An outer join's condition decides the values of its optional side, not the rows: see _column.
            if join.side in ("LEFT", "RIGHT"):
                if join.side == "RIGHT":
                    drivers = [join.this]
                continue
            deps |= self._join_condition(scope, join)
            drivers.append(join.this)
        for driver in drivers:
            alias = driver.alias_or_name
            source = scope.sources.get(alias)
            if isinstance(source, Scope):
                deps |= self.rowdeps(source).as_filter() | Deps(rows=self.rowdeps(source).rows)
            elif isinstance(source, exp.Table):
                node = self.placeholders.get(source.name)
                if node is not None:
                    deps |= Deps(rows=frozenset({node}))
        return deps

    def _join_condition(self, scope: Scope, join: exp.Join) -> Deps:
        deps = Deps()
        if join.args.get("on") is not None:
            deps |= self._expression(scope, join.args["on"]).as_filter()
        for identifier in join.args.get("using") or []:
            for source in scope.selected_sources:
                deps |= self._column(scope, source, identifier.name).as_filter()
        return deps

    def _optional_side(self, scope: Scope, alias: str) -> Deps:
        """The condition of the outer join that reads ``alias`` as its optional side: it decides which rows match."""
        key = (id(scope), alias)
        if key in self._joins:
            return self._joins[key]
        self._joins[key] = Deps()  # the condition reads the optional side's own columns: do not recurse
        deps = Deps()
        query = scope.expression
        joins = query.args.get("joins") or [] if isinstance(query, exp.Select) else []
        for join in joins:
            if join.side == "LEFT" and join.this.alias_or_name == alias:
                deps = self._join_condition(scope, join)
            elif join.side == "RIGHT" and join.this.alias_or_name != alias:
                from_ = query.args.get("from_") or query.args.get("from")
                if from_ is not None and from_.this.alias_or_name == alias:
                    deps = self._join_condition(scope, join)
        self._joins[key] = deps
        return deps

    def _expression(self, scope: Scope, expression: exp.Expr) -> Deps:
        """The columns an expression of ``scope`` reads, traced through subqueries and CTEs to the tables."""
        deps = Deps()
        inner = {id(s.expression): s for s in scope.subquery_scopes}
        for node in expression.walk(prune=lambda n: id(n) in inner):
            if id(node) in inner:
                sub = inner[id(node)]
                for position in range(len(_output_names(sub))):
                    deps |= self.projection(sub, position)
            elif isinstance(node, exp.Column) and not isinstance(node.this, exp.Star):
                deps |= self._column(scope, node.table, node.name)
        return deps

    def _column(self, scope: Scope, table: str, name: str) -> Deps:
        search: Scope | None = scope
        if not table:
            if len(scope.selected_sources) == 1:
                table = next(iter(scope.selected_sources))
            else:
                return self._unresolved(name, f"column '{name}' could not be matched to a table")
        while search is not None and table not in search.sources:
            search = search.parent  # a correlated subquery reading the outer query's tables
        if search is None:
            return self._unresolved(name, f"'{table}.{name}' names no table of the query")
        source = search.sources[table]
        joined = self._optional_side(search, table)
        if isinstance(source, Scope):
            return self.by_name(source, name) | joined
        node = self.placeholders.get(source.name)
        if node is None:
            table_sql = exp.table_name(source) if not isinstance(source.this, exp.Func) else source.this.sql("duckdb")
            return self._unresolved(name, f"'{table_sql}' is not a seed, source or model")
        return (
            Deps(value=frozenset({ColumnRef(node, name)}), rows=frozenset({node}) if joined.filter else frozenset())
            | joined
        )

    def _unresolved(self, name: str, why: str) -> Deps:
        ref = ColumnRef(self.UNRESOLVED, name)
        self.problems.setdefault(f"{self.UNRESOLVED}:{name}", why)
        return Deps(value=frozenset({ref}))

    def unresolved_by_output(self, columns: dict[str, Deps]) -> Iterable[tuple[str, str]]:
        """Move the placeholder refs of untraceable columns out of the edges, into reasons per output column."""
        for column, deps in list(columns.items()):
            bad = {r for r in deps.value | deps.filter if r.node == self.UNRESOLVED}
            if bad:
                columns[column] = Deps(deps.value - bad, deps.filter - bad, deps.rows)
                yield column, "; ".join(sorted({self.problems[f"?:{r.column}"] for r in bad}))


# -- a whole project -------------------------------------------------------------------------------------------------


def _fingerprint(parts: Iterable[object]) -> str:
    return hashlib.sha256(json.dumps(list(parts), sort_keys=True, default=str).encode()).hexdigest()


def model_lineage(
    manifest: Manifest,
    built: Mapping[tuple[str, str], Mapping[str, str]] | None = None,
    cache: dict[str, dict] | None = None,
) -> dict[str, NodeLineage]:
    """Lineage of every seed, source and model, in DAG order so each model is qualified with its parents' columns.

    ``built`` is :func:`warehouse_columns` of the warehouse (read when omitted); ``cache`` maps a fingerprint of a
    model's SQL and its parents' columns to a previous result, so unchanged models are not parsed again.
    """
    if built is None:
        built = warehouse_columns(manifest.project.config.warehouse)
    index = RelationIndex(manifest)
    schemas: dict[str, dict[str, str]] = raw_schemas(manifest, built)
    result: dict[str, NodeLineage] = {}
    for uid in manifest.dag.sorted():
        node = manifest.nodes.get(uid)
        if isinstance(node, (SeedNode, SourceNode)):
            columns = schemas.get(uid, {})
            unresolved = {} if columns else {ROWS: "its columns are unknown: build it or declare them in YAML"}
            # A source over a seed's table is loaded by that seed, column for column.
            loader = {c for p in node.depends_on for c in schemas.get(p, {}) and [p]}
            edges = {c: Deps(frozenset(ColumnRef(p, c) for p in loader if c in schemas.get(p, {}))) for c in columns}
            result[uid] = NodeLineage(uid, {**edges, ROWS: Deps()}, columns, unresolved)
        elif isinstance(node, ModelNode):
            parents = {p: schemas.get(p, {}) for p in sorted(node.depends_on)}
            key = _fingerprint([node.sql, parents])
            cached = cache.get(key) if cache is not None else None
            lineage = from_cache(uid, cached) if cached else analyze_sql(uid, node.sql, index, schemas, node.depends_on)
            if cache is not None:
                cache[key] = cached or to_json(lineage)
            relation = node.relation
            types = (
                built.get((relation.schema.lower(), relation.identifier.lower()), {})
                if isinstance(relation, Relation)
                else {}
            )
            declared = {c.name: c.data_type for c in node.columns if c.data_type}
            types = {c: types.get(c) or declared.get(c) or "UNKNOWN" for c in lineage.output_columns}
            lineage = NodeLineage(uid, _without_raw_rows(lineage.columns, manifest), types, lineage.unresolved)
            result[uid] = lineage
            schemas[uid] = dict(types)
    return result


def _without_raw_rows(columns: Mapping[str, Deps], manifest: Manifest) -> dict[str, Deps]:
    """Drop "reads the rows of raw.orders": a seed's or source's rows are just the table, with nothing behind them."""
    raw = {uid for uid, node in manifest.nodes.items() if node.kind in RAW_KINDS}
    return {c: Deps(d.value, d.filter, d.rows - raw) if d.rows & raw else d for c, d in columns.items()}


def to_json(lineage: NodeLineage) -> dict:
    """A node's lineage as plain JSON (the shape of manifest.json's ``column_lineage`` entries)."""
    return {
        "columns": {
            column: {
                "value": [[r.node, r.column] for r in sorted(deps.value)],
                "filter": [[r.node, r.column] for r in sorted(deps.filter - deps.value)],
                "rows": sorted(deps.rows),
            }
            for column, deps in lineage.columns.items()
        },
        "unresolved": dict(lineage.unresolved),
    }


def from_cache(uid: str, data: Mapping | None) -> NodeLineage | None:
    if not data:
        return None
    columns = {
        column: Deps(
            frozenset(ColumnRef(*r) for r in entry["value"]),
            frozenset(ColumnRef(*r) for r in entry["filter"]),
            frozenset(entry["rows"]),
        )
        for column, entry in data["columns"].items()
    }
    return NodeLineage(uid, columns, unresolved=data.get("unresolved", {}))


def graph_nodes(manifest: Manifest) -> dict[str, GraphNode]:
    """Models, seeds and sources with their parents (data tests read columns but feed nothing: left out)."""
    kept = {uid for uid, node in manifest.nodes.items() if isinstance(node, (ModelNode, SeedNode, SourceNode))}
    nodes = {}
    for uid in kept:
        node = manifest.nodes[uid]
        name = f"{node.source_name}.{node.name}" if isinstance(node, SourceNode) else node.name
        parents = tuple(sorted(p for p in manifest.dag.parents.get(uid, ()) if p in kept))
        nodes[uid] = GraphNode(uid, node.kind, name, parents)
    return dict(sorted(nodes.items()))


def build_lineage(
    manifest: Manifest, cache: dict[str, dict] | None = None, layer: SemanticLayer | None = None
) -> Lineage:
    """The lineage of every node of ``manifest``, then of the semantic models and metrics built on it.

    ``layer`` is :func:`semantic_layer` of the manifest, read here when omitted.
    """
    built = _cached_warehouse_columns(manifest.project.config.warehouse, cache)
    nodes = model_lineage(manifest, built, cache)
    graph = graph_nodes(manifest)
    layer = layer if layer is not None else semantic_layer(manifest)
    semantic_graph, semantic_nodes = semantic_lineage(manifest, nodes, cache, layer)
    # A model and a metric may share a name; the name then means the model (the metric is metric.<project>.<name>).
    return Lineage({**semantic_graph, **graph}, {**nodes, **semantic_nodes}, layer)


@dataclass(frozen=True)
class SemanticLayer:
    """The project's semantic models and metrics as the lineage and docs need them: SQL per metric, expressions per
    semantic-model element. Empty when the project has none."""

    semantic_models: tuple = ()  # northstar.metrics.spec.SemanticModel
    metrics: tuple = ()  # northstar.metrics.resolve.MetricInfo
    sql: Mapping[str, str] = field(default_factory=dict)  # metric name -> DuckDB SQL at its default grain
    specs: Mapping[str, object] = field(default_factory=dict)  # metric name -> northstar.metrics.spec.Metric
    # metric name -> the expression the SQL was rendered from, when compiled in this run (saves parsing it again)
    expressions: Mapping[str, exp.Expr] = field(default_factory=dict, compare=False)


def semantic_layer(manifest: Manifest, cache: dict[str, dict] | None = None) -> SemanticLayer:
    """Read the semantic models and metrics once. Their YAML mistakes raise the semantic layer's own errors.

    Compiling every metric is most of the cost, so the SQL is cached under a fingerprint of the metric YAML, the
    models' relations and the semantic layer's code.
    """
    docs = [d for d in manifest.project.yaml_docs if "semantic_models" in d.data or "metrics" in d.data]
    if not docs:
        return SemanticLayer()
    from northstar import metrics
    from northstar.metrics import load_semantics
    from northstar.metrics.compile import compile_expression, default_request, render

    sem = load_semantics(manifest)
    infos = tuple(sem.info(metric) for metric in sem.spec.metrics)
    code = sorted((p.name, p.stat().st_mtime_ns) for p in Path(metrics.__file__).parent.glob("*.py"))
    relations = {name: str(relation) for name, relation in sorted(sem.relations.items())}
    key = "metrics:" + _fingerprint([[(d.path, d.data) for d in docs], relations, code, manifest.project.config.vars])
    cached = cache.get(key) if cache is not None else None
    expressions = {} if cached else {m.name: compile_expression(sem, default_request(m)) for m in sem.spec.metrics}
    sql = cached or {name: render(expression) for name, expression in expressions.items()}
    if cache is not None:
        cache[key] = sql
    specs = {m.name: m for m in sem.spec.metrics}
    return SemanticLayer(tuple(sem.spec.semantic_models), infos, sql, specs, expressions)


def semantic_lineage(
    manifest: Manifest,
    nodes: Mapping[str, NodeLineage],
    cache: dict[str, dict] | None = None,
    layer: SemanticLayer | None = None,
) -> tuple[dict[str, GraphNode], dict[str, NodeLineage]]:
    """Semantic models (a column per entity, dimension and measure) and metrics (the columns of their SQL)."""
    layer = layer if layer is not None else semantic_layer(manifest)
    if not layer.semantic_models and not layer.metrics:
        return {}, {}
    prefix = manifest.project.config.name
    index = RelationIndex(manifest)
    schemas = {uid: dict(n.types) or dict.fromkeys(n.output_columns, "UNKNOWN") for uid, n in nodes.items()}
    graph: dict[str, GraphNode] = {}
    result: dict[str, NodeLineage] = {}
    for model in layer.semantic_models:
        uid = f"semantic_model.{prefix}.{model.name}"
        parent = manifest.by_name.get(model.model)
        node = manifest.nodes.get(parent) if parent else None
        # Semantic models are often named like the seed or model they describe ("orders"): keep them apart.
        graph[uid] = GraphNode(uid, "semantic_model", f"semantic_model:{model.name}", (parent,) if parent else ())
        if node is None or not isinstance(getattr(node, "relation", None), Relation):
            result[uid] = NodeLineage(uid, {ROWS: Deps()}, unresolved={ROWS: f"model '{model.model}' is not built"})
            continue
        elements = [*model.entities, *model.dimensions, *model.measures]
        key = [(e.name, e.expr) for e in elements], str(node.relation)

        def select(elements=elements, node=node) -> exp.Expr:
            return exp.select(
                *(exp.alias_(sqlglot.parse_one(e.expr, dialect="duckdb"), e.name, quoted=False) for e in elements)
            ).from_(exp.to_table(str(node.relation), dialect="duckdb"))

        result[uid] = _cached_analysis(uid, key, select, index, schemas, (parent,), cache, manifest)
    for info in layer.metrics:
        uid = f"metric.{prefix}.{info.name}"
        parents = tuple(f"semantic_model.{prefix}.{name}" for name in info.semantic_models)
        graph[uid] = GraphNode(uid, "metric", info.name, parents)
        models = tuple(manifest.by_name[m] for m in info.models if m in manifest.by_name)
        sql = layer.sql[info.name]
        expression = layer.expressions.get(info.name)

        def query(sql=sql, expression=expression) -> str | exp.Expr:
            return expression if expression is not None else sql

        result[uid] = _cached_analysis(uid, sql, query, index, schemas, models, cache, manifest)
    return graph, result


def _cached_analysis(
    uid: str,
    key: object,
    query: Callable[[], str | exp.Expr],
    index: RelationIndex,
    schemas: Mapping[str, Mapping[str, str]],
    parents: tuple[str, ...],
    cache: dict[str, dict] | None,
    manifest: Manifest,
) -> NodeLineage:
    """:func:`analyze_sql` of ``query()``, unless the cache knows ``key`` with these parents' columns."""
    key = _fingerprint([uid, key, {p: schemas.get(p, {}) for p in sorted(parents)}])
    cached = cache.get(key) if cache is not None else None
    if cached:
        lineage = from_cache(uid, cached)
    else:
        try:
            lineage = analyze_sql(uid, query(), index, schemas, parents)
        except SqlglotError as error:
            lineage = NodeLineage(uid, {ROWS: Deps()}, unresolved={ROWS: f"an expression does not parse: {error}"})
    if cache is not None:
        cache[key] = cached or to_json(lineage)
    return NodeLineage(uid, _without_raw_rows(lineage.columns, manifest), lineage.types, lineage.unresolved)


# -- walking and printing --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Branch:
    """One line of a lineage tree: a column reached through an edge of ``kind``, and what it reaches in turn."""

    ref: ColumnRef
    kind: str  # value, filter, rows; "" for the starting columns
    children: tuple[Branch, ...] = ()
    repeated: bool = False  # already expanded above: not expanded again


def walk(lineage: Lineage, uid: str, column: str | None, upstream: bool = True, depth: int | None = None) -> Branch:
    """The tree of columns ``uid.column`` reads (``upstream``) or feeds, ``depth`` edges deep at most.

    Without a column, the root is the node and its children are its columns (and its rows, when they depend on
    anything), so ``depth`` counts from the columns.
    """
    step = lineage.parents if upstream else lineage.children
    expanded: set[ColumnRef] = set()

    def grow(ref: ColumnRef, kind: str, level: int) -> Branch:
        if ref in expanded:
            return Branch(ref, kind, (), repeated=bool(step(ref)))
        expanded.add(ref)
        if depth is not None and level >= depth:
            return Branch(ref, kind)
        return Branch(ref, kind, tuple(grow(r, k, level + 1) for k, r in step(ref)))

    if column is not None:
        return grow(ColumnRef(uid, column), "", 0)
    starts = [ColumnRef(uid, c) for c in lineage.columns_of(uid)]
    rows = ColumnRef(uid, ROWS)
    if step(rows):
        starts.append(rows)
    return Branch(ColumnRef(uid, ""), "", tuple(grow(ref, "", 0) for ref in starts))


def _edges(lineage: Lineage, branch: Branch, upstream: bool) -> list[tuple[ColumnRef, ColumnRef, str]]:
    """``(from, to, kind)`` in the direction data flows, each edge once."""
    found: dict[tuple[ColumnRef, ColumnRef], str] = {}
    stack = [branch]
    while stack:
        item = stack.pop()
        for child in item.children:
            if item.ref.column != "":
                pair = (child.ref, item.ref) if upstream else (item.ref, child.ref)
                found.setdefault(pair, child.kind)
            stack.append(child)
    ordered = sorted(found.items(), key=lambda e: (lineage.label(e[0][0]), lineage.label(e[0][1])))
    return [(a, b, kind) for (a, b), kind in ordered]


def _line_label(lineage: Lineage, branch: Branch, upstream: bool) -> str:
    if branch.ref.column == "":
        node = lineage.graph[branch.ref.node]
        return f"{node.name} ({node.kind.replace('_', ' ')})"
    text = lineage.label(branch.ref)
    if branch.kind == "filter":
        text += " [filter]" if upstream else " [as a filter]"
    if branch.repeated:
        text += " (see above)"
    return text


def format_tree(lineage: Lineage, branch: Branch, upstream: bool = True) -> str:
    """The tree as text, then the raw columns it reads (upstream) or the columns it feeds (downstream)."""
    lines = [_line_label(lineage, branch, upstream)]

    def draw(item: Branch, prefix: str) -> None:
        for position, child in enumerate(item.children):
            last = position == len(item.children) - 1
            lines.append(prefix + ("└── " if last else "├── ") + _line_label(lineage, child, upstream))
            draw(child, prefix + ("    " if last else "│   "))

    draw(branch, "")
    if upstream:
        raw = sorted(lineage.label(r) for r in lineage.raw_columns(branch.ref.node, branch.ref.column or None))
        lines.append("")
        lines.append(f"Reads {len(raw)} raw column{'s' if len(raw) != 1 else ''}:" + "".join(f"\n  {r}" for r in raw))
    else:
        starts = [branch.ref] if branch.ref.column else [c.ref for c in branch.children]
        every = set().union(*(lineage.downstream(r) for r in starts)) if starts else set()
        fed = sorted(lineage.label(r) for r in every - set(starts) if r.column not in ("", ROWS))
        lines.append("")
        lines.append(f"Feeds {len(fed)} column{'s' if len(fed) != 1 else ''}:" + "".join(f"\n  {r}" for r in fed))
    problems = lineage.unresolved(branch.ref.node) if upstream else {}
    if problems:
        lines.append("Unresolved:" + "".join(f"\n  {name}: {why}" for name, why in sorted(problems.items())))
    return "\n".join(lines)


def _kind(lineage: Lineage, uid: str) -> str:
    return lineage.graph[uid].kind if uid in lineage.graph else ""


def format_json(lineage: Lineage, branch: Branch, upstream: bool = True) -> str:
    edges = _edges(lineage, branch, upstream)
    reached = {r for a, b, _ in edges for r in (a, b)}
    root = branch.ref
    data = {
        "node": root.node,
        "name": lineage.graph[root.node].name,
        "resource_type": _kind(lineage, root.node),
        "column": root.column or None,
        "direction": "upstream" if upstream else "downstream",
        "edges": [{"from": lineage.label(a), "to": lineage.label(b), "kind": kind} for a, b, kind in edges],
        "columns": sorted(lineage.label(r) for r in reached if r.column not in ("", ROWS)),
    }
    if upstream:
        data["raw_columns"] = sorted(lineage.label(r) for r in lineage.raw_columns(root.node, root.column or None))
        data["unresolved"] = lineage.unresolved(root.node)
    return json.dumps(data, indent=2)


def _graph_id(lineage: Lineage, ref: ColumnRef) -> str:
    text = lineage.label(ref).replace(" (rows)", "__rows")
    return "".join(ch if ch.isalnum() else "_" for ch in text)


def format_mermaid(lineage: Lineage, branch: Branch, upstream: bool = True) -> str:
    lines = ["graph LR"]
    edges = _edges(lineage, branch, upstream)
    for ref in sorted({r for a, b, _ in edges for r in (a, b)} or {branch.ref}, key=lineage.label):
        lines.append(f'    {_graph_id(lineage, ref)}["{lineage.label(ref)}"]')
    for a, b, kind in edges:
        arrow = "-->" if kind == "value" else f"-.->|{kind}|"
        lines.append(f"    {_graph_id(lineage, a)} {arrow} {_graph_id(lineage, b)}")
    return "\n".join(lines)


def format_dot(lineage: Lineage, branch: Branch, upstream: bool = True) -> str:
    lines = ["digraph lineage {", "    rankdir=LR;", '    node [shape=box, fontname="Helvetica"];']
    edges = _edges(lineage, branch, upstream)
    for ref in sorted({r for a, b, _ in edges for r in (a, b)} or {branch.ref}, key=lineage.label):
        lines.append(f'    "{lineage.label(ref)}";')
    for a, b, kind in edges:
        style = "" if kind == "value" else f' [style=dashed, label="{kind}"]'
        lines.append(f'    "{lineage.label(a)}" -> "{lineage.label(b)}"{style};')
    lines.append("}")
    return "\n".join(lines)


FORMATS = {"tree": format_tree, "json": format_json, "mermaid": format_mermaid, "dot": format_dot}


# -- the entry points for the CLI, artifacts and the docs site -------------------------------------------------------

CACHE_FILE = "lineage_cache.json"


def project_lineage(manifest: Manifest, strict: bool = True) -> Lineage:
    """:func:`build_lineage` of the project's models, semantic models and metrics, with a cache in ``target/``, so
    models whose SQL and parents did not change are not parsed again by the next build, ``lineage`` or ``docs``.

    With ``strict=False`` a semantic layer that does not load (a mistake in the metric YAML, which the metric
    commands report) leaves the metrics out instead of raising. The layer is ``lineage.layer``.
    """
    from northstar.errors import NorthstarError

    path = manifest.project.config.target_dir / CACHE_FILE
    try:
        cache = json.loads(path.read_text(encoding="utf-8"))
        if cache.get("version") != sqlglot.__version__:
            cache = {}
    except (OSError, ValueError):
        cache = {}
    previous = cache.get("entries", {})
    entries = _Cache(previous)
    try:
        layer = semantic_layer(manifest, entries)
    except NorthstarError:
        if strict:
            raise
        layer = SemanticLayer()
    lineage = build_lineage(manifest, entries, layer)
    if entries.keys() != previous.keys():
        # Only what this project still uses is written back, so the file does not grow forever.
        from northstar.artifacts import write_json

        write_json(path, {"version": sqlglot.__version__, "entries": dict(entries)})
    return lineage


class _Cache(dict):
    """Starts empty and reads misses from ``previous``: what ends up in it is exactly what this run used."""

    def __init__(self, previous: Mapping[str, dict]) -> None:
        super().__init__()
        self.previous = previous

    def get(self, key, default=None):
        return super().get(key) or self.previous.get(key, default)


def describe(
    manifest: Manifest,
    name: str,
    column: str | None = None,
    upstream: bool = True,
    depth: int | None = None,
    output: str = "tree",
) -> str:
    """What ``metrics lineage NAME`` prints: NAME is a model, seed, source, metric, or one of their columns.

    Raises :class:`ProjectError` naming the closest existing node or column when NAME or COLUMN do not exist.
    """
    lineage = project_lineage(manifest)
    uid, named_column = lineage.resolve(name)
    if not uid:
        raise ProjectError(
            f"No model, seed, source or metric named '{name}'.{did_you_mean(name, lineage.names())} "
            "Run 'metrics ls' to list them; a column is written NODE.COLUMN, e.g. raw.orders.status."
        )
    if named_column and column and named_column != column:
        raise ProjectError(f"'{name}' already names column '{named_column}'; leave out --column {column}.")
    column = column or named_column
    if column is not None and column not in lineage.nodes.get(uid, NodeLineage(uid, {})).columns:
        columns = lineage.columns_of(uid)
        node = lineage.graph[uid]
        raise ProjectError(
            f"{node.kind.replace('_', ' ').capitalize()} '{node.name}' has no column '{column}'."
            f"{did_you_mean(column, columns)} Its columns: {', '.join(columns) or '(unknown)'}."
        )
    branch = walk(lineage, uid, column, upstream, depth)
    return FORMATS[output](lineage, branch, upstream)
