"""Run nodes against DuckDB in dependency order, in parallel, skipping everything downstream of a failure.

:func:`run_dag` schedules; :func:`build_seed` and :func:`build_model` build one node. Library code never exits: the
caller gets one :class:`NodeResult` per selected node.
"""

from __future__ import annotations

import contextlib
import heapq
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import duckdb

from northstar.dag import DAG
from northstar.engine.contracts import assert_contract, contract_enforced, contracted_table_statements
from northstar.engine.incremental import incremental_statements
from northstar.engine.materialize import comment_statements, create_statement, drop_statement, seed_statement
from northstar.engine.seedshape import check_seed_shape
from northstar.engine.seedtypes import integer_statements
from northstar.engine.source_lines import sql_error
from northstar.errors import ExecutionError, NorthstarError
from northstar.nodes import ModelNode, Node, NodeId, SeedNode
from northstar.project.config import in_run_order
from northstar.render.jinja import Relation, quote
from northstar.warehouse import catalog

C = TypeVar("C")  # a worker thread's cursor
C_co = TypeVar("C_co", covariant=True)

# Statuses that stop everything downstream.
BLOCKING = frozenset({"error", "fail"})


@dataclass(frozen=True)
class NodeResult:
    unique_id: NodeId
    status: str  # success | error | skipped | pass | fail | warn
    message: str = ""
    elapsed: float = 0.0
    rows: int | None = None
    failures: int | None = None
    error: NorthstarError | None = field(default=None, compare=False)
    details: Mapping[str, Any] = field(default_factory=dict, compare=False)


class Cursors(Protocol[C_co]):
    """What hands each worker thread its own cursor: a DuckDB connection, or a Spark target's shared session."""

    def cursor(self) -> C_co: ...


def run_dag(
    dag: DAG[NodeId],
    selected: Iterable[NodeId],
    work: Callable[[NodeId, C], NodeResult],
    connection: Cursors[C],
    threads: int,
    on_start: Callable[[NodeId], None] = lambda uid: None,
    on_result: Callable[[NodeResult], None] = lambda result: None,
) -> list[NodeResult]:
    """Run ``work`` for each selected node once all its selected parents succeeded.

    A node whose parent failed (or was skipped for that reason) is reported ``skipped`` without running.
    Each worker thread uses its own cursor on ``connection``.
    """
    sub = dag.subdag(selected)
    order = {uid: i for i, uid in enumerate(dag.sorted())}
    pending = {uid: len(sub.parents[uid]) for uid in sub}
    # Ready nodes in DAG order; finished futures arrive on a queue. Waiting on the futures themselves cost time in
    # the number of nodes still queued at every wait, which made 1,000 models quadratic (~1 s).
    ready = [(order[uid], uid) for uid, count in pending.items() if not count]
    heapq.heapify(ready)
    finished: queue.SimpleQueue[Future[NodeResult]] = queue.SimpleQueue()
    blocked: set[NodeId] = set()
    results: list[NodeResult] = []
    local = threading.local()

    def run(uid: NodeId) -> NodeResult:
        cursor = getattr(local, "cursor", None)
        if cursor is None:
            cursor = local.cursor = connection.cursor()
        on_start(uid)
        return work(uid, cursor)

    def finish(result: NodeResult) -> None:
        results.append(result)
        on_result(result)
        if result.status in BLOCKING or result.status == "skipped":
            blocked.add(result.unique_id)
        for child in sub.children[result.unique_id]:
            pending[child] -= 1
            if not pending[child]:
                heapq.heappush(ready, (order[child], child))

    running: dict[Future[NodeResult], NodeId] = {}
    # One thread: each node runs in this one, which saves a hand-off to a worker and back per node (~0.1 ms).
    workers = ThreadPoolExecutor(threads, thread_name_prefix="northstar") if threads > 1 else _InThisThread()
    with workers as pool:
        while ready or running:
            while ready:
                _, uid = heapq.heappop(ready)
                if sub.parents[uid] & blocked:
                    failed = sorted(sub.parents[uid] & blocked)
                    finish(NodeResult(uid, "skipped", f"skipped because {failed[0]} did not succeed"))
                    continue
                future = pool.submit(run, uid)
                running[future] = uid
                future.add_done_callback(finished.put)
            if not running:
                continue
            done = _arrived(finished)
            # Several nodes may finish between two waits; report them in DAG order so output is deterministic.
            for future in sorted(done, key=lambda f: order[running[f]]):
                running.pop(future)
                finish(future.result())
    return results


