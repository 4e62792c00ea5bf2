"""DuckDB errors pointed at the user's file: the node, its file, and the line the user wrote.

DuckDB numbers the lines of the statement it executed, which Jinja rendered and Northstar may have wrapped in a
``CREATE ... AS``; :func:`source_line` aligns that text with the model's source to find the line in the file.
"""

from __future__ import annotations

import difflib
import re

import duckdb

from northstar.errors import ExecutionError
from northstar.nodes import ModelNode, Node, SeedNode, SnapshotNode

_LINE = re.compile(r"LINE (\d+):")


def sql_error(node: Node, statement: str, error: duckdb.Error, user_sql: str | None = None) -> ExecutionError:
    """Turn a DuckDB error into one that names the node, its file, and the line in the user's source file."""
    text = str(error).strip()
    line = None
    match = _LINE.search(text)
    raw = node.raw_sql if isinstance(node, ModelNode | SnapshotNode) else None
    if match and raw is not None:
        executed_line = int(match.group(1))
        if user_sql and user_sql in statement:
            # Align only the user's SELECT: the CREATE ... AS lines before it exist in no source file.
            executed_line -= statement[: statement.index(user_sql)].count("\n")
            statement = user_sql
        line = source_line(statement, executed_line, raw)
    kind = node.kind.capitalize()
    first, _, rest = text.partition("\n")
    message = f"{kind} '{node.name}' failed in DuckDB: {first}"
    details = [part.rstrip() for part in rest.splitlines() if part.strip()]
    if match and line is not None:
        details = _renumber(details, match.group(0), f"LINE {line}:")
    if isinstance(node, SeedNode):
        # The statement is Northstar's CREATE ... AS over the CSV: its snippet points at nothing the user wrote.
        details = [part for part in details if not part.startswith("LINE ") and set(part.strip()) != {"^"}]
        types = node.config.column_types
        if types and any(word in first.lower() for word in ("type", "convert", "cast")):
            listed = ", ".join(f"{column}: {kind}" for column, kind in types.items())
            where = node.yaml_path or "project.yml"
            details.append(f"Check the seed's column_types ({listed}), set in {where}.")
    if details:
        message += "\n" + "\n".join("  " + part for part in details)
    return ExecutionError(message, node.path, line)


def _renumber(details: list[str], old: str, new: str) -> list[str]:
    """DuckDB's snippet numbers the lines of the executed statement; label it with the user's line, caret aligned."""
    shift = len(new) - len(old)
    fixed: list[str] = []
    for part in details:
        if part.startswith(old):
            part = new + part[len(old) :]
        elif part.strip() and set(part.strip()) == {"^"} and fixed and fixed[-1].startswith(new):
            part = " " * shift + part if shift >= 0 else part[-shift:]
        fixed.append(part)
    return fixed


def source_line(executed: str, executed_line: int, source: str) -> int | None:
    """Map a line of the executed SQL back to the user's source file by aligning the two texts.

    >>> source_line("CREATE TABLE t AS\\nselect 1\\nfrom nowhere", 3, "{{ config(x=1) }}\\nselect 1\\nfrom nowhere")
    3
    >>> source_line("select x\\nfrom raw.orders", 2, "{{ config(x=1) }}\\n\\nselect x\\nfrom {{ ref('orders') }}")
    4
    """
    executed_lines = [line.strip() for line in executed.splitlines()]
    source_lines = [line.strip() for line in source.splitlines()]
    index = executed_line - 1
    if not 0 <= index < len(executed_lines) or not source_lines:
        return None
    matcher = difflib.SequenceMatcher(a=executed_lines, b=source_lines, autojunk=False)
    a_end = b_end = 0  # where the previous aligned block ends in each text
    for block in matcher.get_matching_blocks():  # the last block is an empty sentinel at the end of both texts
        if index < block.a:
            # The line was rendered from Jinja, so it matches no source line: it sits in the gap between two aligned
            # blocks. Count from the gap's end when nothing is aligned before it (rendering drops leading config()
            # lines), else from its start.
            gap = block.b - b_end
            if gap <= 0:
                return max(b_end, 1)
            offset = index - a_end if a_end else gap - (block.a - index)
            guess = b_end + min(max(offset, 0), gap - 1)
            # A loop renders one source line many times: prefer the gap's source line that looks most like it.
            scored = []
            for j in range(b_end, block.b):
                likeness = difflib.SequenceMatcher(a=executed_lines[index], b=source_lines[j]).ratio()
                scored.append((round(likeness, 1), -abs(j - guess), j))
            return max(scored)[2] + 1
        if index < block.a + block.size:
            return block.b + (index - block.a) + 1
        a_end, b_end = block.a + block.size, block.b + block.size
    return None
