"""Build a snapshot: record how its query's rows change from one run to the next, as dbt's snapshots do (a type 2
slowly changing dimension), with the same columns and values as dbt-duckdb.

Each row of the snapshot table is a version of a source row, valid from ``dbt_valid_from`` until ``dbt_valid_to``
(null, or ``dbt_valid_to_current``, while it is the current version). ``dbt_scd_id`` is the md5 of the row's key
and its ``dbt_updated_at``, the parts cast to text, nulls as '', joined by '|'.

- First run: every row of the query, valid from its ``updated_at`` (strategy ``check`` without ``updated_at``: the
  time of the run).
- Later runs, against the current versions: a key not seen before is inserted; a changed row (``timestamp``: its
  ``updated_at`` is later than the current version's ``dbt_valid_from``; ``check``: one of ``check_cols`` differs,
  nulls compared as values, or a checked column is new) closes the current version at its ``updated_at`` and is
  inserted. A key the query no longer returns is left alone (``hard_deletes: ignore``), its version closed at the
  time of the run (``invalidate``), or also followed by a version marked ``dbt_is_deleted = 'True'``
  (``new_record``), which a returning row closes.
- Columns the query gained are added to the table; columns it lost stay, null in new versions.

What is inserted and what is closed are both worked out before the table changes, in two temporary tables.

>>> build_snapshot(node, cursor, context)  # doctest: +SKIP
NodeResult(unique_id='snapshot.shop.customers', status='success', message='snapshotted ...', ...)
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING

import duckdb

from northstar.engine.execute import BuildContext, NodeResult, create_schema, document_statements, row_count
from northstar.engine.source_lines import sql_error
from northstar.errors import ExecutionError
from northstar.nodes import SnapshotNode
from northstar.project.snapshots import SnapshotConfig
from northstar.warehouse import catalog

if TYPE_CHECKING:
    import sqlglot
    from sqlglot import exp
else:
    from northstar.lazy import exp, sqlglot

_SOURCE, _CURRENT = "source_data", "snapshotted_data"  # the aliases of the query's rows and of the current versions
_TARGET = "snapshot_target"


def _flag(value: bool) -> exp.Literal:
    """dbt_is_deleted's value: text ('True'/'False'), as in dbt."""
    return exp.Literal.string(str(value))


def build_snapshot(node: SnapshotNode, cursor: duckdb.DuckDBPyConnection, context: BuildContext) -> NodeResult:
    """Run one snapshot in the working copy; DuckDB errors become a failed result naming the snapshot's file."""
    start = time.perf_counter()
    try:
        message, rows = _build(node, cursor, context)
    except ExecutionError as error:
        return NodeResult(node.unique_id, "error", str(error), time.perf_counter() - start, error=error)
    return NodeResult(node.unique_id, "success", message, time.perf_counter() - start, rows=rows)


@dataclass(frozen=True)
class _Snapshot:
    """One run of a snapshot: its node, the time of the run and the tables it reads and writes."""

    node: SnapshotNode
    now: exp.Expr  # the time of the run, one value for every row (dbt-duckdb's now()::timestamp)
    target: exp.Table
    source: exp.Table  # the query's rows, in a temporary table

    @property
    def config(self) -> SnapshotConfig:
        return self.node.snapshot

    def run(self, cursor: duckdb.DuckDBPyConnection, statement: exp.Expr | str) -> None:
        sql = statement if isinstance(statement, str) else statement.sql("duckdb")
        try:
            cursor.execute(sql)
        except duckdb.Error as error:
            raise sql_error(self.node, sql, error, self.node.sql) from None


def _build(node: SnapshotNode, cursor: duckdb.DuckDBPyConnection, context: BuildContext) -> tuple[str, int]:
    relation = node.relation
    create_schema(cursor, relation, node, context)
    found = cursor.execute("SELECT CAST(CAST(now() AS TIMESTAMP) AS VARCHAR)").fetchone()
    assert found is not None
    temp = exp.to_identifier(f"__northstar_snapshot_{relation.identifier}", quoted=True)
    snap = _Snapshot(
        node,
        exp.cast(exp.Literal.string(str(found[0])), exp.DataType.Type.TIMESTAMP),
        exp.table_(relation.identifier, db=relation.schema, quoted=True),
        exp.Table(this=temp),
    )
    snap.run(cursor, f"CREATE OR REPLACE TEMPORARY TABLE {temp.sql('duckdb')} AS\n{node.sql}")
    try:
        existing = catalog.columns(cursor, relation.schema, relation.identifier)
        if not existing:
            snap.run(cursor, exp.Create(this=snap.target, kind="TABLE", expression=_first_versions(snap, cursor)))
            message = f"created snapshot {relation}"
        else:
            inserted, closed = _record_changes(snap, cursor, [name for name, _ in existing])
            message = f"snapshotted {relation}: {inserted} new version{'s' * (inserted != 1)}, {closed} closed"
    finally:
        cursor.execute(exp.Drop(tables=[snap.source], kind="TABLE", exists=True).sql("duckdb"))
    docs = {column.name: column.description for column in node.columns}
    statements = document_statements(cursor, relation, "table", node.description, docs)
    if statements:
        snap.run(cursor, ";\n".join(statements))
    return message, row_count(cursor, str(relation))


