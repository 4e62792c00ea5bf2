"""The DuckDB statements that build a node: load a seed, create a view or table, document it.

Statements are built from the node's relation and its rendered SELECT; the SELECT itself is the user's SQL, kept as
written so DuckDB's error positions map back to the user's file.

>>> from northstar.render.jinja import Relation
>>> print(create_statement(Relation("marts", "orders"), "select 1 as id", "table"))
CREATE OR REPLACE TABLE marts.orders AS
select 1 as id
"""

from __future__ import annotations

from collections.abc import Mapping

from northstar.render.jinja import Relation, quote_always, sql_string


def create_statement(relation: Relation, sql: str, materialized: str) -> str:
    kind = "VIEW" if materialized == "view" else "TABLE"
    return f"CREATE OR REPLACE {kind} {relation} AS\n{sql}"


def drop_statement(relation: Relation, existing_type: str) -> str:
    kind = "VIEW" if existing_type == "VIEW" else "TABLE"
    return f"DROP {kind} IF EXISTS {relation}"


def seed_statement(relation: Relation, csv_path: str, column_types: Mapping[str, str], delimiter: str | None) -> str:
    options = ["header = true", "auto_detect = true"]
    if column_types:
        types = ", ".join(f"{sql_string(k)}: {sql_string(v)}" for k, v in column_types.items())
        options.append(f"types = {{{types}}}")
    if delimiter:
        options.append(f"delim = {sql_string(delimiter)}")
    return (
        f"CREATE OR REPLACE TABLE {relation} AS\nSELECT * FROM read_csv({sql_string(csv_path)}, {', '.join(options)})"
    )


def comment_statements(
    relation: Relation,
    materialized: str,
    description: str,
    column_docs: Mapping[str, str],
    actual_columns: set[str],
) -> list[str]:
    """COMMENT ON statements for a relation and its documented columns that exist."""
    kind = "VIEW" if materialized == "view" else "TABLE"
    statements = []
    if description:
        statements.append(f"COMMENT ON {kind} {relation} IS {sql_string(description.strip())}")
    for column, text in column_docs.items():
        if text and column in actual_columns:
            statements.append(f"COMMENT ON COLUMN {relation}.{quote_always(column)} IS {sql_string(text.strip())}")
    return statements
