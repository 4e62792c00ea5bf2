"""Open a build's working copy in the storage format the project asks for, converting it when it is in another.

A new warehouse is created in the format of ``storage_version`` (DuckDB's ``storage_compatibility_version``), and
DuckDB keeps an existing file in the format it was created in, whatever the writing DuckDB's own default. So a file
published by an older Northstar (in DuckDB 2's format), or made by another tool, or a changed ``storage_version``,
is converted once: every schema, table, view, macro, sequence, type, constraint and comment is copied into a new
file in the wanted format (``COPY FROM DATABASE``), which then becomes the working copy. The build goes on from it and
publishes atomically as always, so a failed or killed conversion leaves the published file as it was.

DuckDB names a file's format by the first release that writes it (``v1.0.0+`` for the format DuckDB 0.10 to 1.1
write, ``v1.2.0+``, ...); the format a setting stands for is found by creating an empty file with it, since only
DuckDB knows which of its releases changed the format.

>>> connection = open_for_build(Path("warehouse.duckdb.build-1"), "v1.1.0")   # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import duckdb

from northstar.project.storage_version import readers
from northstar.render.relations import sql_string
from northstar.warehouse.working_copy import DUCKDB_CONFIG

_FORMAT = "SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = coalesce(?, current_database())"


def file_format(connection: duckdb.DuckDBPyConnection, catalog: str | None = None) -> str | None:
    """The storage format of an attached database (the connected one by default), e.g. ``v1.0.0+``."""
    row = connection.execute(_FORMAT, [catalog]).fetchone()
    return row[0] if row else None


def _attach(path: Path, alias: str, storage_version: str | None = None, read_only: bool = False) -> str:
    options = []
    if storage_version is not None:
        # READ_WRITE: a connection opened read-only may still create the file (DuckDB's default access mode for an
        # attached file is the connection's own).
        options.append(f"READ_WRITE, STORAGE_VERSION {sql_string(storage_version)}")
    if read_only:
        options.append("READ_ONLY")
    tail = f" ({', '.join(options)})" if options else ""
    return f"ATTACH {sql_string(str(path))} AS {alias}{tail}"


def wanted_format(connection: duckdb.DuckDBPyConnection, storage_version: str, probe: Path) -> str | None:
    """The format DuckDB writes for ``storage_version``, found by creating an empty file at ``probe`` (2 ms), on any
    connection, read-only ones too."""
    probe.unlink(missing_ok=True)
    connection.execute(_attach(probe, "__northstar_probe", storage_version))
    try:
        return file_format(connection, "__northstar_probe")
    finally:
        connection.execute("DETACH __northstar_probe")
        probe.unlink(missing_ok=True)
        probe.with_name(probe.name + ".wal").unlink(missing_ok=True)


def in_format(connection: duckdb.DuckDBPyConnection, storage_version: str, probe: Path) -> bool:
    """Whether the connected database (read-only or not) is already in the format of ``storage_version``."""
    return file_format(connection) == wanted_format(connection, storage_version, probe)


def convert(path: Path, storage_version: str) -> None:
    """Rewrite the database file at ``path`` in the format of ``storage_version``, keeping everything in it."""
    target = path.with_name(path.name + ".convert")
    target.unlink(missing_ok=True)
    with duckdb.connect() as connection:
        connection.execute(_attach(path, "__northstar_old", read_only=True))
        connection.execute(_attach(target, "__northstar_new", storage_version))
        connection.execute("COPY FROM DATABASE __northstar_old TO __northstar_new")
        connection.execute("DETACH __northstar_new")
        connection.execute("DETACH __northstar_old")
    os.replace(target, path)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)


def open_for_build(
    path: Path, storage_version: str, on_note: Callable[[str], None] = lambda message: None, shown: str = ""
) -> duckdb.DuckDBPyConnection:
    """Connect to a working copy in the format of ``storage_version``: created so when new, converted when not.

    ``shown`` names the published file in the note a conversion prints.
    """
    if not path.exists():
        return duckdb.connect(str(path), config={**DUCKDB_CONFIG, "storage_compatibility_version": storage_version})
    connection = duckdb.connect(str(path), config=DUCKDB_CONFIG)
    found = file_format(connection)
    wanted = wanted_format(connection, storage_version, path.with_name(path.name + ".probe"))
    if found == wanted:
        return connection
    connection.close()
    on_note(
        f"Converting {shown or path.name} from DuckDB storage format {found} to {storage_version} "
        f"(readable by {readers(storage_version)}); this build rewrites the whole file once."
    )
    convert(path, storage_version)
    return duckdb.connect(str(path), config=DUCKDB_CONFIG)
