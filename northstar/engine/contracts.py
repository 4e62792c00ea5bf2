"""Model contracts, as dbt enforces them: ``contract: {enforced: true}`` with a ``data_type`` for every column.

Before an enforced model is built, the names and DuckDB types of what its SELECT returns are compared with the
columns its YAML declares (each ``data_type`` resolved by DuckDB, so ``int`` and ``integer`` agree); any difference
fails the model with a table of the mismatches, as dbt's does, and nothing is published. A contracted table is then
created from its declared columns with their constraints (``not_null``, ``unique``, ``primary_key``, ``check``) and
filled from the SELECT, so DuckDB enforces the constraints on every row.

>>> contract_enforced({"contract": {"enforced": True}})
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
from sqlglot import exp

from northstar.errors import CompileError, ExecutionError
from northstar.project.loader import Column

COLUMN_CONSTRAINTS = ("not_null", "unique", "primary_key", "check")


def contract_enforced(config: Mapping[str, Any]) -> bool:
    contract = config.get("contract")
    return isinstance(contract, Mapping) and contract.get("enforced") is True


def check_declaration(
    name: str, materialized: str, config: Mapping[str, Any], columns: Sequence[Column], path: str, yaml_path: str | None
) -> None:
    """What dbt refuses when it parses a contracted model: no data_type, an ephemeral model, bad constraints."""
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
        for constraint in column.constraints:
            kind = constraint.get("type") if isinstance(constraint, Mapping) else None
            if kind not in COLUMN_CONSTRAINTS:
                raise CompileError(
                    f"Model '{name}', column '{column.name}': constraint {constraint!r} is not supported. "
                    f"Use type: one of {', '.join(COLUMN_CONSTRAINTS)}.",
                    where,
                    column.line,
                )
            if kind == "check" and not constraint.get("expression"):
                raise CompileError(
                    f"Model '{name}', column '{column.name}': a check constraint needs an expression.",
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


def contracted_table_statements(relation_sql: str, sql: str, columns: Sequence[Column]) -> list[str]:
    """Create the table from its declared columns and constraints, then insert the SELECT's rows into it."""
    definitions = []
    names = []
    for column in columns:
        identifier = exp.to_identifier(column.name, quoted=True).sql("duckdb")
        names.append(identifier)
        parts = [identifier, str(column.data_type)]
        for constraint in column.constraints:
            kind = constraint["type"]
            if kind == "not_null":
                parts.append("NOT NULL")
            elif kind == "unique":
                parts.append("UNIQUE")
            elif kind == "primary_key":
                parts.append("PRIMARY KEY")
            else:
                parts.append(f"CHECK ({constraint['expression']})")
        definitions.append(" ".join(parts))
    listed = ", ".join(names)
    return [
        f"CREATE OR REPLACE TABLE {relation_sql} ({', '.join(definitions)})",
        f"INSERT INTO {relation_sql} ({listed})\nSELECT {listed} FROM (\n{sql}\n)",
    ]