def _columns(cursor: duckdb.DuckDBPyConnection, table: exp.Table) -> dict[str, str]:
    """Column name -> DuckDB type, in table order."""
    return {row[0]: row[1] for row in cursor.execute(exp.Describe(this=table).sql("duckdb")).fetchall()}


def _expression(text: str, table: str, snap: _Snapshot) -> exp.Expr:
    """A unique_key or updated_at as written (a column, or an expression over the columns), read from ``table``."""
    if re.fullmatch(r"\w+", text):
        return exp.column(text, table=table, quoted=True)
    try:
        tree = sqlglot.parse_one(text, dialect="duckdb")
    except sqlglot.errors.SqlglotError:
        raise ExecutionError(
            f"Snapshot '{snap.node.name}': {text!r} is neither a column nor an expression Northstar can read. "
            "Name a column of its SELECT.",
            snap.node.path,
            snap.node.line,
        ) from None
    for column in tree.find_all(exp.Column):
        column.set("table", exp.to_identifier(table, quoted=True))
    return tree


def _keys(snap: _Snapshot, table: str) -> list[exp.Expr]:
    return [_expression(key, table, snap) for key in snap.config.unique_key]


def _same_key(snap: _Snapshot) -> exp.Expr:
    pairs = zip(_keys(snap, _SOURCE), _keys(snap, _CURRENT), strict=True)
    return exp.and_(*(exp.EQ(this=s, expression=c) for s, c in pairs))


def _updated_at(snap: _Snapshot) -> exp.Expr:
    """When a source row changed: its ``updated_at``; strategy ``check`` without one: the time of the run."""
    if snap.config.updated_at is None:
        return snap.now.copy()
    return _expression(snap.config.updated_at, _SOURCE, snap)


def _scd_id(parts: Iterable[exp.Expr]) -> exp.Expr:
    """md5 of the parts as text, a null as '', joined by '|'."""
    texts: list[exp.Expr] = [
        exp.Coalesce(this=exp.cast(part, exp.DataType.Type.VARCHAR), expressions=[exp.Literal.string("")])
        for part in parts
    ]
    return exp.MD5(
        this=reduce(
            lambda a, b: exp.DPipe(this=exp.DPipe(this=a, expression=exp.Literal.string("|")), expression=b), texts
        )
    )


def _valid_to(snap: _Snapshot, updated_at: exp.Expr) -> exp.Expr:
    """A new current version's ``dbt_valid_to``: null of updated_at's type, or ``dbt_valid_to_current``."""
    null = exp.Nullif(this=updated_at.copy(), expression=updated_at.copy())
    if snap.config.valid_to_current is None:
        return null
    return exp.Coalesce(this=null, expressions=[sqlglot.parse_one(snap.config.valid_to_current, dialect="duckdb")])


def _is_current(snap: _Snapshot, table: str) -> exp.Expr:
    valid_to = exp.column(snap.config.columns.valid_to, table=table, quoted=True)
    if snap.config.valid_to_current is None:
        return exp.Is(this=valid_to, expression=exp.null())
    current = sqlglot.parse_one(snap.config.valid_to_current, dialect="duckdb")
    return exp.Paren(
        this=exp.or_(exp.EQ(this=valid_to.copy(), expression=current), exp.Is(this=valid_to, expression=exp.null()))
    )


def _meta(
    snap: _Snapshot, scd_id: exp.Expr, updated_at: exp.Expr, valid_to: exp.Expr, deleted: exp.Expr | None
) -> list[exp.Expr]:
    """The columns a snapshot adds, in dbt's order."""
    names = snap.config.columns
    values = [
        exp.alias_(scd_id, names.scd_id, quoted=True),
        exp.alias_(updated_at.copy(), names.updated_at, quoted=True),
        exp.alias_(updated_at.copy(), names.valid_from, quoted=True),
        exp.alias_(valid_to, names.valid_to, quoted=True),
    ]
    if deleted is not None:
        values.append(exp.alias_(deleted, names.is_deleted, quoted=True))
    return values


def _new_record(snap: _Snapshot) -> bool:
    return snap.config.hard_deletes == "new_record"


