"""Run nodes against DuckDB in dependency order, in parallel, skipping everything downstream of a failure.

:func:`run_dag` schedules; :func:`build_node` knows how to build a seed or a model. Library code never exits: the
caller gets one :class:`NodeResult` per selected node.
"""

from __future__ import annotations

import difflib
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import duckdb

from northstar.dag import DAG
from northstar.engine.materialize import comment_statements, create_statement, drop_statement, seed_statement
from northstar.errors import ExecutionError, NorthstarError
from northstar.render.jinja import Relation
from northstar.render.manifest import ModelNode, Node, SeedNode, SourceNode

# Statuses that stop everything downstream.
BLOCKING = frozenset({"error", "fail"})


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    status: str  # success | error | skipped | pass | fail | warn
    message: str = ""
    elapsed: float = 0.0
    rows: int | None = None
    failures: int | None = None
    error: NorthstarError | None = field(default=None, compare=False)
    details: Mapping[str, Any] = field(default_factory=dict, compare=False)


def run_dag(
    dag: DAG,
    selected: Iterable[str],
    work: Callable[[str, duckdb.DuckDBPyConnection], NodeResult],
    connection: duckdb.DuckDBPyConnection,
    threads: int,
    on_start: Callable[[str], None] = lambda uid: None,
    on_result: Callable[[NodeResult], None] = lambda result: None,
) -> list[NodeResult]:
    """Run ``work`` for each selected node once all its selected parents succeeded.

    A node whose parent failed (or was skipped for that reason) is reported ``skipped`` without running.
    Each worker thread uses its own cursor on ``connection``.
    """
    sub = dag.subdag(selected)
    order = {uid: i for i, uid in enumerate(dag.sorted())}
    pending = {uid: set(sub.parents[uid]) for uid in sub}
    blocked: set[str] = set()
    results: list[NodeResult] = []
    local = threading.local()

    def run(uid: str) -> NodeResult:
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
            pending[child].discard(result.unique_id)

    running: dict[Future, str] = {}
    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="northstar") as pool:
        while pending or running:
            ready = sorted((uid for uid, deps in pending.items() if not deps), key=order.__getitem__)
            for uid in ready:
                del pending[uid]
                if sub.parents[uid] & blocked:
                    failed = sorted(sub.parents[uid] & blocked)
                    finish(NodeResult(uid, "skipped", f"skipped because {failed[0]} did not succeed"))
                    continue
                running[pool.submit(run, uid)] = uid
            if not running:
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            # Several nodes may finish between two waits; report them in DAG order so output is deterministic.
            for future in sorted(done, key=lambda f: order[running[f]]):
                uid = running.pop(future)
                finish(future.result())
    return results


@dataclass(frozen=True)
class BuildContext:
    """What building a node needs to know about the warehouse it builds into."""

    existing: Mapping[tuple[str, str], str]  # (schema, name) -> 'BASE TABLE' | 'VIEW'
    full_refresh: bool = False
    # Two threads creating the same new schema at once make DuckDB fail with a write-write conflict: serialise it.
    schema_lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)
    schemas: set[str] = field(default_factory=set, compare=False, repr=False)  # created by this build, under the lock


def build_node(node: Node, cursor: duckdb.DuckDBPyConnection, context: BuildContext) -> NodeResult:
    """Build one seed or model; DuckDB errors become a failed result naming the user's file and line."""
    start = time.perf_counter()
    try:
        if isinstance(node, SeedNode):
            message, rows = _build_seed(node, cursor, context)
        elif isinstance(node, ModelNode):
            message, rows = _build_model(node, cursor, context)
        elif isinstance(node, SourceNode):
            return NodeResult(node.unique_id, "success", "source", time.perf_counter() - start)
        else:  # pragma: no cover - other kinds have their own runners
            raise TypeError(f"cannot build {node!r}")
    except ExecutionError as error:
        return NodeResult(node.unique_id, "error", str(error), time.perf_counter() - start, error=error)
    return NodeResult(node.unique_id, "success", message, time.perf_counter() - start, rows=rows)


def _create_schema(cursor: duckdb.DuckDBPyConnection, relation: Relation, node: Node, context: BuildContext) -> None:
    with context.schema_lock:
        if relation.schema not in context.schemas:
            _run(cursor, f"CREATE SCHEMA IF NOT EXISTS {_q(relation.schema)}", node)
            context.schemas.add(relation.schema)


