"""Answer a metric request against the published warehouse and format the rows as a table, CSV or JSON.

>>> result = run_query(project, Request(("north_star",), by=("month",)))   # doctest: +SKIP
>>> print(format_rows(result.columns, result.rows, "table"))             # doctest: +SKIP
metric_time__month  north_star
------------------  ----------
2024-11-01                  12
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from northstar.errors import ExecutionError, ProjectError
from northstar.metrics.request import Request

if TYPE_CHECKING:
    from northstar.metrics import CompiledProject
    from northstar.project.loader import Project

FORMATS = ("table", "csv", "json")


@dataclass(frozen=True)
class QueryResult:
    sql: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def run_sql(warehouse: Path, sql: str) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """Run one query on the warehouse, read-only (like a BI tool), so builds and readers never block it."""
    import duckdb

    if not warehouse.exists():
        raise ProjectError(f"The warehouse {warehouse} does not exist yet. Run `metrics build` first.")
    try:
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            cursor = connection.execute(sql)
            columns = tuple(d[0] for d in cursor.description)
            return columns, cursor.fetchall()
    except duckdb.CatalogException as error:
        first = str(error).splitlines()[0]
        raise ExecutionError(
            f"The warehouse is missing a table the metric reads ({first}). Run `metrics build` to create it."
        ) from None
    except duckdb.Error as error:
        raise ExecutionError(f"DuckDB rejected the metric query: {str(error).splitlines()[0]}") from None


def run_query(project_or_manifest: Project | CompiledProject, request: Request) -> QueryResult:
    """Compile ``request`` and run it against the project's warehouse."""
    # Imported here: `metrics query` answered from the cache imports this module but never compiles.
    from northstar.metrics import load_semantics, project_of
    from northstar.metrics.compile import compile_request

    sql = compile_request(load_semantics(project_or_manifest), request)
    columns, rows = run_sql(project_of(project_or_manifest).config.warehouse, sql)
    return QueryResult(sql, columns, tuple(rows))


def _plain(value: Any) -> Any:
    """A JSON/CSV-friendly value: dates as ISO text, decimals as numbers, NaN as null."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent  # a letter for NaN and infinities
        whole = isinstance(exponent, int) and exponent >= 0 and value == value.to_integral_value()
        return int(value) if whole else float(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def column_decimals(values: Sequence[Any]) -> int | None:
    """How many decimals a numeric column shows, the same for every row so the points line up.

    Decimals keep the scale DuckDB gives them (money is DECIMAL(18,2) in the warehouse, so 2). Floats get 2 when the
    column reaches 10 (money per user, averages: 82.60) and 4 when all its values are small (rates, shares, small
    ratios and their intervals: 0.0195, -0.0111), so no digit that matters is rounded away.
    None for a column that holds no float or decimal.

    >>> column_decimals([Decimal("1505.10"), Decimal("804.71")]), column_decimals([0.5, 0.0213, None])
    (2, 4)
    >>> column_decimals([1505.1, 804.7051]), column_decimals([2.81, 0.8889]), column_decimals([1, 2])
    (2, 4, None)
    """
    exponents = [v.as_tuple().exponent for v in values if isinstance(v, Decimal) and v.is_finite()]
    scales = [-e for e in exponents if isinstance(e, int)]
    floats = [v for v in values if isinstance(v, float) and math.isfinite(v)]
    if not scales and not floats:
        return None
    if floats:
        return max([2 if max(abs(v) for v in floats) >= 10 else 4, *scales])
    return max(scales)


def _cell(value: Any, decimals: int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, float | Decimal) and decimals is not None:
        return f"{value:.{decimals}f}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def format_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "table") -> str:
    """Rows as an aligned text table, CSV (with a header) or a JSON array of objects keyed by column name."""
    if fmt == "json":
        return json.dumps([{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in rows], indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[("" if v is None else _plain(v)) for v in row] for row in rows])
        return out.getvalue().rstrip("\n")
    if fmt != "table":
        raise ProjectError(f"Unknown format '{fmt}'. Valid choices: {', '.join(FORMATS)}.")
    decimals = [column_decimals([row[i] for row in rows]) for i in range(len(columns))]
    cells = [[_cell(v, decimals[i]) for i, v in enumerate(row)] for row in rows]
    numeric = [
        all(isinstance(row[i], int | float | Decimal) or row[i] is None for row in rows) and bool(rows)
        for i in range(len(columns))
    ]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if numeric[i] else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))]
        return "  ".join(parts).rstrip()

    lines = [line(list(columns)), "  ".join("-" * w for w in widths)]
    lines += [line(r) for r in cells]
    if not rows:
        lines.append("(no rows)")
    return "\n".join(lines)
