"""A model's DuckDB SQL written for another engine, for ``metrics compile NODE --dialect snowflake``.

Builds always run the DuckDB SQL; this only prints it in another dialect, through sqlglot. What sqlglot cannot
express in the target dialect is refused, naming it, rather than printed as SQL that would not run there.

>>> print(transpile("select epoch_ms(1) as t", "snowflake", "Model 'm'"))
SELECT
  TO_TIMESTAMP(1, 3) AS t
"""

from __future__ import annotations

import sqlglot
from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError

from northstar.errors import ProjectError


def transpile(sql: str, dialect: str, what: str, path: str | None = None) -> str:
    """``sql`` (DuckDB) rewritten for ``dialect``; ``what`` (``Model 'x'``) and ``path`` name the node in errors."""
    try:
        statements = sqlglot.transpile(
            sql, read="duckdb", write=dialect, pretty=True, unsupported_level=ErrorLevel.RAISE
        )
    except ValueError as error:  # an unknown dialect name; sqlglot suggests the closest
        raise ProjectError(f"Cannot write the SQL for dialect '{dialect}': {error}") from None
    except ParseError as error:
        raise ProjectError(f"{what} cannot be transpiled: sqlglot could not parse its SQL ({error}).", path) from None
    except UnsupportedError as error:
        raise ProjectError(
            f"{what} cannot be written in {dialect}: {error}. Its DuckDB SQL is in target/compiled/.", path
        ) from None
    return ";\n".join(statements)