def _build_seed(node: SeedNode, cursor: duckdb.DuckDBPyConnection, context: BuildContext) -> tuple[str, int]:
    relation = node.relation
    _create_schema(cursor, relation, node, context)
    statement = seed_statement(
        relation, str(node.abs_path), node.config.column_types, node.config.extra.get("delimiter")
    )
    _run(cursor, statement, node)
    rows = cursor.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
    _document(node, relation, "table", cursor)
    return f"loaded seed {relation}", rows


def _build_model(node: ModelNode, cursor: duckdb.DuckDBPyConnection, context: BuildContext) -> tuple[str, int | None]:
    relation = node.relation
    if not isinstance(relation, Relation):  # ephemeral: inlined into its children, nothing to build
        return "ephemeral (inlined)", None
    materialized = node.materialized
    _create_schema(cursor, relation, node, context)
    existing = context.existing.get((relation.schema, relation.identifier))
    wanted = "VIEW" if materialized == "view" else "BASE TABLE"
    if existing and existing != wanted:
        _run(cursor, drop_statement(relation, existing), node)
    for hook in node.config.pre_hook:
        _run(cursor, hook, node)
    created: list[tuple] = []
    if materialized == "incremental":
        from northstar.engine.incremental import incremental_statements

        statements = incremental_statements(node, cursor, existing == wanted and not context.full_refresh)
        for statement in statements:
            _run(cursor, statement, node)
        verb = "built incremental"
    else:
        _run(cursor, create_statement(relation, node.sql, materialized), node, user_sql=node.sql)
        verb = f"created {materialized}"
        # CREATE TABLE ... AS answers with its row count: no need to count again unless a hook changed the table.
        created = cursor.fetchall() if materialized == "table" else []
    for hook in node.config.post_hook:
        _run(cursor, hook, node)
    _document(node, relation, materialized, cursor)
    rows = None
    if materialized == "table" and created and not node.config.post_hook:
        rows = int(created[0][0])
    elif materialized != "view":
        rows = cursor.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
    return f"{verb} {relation}", rows


def _document(
    node: ModelNode | SeedNode, relation: Relation, materialized: str, cursor: duckdb.DuckDBPyConnection
) -> None:
    docs = {column.name: column.description for column in node.columns}
    for statement in document_statements(cursor, relation, materialized, node.description, docs):
        _run(cursor, statement, node)


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
    actual = {
        row[0]
        for row in cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
            [relation.schema, relation.identifier],
        ).fetchall()
    }
    return comment_statements(relation, materialized, description, column_docs, actual)


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


_LINE = re.compile(r"LINE (\d+):")


def _run(cursor: duckdb.DuckDBPyConnection, statement: str, node: Node, user_sql: str | None = None) -> None:
    try:
        cursor.execute(statement)
    except duckdb.Error as error:
        raise sql_error(node, statement, error, user_sql) from None


def sql_error(node: Node, statement: str, error: duckdb.Error, user_sql: str | None = None) -> ExecutionError:
    """Turn a DuckDB error into one that names the node, its file, and the line in the user's source file."""
    text = str(error).strip()
    line = None
    match = _LINE.search(text)
    raw = getattr(node, "raw_sql", None)
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
    if node.kind == "seed":
        # The statement is Northstar's CREATE ... AS over the CSV: its snippet points at nothing the user wrote.
        details = [part for part in details if not part.startswith("LINE ") and set(part.strip()) != {"^"}]
        types = node.config.column_types
        if types and any(word in first.lower() for word in ("type", "convert", "cast")):
            listed = ", ".join(f"{column}: {kind}" for column, kind in types.items())
            where = getattr(node, "yaml_path", None) or "project.yml"
            details.append(f"Check the seed's column_types ({listed}), set in {where}.")
    if details:
        message += "\n" + "\n".join("  " + part for part in details)
    return ExecutionError(message, node.path, line)


def _renumber(details: list[str], old: str, new: str) -> list[str]:
    """DuckDB's snippet numbers the lines of the executed statement; label it with the user's line, caret aligned."""
    shift = len(new) - len(old)
    fixed = []
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
