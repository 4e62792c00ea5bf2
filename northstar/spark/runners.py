"""Build and check nodes on Spark: one :class:`SparkBuild` per invocation, one method per node type.

Every table a build writes goes to a folder of its own (``builds/<build id>/<schema>/<name>``) and is declared in the
session's catalog under its name as it is built, so later models read it; the published catalog of record changes
only when the whole build succeeded (:mod:`northstar.spark.catalog`).

Seeds are read by DuckDB, exactly as on the DuckDB target (same types, same errors), and handed to Spark as Parquet:
that is what makes a seed's column types the same on both engines.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from northstar.checks.run import PREVIEW_ROWS, judged, test_status
from northstar.checks.unittests import Sandbox, run_unit_test
from northstar.engine.execute import BuildContext, NodeResult, build_seed
from northstar.engine.source_lines import source_line
from northstar.errors import ExecutionError
from northstar.nodes import DataTestNode, MetricNode, ModelNode, Node, SeedNode, SourceNode, UnitTestNode
from northstar.project.config import in_run_order
from northstar.render.jinja import Relation
from northstar.spark.catalog import Catalog, Entry, declare, relation_sql
from northstar.spark.session import error_text
from northstar.spark.transpile import Untranslatable, to_spark
from northstar.spark.unittests import spark_model_run
from northstar.texttable import format_table
from northstar.warehouse.state import UNCHANGED, Plan, kept_message


@dataclass
class SparkBuild:
    """The state of one build on Spark: what the published catalog holds and what this build has written."""

    session: Any
    location: Path
    build_id: str
    published: Catalog
    sandbox: Sandbox  # where unit tests load their fixtures, as on DuckDB
    plan: Plan  # every node's fingerprint, and the nodes the published catalog holds built from the same inputs
    full_refresh: bool = False
    built: list[Entry] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _schemas: set[str] = field(default_factory=set, repr=False)

    def runner(self) -> Callable[[Node], NodeResult]:
        """Run one node by its type."""

        def run(node: Node) -> NodeResult:
            if node.unique_id in self.plan.kept:  # declared in the session already, from the published catalog
                return NodeResult(node.unique_id, "success", kept_message(node), details={"state": UNCHANGED})
            started = time.perf_counter()
            rows: int | None
            try:
                match node:
                    case SeedNode():
                        message, rows = self.seed(node)
                    case ModelNode():
                        message, rows = self.model(node)
                    case MetricNode():
                        message, rows = self.metric(node)
                    case SourceNode():
                        message, rows = "source", None
                    case DataTestNode():
                        return self.test(node)
                    case UnitTestNode():
                        return run_unit_test(node, self.sandbox, spark_model_run(self.session))
                    case _:
                        raise ExecutionError(
                            f"{node.kind.capitalize()} '{node.name}' cannot run on Spark yet "
                            f"({type(node).__name__}). Run it on the DuckDB target.",
                            node.path,
                            node.line,
                        )
            except ExecutionError as error:
                return NodeResult(node.unique_id, "error", str(error), time.perf_counter() - started, error=error)
            return NodeResult(node.unique_id, "success", message, time.perf_counter() - started, rows=rows)

        return run

    # -- nodes -------------------------------------------------------------------------------------------------

    def seed(self, node: SeedNode) -> tuple[str, int]:
        """Read the CSV with DuckDB (the DuckDB target's own seed loader) and hand it to Spark as Parquet."""
        folder = self._folder(node.relation)
        folder.mkdir(parents=True, exist_ok=True)
        with duckdb.connect() as local:
            result = build_seed(node, local, BuildContext(existing={}))
            if result.error is not None:
                raise result.error
            local.execute(f"COPY {node.relation} TO {_duck_literal(str(folder / 'part-0.parquet'))} (FORMAT parquet)")
        self._publish_table(node, node.relation, folder)
        return f"loaded seed {node.relation}", result.rows or 0

    def model(self, node: ModelNode) -> tuple[str, int | None]:
        relation = node.relation
        if not isinstance(relation, Relation):
            return "ephemeral (inlined)", None
        sql = self._spark_sql(node, node.sql, node.raw_sql)
        for hook in in_run_order(node.config.pre_hook, pre=True):
            self._run(node, self._spark_sql(node, hook.sql, node.raw_sql))
        if node.materialized == "view":
            self._schema(node, relation.schema)
            entry = Entry(relation.schema, relation.identifier, "view", sql=sql, fingerprint=self._fingerprint(node))
            self._declare(node, entry)
            message, rows = f"created view {relation}", None
        elif (
            node.materialized == "incremental"
            and self._exists_as_table(relation)
            and not node.config.refreshes(self.full_refresh)
        ):
            message, rows = self._incremental(node, relation, sql)
        else:
            rows = self._create_table(node, relation, sql)
            message = f"created {node.materialized} {relation}"
        for hook in in_run_order(node.config.post_hook, pre=False):
            self._run(node, self._spark_sql(node, hook.sql, node.raw_sql))
        return message, rows

    def metric(self, node: MetricNode) -> tuple[str, int]:
        sql = self._spark_sql(node, node.sql, node.sql)
        return f"materialized metric {node.relation}", self._create_table(node, node.relation, sql)

    def test(self, node: DataTestNode) -> NodeResult:
        """Count the rows the test selects, as on DuckDB; show the first of them when it does not pass."""
        started = time.perf_counter()
        try:
            query = self._spark_sql(node, node.sql, node.raw_sql or node.sql)
            if node.config.limit is not None:
                query = f"SELECT * FROM ({query}) AS limited LIMIT {node.config.limit}"
            failures = int(self._run(node, f"SELECT count(*) FROM ({query}) AS failing_rows")[0][0])
            status = test_status(node.config, failures)
            preview = ""
            if status != "pass":
                frame = self.session.sql(f"SELECT * FROM ({query}) AS failing_rows LIMIT {PREVIEW_ROWS}")
                preview = format_table(frame.columns, [tuple(row) for row in frame.collect()])
        except ExecutionError as error:
            return NodeResult(node.unique_id, "error", str(error), time.perf_counter() - started, error=error)
        return judged(node, status, failures, preview, time.perf_counter() - started, stored=False)

    # -- helpers -----------------------------------------------------------------------------------------------

    def _create_table(self, node: Node, relation: Relation, sql: str) -> int:
        """Write the query's rows as Parquet into the build's folder for ``relation``, and declare it there.

        One Spark job: the columns are known from the analysed query (no job to read them back from the files), and
        the row count is read from the files' footers."""
        folder = self._folder(relation)
        self._schema(node, relation.schema)
        try:
            frame = self.session.sql(sql)
            frame.write.parquet(str(folder))
            columns = frame.schema.json()
        except Exception as error:  # noqa: BLE001 - Spark's analysis errors have no common base we can import
            raise self._error(node, error, sql) from None
        return self._publish_table(node, relation, folder, columns)

    def _incremental(self, node: ModelNode, relation: Relation, sql: str) -> tuple[str, int]:
        """Copy-on-write: the new version is the old rows (less those the new rows replace) plus the new rows, in a
        new folder, so the published version stays whole until the catalog moves."""
        config = node.config
        keys = list(config.unique_key)
        strategy = config.incremental_strategy or ("merge" if keys else "append")
        if strategy not in ("append", "merge", "delete+insert"):
            raise ExecutionError(
                f"Model '{node.name}' uses incremental_strategy='{strategy}', which the Spark target does not "
                "build. Use append, merge or delete+insert.",
                node.path,
            )
        if strategy != "append" and not keys:
            raise ExecutionError(
                f"Model '{node.name}' uses incremental_strategy='{strategy}', which needs a unique_key.", node.path
            )
        target = relation_sql(relation.schema, relation.identifier)
        new_columns = list(self.session.sql(f"SELECT * FROM ({sql}) AS new_rows LIMIT 0").columns)
        old_columns = list(self.session.table(target).columns)
        if set(new_columns) != set(old_columns):
            raise ExecutionError(
                f"Model '{node.name}' now selects columns {', '.join(new_columns)} but its table has "
                f"{', '.join(old_columns)}. On Spark an incremental model's columns cannot change in place: run "
                "with --full-refresh.",
                node.path,
            )
        columns = ", ".join(f"`{c}`" for c in old_columns)
        if strategy == "append":
            kept = f"SELECT {columns} FROM {target}"
        else:
            matches = " AND ".join(f"new_rows.`{k}` = old_rows.`{k}`" for k in keys)
            kept = (
                f"SELECT {columns} FROM {target} AS old_rows WHERE NOT EXISTS "
                f"(SELECT 1 FROM ({sql}) AS new_rows WHERE {matches})"
            )
        combined = f"{kept}\nUNION ALL\nSELECT {columns} FROM ({sql}) AS new_rows"
        return f"built incremental {relation}", self._create_table(node, relation, combined)

    def _publish_table(self, node: Node, relation: Relation, folder: Path, columns: str = "") -> int:
        entry = Entry(
            relation.schema,
            relation.identifier,
            "table",
            location=str(folder.relative_to(self.location)),
            fingerprint=self._fingerprint(node),
            columns=columns,
        )
        self._schema(node, relation.schema)
        self._declare(node, entry)
        counted = parquet_rows(folder)
        if counted is not None:
            return counted
        return int(self._run(node, f"SELECT count(*) FROM {relation_sql(relation.schema, relation.identifier)}")[0][0])

    def _declare(self, node: Node, entry: Entry) -> None:
        try:
            declare(self.session, self.location, entry)
        except Exception as error:  # noqa: BLE001 - Spark's analysis errors have no common base we can import
            raise self._error(node, error, entry.sql) from None
        with self._lock:
            self.built.append(entry)

    def _fingerprint(self, node: Node) -> str:
        return self.plan.fingerprints.get(node.unique_id, "")

    def _exists_as_table(self, relation: Relation) -> bool:
        entry = self.published.entry(relation.schema, relation.identifier)
        return entry is not None and entry.kind == "table"

    def _folder(self, relation: Relation) -> Path:
        return self.location / "builds" / self.build_id / relation.schema / relation.identifier

    def _schema(self, node: Node, schema: str) -> None:
        with self._lock:
            if schema in self._schemas:
                return
            self._schemas.add(schema)
        self._run(node, f"CREATE DATABASE IF NOT EXISTS `{schema}`")

    def _spark_sql(self, node: Node, sql: str, source: str) -> str:
        try:
            return to_spark(sql)
        except Untranslatable as error:
            line = source_line(sql, error.line, source) if error.line else None
            raise ExecutionError(
                f"{node.kind.capitalize()} '{node.name}' cannot run on Spark: {error.construct} {error.reason}",
                node.path,
                line,
            ) from None

    def _run(self, node: Node, sql: str) -> list[Any]:
        try:
            return list(self.session.sql(sql).collect())
        except Exception as error:  # noqa: BLE001 - Spark's analysis errors have no common base we can import
            raise self._error(node, error, sql) from None

    def _error(self, node: Node, error: Exception, sql: str) -> ExecutionError:
        """A Spark error as a message naming the node, its file and, where a name in the error shows it, the line."""
        first = error_text(error)
        source = node.raw_sql if isinstance(node, ModelNode | DataTestNode) and node.raw_sql else ""
        line = _line_naming(source, re.findall(r"`([^`]+)`", first)) if source else None
        return ExecutionError(f"{node.kind.capitalize()} '{node.name}' failed on Spark: {first}", node.path, line)


def parquet_rows(folder: Path) -> int | None:
    """The rows of the Parquet files in ``folder``, from their footers (no Spark job); None when this process cannot
    read the folder (a Spark Connect server writing where this machine does not see)."""
    if not folder.is_dir():
        return None
    files = sorted(str(path) for path in folder.glob("*.parquet"))
    if not files:
        return 0
    with duckdb.connect() as local:
        found = local.execute("SELECT sum(num_rows) FROM parquet_file_metadata(?)", [files]).fetchone()
    return int(found[0]) if found and found[0] is not None else 0


def _line_naming(source: str, names: list[str]) -> int | None:
    """The first line of ``source`` that mentions one of ``names`` (the identifiers a Spark error quotes)."""
    for name in names:
        word = name.split(".")[-1]
        for number, text in enumerate(source.splitlines(), start=1):
            if re.search(rf"\b{re.escape(word)}\b", text):
                return number
    return None


def _duck_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