def _first_versions(snap: _Snapshot, cursor: duckdb.DuckDBPyConnection) -> exp.Select:
    """Every row of the query, as its first version."""
    updated_at = _updated_at(snap)
    scd_id = _scd_id([*_keys(snap, _SOURCE), updated_at.copy()])
    deleted = _flag(False) if _new_record(snap) else None
    source = [exp.column(name, table=_SOURCE, quoted=True) for name in _columns(cursor, snap.source)]
    meta = _meta(snap, scd_id, updated_at, _valid_to(snap, updated_at), deleted)
    return exp.select(*source, *meta).from_(exp.alias_(snap.source.copy(), _SOURCE, table=True))


def _changed(snap: _Snapshot, source_columns: Sequence[str], existing: Sequence[str]) -> exp.Expr:
    """Whether a source row differs from the current version it is joined to."""
    config = snap.config
    if config.strategy == "timestamp":
        valid_from = exp.column(config.columns.valid_from, table=_CURRENT, quoted=True)
        changed: exp.Expr = exp.LT(this=valid_from, expression=_updated_at(snap))
    else:
        checked = list(source_columns) if config.check_cols is None else list(config.check_cols)
        known = {name.lower() for name in existing}
        if any(name.lower() not in known for name in checked):  # a checked column is new: every row changed
            changed = exp.true()
        else:
            changed = exp.or_(
                *(
                    exp.NullSafeNEQ(
                        this=exp.column(name, table=_CURRENT, quoted=True),
                        expression=exp.column(name, table=_SOURCE, quoted=True),
                    )
                    for name in checked
                )
            )
    if _new_record(snap):  # a row that comes back after it was deleted
        deleted = exp.column(config.columns.is_deleted, table=_CURRENT, quoted=True)
        changed = exp.or_(exp.Paren(this=changed), exp.EQ(this=deleted, expression=_flag(True)))
    return exp.Paren(this=changed)


def _current_versions(snap: _Snapshot) -> exp.Expr:
    query = exp.select("*").from_(snap.target.copy()).where(_is_current(snap, snap.target.name))
    return query.subquery(_CURRENT)


def _source_rows(snap: _Snapshot) -> exp.Expr:
    return exp.alias_(snap.source.copy(), _SOURCE, table=True)


def _gone(snap: _Snapshot) -> exp.Select:
    """Current versions whose key the query no longer returns (for new_record: unless already marked deleted)."""
    first_key = _keys(snap, _SOURCE)[0]
    query = (
        exp.select()
        .from_(_current_versions(snap))
        .join(_source_rows(snap), on=_same_key(snap), join_type="left")
        .where(exp.Is(this=first_key, expression=exp.null()))
    )
    if _new_record(snap):
        deleted = exp.column(snap.config.columns.is_deleted, table=_CURRENT, quoted=True)
        marked = exp.and_(exp.EQ(this=deleted, expression=_flag(True)), _is_current(snap, _CURRENT))
        query = query.where(exp.Not(this=exp.Paren(this=marked)))
    return query


def _insertions(snap: _Snapshot, source_columns: Sequence[str], existing: Sequence[str]) -> exp.Select:
    """New keys and changed rows, as new current versions."""
    updated_at = _updated_at(snap)
    scd_id = _scd_id([*_keys(snap, _SOURCE), updated_at.copy()])
    deleted = _flag(False) if _new_record(snap) else None
    source = [exp.column(name, table=_SOURCE, quoted=True) for name in source_columns]
    first_key = _keys(snap, _CURRENT)[0]
    return (
        exp.select(*source, *_meta(snap, scd_id, updated_at, _valid_to(snap, updated_at), deleted))
        .from_(_source_rows(snap))
        .join(_current_versions(snap), on=_same_key(snap), join_type="left")
        .where(exp.or_(exp.Is(this=first_key, expression=exp.null()), _changed(snap, source_columns, existing)))
    )


def _deletion_records(snap: _Snapshot, source_columns: Sequence[str], existing: Sequence[str]) -> exp.Select:
    """new_record: a version marked deleted after each current version whose key is gone, valid from now."""
    known = {name.lower() for name in existing}
    values = [
        exp.column(name, table=_CURRENT, quoted=True)
        if name.lower() in known
        else exp.alias_(exp.null(), name, quoted=True)
        for name in source_columns
    ]
    scd_id = _scd_id([*_keys(snap, _CURRENT), snap.now.copy()])
    valid_to = exp.column(snap.config.columns.valid_to, table=_CURRENT, quoted=True)
    return _gone(snap).select(*values, *_meta(snap, scd_id, snap.now, valid_to, _flag(True)))


