"""What a DuckDB database holds: its relations and their columns, asked of DuckDB's catalog in one place.

Every question is about one catalog (the connected database unless ``catalog`` names an attached one) and leaves
out DuckDB's internal and temporary objects.

>>> import duckdb
>>> connection = duckdb.connect()
>>> _ = connection.execute("create schema marts; create table marts.orders (id int, amount double)")
>>> relations(connection), columns(connection, "marts", "orders")
({('marts', 'orders'): 'BASE TABLE'}, [('id', 'INTEGER'), ('amount', 'DOUBLE')])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from northstar.lazy import exp

# (schema, name) of a table or view.
Key = tuple[str, str]


def relations(connection: duckdb.DuckDBPyConnection) -> dict[Key, str]:
    """Every table and view of the connected database: ``{(schema, name): "BASE TABLE" | "VIEW" | ...}``."""
    rows = connection.execute(
        "SELECT table_schema, table_name, table_type FROM information_schema.tables "
        "WHERE table_catalog = current_database()"
    ).fetchall()
    return {(schema, name): kind for schema, name, kind in rows}


def objects(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """Everything a user or a tool made in the connected database: ``(kind, schema, name)`` of each schema (name
    empty), table, view, macro, sequence and type; DuckDB's own and temporary objects left out."""
    here = "database_name = current_database() AND NOT internal"
    rows = connection.execute(
        f"SELECT 'schema', schema_name, '' FROM duckdb_schemas() WHERE {here} "
        f"UNION ALL SELECT 'table', schema_name, table_name FROM duckdb_tables() WHERE {here} AND NOT temporary "
        f"UNION ALL SELECT 'view', schema_name, view_name FROM duckdb_views() WHERE {here} AND NOT temporary "
        f"UNION ALL SELECT 'macro', schema_name, function_name FROM duckdb_functions() WHERE {here} "
        f"UNION ALL SELECT 'sequence', schema_name, sequence_name FROM duckdb_sequences() "
        f"WHERE database_name = current_database() AND NOT temporary "
        f"UNION ALL SELECT 'type', schema_name, type_name FROM duckdb_types() WHERE {here}"
    ).fetchall()
    return [(str(kind), str(schema), str(name)) for kind, schema, name in rows]


def columns(
    connection: duckdb.DuckDBPyConnection, schema: str, name: str, catalog: str | None = None
) -> list[tuple[str, str]]:
    """A relation's columns and their types, in order (none if it does not exist). (DuckDB's own catalog function
    answers in a fifth of the time information_schema takes, ~1 ms: a build asks once per documented relation.)"""
    rows = connection.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = coalesce(?, current_database()) AND schema_name = ? AND table_name = ? "
        "ORDER BY column_index",
        [catalog, schema, name],
    ).fetchall()
    return [(str(column), str(data_type)) for column, data_type in rows]


def find_relation(connection: duckdb.DuckDBPyConnection, schema: str, name: str) -> tuple[str, str, str] | None:
    """``(schema, name, 'BASE TABLE' | 'VIEW')`` of a relation of the connected database as it is stored, or None;
    the schema compared in lower case, the name exactly, as dbt-duckdb's ``adapter.get_relation`` compares them.
    (DuckDB's own catalog functions answer in half the time information_schema takes.)"""
    where = "database_name = current_database() AND lower(schema_name) = lower(?) AND NOT internal"
    row = connection.execute(
        f"SELECT schema_name, table_name, 'BASE TABLE' FROM duckdb_tables() WHERE {where} AND table_name = ? "
        f"UNION ALL SELECT schema_name, view_name, 'VIEW' FROM duckdb_views() WHERE {where} AND view_name = ?",
        [schema, name, schema, name],
    ).fetchone()
    return (str(row[0]), str(row[1]), str(row[2])) if row else None


