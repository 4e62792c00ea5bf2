"""The warehouse file's life cycle: a build lock, a private working copy, and an atomic publish.

BI tools read the published file. A build never writes into it: it copies the published file (keeping whatever other
tools loaded there), builds into the copy, checkpoints it, and renames it over the published file in one atomic
step. A reader sees the old complete warehouse or the new complete one, never a mix; a killed build leaves only a
stale copy, which the next build removes.

>>> with build_lock(Path("warehouse.duckdb")):             # doctest: +SKIP
...     work = start_build(Path("warehouse.duckdb"))
...     ...  # build into `work`
...     publish(work, Path("warehouse.duckdb"))
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb

from northstar.errors import ProjectError


def _lock_path(published: Path) -> Path:
    return published.with_name(published.name + ".lock")


def _work_prefix(published: Path) -> str:
    return f".{published.name}.build-"


@contextlib.contextmanager
def build_lock(
    published: Path, wait: bool = True, on_wait: Callable[[str], None] = lambda message: None
) -> Iterator[None]:
    """Hold the project's build lock. The OS releases it if the process dies, so it can never go stale."""
    published.parent.mkdir(parents=True, exist_ok=True)
    lock_path = _lock_path(published)
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = lock_path.read_text().strip() or "another process"
            if not wait:
                raise ProjectError(
                    f"Another build of {published.name} is running (pid {holder}). "
                    "Wait for it to finish, or run without --no-wait to queue behind it.",
                    lock_path,
                ) from None
            on_wait(f"Waiting for another build of {published.name} (pid {holder}) to finish...")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def clean_stale(published: Path) -> list[Path]:
    """Remove working copies left by killed builds. Only call while holding the build lock."""
    removed = []
    prefix = _work_prefix(published)
    if published.parent.is_dir():
        for path in published.parent.iterdir():
            if path.name.startswith(prefix):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def start_build(published: Path) -> Path:
    """Make the private working copy a build writes into, starting from the published warehouse."""
    clean_stale(published)
    work = published.with_name(f"{_work_prefix(published)}{os.getpid()}-{time.time_ns()}")
    if published.exists():
        shutil.copyfile(published, work)
        wal = published.with_name(published.name + ".wal")
        if wal.exists():  # another writer's unflushed changes: keep them too
            shutil.copyfile(wal, work.with_name(work.name + ".wal"))
    return work


def publish(work: Path, published: Path) -> None:
    """Atomically replace the published warehouse with the finished working copy."""
    with duckdb.connect(str(work)) as connection:
        connection.execute("CHECKPOINT")
    fd = os.open(work, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(work, published)
    work.with_name(work.name + ".wal").unlink(missing_ok=True)
    dir_fd = os.open(published.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def abandon(work: Path) -> None:
    """Drop a working copy whose build failed: the published warehouse stays exactly as it was."""
    work.unlink(missing_ok=True)
    work.with_name(work.name + ".wal").unlink(missing_ok=True)


def existing_relations(path: Path) -> dict[tuple[str, str], str]:
    """Tables and views in a warehouse file, read without locking out writers for long."""
    if not path.exists():
        return {}
    try:
        with duckdb.connect(str(path), read_only=True) as connection:
            return relations_in(connection)
    except duckdb.Error:
        return {}


def relations_in(connection: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    rows = connection.execute(
        "SELECT table_schema, table_name, table_type FROM information_schema.tables "
        "WHERE table_catalog = current_database()"
    ).fetchall()
    return {(schema, name): kind for schema, name, kind in rows}
