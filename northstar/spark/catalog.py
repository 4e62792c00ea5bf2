"""The Spark target's catalog of record: which Parquet folder holds each table, and each view's SQL.

Spark's own catalog lives as long as its session (or in a metastore shared with everyone). Northstar keeps the truth
in one small JSON file beside the data, ``<location>/_northstar/catalog.json``, and replays it into every session it
starts, so a later process finds the tables, and any engine can read the Parquet files it names.

A build writes every table it builds into a new folder, ``<location>/builds/<build id>/<schema>/<table>/``, never
into a folder the published catalog names. Publishing is replacing ``catalog.json`` by a new file with one atomic
rename, after every node succeeded: a reader sees the old set of tables or the new one, never a mix, and a failed
build leaves the old catalog, and so the old data, as it was. Folders no catalog names any more are then deleted,
except those of the catalog just replaced, which a reader that started before the publish may still be reading.

>>> catalog = Catalog("b1", (Entry("marts", "orders", "table", location="builds/b1/marts/orders"),))
>>> Catalog.from_json(catalog.to_json()) == catalog
True
"""

from __future__ import annotations

import graphlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from northstar.errors import ProjectError
from northstar.spark.session import error_text
from northstar.warehouse.working_copy import fsync

CATALOG_VERSION = 1
REGISTERED = "northstar.registered_catalog"  # a session setting: which published catalog the session holds


@dataclass(frozen=True)
class Entry:
    """One relation: a table (Parquet under ``location``, relative to the target's location) or a view (``sql``)."""

    schema: str
    name: str
    kind: str  # table | view
    location: str = ""
    sql: str = ""
    fingerprint: str = ""
    columns: str = ""  # a table's Spark schema (StructType JSON): declared without Spark reading its files again

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)