class _InThisThread(contextlib.AbstractContextManager["_InThisThread"]):
    """An executor whose one worker is the calling thread: ``submit`` runs the call and returns its finished future.
    An exception the call raises is kept in the future, as a pool keeps it; a KeyboardInterrupt goes straight up."""

    def submit(self, call: Callable[[NodeId], NodeResult], uid: NodeId) -> Future[NodeResult]:
        future: Future[NodeResult] = Future()
        try:
            future.set_result(call(uid))
        except Exception as error:
            future.set_exception(error)
        return future

    def __exit__(self, *exc: object) -> None:
        return None


def _arrived(finished: queue.SimpleQueue[Future[NodeResult]]) -> list[Future[NodeResult]]:
    """The futures that finished: at least one (waiting for it), and all others already there."""
    done = [finished.get()]
    while not finished.empty():
        done.append(finished.get())
    return done


@dataclass(frozen=True)
class BuildContext:
    """What building a node needs to know about the warehouse it builds into."""

    existing: Mapping[tuple[str, str], str]  # (schema, name) -> 'BASE TABLE' | 'VIEW'
    full_refresh: bool = False
    # Two threads creating the same new schema at once make DuckDB fail with a write-write conflict: serialise it.
    schema_lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)
    schemas: set[str] = field(default_factory=set, compare=False, repr=False)  # created by this build, under the lock


def build_seed(node: SeedNode, cursor: duckdb.DuckDBPyConnection, context: BuildContext) -> NodeResult:
    """Load one seed; DuckDB errors become a failed result naming the seed's file."""
    start = time.perf_counter()
    try:
        message, rows = _build_seed(node, cursor, context)
    except ExecutionError as error:
        return NodeResult(node.unique_id, "error", str(error), time.perf_counter() - start, error=error)
    return NodeResult(node.unique_id, "success", message, time.perf_counter() - start, rows=rows)


def build_model(node: ModelNode, cursor: duckdb.DuckDBPyConnection, context: BuildContext) -> NodeResult:
    """Build one model; DuckDB errors become a failed result naming the user's file and line."""
    start = time.perf_counter()
    try:
        message, rows = _build_model(node, cursor, context)
    except ExecutionError as error:
        return NodeResult(node.unique_id, "error", str(error), time.perf_counter() - start, error=error)
    return NodeResult(node.unique_id, "success", message, time.perf_counter() - start, rows=rows)


def check_source(node: Node, cursor: duckdb.DuckDBPyConnection, context: BuildContext) -> NodeResult:
    """A source is built by another tool (or a seed): nothing to do but let its children run."""
    return NodeResult(node.unique_id, "success", "source")


def create_schema(cursor: duckdb.DuckDBPyConnection, relation: Relation, node: Node, context: BuildContext) -> None:
    """Create the schema a node builds into, once per build."""
    with context.schema_lock:
        if relation.schema not in context.schemas:
            _run(cursor, f"CREATE SCHEMA IF NOT EXISTS {quote(relation.schema)}", node)
            context.schemas.add(relation.schema)


def _build_seed(node: SeedNode, cursor: duckdb.DuckDBPyConnection, context: BuildContext) -> tuple[str, int]:
    relation = node.relation
    check_seed_shape(node.abs_path, node.path, node.name, node.config.extra.get("delimiter"))
    create_schema(cursor, relation, node, context)
    statement = seed_statement(
        relation, str(node.abs_path), node.config.column_types, node.config.extra.get("delimiter")
    )
    for hook in in_run_order(node.config.pre_hook, pre=True):
        _run(cursor, hook.sql, node)
    _run(cursor, statement, node)
    created = cursor.fetchall()  # CREATE TABLE ... AS answers with its row count
    if node.dbt_types:
        for alter in integer_statements(cursor, relation, node.config.column_types):
            _run(cursor, alter, node)
    for hook in in_run_order(node.config.post_hook, pre=False):
        _run(cursor, hook.sql, node)
    rows = int(created[0][0]) if not node.config.post_hook else row_count(cursor, str(relation))  # a hook may change it
    _document(node, relation, "table", cursor)
    return f"loaded seed {relation}", rows


def row_count(cursor: duckdb.DuckDBPyConnection, source: str) -> int:
    """The rows of a relation, or of a parenthesised query (``count(*)`` answers exactly one row)."""
    row = cursor.execute(f"SELECT count(*) FROM {source}").fetchone()
    assert row is not None
    return int(row[0])


