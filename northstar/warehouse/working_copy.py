"""The warehouse file's life cycle: a build lock, a private working copy, and an atomic publish.

BI tools read the published file. A build never writes into it: it copies the published file (keeping whatever other
tools loaded there), builds into the copy, checkpoints it, and renames it over the published file in one atomic
step. A reader sees the old complete warehouse or the new complete one, never a mix; a killed build leaves only a
stale copy, which the next build removes.

Other tools (an EL tool loading raw tables) may write into the published file between builds, and even during one:
the copy and the swap each happen under a shared lock on the published file, which DuckDB writers respect, so the
copy is a consistent snapshot; if the file changed while the build ran, the other tools' tables and views are copied
again from the published file into the new version before the swap, so their data is never dropped.

>>> with working_copy(Path("warehouse.duckdb")) as draft:   # doctest: +SKIP
...     ...  # build into `draft.path`
...     draft.publish_on_exit(owned=frozenset())              # else the copy is dropped, as on any exception
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import struct
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from northstar.errors import ProjectError
from northstar.warehouse import catalog as catalog_of

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from northstar.lazy import exp

# Linux's ioctl that shares a file's blocks with a new file (btrfs, XFS, bcachefs); ext4 answers EOPNOTSUPP.
_FICLONE = 0x40049409
# struct flock on Linux x86-64 and arm64: l_type, l_whence, l_start, l_len, l_pid (+ padding).
_FLOCK = "hhqqi4x"
# How long a build waits for another tool to close the published file before giving up.
WRITER_TIMEOUT = 120.0

# (device, inode, size, mtime) of the published file and of its write-ahead log: what "unchanged" means.
Identity = tuple[tuple[int, int, int, int] | None, tuple[int, int, int, int] | None]


# DuckDB's settings for a working copy. It is private, and deleted if the build fails or is killed; publish() flushes
# it to disk once before the rename that makes it the warehouse. So DuckDB need not wait for the disk at each commit
# and checkpoint: at 1,000 small models that waiting was a tenth of the build.
DUCKDB_CONFIG: dict[str, str | bool | int | float | list[str]] = {"fsync_mode": "none"}


@dataclass(frozen=True)
class WorkingCopy:
    """A build's private copy of the warehouse and what the published file looked like when it was taken."""

    path: Path
    published: Path
    base: Identity
    method: str  # how the copy was made: reflink | copy_file_range | copy | new
    copied: tuple[int, int, int, int] | None = None  # the copy as made: if it still looks so, nothing wrote to it


def _lock_path(published: Path) -> Path:
    return published.with_name(published.name + ".lock")


def _work_prefix(published: Path) -> str:
    return f".{published.name}.build-"


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _set_aside_prefix(published: Path) -> str:
    return f".{published.name}.wal-set-aside-"


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
            holder = lock_path.read_text().strip()
            pid = f" (pid {holder})" if holder else ""  # empty for the instant between locking and writing the pid
            if not wait:
                raise ProjectError(
                    f"Another build of {published.name} is running{pid}. "
                    "Wait for it to finish, or run without --no-wait to queue behind it.",
                    lock_path,
                ) from None
            on_wait(f"Waiting for another build of {published.name}{pid} to finish...")
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
    """Remove what killed builds left behind. Only call while holding the build lock.

    Working copies are simply deleted. A write-ahead log that a publish had set aside is put back when the swap
    never happened (the published file is still the one it belongs to), and deleted otherwise.
    """
    removed: list[Path] = []
    prefix = _work_prefix(published)
    aside = _set_aside_prefix(published)
    if not published.parent.is_dir():
        return removed
    for path in published.parent.iterdir():
        if path.name.startswith(prefix):
            path.unlink(missing_ok=True)
            removed.append(path)
        elif path.name.startswith(aside):
            inode = path.name[len(aside) :]
            if published.exists() and str(published.stat().st_ino) == inode and not _wal(published).exists():
                os.replace(path, _wal(published))
            else:
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def _stat(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def identity(published: Path) -> Identity:
    """What the published file and its write-ahead log look like now; any write by any tool changes it."""
    return (_stat(published), _stat(_wal(published)))


def _shared_lock(fd: int) -> None:
    """A non-blocking shared lock on the whole file: OFD on Linux, a POSIX record lock elsewhere (macOS)."""
    if sys.platform == "linux":
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, _flock_struct(fcntl.F_RDLCK))
    else:  # dropped when this process closes another descriptor of the file: publish() looks again
        fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)


def _flock_struct(kind: int) -> bytes:
    return struct.pack(_FLOCK, kind, os.SEEK_SET, 0, 0, 0)


