"""Run test nodes: count the rows a data test selects, judge them by the test's config, show the first of them.

:func:`make_runner` is the runner ``build`` and ``test`` use for every ``test`` node (unit tests go to
:mod:`northstar.checks.unittests`); :func:`keep_failures` saves the failing rows of a build that published nothing.

>>> test_status(TestConfig(severity="error", error_if=">10", warn_if=">0"), 3)
'warn'
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb

from northstar.checks.config import THRESHOLD, TestConfig
from northstar.checks.datatests import FAILURES_SCHEMA, sql_literal
from northstar.checks.unittests import Sandbox, run_unit_test
from northstar.engine.execute import NodeResult, row_count
from northstar.engine.materialize import create_statement
from northstar.errors import ExecutionError
from northstar.nodes import DataTestNode, TestNode, UnitTestNode
from northstar.render.jinja import Relation
from northstar.render.manifest import Manifest
from northstar.texttable import format_table

PREVIEW_ROWS = 5


def _holds(condition: str, failures: int) -> bool:
    match = THRESHOLD.match(condition)
    if match is None:  # validated when the config was read
        return failures != 0
    op, number = match.group(1), int(match.group(2))
    return {
        ">=": failures >= number,
        "<=": failures <= number,
        "!=": failures != number,
        "<>": failures != number,
        "==": failures == number,
        "=": failures == number,
        ">": failures > number,
        "<": failures < number,
    }[op]


def test_status(config: TestConfig, failures: int) -> str:
    """pass, warn or fail, by dbt's rule: error_if decides a failure (severity error), then warn_if a warning."""
    if config.severity == "error" and _holds(config.error_if, failures):
        return "fail"
    if _holds(config.warn_if, failures):
        return "warn"
    return "pass"


test_status.__test__ = False  # type: ignore[attr-defined]


TestRunner = Callable[[TestNode, duckdb.DuckDBPyConnection], NodeResult]


def make_runner(manifest: Manifest, store_failures: bool = False) -> TestRunner:
    """The runner of test nodes for one invocation; ``store_failures`` keeps every test's failing rows."""
    schema_lock = threading.Lock()
    schema_ready: list[bool] = []
    sandbox = Sandbox(manifest)

    def run(node: TestNode, cursor: duckdb.DuckDBPyConnection) -> NodeResult:
        if isinstance(node, UnitTestNode):
            return run_unit_test(node, sandbox)
        assert isinstance(node, DataTestNode), node  # the two kinds of test
        store = store_failures or node.config.store_failures
        if store:
            with schema_lock:  # concurrent CREATE SCHEMA statements conflict in DuckDB's catalog
                if not schema_ready:
                    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {FAILURES_SCHEMA}")
                    schema_ready.append(True)
        return run_data_test(node, cursor, store)

    return run


def run_data_test(node: DataTestNode, cursor: duckdb.DuckDBPyConnection, store: bool = False) -> NodeResult:
    """Count the rows ``node`` selects and judge them by its config; show the first rows when it does not pass."""
    start = time.perf_counter()
    query = node.sql
    try:
        if store:
            relation = Relation(FAILURES_SCHEMA, node.name)
            cursor.execute(create_statement(relation, node.sql, "table"))
            query = f"SELECT * FROM {relation}"
        counted = f"SELECT * FROM ({query}) LIMIT {node.config.limit}" if node.config.limit is not None else query
        failures = row_count(cursor, f"({counted}) AS failing_rows")
        status = test_status(node.config, failures)
        preview = ""
        if status != "pass":
            cursor.execute(f"SELECT * FROM ({query}) AS failing_rows LIMIT {PREVIEW_ROWS}")
            columns = [d[0] for d in cursor.description]
            preview = format_table(columns, cursor.fetchall())
    except duckdb.Error as error:
        first = str(error).strip().splitlines()[0]
        fault = ExecutionError(f"Test '{node.name}' failed in DuckDB: {first}", node.path, node.line)
        return NodeResult(node.unique_id, "error", str(fault), time.perf_counter() - start, error=fault)
    return judged(node, status, failures, preview, time.perf_counter() - start, store)


def judged(node: DataTestNode, status: str, failures: int, preview: str, elapsed: float, stored: bool) -> NodeResult:
    """A data test's result: passed, or its failing rows counted and shown (on whichever engine counted them)."""
    if status == "pass":
        return NodeResult(node.unique_id, "pass", "", elapsed, failures=failures)
    return NodeResult(
        node.unique_id,
        status,
        failure_message(node, failures, preview, stored),
        elapsed,
        failures=failures,
        details={"test_type": node.test_type, "attached_node": node.attached_node},
    )


def keep_failures(
    connection: duckdb.DuckDBPyConnection,
    manifest: Manifest,
    results: Iterable[NodeResult],
    target_dir: Path,
    store_failures: bool,
) -> Path | None:
    """Copy the stored failing rows of the tests that did not pass into ``target/failing_rows.duckdb``.

    A failed build publishes nothing, so the rows ``--store-failures`` kept in the build's copy would be lost with
    it; this file is where they can be inspected. Returns the file, or None when no stored test failed.
    """
    failing = [
        node
        for node in (manifest.nodes.get(r.unique_id) for r in results if r.status in ("fail", "warn"))
        if isinstance(node, DataTestNode) and (store_failures or node.config.store_failures)
    ]
    if not failing:
        return None
    path = target_dir / "failing_rows.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # this build's failures only
    connection.execute(f"ATTACH {sql_literal(str(path))} AS ns_failures")
    try:
        connection.execute(f"CREATE SCHEMA ns_failures.{FAILURES_SCHEMA}")
        for node in failing:
            stored = Relation(FAILURES_SCHEMA, node.name)
            connection.execute(f"CREATE TABLE ns_failures.{stored} AS SELECT * FROM {stored}")
    finally:
        connection.execute("DETACH ns_failures")
    return path


def failure_message(node: DataTestNode, failures: int, preview: str, stored: bool) -> str:
    where = f"{node.path}:{node.line}" if node.line else node.path
    on = f" on {node.model_name}" if node.model_name else ""
    rows = f"{failures:,} failing row{'s' if failures != 1 else ''}"
    lines = [f"Test {node.name}{on} ({where}): {rows}."]
    if preview:
        lines.append(f"  First {PREVIEW_ROWS} failing rows:" if failures > PREVIEW_ROWS else "  Failing rows:")
        lines.extend("    " + line for line in preview.splitlines())
    if stored:
        lines.append(f"  All failing rows are in {FAILURES_SCHEMA}.{node.name}.")
    return "\n".join(lines)
