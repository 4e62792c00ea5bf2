"""Model contracts, as dbt enforces them: ``contract: {enforced: true}`` with a ``data_type`` for every column.

Before an enforced model is built, the names and DuckDB types of what its SELECT returns are compared with the
columns its YAML declares (each ``data_type`` resolved by DuckDB, so ``int`` and ``integer`` agree); any difference
fails the model with a table of the mismatches, as dbt's does, and nothing is published. A contracted table (or
incremental model, on its first build) is then created from its declared columns with their column and model
constraints (``not_null``, ``unique``, ``primary_key``, ``check``, ``custom``) and filled from the SELECT, so DuckDB
enforces them on every row. Constraints that are not applied (no enforced contract, a view, a foreign key) are
warnings.

>>> contract_enforced({"contract": {"enforced": True}})
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import duckdb

from northstar.errors import CompileError, ExecutionError
from northstar.project.loader import Column

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from northstar.lazy import exp


def constraint_warnings(
    name: str,
    materialized: str,
    config: Mapping[str, Any],
    columns: Sequence[Column],
    constraints: Sequence[Mapping[str, Any]],
) -> list[str]:
    """Why some declared constraints will not be in the table's DDL, one sentence each (empty when all are).

    dbt applies constraints only to a contracted table or incremental model and says nothing otherwise; Northstar
    says so rather than accept them silently. A foreign key is not applied at all: DuckDB refuses to replace a table
    another table's foreign key references, so the next build of the parent would fail (it does with dbt-duckdb).
    """
    declared = [*constraints, *(c for column in columns for c in column.constraints)]
    if not declared:
        return []
    if not contract_enforced(config):
        return [
            f"Model '{name}' declares constraints, but its contract is not enforced, so they are not applied (as in "
            "dbt). Add `config: {contract: {enforced: true}}` to apply them, or remove them."
        ]
    if materialized == "view":
        return [
            f"Model '{name}' is a view, so its constraints are not applied (as in dbt, a view has none). "
            "Materialize it as a table to enforce them."
        ]
    if any(c.get("type") == "foreign_key" for c in declared):
        return [
            f"Model '{name}': foreign_key constraints are not applied: DuckDB could not rebuild the table they "
            "reference while they exist. Check the reference with a `relationships` data test instead."
        ]
    return []


def contract_enforced(config: Mapping[str, Any]) -> bool:
    contract = config.get("contract")
    return isinstance(contract, Mapping) and contract.get("enforced") is True


def check_declaration(
    name: str, materialized: str, config: Mapping[str, Any], columns: Sequence[Column], path: str, yaml_path: str | None
) -> None:
    """What dbt refuses when it parses a contracted model: no data_type, an ephemeral model (the constraints
    themselves are checked when the YAML is read)."""
    contract = config.get("contract")
    if contract is None:
        return
    where = yaml_path or path
    if not isinstance(contract, Mapping) or not set(contract) <= {"enforced", "alias_types"}:
        raise CompileError(
            f"Model '{name}' has contract={contract!r}; write contract: {{enforced: true}} (keys: enforced, "
            "alias_types).",
            where,
        )
    if not isinstance(contract.get("enforced", False), bool):
        raise CompileError(f"Model '{name}': contract enforced must be true or false.", where)
    if not contract_enforced(config):
        return
    if materialized == "ephemeral":
        raise CompileError(
            f"Model '{name}' is ephemeral and has an enforced contract; dbt enforces contracts only on tables, "
            "views and incremental models. Remove the contract or change materialized.",
            where,
        )
    for column in columns:
        if not column.data_type:
            raise CompileError(
                f"Model '{name}' has an enforced contract, so column '{column.name}' needs a data_type "
                "(e.g. data_type: integer).",
                where,
                column.line,
            )


def _describe(cursor: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[str, str]]:
    return [(str(row[0]), str(row[1])) for row in cursor.execute(f"DESCRIBE ({sql})").fetchall()]


def assert_contract(
    cursor: duckdb.DuckDBPyConnection, name: str, sql: str, columns: Sequence[Column], path: str, where: str
) -> None:
    """Fail unless the SELECT returns exactly the declared columns with the declared types (in any order)."""
    if not columns:
        raise ExecutionError(
            f"Model '{name}' has an enforced contract, and its 'columns' specification is missing. "
            f"List its columns with their data_type in {where}.",
            path,
        )
    try:
        declared_sql = ", ".join(
            f"CAST(NULL AS {column.data_type}) AS {exp.to_identifier(column.name, quoted=True).sql('duckdb')}"
            for column in columns
        )
        declared = _describe(cursor, f"SELECT {declared_sql}")
    except duckdb.Error as error:
        raise ExecutionError(
            f"Model '{name}': a data_type of its contract is not a DuckDB type: {str(error).splitlines()[0]}",
            where,
        ) from None
    actual = _describe(cursor, sql)
    contract = {column.lower(): kind for column, kind in declared}
    definition = {column.lower(): kind for column, kind in actual}
    rows = []
    for column in sorted(contract.keys() | definition.keys()):
        mine, theirs = definition.get(column), contract.get(column)
        if mine is None:
            rows.append((column, "", theirs or "", "missing in definition"))
        elif theirs is None:
            rows.append((column, mine, "", "missing in contract"))
        elif mine != theirs:
            rows.append((column, mine, theirs, "data type mismatch"))
    if rows:
        header = ("column_name", "definition_type", "contract_type", "mismatch_reason")
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(4)]
        table = [
            "| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |"
            for row in (header, tuple("-" * width for width in widths), *rows)
        ]
        raise ExecutionError(
            f"Model '{name}' has an enforced contract that failed: the name, data_type and number of its columns "
            f"in {where} must match what its SELECT returns.\n" + "\n".join(table),
            path,
        )


def contracted_table_statements(
    relation_sql: str, sql: str, columns: Sequence[Column], constraints: Sequence[Mapping[str, Any]] = ()
) -> list[str]:
    """Create the table from its declared columns and constraints, then insert the SELECT's rows into it, so
    DuckDB checks every row (a violating row fails the statement, and with it the model)."""
    definitions = []
    names = []
    for column in columns:
        identifier = exp.to_identifier(column.name, quoted=True).sql("duckdb")
        names.append(identifier)
        parts = [identifier, str(column.data_type)]
        parts += [_COLUMN_DDL[c["type"]](c) for c in column.constraints if c["type"] != "foreign_key"]
        definitions.append(" ".join(parts))
    definitions += [_MODEL_DDL[c["type"]](c) for c in constraints if c["type"] != "foreign_key"]
    listed = ", ".join(names)
    return [
        f"CREATE OR REPLACE TABLE {relation_sql} ({', '.join(definitions)})",
        f"INSERT INTO {relation_sql} ({listed})\nSELECT {listed} FROM (\n{sql}\n)",
    ]


def _column_list(constraint: Mapping[str, Any]) -> str:
    return ", ".join(exp.to_identifier(str(name), quoted=True).sql("duckdb") for name in constraint["columns"])


# The DDL of each constraint type, in a column's definition and after the columns; the expression of check and
# custom constraints is the user's SQL, as dbt passes it on.
_COLUMN_DDL: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "not_null": lambda c: "NOT NULL",
    "unique": lambda c: "UNIQUE",
    "primary_key": lambda c: "PRIMARY KEY",
    "check": lambda c: f"CHECK ({c['expression']})",
    "custom": lambda c: str(c["expression"]),
}
_MODEL_DDL: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "unique": lambda c: f"UNIQUE ({_column_list(c)})",
    "primary_key": lambda c: f"PRIMARY KEY ({_column_list(c)})",
    "check": lambda c: f"CHECK ({c['expression']})",
    "custom": lambda c: str(c["expression"]),
}
