"""The ``storage_version:`` setting: which DuckDB releases can read the published warehouse.

DuckDB writes a database file in the storage format of the version given to ``ATTACH ... (STORAGE_VERSION ...)``;
a reader of that version or any newer one opens it, an older one refuses with ``Trying to read a database file with
version number ...``. BI tools embed the DuckDB of their driver, often a release or two behind, so the warehouse is
written in an old format by default.

>>> check("v1.2.0", "project.yml", 3)
'v1.2.0'
>>> readers('v1.1.0')
'DuckDB 1.1 and newer'
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
from pathlib import Path

from northstar.errors import ProjectError

# The oldest format every reader we support opens: DuckDB 1.1 (and 1.0) read it, and the warehouse needs nothing a
# newer format adds (comments, macros, constraints and every type the models produce are all in it); newer formats
# compress better (the example warehouse: 22.3 MB here, 21.0 MB in DuckDB 2.0's format).
DEFAULT = "v1.1.0"
OLDEST = (1, 1, 0)
LATEST = "latest"

_RELEASE = re.compile(r"v(\d+)\.(\d+)\.(\d+)")


@functools.cache
def running_duckdb() -> tuple[int, int, int]:
    """The installed DuckDB's release, read from the package metadata (importing duckdb takes 0.1 s)."""
    found = re.match(r"(\d+)\.(\d+)\.(\d+)", importlib.metadata.version("duckdb"))
    return (int(found[1]), int(found[2]), int(found[3])) if found else (0, 0, 0)


def _release(version: tuple[int, int, int]) -> str:
    return "v" + ".".join(map(str, version))


def check(value: object, path: str | Path, line: int | None) -> str:
    """The setting as DuckDB's ``STORAGE_VERSION`` takes it, or an error naming the file, the line and the range."""
    newest = running_duckdb()
    allowed = f"{_release(OLDEST)} to {_release(newest)} here"
    if value == LATEST:
        return LATEST
    found = _RELEASE.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        raise ProjectError(
            f"storage_version must be a DuckDB release such as {DEFAULT}, or {LATEST}; got {value!r}. "
            f"It is the oldest DuckDB that can read the warehouse ({allowed}).",
            path,
            line,
        )
    version = (int(found[1]), int(found[2]), int(found[3]))
    if version < OLDEST:
        raise ProjectError(
            f"storage_version {value} is older than Northstar supports; use {DEFAULT} or newer "
            f"({allowed}). DuckDB {DEFAULT[1:]} and every newer release read a {DEFAULT} warehouse.",
            path,
            line,
        )
    if version > newest:
        raise ProjectError(
            f"storage_version {value} is newer than the installed DuckDB ({_release(newest)}), which cannot write "
            f"that format. Use a release from {allowed}, or upgrade duckdb.",
            path,
            line,
        )
    return found[0]  # value itself, now known to be text


def readers(value: str) -> str:
    """Who can read a warehouse written with ``value``, for messages: ``DuckDB 1.1 and newer``."""
    if value == LATEST:
        major, minor, _ = running_duckdb()
        return f"DuckDB {major}.{minor} and newer"
    found = _RELEASE.fullmatch(value)
    return f"DuckDB {found[1]}.{found[2]} and newer" if found else value
