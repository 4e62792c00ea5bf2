"""Check a seed's CSV is a table before DuckDB loads it.

DuckDB's CSV sniffer picks the dialect under which the rows agree; a ragged file (a row with fewer or more fields
than the header) agrees under none, so it falls back to one column holding each whole line, named after the whole
header (``a,b``). That loads without an error and every model reading the seed is silently wrong, so a seed whose
rows do not all have the header's field count is refused, naming the first such line.

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
>>> _ = path.write_text("a,b\\n1,2\\n3\\n")
>>> check_seed_shape(path, "seeds/s.csv", "s", None)
Traceback (most recent call last):
    ...
northstar.errors.ExecutionError: seeds/s.csv:3: Seed 's': line 3 has 1 field, but the header (line 1) has 2. ...
"""

from __future__ import annotations

import csv
from pathlib import Path

from northstar.errors import ExecutionError


def _fields(count: int) -> str:
    return f"{count} field" + ("" if count == 1 else "s")


def check_seed_shape(path: Path, display: str, name: str, delimiter: str | None) -> None:
    """Raise :class:`ExecutionError` at the first line whose field count differs from the header's."""
    delimiter = delimiter or ","
    how = (
        f"Give every line {{}} separated by '{delimiter}' (quote values that contain '{delimiter}'), "
        "or set the seed's delimiter in its config."
    )
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        header: list[str] | None = None
        try:
            for row in reader:
                if not row:  # a blank line: DuckDB skips it too
                    continue
                if header is None:
                    header = row
                    continue
                if len(row) != len(header):
                    raise ExecutionError(
                        f"Seed '{name}': line {reader.line_num} has {_fields(len(row))}, but the header (line 1) has "
                        f"{len(header)}. " + how.format(_fields(len(header))),
                        display,
                        reader.line_num,
                    )
        except csv.Error as error:
            raise ExecutionError(
                f"Seed '{name}' is not valid CSV at line {reader.line_num}: {error}. "
                'Close the quoted value or quote it whole ("...", with "" for a quote inside).',
                display,
                reader.line_num,
            ) from None