def column_details(
    connection: duckdb.DuckDBPyConnection, schema: str, name: str
) -> list[tuple[str, str, int | None, int | None, int | None]]:
    """A relation's columns as dbt-duckdb's ``get_columns_in_relation`` reads them: name, type, character length,
    numeric precision and scale, in order (none if it does not exist)."""
    rows = connection.execute(
        "SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale "
        "FROM duckdb_columns() WHERE database_name = current_database() AND lower(schema_name) = lower(?) "
        "AND table_name = ? ORDER BY column_index",
        [schema, name],
    ).fetchall()
    return [(str(c), str(t), length, precision, scale) for c, t, length, precision, scale in rows]


def all_columns(connection: duckdb.DuckDBPyConnection) -> dict[Key, dict[str, str]]:
    """``(schema, name) -> {column: type}`` of every relation, names in lower case as DuckDB resolves them."""
    rows = connection.execute(
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() ORDER BY table_schema, table_name, ordinal_position"
    ).fetchall()
    found: dict[Key, dict[str, str]] = {}
    for schema, table, column, data_type in rows:
        found.setdefault((schema.lower(), table.lower()), {})[column] = data_type
    return found


def documented_columns(connection: duckdb.DuckDBPyConnection, schema: str) -> dict[str, list[tuple[str, str, str]]]:
    """``table -> [(column, type, comment)]`` for every relation of ``schema``, in column order."""
    rows = connection.execute(
        "SELECT table_name, column_name, data_type, coalesce(comment, '') FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = ? ORDER BY table_name, column_index",
        [schema],
    ).fetchall()
    found: dict[str, list[tuple[str, str, str]]] = {}
    for table, column, data_type, comment in rows:
        found.setdefault(str(table), []).append((str(column), str(data_type), str(comment)))
    return found


def tables_and_views(connection: duckdb.DuckDBPyConnection, catalog: str | None = None) -> dict[Key, tuple[str, str]]:
    """Every table and view of a catalog: ``(kind, the view's SQL or "")``, as publishing copies them."""
    where = "database_name = coalesce(?, current_database()) AND NOT internal AND NOT temporary"
    tables = connection.execute(f"SELECT schema_name, table_name FROM duckdb_tables() WHERE {where}", [catalog])
    found = {(schema, name): ("BASE TABLE", "") for schema, name in tables.fetchall()}
    views = connection.execute(f"SELECT schema_name, view_name, sql FROM duckdb_views() WHERE {where}", [catalog])
    found.update({(schema, name): ("VIEW", sql) for schema, name, sql in views.fetchall()})
    return found


def described_relations(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str | None]]:
    """Every table and view of the connected database with its comment: ``(schema, name, kind, comment)``."""
    where = "database_name = current_database() AND NOT internal AND NOT temporary"
    rows = connection.execute(
        f"SELECT schema_name, table_name, 'BASE TABLE', comment FROM duckdb_tables() WHERE {where} "
        f"UNION ALL SELECT schema_name, view_name, 'VIEW', comment FROM duckdb_views() WHERE {where}"
    ).fetchall()
    return [(str(schema), str(name), str(kind), comment) for schema, name, kind, comment in rows]


def described_columns(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str, int, str | None]]:
    """Every column of the connected database's tables and views: ``(schema, relation, column, type, index from 1,
    comment)``, in order."""
    rows = connection.execute(
        "SELECT schema_name, table_name, column_name, data_type, column_index, comment FROM duckdb_columns() "
        "WHERE database_name = current_database() AND NOT internal "
        "ORDER BY schema_name, table_name, column_index"
    ).fetchall()
    return [(str(s), str(t), str(c), str(d), int(i), comment) for s, t, c, d, i, comment in rows]


def row_count(connection: duckdb.DuckDBPyConnection, schema: str, name: str) -> int:
    """The rows of a table, counted."""
    query = exp.select(exp.Count(this=exp.Star())).from_(exp.table_(name, db=schema, quoted=True))
    row = connection.execute(query.sql(dialect="duckdb")).fetchone()
    return int(row[0]) if row else 0
