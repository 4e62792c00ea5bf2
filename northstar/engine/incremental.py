"""Incremental models: add the new rows a model selects to the table built by earlier runs, instead of rebuilding it.

On the first build (or with ``--full-refresh``) an incremental model is a plain table. Afterwards its SELECT, which
usually filters on ``{% if is_incremental() %}``, is run into a temporary table and applied with a strategy:

- ``append``: insert every new row (the default without ``unique_key``);
- ``merge``: update rows whose ``unique_key`` matches, insert the others (the default with ``unique_key``);
- ``delete+insert``: delete rows whose ``unique_key`` matches, then insert all new rows.

``on_schema_change`` says what to do when the SELECT's columns differ from the table's, as in dbt: ``ignore`` (insert
the columns both have), ``fail``, ``append_new_columns`` (add new columns, keep old ones), ``sync_all_columns`` (add
new columns, drop missing ones, change types).

>>> incremental_statements(node, cursor, exists=True)  # doctest: +SKIP
['ALTER TABLE ...', 'MERGE INTO "marts"."orders" AS "target" USING ...', 'DROP TABLE IF EXISTS ...']
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import duckdb

from northstar.engine.materialize import create_statement
from northstar.engine.source_lines import sql_error
from northstar.errors import ExecutionError
from northstar.nodes import ModelNode
from northstar.project.config import unknown_strategy
from northstar.render.jinja import Relation

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from northstar.lazy import exp

_NEW = "__northstar_new"  # alias of the new rows in generated statements
_TARGET = "__northstar_target"


def incremental_statements(node: ModelNode, cursor: duckdb.DuckDBPyConnection, exists: bool) -> list[str]:
    """The statements that bring ``node``'s table up to date; runs the model's SELECT into a temporary table first.

    ``exists`` is False on the first build and with ``--full-refresh``: then the table is simply (re)created.
    """
    relation = node.relation
    assert isinstance(relation, Relation)
    if not exists:
        return [create_statement(relation, node.sql, "table")]
    config = node.config
    unknown = unknown_strategy(config, f"Model '{node.name}'")
    if unknown:
        raise ExecutionError(unknown + " It is checked now because this run is incremental.", node.path)
    keys = list(config.unique_key)
    strategy = config.incremental_strategy or ("merge" if keys else "append")
    if strategy != "append" and not keys:
        raise ExecutionError(
            f"Model '{node.name}' uses incremental_strategy='{strategy}', which needs a unique_key. "
            "Set unique_key='id' (or a list of columns) in its config, or use incremental_strategy='append'.",
            node.path,
        )

    temp = exp.to_identifier(f"__northstar_incremental_{relation.identifier}", quoted=True)
    create = f"CREATE OR REPLACE TEMPORARY TABLE {temp.sql('duckdb')} AS\n{node.sql}"
    try:
        cursor.execute(create)
    except duckdb.Error as error:
        raise sql_error(node, create, error, node.sql) from None
    target = exp.table_(relation.identifier, db=relation.schema, quoted=True)
    new_columns = _columns(cursor, exp.Table(this=temp))
    old_columns = _columns(cursor, target)

    missing_keys = [key for key in keys if key not in new_columns]
    if missing_keys:
        raise ExecutionError(
            f"Model '{node.name}': unique_key column(s) {', '.join(missing_keys)} are not in its SELECT "
            f"(it selects {', '.join(new_columns)}). Select them, or fix unique_key.",
            node.path,
        )
    statements, columns = _schema_change(node, target, old_columns, new_columns)
    source = exp.alias_(exp.Table(this=temp), _NEW, table=True)
    if strategy == "append":
        statements.append(_insert(target, columns, source))
    elif strategy == "delete+insert":
        matches = _and(
            exp.column(key, table=relation.identifier, quoted=True).eq(exp.column(key, table=_NEW, quoted=True))
            for key in keys
        )
        delete = exp.Delete(this=target, using=[source], where=exp.Where(this=matches))
        statements += [delete.sql("duckdb"), _insert(target, columns, source)]
    else:
        statements.append(_merge(target, source, keys, columns))
    statements.append(exp.Drop(tables=[exp.Table(this=temp)], kind="TABLE", exists=True).sql("duckdb"))
    return statements


def _columns(cursor: duckdb.DuckDBPyConnection, table: exp.Table) -> dict[str, str]:
    """Column name -> DuckDB type, in table order."""
    rows = cursor.execute(exp.Describe(this=table).sql("duckdb")).fetchall()
    return {row[0]: row[1] for row in rows}


def _schema_change(
    node: ModelNode, target: exp.Table, old: dict[str, str], new: dict[str, str]
) -> tuple[list[str], list[str]]:
    """ALTER statements for ``on_schema_change``, and the columns to write afterwards."""
    added = [c for c in new if c not in old]
    removed = [c for c in old if c not in new]
    retyped = [c for c in new if c in old and old[c] != new[c]]
    policy = node.config.on_schema_change
    if not (added or removed or retyped) or policy == "ignore":
        return [], [c for c in old if c in new]
    if policy == "fail":
        changes = []
        if added:
            changes.append(f"new columns {', '.join(added)}")
        if removed:
            changes.append(f"missing columns {', '.join(removed)}")
        if retyped:
            changes.append(", ".join(f"{c} changed from {old[c]} to {new[c]}" for c in retyped))
        raise ExecutionError(
            f"Model '{node.name}' is incremental with on_schema_change='fail' and its columns changed: "
            f"{'; '.join(changes)}. Rebuild it with --full-refresh, or set on_schema_change to "
            "'append_new_columns' or 'sync_all_columns'.",
            node.path,
        )
    actions: list[exp.Expr] = [
        exp.ColumnDef(this=exp.to_identifier(c, quoted=True), kind=exp.DataType.build(new[c], dialect="duckdb"))
        for c in added
    ]
    kept = [c for c in old if c in new] + added
    if policy == "sync_all_columns":
        actions += [exp.Drop(tables=[exp.column(c, quoted=True)], kind="COLUMN", exists=True) for c in removed]
        actions += [
            exp.AlterColumn(this=exp.to_identifier(c, quoted=True), dtype=exp.DataType.build(new[c], dialect="duckdb"))
            for c in retyped
        ]
    # DuckDB takes one action per ALTER TABLE.
    return [exp.Alter(this=target.copy(), kind="TABLE", actions=[a]).sql("duckdb") for a in actions], kept


def _and(conditions: Iterable[exp.Expr]) -> exp.Expr:
    items = list(conditions)
    return exp.and_(*items) if len(items) > 1 else items[0]


def _insert(target: exp.Table, columns: list[str], source: exp.Expr) -> str:
    select = exp.select(*[exp.column(c, table=_NEW, quoted=True) for c in columns]).from_(source.copy())
    into = exp.Schema(this=target.copy(), expressions=[exp.to_identifier(c, quoted=True) for c in columns])
    return exp.Insert(this=into, expression=select).sql("duckdb")


def _merge(target: exp.Table, source: exp.Expr, keys: list[str], columns: list[str]) -> str:
    on = _and(exp.column(key, table=_TARGET, quoted=True).eq(exp.column(key, table=_NEW, quoted=True)) for key in keys)
    whens = []
    updates = [c for c in columns if c not in keys]
    if updates:
        assignments = [exp.column(c, quoted=True).eq(exp.column(c, table=_NEW, quoted=True)) for c in updates]
        whens.append(exp.When(matched=True, then=exp.Update(expressions=assignments)))
    insert = exp.Insert(
        this=exp.Tuple(expressions=[exp.column(c, quoted=True) for c in columns]),
        expression=exp.Tuple(expressions=[exp.column(c, table=_NEW, quoted=True) for c in columns]),
    )
    whens.append(exp.When(matched=False, then=insert))
    merge = exp.Merge(
        this=exp.alias_(target.copy(), _TARGET, table=True),
        using=source.copy(),
        on=on,
        whens=exp.Whens(expressions=whens),
    )
    return merge.sql("duckdb")