@dataclass(frozen=True)
class Catalog:
    """The published relations, in the order they were built (views need what they read to exist first)."""

    build_id: str
    entries: tuple[Entry, ...] = field(default=())

    def entry(self, schema: str, name: str) -> Entry | None:
        return next((e for e in self.entries if e.key == (schema, name)), None)

    def with_entries(self, build_id: str, built: Iterable[Entry]) -> Catalog:
        """This catalog with ``built`` added or replacing the entries of the same relations, in build order."""
        new = list(built)
        replaced = {e.key for e in new}
        return Catalog(build_id, tuple(e for e in self.entries if e.key not in replaced) + tuple(new))

    def to_json(self) -> str:
        return json.dumps(
            {
                "northstar_spark_catalog": CATALOG_VERSION,
                "build_id": self.build_id,
                "relations": [e.__dict__ for e in self.entries],
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Catalog:
        data = json.loads(text)
        return cls(str(data["build_id"]), tuple(Entry(**row) for row in data["relations"]))


def catalog_path(location: Path) -> Path:
    return location / "_northstar" / "catalog.json"


def read(location: Path) -> Catalog:
    """The published catalog, or an empty one before the first build."""
    path = catalog_path(location)
    if not path.exists():
        return Catalog("")
    try:
        return Catalog.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, KeyError, TypeError) as error:
        raise ProjectError(
            f"{path} is not a Northstar Spark catalog ({error}). Move it away and build again (`--full-refresh`)."
        ) from None


def publish(location: Path, catalog: Catalog) -> None:
    """Make ``catalog`` the published one with one atomic rename, then delete folders nothing reads any more."""
    path = catalog_path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = read(location)
    temporary = path.with_name(f".catalog.{os.getpid()}.json")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(catalog.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    fsync(path.parent)  # the rename itself reaches the disk
    collect_garbage(location, (catalog, previous))


def abandon(location: Path, build_id: str) -> None:
    """Delete what a build that publishes nothing wrote."""
    shutil.rmtree(location / "builds" / build_id, ignore_errors=True)


def collect_garbage(location: Path, keep: Iterable[Catalog]) -> None:
    """Delete build folders that none of ``keep`` names (a killed build's leftovers included)."""
    builds = location / "builds"
    if not builds.is_dir():
        return
    wanted = {Path(e.location).parts[1] for c in keep for e in c.entries if e.location.startswith("builds/")}
    for folder in builds.iterdir():
        if folder.name not in wanted:
            shutil.rmtree(folder, ignore_errors=True)


def register(session: Any, location: Path, catalog: Catalog, private: bool = True) -> None:
    """Declare the catalog's schemas, tables and views in ``session``'s catalog (metadata only: no data is read).

    A ``private`` session (a local Spark, whose catalog lives and dies with this process) is first emptied of what
    an earlier build or query in the same process declared, so it holds exactly the published catalog.
    """
    if private and catalog.build_id and session.conf.get(REGISTERED, "") == _marker(location, catalog):
        return  # this process's session holds this very catalog already (a query after a build, or after a query)
    if private:
        for database in session.catalog.listDatabases():
            if database.name != "default":
                session.sql(f"DROP DATABASE IF EXISTS {_identifier(database.name)} CASCADE")
    for schema in dict.fromkeys(e.schema for e in catalog.entries):
        session.sql(f"CREATE DATABASE IF NOT EXISTS {_identifier(schema)}")
    for entry in declaration_order(catalog.entries):
        try:
            declare(session, location, entry, fresh=private and entry.schema != "default")
        except Exception as error:  # noqa: BLE001 - Spark's analysis errors have no common base we can import
            raise ProjectError(
                f"{catalog_path(location)} names the {entry.kind} {entry.schema}.{entry.name}, which Spark cannot "
                f"declare: {error_text(error)} Build everything again with `--full-refresh`."
            ) from None
    if private:
        remember(session, location, catalog)


def declaration_order(entries: Iterable[Entry]) -> list[Entry]:
    """Tables first (Parquet folders read nothing else), then each view after the views it reads.

    A catalog lists relations in the order they were built, but a build that rebuilt only some of them (``metrics
    seed`` after a ``metrics build``, a selection) moved those to the end, after the views that read them.

    >>> order = declaration_order([Entry("s", "v2", "view", sql="SELECT * FROM s.v1"),
    ...                            Entry("s", "v1", "view", sql="SELECT * FROM s.t"), Entry("s", "t", "table")])
    >>> [e.name for e in order]
    ['t', 'v1', 'v2']
    """
    entries = list(entries)
    views = {e.key: e for e in entries if e.kind == "view"}
    graph: graphlib.TopologicalSorter[tuple[str, str]] = graphlib.TopologicalSorter()
    for key, view in views.items():
        try:
            reads = {(t.db, t.name) for t in sqlglot.parse_one(view.sql, read="spark").find_all(exp.Table)}
        except sqlglot.errors.SqlglotError:  # Spark says what is wrong with it when it is declared
            reads = set()
        graph.add(key, *sorted(k for k in reads if k in views and k != key))
    return [e for e in entries if e.kind != "view"] + [views[key] for key in graph.static_order()]


def remember(session: Any, location: Path, catalog: Catalog) -> None:
    """Say that the session's catalog holds exactly ``catalog`` (registered, or built and published)."""
    session.conf.set(REGISTERED, _marker(location, catalog))


def forget(session: Any) -> None:
    """Say that the session's catalog no longer matches a published one (a build is changing it)."""
    session.conf.set(REGISTERED, "")


def _marker(location: Path, catalog: Catalog) -> str:
    return f"{location}|{catalog.build_id}"


def declare(session: Any, location: Path, entry: Entry, fresh: bool = False) -> None:
    """(Re)declare one relation in the session's catalog; ``fresh``: the session is known not to hold it yet.

    A table whose entry keeps its columns is declared with them: Spark would otherwise run a job to read the schema
    from the Parquet files, a third of a second per table on every process that replays the catalog.
    """
    relation = relation_sql(entry.schema, entry.name)
    if not fresh and session.catalog.tableExists(f"{entry.schema}.{entry.name}"):
        kind = session.catalog.getTable(f"{entry.schema}.{entry.name}").tableType
        # An external table's files stay when it is dropped: only the name moves.
        session.sql(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} {relation}")
    if entry.kind == "view":
        session.sql(f"CREATE VIEW {relation} AS\n{entry.sql}")
        return
    path = (location / entry.location).resolve()
    if entry.columns:
        from pyspark.sql.types import StructType

        columns = StructType.fromJson(json.loads(entry.columns))
        session.catalog.createTable(relation, path=str(path), source="parquet", schema=columns)
    else:  # a catalog written before entries kept their columns
        session.sql(f"CREATE TABLE {relation} USING parquet LOCATION {literal(str(path))}")


def _identifier(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="spark")


def relation_sql(schema: str, name: str) -> str:
    """A relation's name as Spark SQL, quoted by sqlglot (reserved words included).

    >>> relation_sql("select", "orders")
    '`select`.`orders`'
    """
    return exp.table_(name, db=schema, quoted=True).sql(dialect="spark")


def literal(text: str) -> str:
    """A Spark string literal, written by sqlglot."""
    return exp.Literal.string(text).sql(dialect="spark")
