"""A dbt project's seed columns typed as dbt-duckdb types them.

dbt infers a seed's column types with agate before DuckDB reads the file: a column whose every value is a whole
number (``7``, ``-3``, ``+5``, ``1.0``, ``007``) or that is empty is an ``INTEGER``, where DuckDB's own CSV sniffer
says ``BIGINT`` (``DOUBLE`` for ``1.0``, ``VARCHAR`` for ``007`` or an empty column). A dbt project's seeds are
loaded with DuckDB's sniffer as any seed, then those columns are changed to ``INTEGER``, so the tables have the types
(and values: ``007`` is 7) dbt-duckdb gives them. A column with a whole number outside ``INTEGER``'s range stays
``BIGINT`` (dbt-duckdb fails the seed there), and a column whose type the seed's ``column_types`` sets is left alone.

>>> print(integer_check("BIGINT", "id"))
coalesce(bool_and(id BETWEEN -2147483648 AND 2147483647), TRUE)
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

from northstar.render.jinja import Relation, quote_always
from northstar.warehouse import catalog

_LOW, _HIGH = -(2**31), 2**31 - 1


def integer_check(data_type: str, column: str) -> str | None:
    """A SQL aggregate true when every value of ``column`` (a quoted identifier) of the sniffed ``data_type`` is a
    whole number that fits an INTEGER (an all-NULL column counts), or None for a type dbt never makes INTEGER."""
    bounds = f"BETWEEN {_LOW} AND {_HIGH}"
    if data_type == "BIGINT":
        condition = f"{column} {bounds}"
    elif data_type == "DOUBLE":
        condition = f"{column} = trunc({column}) AND {column} {bounds}"
    elif data_type == "VARCHAR":
        text = f"trim({column})"
        condition = f"regexp_full_match({text}, '[+-]?[0-9]+') AND TRY_CAST({text} AS DOUBLE) {bounds}"
    else:
        return None
    return f"coalesce(bool_and({condition}), TRUE)"


def integer_statements(
    cursor: duckdb.DuckDBPyConnection, relation: Relation, column_types: Mapping[str, str]
) -> list[str]:
    """The ALTER statements giving the seed's whole-number columns dbt-duckdb's INTEGER type (one query to find
    them)."""
    declared = {name.lower() for name in column_types}
    checks = {
        name: (data_type, check)
        for name, data_type in catalog.columns(cursor, relation.schema, relation.identifier)
        if data_type != "INTEGER" and name.lower() not in declared
        for check in [integer_check(data_type, quote_always(name))]
        if check is not None
    }
    if not checks:
        return []
    row = cursor.execute(f"SELECT {', '.join(check for _, check in checks.values())} FROM {relation}").fetchone()
    assert row is not None
    statements = []
    for (name, (data_type, _)), whole in zip(checks.items(), row, strict=True):
        if whole:
            column = quote_always(name)
            using = f" USING CAST(trim({column}) AS INTEGER)" if data_type == "VARCHAR" else ""
            statements.append(f"ALTER TABLE {relation} ALTER COLUMN {column} TYPE INTEGER{using}")
    return statements
