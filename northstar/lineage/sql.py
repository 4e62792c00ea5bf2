"""The lineage of one SELECT: qualify it with known columns, then walk sqlglot's scopes to the tables' columns."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from northstar.lineage.graph import ROWS, ColumnRef, Deps, NodeLineage
from northstar.render.jinja import EPHEMERAL_PREFIX, Ephemeral, External, Relation
from northstar.render.manifest import Manifest

if TYPE_CHECKING:
    import sqlglot
    import sqlglot.optimizer.qualify as optimizer_qualify
    import sqlglot.optimizer.scope as optimizer_scope
    from sqlglot import errors as sqlglot_errors
    from sqlglot import exp
    from sqlglot.optimizer.scope import Scope
else:
    from northstar.lazy import exp, optimizer_qualify, optimizer_scope, sqlglot, sqlglot_errors


class RelationIndex:
    """Maps the tables a query names (``raw.orders``, ``read_parquet('...')``, an ephemeral CTE) to node ids."""

    def __init__(self, manifest: Manifest) -> None:
        self.by_relation: dict[tuple[str, str], list[str]] = {}
        self.by_ephemeral: dict[str, str] = {}
        self._external: list[tuple[str, External]] = []
        for uid, node in manifest.nodes.items():
            relation = node.reads_as
            if isinstance(relation, Relation):
                key = (relation.schema.lower(), relation.identifier.lower())
                self.by_relation.setdefault(key, []).append(uid)
            elif isinstance(relation, External):
                self._external.append((uid, relation))
            elif isinstance(relation, Ephemeral):
                self.by_ephemeral[relation.identifier.lower()] = uid

    @functools.cached_property
    def by_function(self) -> dict[str, str]:
        """Files read in place, by the call that reads them as sqlglot writes it: parsed only when a query is
        analysed (a build whose lineage is all cached parses nothing, nor imports sqlglot)."""
        found = {}
        for uid, relation in self._external:
            table = sqlglot.parse_one(f"select * from {relation.render()}", dialect="duckdb").find(exp.Table)
            assert table is not None  # files read in place render as a table function
            found[table.this.sql(dialect="duckdb")] = uid
        return found

    def lookup(self, table: exp.Table, ctes: set[str], parents: Iterable[str] = ()) -> str | None:
        """The node a table names; a seed's table read through ``source()`` is the source, as the DAG says."""
        if isinstance(table.this, exp.Func):
            return self.by_function.get(table.this.sql(dialect="duckdb"))
        name = table.name.lower()
        if not table.db:
            return None if name in ctes else self.by_ephemeral.get(name)
        candidates = self.by_relation.get((table.db.lower(), name), [])
        found = [c for c in candidates if c in parents] or candidates
        return found[0] if found else None


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
    except sqlglot_errors.SqlglotError as error:
        return NodeLineage(uid, {ROWS: Deps()}, unresolved={ROWS: f"the SQL does not parse: {_first_line(error)}"})
    _drop_ephemeral_ctes(query)
    placeholders, schema, unknown_tables = _placeholders(query, index, schemas, parents)
    try:
        qualified = optimizer_qualify.qualify(
            query,
            dialect="duckdb",
            schema=schema,
            validate_qualify_columns=False,
            quote_identifiers=False,
            identify=False,
        )
        root = optimizer_scope.build_scope(qualified)
    except sqlglot_errors.SqlglotError as error:
        return NodeLineage(uid, {ROWS: Deps()}, unresolved={ROWS: f"the SQL cannot be qualified: {_first_line(error)}"})
    if root is None:
        return NodeLineage(uid, {ROWS: Deps()}, unresolved={ROWS: "the SQL is not a query"})
    tracer = _Tracer({v: k for k, v in placeholders.items()}, unknown_tables)
    columns: dict[str, Deps] = {}
    try:
        for position, name in enumerate(_output_names(root)):
            columns[name] = tracer.projection(root, position)
        columns[ROWS] = tracer.rowdeps(root)
    except (sqlglot_errors.SqlglotError, RecursionError) as error:
        return NodeLineage(uid, {ROWS: Deps()}, unresolved={ROWS: f"the SQL cannot be traced: {_first_line(error)}"})
    unresolved = dict(tracer.unresolved_by_output(columns))
    if "*" in [n for n in _output_names(root)]:
        unresolved[ROWS] = "a 'select *' over a table whose columns are unknown"
    return NodeLineage(uid, columns, unresolved=unresolved)


def _drop_ephemeral_ctes(query: exp.Expr) -> None:
    """Ephemeral models are inlined as CTEs for execution; for lineage they stay nodes of their own."""
    for cte in list(query.find_all(exp.CTE)):
        if cte.alias_or_name.lower().startswith(EPHEMERAL_PREFIX):
            cte.pop()
    for with_ in list(query.find_all(exp.With)):
        if not with_.expressions:
            with_.pop()


def _placeholders(
    query: exp.Expr, index: RelationIndex, schemas: Mapping[str, Mapping[str, str]], parents: frozenset[str]
) -> tuple[dict[str, str], dict[str, object], set[str]]:
    """Replace every table naming a node by a placeholder (``__ns_0``...) whose schema is that node's columns.

    Returns node id -> placeholder, placeholder -> {column: type} (as ``qualify`` takes it), and the tables that
    name no node.
    """
    ctes = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    placeholders: dict[str, str] = {}
    schema: dict[str, object] = {}
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
    return placeholders, schema, unknown_tables


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _output_names(scope: Scope) -> list[str]:
    query = scope.expression
    while isinstance(query, exp.SetOperation):
        query = query.left
    if isinstance(query, exp.Subquery):
        query = query.unnest()
    return [s.alias_or_name for s in getattr(query, "selects", [])]


def _reads_files(function: exp.Func) -> bool:
    """Whether a table function reads files (read_parquet, read_csv, ...), which should then be a source."""
    name = function.sql_name() if not isinstance(function, exp.Anonymous) else function.name
    return name.lower().startswith(("read_", "parquet_scan", "sniff_", "glob"))


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
        assert isinstance(scope.expression, exp.Selectable)  # a SELECT, VALUES or table function: it has columns
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
        drivers, joined = self._row_drivers(scope, query)
        deps = self._clause_filters(scope, query) | joined
        for driver in drivers:
            source = scope.sources.get(driver.alias_or_name)
            if isinstance(source, optimizer_scope.Scope):
                deps |= self.rowdeps(source).as_filter() | Deps(rows=self.rowdeps(source).rows)
            elif isinstance(source, exp.Table):
                node = self.placeholders.get(source.name)
                if node is not None:
                    deps |= Deps(rows=frozenset({node}))
        return deps

    def _clause_filters(self, scope: Scope, query: exp.Select) -> Deps:
        """What the clauses deciding a SELECT's rows read: WHERE, GROUP BY (ALL), HAVING, QUALIFY, DISTINCT ON."""
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
        return deps

    def _row_drivers(self, scope: Scope, query: exp.Select) -> tuple[list[exp.Expr], Deps]:
        """The sources whose rows decide the SELECT's rows (FROM and inner joins; a RIGHT join's right side), and
        what the inner joins' conditions read."""
        deps = Deps()
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
        return drivers, deps

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
        if isinstance(source, optimizer_scope.Scope):
            return self.by_name(source, name) | joined
        node = self.placeholders.get(source.name)
        if node is None and isinstance(source.this, exp.Func) and not _reads_files(source.this):
            # range(), generate_series() and friends make their rows: a date spine reads nothing upstream.
            return self._expression(search, source.this).as_filter() | joined
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