def _writer_pid(fd: int) -> int | None:
    """The pid of the process holding a conflicting (POSIX) lock, as DuckDB takes them, if the OS tells."""
    if sys.platform != "linux":  # struct flock is laid out differently elsewhere
        return None
    try:
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, _flock_struct(fcntl.F_RDLCK))
    except OSError:
        return None
    kind, _, _, _, pid = struct.unpack(_FLOCK, answer)
    return pid if kind != fcntl.F_UNLCK and pid > 0 else None


@contextlib.contextmanager
def no_writers(
    published: Path, on_wait: Callable[[str], None] = lambda message: None, timeout: float = WRITER_TIMEOUT
) -> Iterator[None]:
    """Hold a shared lock on the published file, so no DuckDB writer can have it open meanwhile.

    DuckDB locks a database file with POSIX record locks: exclusive for a writer, shared for a read-only reader. An
    open-file-description lock (F_OFD_SETLK) lives in the same lock space, so holding a shared one keeps writers out
    while BI readers carry on; unlike a POSIX lock it is not dropped when this process closes another descriptor of
    the same file (which DuckDB does when it detaches a database). The OS drops it if the process dies.
    """
    if not published.exists():
        yield
        return
    fd = os.open(published, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                _shared_lock(fd)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                pid = _writer_pid(fd)
                who = f"process {pid}" if pid else "another process"
                if time.monotonic() > deadline:
                    raise ProjectError(
                        f"{who.capitalize()} keeps {published.name} open for writing. Nothing was published. "
                        "Close that connection (or make the tool disconnect between loads) and build again.",
                        published,
                    ) from None
                if not told:
                    on_wait(f"Waiting for {who} to finish writing to {published.name}...")
                    told = True
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def copy_file(source: Path, target: Path) -> str:
    """Copy a file as cheaply as the filesystem allows; returns the method used.

    A reflink shares the blocks (instant, no extra disk until the copy is written to); ``copy_file_range`` copies
    inside the kernel (and on NFS/CIFS on the server); a plain copy is the last resort.
    """
    with open(source, "rb") as src, open(target, "wb") as dst:
        if sys.platform == "linux":
            try:
                fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
                return "reflink"
            except OSError:
                pass
        size = os.fstat(src.fileno()).st_size
        try:
            copied = 0
            while copied < size:
                n = os.copy_file_range(src.fileno(), dst.fileno(), size - copied)  # Linux only
                if n == 0:
                    break
                copied += n
            if copied == size:
                return "copy_file_range"
        except (OSError, AttributeError):
            pass
        src.seek(0)
        dst.seek(0)
        dst.truncate()
        shutil.copyfileobj(src, dst, 1 << 20)
        return "copy"


def start_build(
    published: Path, on_wait: Callable[[str], None] = lambda message: None, replaced: Identity | None = None
) -> WorkingCopy:
    """Make the private working copy a build writes into, from a consistent snapshot of the published warehouse.

    ``replaced``: the published file as the caller found it holding nothing the build does not make again (a full
    refresh of everything in it); if it is still that file, the build starts from a new, empty file instead of a
    copy, which would only be overwritten, and publishes a compact file (at 1,000 models: 225 MB, where a rebuilt
    copy held 450 MB, half of it blocks the rebuild freed).
    """
    clean_stale(published)
    work = published.with_name(f"{_work_prefix(published)}{os.getpid()}-{time.time_ns()}")
    with no_writers(published, on_wait):
        base = identity(published)
        if base[0] is None or base == replaced:
            return WorkingCopy(work, published, base, "new")
        method = copy_file(published, work)
        if base[1] is not None:  # a writer's log not yet folded into the file (it crashed): keep its data too
            copy_file(_wal(published), _wal(work))
            return WorkingCopy(work, published, base, method)
    # Any write moves the modification time to now: from 1970, even a write within the filesystem's clock tick shows.
    os.utime(work, ns=(0, 0))
    return WorkingCopy(work, published, base, method, _stat(work))


def untouched(work: WorkingCopy) -> bool:
    """Whether the build wrote nothing to its copy (every node kept, tests only read): then :func:`publish` drops
    the copy and leaves the published file in place, since it already holds the same data."""
    return work.copied is not None and _stat(work.path) == work.copied and not _wal(work.path).exists()


def publish(
    work: WorkingCopy,
    owned: frozenset[tuple[str, str]],
    on_wait: Callable[[str], None] = lambda message: None,
    on_publish: Callable[[Identity], None] = lambda published: None,
) -> list[str]:
    """Atomically replace the published warehouse with the finished working copy.

    ``owned`` are the relations the build is responsible for; every other table or view belongs to some other tool.
    If the published file changed since the copy was taken, those foreign relations are copied again from it, so a
    load that happened during the build survives. Returns one line per foreign relation taken over that way.

    A build that wrote nothing (every node kept, tests only read) leaves the copy byte for byte as it was made; then
    the published file already holds the same data and stays in place, so readers need not even reconnect.

    ``on_publish`` gets the identity of the published file the build's snapshot describes (the new file, or the old
    one when nothing was swapped), unless other tools' changes were merged in, which the snapshot does not describe.
    """
    published = work.published
    if untouched(work):
        abandon(work)
        on_publish(work.base)
        return []
    with no_writers(published, on_wait):
        notes: list[str] = []
        changed = identity(published) != work.base and published.exists()
        # A build that closed its connection cleanly left a checkpointed file and no log: opening it again only to
        # checkpoint would cost more than the rest of a no-change build's publish.
        if changed or _wal(work.path).exists():
            with duckdb.connect(str(work.path), config=DUCKDB_CONFIG) as connection:
                seen = work.base
                for _ in range(10):
                    now = identity(published)
                    if now == seen or not published.exists():
                        break
                    # Once under Linux's OFD lock; where the lock is a POSIX one, detaching the published file drops
                    # it, so look again until the file holds still.
                    notes = _take_foreign_changes(connection, published, owned)
                    seen = now
                else:
                    raise ProjectError(
                        f"Another tool kept writing to {published.name} while the build tried to publish. "
                        "Nothing was published; build again when it is done.",
                        published,
                    )
                connection.execute("CHECKPOINT")
        # A second in the past, so that a write by another tool right after the swap, even within the filesystem's
        # clock tick, changes the modification time; taken before the swap, so that write is not mistaken for ours.
        second_ago = time.time_ns() - 1_000_000_000
        os.utime(work.path, ns=(second_ago, second_ago))
        fsync(work.path)
        new: Identity = (_stat(work.path), None)
        wal = _wal(published)
        aside = (
            published.with_name(f"{_set_aside_prefix(published)}{published.stat().st_ino}") if wal.exists() else None
        )
        if aside is not None:
            # The log belongs to the file being replaced (its data is in the copy already); a log left next to the
            # new file would make DuckDB refuse to open it. Moved aside first, so a kill here loses nothing.
            os.replace(wal, aside)
        os.replace(work.path, published)
        if aside is not None:
            aside.unlink(missing_ok=True)
        _wal(work.path).unlink(missing_ok=True)
        fsync(published.parent)
    if not notes:
        on_publish(new)
    return notes


def fsync(path: Path) -> None:
    """Flush a file, or a folder's entries (after a rename in it), to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_PUBLISHED = "__northstar_published"


def _take_foreign_changes(
    connection: duckdb.DuckDBPyConnection, published: Path, owned: frozenset[tuple[str, str]]
) -> list[str]:
    """Make the working copy's foreign tables and views those of the published file as it is now."""
    connection.execute(
        exp.Attach(
            this=exp.alias_(exp.Literal.string(str(published)), _PUBLISHED),
            expressions=[exp.AttachOption(this=exp.var("READ_ONLY"))],
        ).sql("duckdb")
    )
    try:
        theirs = _foreign(connection, _PUBLISHED, owned)
        ours = _foreign(connection, None, owned)
        notes = []
        for key in sorted(ours.keys() - theirs.keys()):
            connection.execute(_drop(key, ours[key][0]))
            notes.append(f"{key[0]}.{key[1]} was dropped by another tool during the build; dropped it too.")
        for key in sorted(theirs, key=lambda k: theirs[k][0] == "VIEW"):  # tables first: views may read them
            kind, view_sql = theirs[key]
            schema = exp.to_identifier(key[0])
            connection.execute(exp.Create(this=schema, kind="SCHEMA", exists=True).sql("duckdb"))
            if key in ours and ours[key][0] != kind:
                connection.execute(_drop(key, ours[key][0]))
            if (
                key in ours
                and ours[key] == theirs[key]
                and (kind == "VIEW" or table_version(connection, *key) == table_version(connection, *key, _PUBLISHED))
            ):
                continue  # untouched by the other tool: one scan of each beats copying it
            if kind == "VIEW":
                connection.execute(_drop(key, "VIEW"))
                connection.execute(view_sql)  # DuckDB's own definition of the view, run as it stored it
            else:
                source = exp.table_(key[1], db=key[0], catalog=_PUBLISHED, quoted=True)
                create = exp.Create(
                    this=exp.table_(key[1], db=key[0], quoted=True),
                    kind="TABLE",
                    replace=True,
                    expression=exp.select("*").from_(source),
                )
                connection.execute(create.sql("duckdb"))
            notes.append(f"{key[0]}.{key[1]} was written by another tool during the build; kept its latest data.")
        return notes
    finally:
        connection.execute(exp.Detach(this=exp.to_identifier(_PUBLISHED)).sql("duckdb"))


def table_version(
    connection: duckdb.DuckDBPyConnection, schema: str, name: str, catalog: str | None = None
) -> tuple[object, ...]:
    """What a table holds, in one scan: its columns and types, its row count and the sum of its rows' hashes."""
    described = catalog_of.columns(connection, schema, name, catalog)
    row = exp.to_identifier("__northstar_row")
    query = exp.select(
        exp.Count(this=exp.Star()),
        exp.cast(exp.Sum(this=exp.func("hash", exp.column(row))), "VARCHAR"),
    ).from_(exp.alias_(exp.table_(name, db=schema, catalog=catalog, quoted=True), row))
    counted = connection.execute(query.sql("duckdb")).fetchone()
    assert counted is not None  # an aggregate without GROUP BY answers one row
    return (tuple(described), *counted)


def _drop(key: tuple[str, str], kind: str) -> str:
    table = exp.table_(key[1], db=key[0], quoted=True)
    return exp.Drop(tables=[table], kind="VIEW" if kind == "VIEW" else "TABLE", exists=True).sql("duckdb")


def _foreign(
    connection: duckdb.DuckDBPyConnection, catalog: str | None, owned: frozenset[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, str]]:
    """Tables and views of one catalog (None: the default one) not owned by the build: (kind, view SQL)."""
    found = catalog_of.tables_and_views(connection, catalog)
    return {key: value for key, value in found.items() if key not in owned}


class Draft:
    """The working copy of one build, as :func:`working_copy` hands it out: build into ``path``, then either call
    :meth:`publish_on_exit` or leave it to be dropped."""

    def __init__(self, work: WorkingCopy) -> None:
        self.work = work
        self._publish: tuple[frozenset[tuple[str, str]], Callable[[Identity], None]] | None = None

    @property
    def path(self) -> Path:
        return self.work.path

    @property
    def base(self) -> Identity:
        """The published file as the copy was taken."""
        return self.work.base

    def untouched(self) -> bool:
        """Nothing was written to the copy (ask once its connection is closed): publishing will keep the file."""
        return untouched(self.work)

    def publish_on_exit(
        self, owned: frozenset[tuple[str, str]], on_publish: Callable[[Identity], None] = lambda published: None
    ) -> None:
        """Publish the copy when the ``with`` block ends without an exception (arguments as :func:`publish`)."""
        self._publish = (owned, on_publish)


@contextlib.contextmanager
def working_copy(
    published: Path, wait: bool = True, on_wait: Callable[[str], None] = lambda message: None
) -> Iterator[Draft]:
    """Take the build lock and a private copy of ``published``; at the end, publish the copy if the block asked for
    it and raised nothing, else drop it, leaving the published file exactly as it was. ``on_wait`` hears waits and
    the other tools' relations taken over when publishing."""
    with build_lock(published, wait, on_wait), draft_of(published, on_wait) as draft:
        yield draft


@contextlib.contextmanager
def draft_of(
    published: Path, on_wait: Callable[[str], None] = lambda message: None, replaced: Identity | None = None
) -> Iterator[Draft]:
    """:func:`working_copy` for a caller already holding the build lock (``replaced``: see :func:`start_build`)."""
    draft = Draft(start_build(published, on_wait, replaced))
    try:
        yield draft
        if draft._publish is None:
            abandon(draft.work)
        else:
            owned, on_publish = draft._publish
            for note in publish(draft.work, owned, on_wait, on_publish):
                on_wait(note)
    except BaseException:
        abandon(draft.work)
        raise


@dataclass(frozen=True)
class Snapshot:
    """The published file, open read-only, and what it looked like when opened."""

    connection: duckdb.DuckDBPyConnection
    base: Identity


@contextlib.contextmanager
def read_published(published: Path, on_wait: Callable[[str], None] = lambda message: None) -> Iterator[Snapshot | None]:
    """The published file opened read-only while no writer can change it, so a build can decide what to rebuild
    before it copies anything; None when there is no file, when it has a write-ahead log (a writer crashed: only a
    copy may replay it) or when DuckDB cannot open it (the copy then reports why). Only call while holding the build
    lock.

    Readers carry on meanwhile; a tool that wants to write waits, as it does for any reader, until the block ends.
    """
    if not published.exists() or _wal(published).exists():
        yield None
        return
    with no_writers(published, on_wait):
        base = identity(published)
        if base[0] is None or base[1] is not None:
            yield None
            return
        try:
            connection = duckdb.connect(str(published), read_only=True)
        except duckdb.Error:
            yield None
            return
        try:
            yield Snapshot(connection, base)
        finally:
            connection.close()  # before no_writers lets go of the file, whose closing would drop DuckDB's lock


def abandon(work: WorkingCopy) -> None:
    """Drop a working copy whose build failed: the published warehouse stays exactly as it was."""
    work.path.unlink(missing_ok=True)
    _wal(work.path).unlink(missing_ok=True)


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
    """Every table and view of the connected database: ``{(schema, name): "BASE TABLE" | "VIEW" | ...}``."""
    return catalog_of.relations(connection)