def _build_model(node: ModelNode, cursor: duckdb.DuckDBPyConnection, context: BuildContext) -> tuple[str, int | None]:
    relation = node.relation
    if not isinstance(relation, Relation):  # ephemeral: inlined into its children, nothing to build
        return "ephemeral (inlined)", None
    materialized = node.materialized
    create_schema(cursor, relation, node, context)
    existing = context.existing.get((relation.schema, relation.identifier))
    wanted = "VIEW" if materialized == "view" else "BASE TABLE"
    if existing and existing != wanted:
        _run(cursor, drop_statement(relation, existing), node)
    # Hooks arrive rendered (engine/hooks.py), in the order they were written, project's first.
    for hook in in_run_order(node.config.pre_hook, pre=True):
        _run(cursor, hook.sql, node)
    verb, created = _materialize(
        node, relation, cursor, keep=existing == wanted and not node.config.refreshes(context.full_refresh)
    )
    for hook in in_run_order(node.config.post_hook, pre=False):
        _run(cursor, hook.sql, node)
    _document(node, relation, materialized, cursor)
    rows = None
    if materialized == "table" and created and not node.config.post_hook:
        rows = int(created[0][0])
    elif materialized != "view":
        rows = row_count(cursor, str(relation))
    return f"{verb} {relation}", rows


def _materialize(
    node: ModelNode, relation: Relation, cursor: duckdb.DuckDBPyConnection, keep: bool
) -> tuple[str, list[tuple[Any, ...]]]:
    """Run the statements that build the model (``keep``: an incremental model's table is there to add to); what
    was done, and the row count CREATE TABLE ... AS answered, when it did."""
    materialized = node.materialized
    if materialized == "incremental":
        contracted = contract_enforced(node.config.as_dict())
        if contracted:
            _check_contract(node, cursor)
        if contracted and not keep:  # the first build creates the table with its constraints, as a contracted table
            statements = contracted_table_statements(str(relation), node.sql, node.columns, node.constraints)
        else:
            statements = incremental_statements(node, cursor, keep)
        for statement in statements:
            _run(cursor, statement, node)
        return "built incremental", []
    if contract_enforced(node.config.as_dict()):
        _check_contract(node, cursor)
        if materialized == "table":
            for statement in contracted_table_statements(str(relation), node.sql, node.columns, node.constraints):
                _run(cursor, statement, node, user_sql=node.sql)
        else:
            _run(cursor, create_statement(relation, node.sql, materialized), node, user_sql=node.sql)
        return f"created {materialized}", []
    _run(cursor, create_statement(relation, node.sql, materialized), node, user_sql=node.sql)
    # CREATE TABLE ... AS answers with its row count: no need to count again unless a hook changed the table.
    return f"created {materialized}", cursor.fetchall() if materialized == "table" else []


def _check_contract(node: ModelNode, cursor: duckdb.DuckDBPyConnection) -> None:
    try:
        assert_contract(cursor, node.name, node.sql, node.columns, node.path, node.yaml_path or node.path)
    except duckdb.Error as error:  # the SELECT itself does not run: report it as any model's SQL error
        raise sql_error(node, node.sql, error, node.sql) from None


def _document(
    node: ModelNode | SeedNode, relation: Relation, materialized: str, cursor: duckdb.DuckDBPyConnection
) -> None:
    docs = {column.name: column.description for column in node.columns}
    statements = document_statements(cursor, relation, materialized, node.description, docs)
    try:
        run_together(cursor, statements)
    except duckdb.Error as error:
        raise sql_error(node, ";\n".join(statements), error) from None


def document_statements(
    cursor: duckdb.DuckDBPyConnection,
    relation: Relation,
    materialized: str,
    description: str,
    column_docs: Mapping[str, str],
) -> list[str]:
    """The COMMENT ON statements for a relation just built: its description and those of its documented columns
    that it really has (YAML may document a column the SQL no longer selects)."""
    if not description and not any(column_docs.values()):
        return []
    actual = {name for name, _ in catalog.columns(cursor, relation.schema, relation.identifier)}
    return comment_statements(relation, materialized, description, column_docs, actual)


def run_together(cursor: duckdb.DuckDBPyConnection, statements: list[str]) -> None:
    """Run ``statements`` in one round trip and one transaction. DuckDB commits each statement of a script on its
    own, and each commit waits for the write-ahead log to reach the disk (1-4 ms): the example project's 600
    comments took a second that way. On an error the transaction is rolled back, so the cursor can go on, and the
    error raised."""
    if not statements:
        return
    try:
        cursor.execute(";\n".join(["BEGIN TRANSACTION", *statements, "COMMIT"]))
    except duckdb.Error:
        with contextlib.suppress(duckdb.Error):  # none is open if BEGIN itself failed
            cursor.execute("ROLLBACK")
        raise


def _run(cursor: duckdb.DuckDBPyConnection, statement: str, node: Node, user_sql: str | None = None) -> None:
    try:
        cursor.execute(statement)
    except duckdb.Error as error:
        raise sql_error(node, statement, error, user_sql) from None