def _closings(snap: _Snapshot, source_columns: Sequence[str], existing: Sequence[str]) -> exp.Query:
    """The current versions to close (by dbt_scd_id) and their new ``dbt_valid_to``: changed rows at their
    ``updated_at``; with hard deletes, vanished rows at the time of the run."""
    names = snap.config.columns
    scd_id = exp.alias_(exp.column(names.scd_id, table=_CURRENT, quoted=True), names.scd_id, quoted=True)
    changed: exp.Query = (
        exp.select(scd_id, exp.alias_(_updated_at(snap), names.valid_to, quoted=True))
        .from_(_source_rows(snap))
        .join(_current_versions(snap), on=_same_key(snap))
        .where(_changed(snap, source_columns, existing))
    )
    if snap.config.hard_deletes == "ignore":
        return changed
    gone = _gone(snap).select(scd_id.copy(), exp.alias_(snap.now.copy(), names.valid_to, quoted=True))
    return exp.union(changed, gone, distinct=False)


def _record_changes(snap: _Snapshot, cursor: duckdb.DuckDBPyConnection, existing: list[str]) -> tuple[int, int]:
    """Insert the new versions and close the old ones; how many of each."""
    names = snap.config.columns
    missing = [
        n for n in (names.scd_id, names.valid_from, names.valid_to) if n.lower() not in {e.lower() for e in existing}
    ]
    if missing:
        raise ExecutionError(
            f"Snapshot '{snap.node.name}': {snap.node.relation} exists but is no snapshot table (it has no "
            f"{', '.join(missing)}). Drop it, or give the snapshot another schema or alias.",
            snap.node.path,
            snap.node.line,
        )
    source = _columns(cursor, snap.source)
    inserts: exp.Query = _insertions(snap, list(source), existing)
    if _new_record(snap):
        inserts = exp.union(inserts, _deletion_records(snap, list(source), existing), distinct=False)
    identifier = snap.source.name
    new_rows = exp.to_identifier(f"{identifier}_inserts", quoted=True)
    closing = exp.to_identifier(f"{identifier}_closings", quoted=True)
    temporary = exp.Properties(expressions=[exp.TemporaryProperty()])
    try:
        for name, query in ((new_rows, inserts), (closing, _closings(snap, list(source), existing))):
            snap.run(
                cursor,
                exp.Create(
                    this=exp.Table(this=name), kind="TABLE", replace=True, expression=query, properties=temporary.copy()
                ),
            )
        _add_columns(snap, cursor, existing, source)
        closed = _close(snap, cursor, exp.Table(this=closing))
        columns = list(_columns(cursor, exp.Table(this=new_rows)))
        insert = exp.insert(
            exp.select(*(exp.column(c, quoted=True) for c in columns)).from_(exp.Table(this=new_rows)),
            snap.target.copy(),
            columns=[exp.to_identifier(c, quoted=True) for c in columns],
        )
        snap.run(cursor, insert)
        inserted = row_count(cursor, exp.Table(this=new_rows).sql("duckdb"))
    finally:
        for name in (new_rows, closing):
            cursor.execute(exp.Drop(tables=[exp.Table(this=name)], kind="TABLE", exists=True).sql("duckdb"))
    return inserted, closed


def _add_columns(
    snap: _Snapshot, cursor: duckdb.DuckDBPyConnection, existing: list[str], source: dict[str, str]
) -> None:
    """Columns the query gained since the table was made (and dbt_is_deleted, for new_record) are added to it."""
    known = {name.lower() for name in existing}
    wanted = dict(source)
    if _new_record(snap):
        wanted[snap.config.columns.is_deleted] = "VARCHAR"
    for name, kind in wanted.items():
        if name.lower() not in known:
            column = exp.ColumnDef(
                this=exp.to_identifier(name, quoted=True), kind=exp.DataType.build(kind, dialect="duckdb")
            )
            snap.run(cursor, exp.Alter(this=snap.target.copy(), kind="TABLE", actions=[column]))


def _close(snap: _Snapshot, cursor: duckdb.DuckDBPyConnection, closings: exp.Table) -> int:
    """Set ``dbt_valid_to`` of the current versions listed in ``closings``; how many were closed."""
    names = snap.config.columns
    target = exp.alias_(snap.target.copy(), _TARGET, table=True)
    valid_to = exp.column(names.valid_to, quoted=True)
    update = exp.Update(
        this=target,
        expressions=[exp.EQ(this=valid_to, expression=exp.column(names.valid_to, table="closing", quoted=True))],
        where=exp.Where(
            this=exp.and_(
                exp.EQ(
                    this=exp.column(names.scd_id, table="closing", quoted=True),
                    expression=exp.column(names.scd_id, table=_TARGET, quoted=True),
                ),
                _is_current(snap, _TARGET),
            )
        ),
    )
    update.set(
        "from_" if "from_" in exp.Update.arg_types else "from",
        exp.From(this=exp.alias_(closings, "closing", table=True)),
    )
    snap.run(cursor, update)
    found = cursor.fetchone()
    return int(found[0]) if found else 0
