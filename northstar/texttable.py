"""Rows as a plain aligned text table: failing rows of a data test, a unit test's expected and actual rows."""

from __future__ import annotations

from typing import Any


def format_table(columns: list[str], rows: list[tuple[Any, ...]], width: int = 40) -> str:
    """Rows as a plain aligned text table; NULL for None, long values cut.

    >>> print(format_table(["id", "name"], [(1, "a"), (None, "bb")]))
    id   | name
    -----+-----
    1    | a
    NULL | bb
    """

    def cell(value: Any) -> str:
        text = "NULL" if value is None else str(value)
        return text if len(text) <= width else text[: width - 3] + "..."

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    widths = [max(w, 4) for w in widths]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("-+-".join("-" * w for w in widths))
    lines.extend(" | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells)
    return "\n".join(lines)
