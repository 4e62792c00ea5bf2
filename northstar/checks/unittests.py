"""Unit tests for models: fixed input rows in, expected rows out, in a fresh in-memory DuckDB.

A property file declares them like dbt's::

    unit_tests:
      - name: crm_order_inside_window
        model: fct_orders
        given:
          - input: ref('stg_orders')
            rows:
              - {order_id: 1, user_id: 7, ordered_at: 2024-03-10 12:00:00}
          - input: ref('stg_crm_clicks')
            format: csv
            rows: |
              user_id,clicked_at
              7,2024-03-05 09:00:00
          - input: source('raw', 'channels')
            fixture: channels            # a CSV file: tests/fixtures/channels.csv
        expect:
          rows:
            - {order_id: 1, is_crm: true}

The model's compiled SQL runs against tables that hold only the fixtures, named like the relations it reads: never
the warehouse, and no build is needed. Fixture columns get the types the real inputs have, learned once per run by
creating the project's seeds and models empty in memory (:class:`Sandbox`); columns a fixture leaves out are
NULL. Only the columns listed under ``expect`` are compared, as multisets of rows: the result names the missing and
the unexpected rows.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from northstar.checks.config import read_test_config
from northstar.engine.execute import NodeResult
from northstar.engine.materialize import seed_statement
from northstar.errors import NorthstarError, ProjectError, did_you_mean
from northstar.nodes import Fixture, Given, ModelNode, NodeId, SeedNode, SourceNode, UnitTestNode
from northstar.project.yamlfile import check_keys, expect_list, expect_mapping
from northstar.render.jinja import Ephemeral, External, Relation, compile_template, quote, render
from northstar.render.manifest import Manifest
from northstar.render.refs import resolve_relation_call
from northstar.texttable import format_table

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from northstar.lazy import exp

UNIT_TEST_KEYS = {"name", "model", "description", "given", "expect", "overrides", "config"}
GIVEN_KEYS = {"input", "rows", "format", "fixture"}
EXPECT_KEYS = {"rows", "format", "fixture"}
OVERRIDE_KEYS = {"vars", "macros", "env_vars"}


def unit_test_nodes(manifest: Manifest) -> list[UnitTestNode]:
    """Every ``unit_tests:`` entry of the project's property files, checked against the manifest."""
    tests = []
    for doc in manifest.project.yaml_docs:
        entries = expect_list(doc.data.get("unit_tests"), "unit_tests", doc.path, doc.data.line_of("unit_tests"))
        for entry in entries:
            entry = expect_mapping(entry, "A unit test", doc.path, doc.data.line_of("unit_tests"))
            check_keys(entry, UNIT_TEST_KEYS, f"unit test '{entry.get('name', '?')}'")
            test = _unit_test(manifest, entry, doc.path)
            if test.config.enabled:
                tests.append(test)
    return tests


def _unit_test(manifest: Manifest, entry: Any, path: str) -> UnitTestNode:
    line = entry.line
    for key in ("name", "model", "given", "expect"):
        if key not in entry:
            raise ProjectError(f"Unit test '{entry.get('name', '?')}' has no '{key}'.", path, line)
    name, model_name = str(entry["name"]), str(entry["model"])
    where = f"Unit test '{name}'"
    uid = manifest.by_name.get(model_name)
    model = manifest.nodes.get(uid) if uid else None
    if not isinstance(model, ModelNode):
        models = [n.name for n in manifest.nodes.values() if isinstance(n, ModelNode)]
        raise ProjectError(
            f"{where} tests '{model_name}', which is not a model.{did_you_mean(model_name, models)}", path, line
        )
    if not isinstance(model.relation, Relation):
        raise ProjectError(f"{where}: '{model_name}' is ephemeral; unit-test the models that read it.", path, line)
    if model.version is not None:  # dbt runs one such test per version (with versions: include/exclude)
        raise ProjectError(
            f"{where} tests '{model_name}', a versioned model; unit tests of versioned models are not supported "
            "yet. Test a model that is not versioned, or remove the test.",
            path,
            line,
        )
    needed = _inputs(manifest, model)
    given = []
    for item in expect_list(entry["given"], "given", path, entry.line_of("given")):
        item = expect_mapping(item, "An entry of given", path, entry.line_of("given"))
        check_keys(item, GIVEN_KEYS, f"an input of unit test '{name}'")
        given.append(_given(manifest, model, item, path, where, needed))
    missing = [u for u in needed if u not in {g.node_id for g in given}]
    if missing:
        first = manifest.nodes[missing[0]]
        call = (
            f"source('{first.source_name}', '{first.name}')"
            if isinstance(first, SourceNode)
            else f"ref('{first.name}')"
        )
        names = ", ".join(manifest.nodes[u].name for u in missing)
        raise ProjectError(
            f"{where}: '{model_name}' also reads {names}, which the test does not give. Add each input, e.g. "
            f"`- input: {call}` with `rows: []` for an empty one.",
            path,
            line,
        )
    expect = expect_mapping(entry["expect"], "expect", path, entry.line_of("expect"))
    check_keys(expect, EXPECT_KEYS, f"expect of unit test '{name}'")
    sql = model.sql
    overrides = expect_mapping(entry.get("overrides"), "overrides", path, entry.line_of("overrides"))
    check_keys(overrides, OVERRIDE_KEYS, f"overrides of unit test '{name}'")
    # The compiled SQL of an incremental model depends on whether the warehouse holds it; a unit test must not.
    reads_ephemeral = any(isinstance(manifest.nodes[u].reads_as, Ephemeral) for u in model.depends_on)
    if overrides or (model.materialized == "incremental" and not reads_ephemeral):
        sql = _render_with_overrides(manifest, model, overrides, where, path, line)
    config = read_test_config(
        expect_mapping(entry.get("config"), "config", path, entry.line_of("config")), {}, where, path, line
    )
    return UnitTestNode(
        unique_id=NodeId("test", manifest.project.config.name, name),
        name=name,
        path=path,
        line=line,
        model_name=model_name,
        sql=sql,
        given=tuple(given),
        expect=_fixture(manifest, expect, path, expect.line, f"{where}, expect"),
        depends_on=(model.unique_id,),
        attached_node=model.unique_id,
        config=config,
        description=str(entry.get("description") or ""),
    )


def _inputs(manifest: Manifest, model: ModelNode) -> list[NodeId]:
    """The relations the model's SQL reads; an ephemeral parent is inlined, so its own inputs count instead."""
    found: list[NodeId] = []
    for uid in model.depends_on:
        node = manifest.nodes[uid]
        if isinstance(node, ModelNode) and isinstance(node.relation, Ephemeral):
            found.extend(u for u in _inputs(manifest, node) if u not in found)
        elif uid not in found:
            found.append(uid)
    return found


def _given(manifest: Manifest, model: ModelNode, item: Any, path: str, where: str, needed: list[NodeId]) -> Given:
    text = str(item.get("input", "")).strip()
    line = item.line
    relation: Relation | External | Ephemeral
    if text == "this":  # an incremental model reading its own previous rows
        node_id, relation = model.unique_id, model.relation
        if not isinstance(relation, Relation):
            raise ProjectError(
                f"{where}: input 'this' is the model's previous rows; an ephemeral model has none.", path, line
            )
    else:
        resolved = resolve_relation_call(manifest.render_env, manifest.by_name, text, path, line)
        if resolved is None:
            raise ProjectError(
                f"{where}: input '{text}' must be ref('model'), source('source', 'table') or this.", path, line
            )
        relation, node_id = resolved
        if node_id not in needed:
            reads = ", ".join(manifest.nodes[u].name for u in needed) or "nothing"
            raise ProjectError(f"{where}: '{model.name}' does not read {text} (it reads {reads}).", path, line)
        if not isinstance(relation, Relation):
            raise ProjectError(
                f"{where}: {text} is read from files in place; unit tests can replace only tables and views.",
                path,
                line,
            )
    return Given(text, node_id, relation, _fixture(manifest, item, path, line, f"{where}, input {text}"))


def _fixture(manifest: Manifest, item: Mapping[str, Any], path: str, line: int | None, where: str) -> Fixture:
    fmt = str(item.get("format") or ("csv" if "fixture" in item else "dict")).lower()
    if "fixture" in item:
        file = _fixture_file(manifest, str(item["fixture"]), path, line, where)
        return _csv_rows(file.read_text(encoding="utf-8"))
    rows = item.get("rows")
    if fmt == "csv":
        if not isinstance(rows, str):
            raise ProjectError(f"{where}: format csv needs `rows: |` followed by CSV text with a header.", path, line)
        return _csv_rows(rows)
    if fmt == "sql":
        if not isinstance(rows, str):
            raise ProjectError(f"{where}: format sql needs `rows:` followed by a SELECT.", path, line)
        return Fixture((), (), sql=rows.strip().rstrip(";"))
    if fmt != "dict":
        raise ProjectError(f"{where}: format '{fmt}' is not supported; use dict (the default), csv or sql.", path, line)
    rows = expect_list(rows, "rows", path, line)
    columns: dict[str, None] = {}
    for row in rows:
        if not isinstance(row, dict):
            raise ProjectError(f"{where}: each row must be a mapping such as {{id: 1, name: a}}.", path, line)
        columns.update(dict.fromkeys(str(key) for key in row))
    return Fixture(tuple(columns), tuple(tuple(row.get(c) for c in columns) for row in rows))


def _csv_rows(text: str) -> Fixture:
    reader = csv.reader(io.StringIO(text.strip()))
    header = next(reader, [])
    width = len(header)
    rows = tuple(tuple(cell.strip() or None for cell in (row + [""] * width)[:width]) for row in reader if row)
    return Fixture(tuple(h.strip() for h in header), rows)


def _fixture_file(manifest: Manifest, name: str, path: str, line: int | None, where: str) -> Path:
    config = manifest.project.config
    candidates = []
    for base in config.test_paths:
        folder = config.root / base
        if folder.is_dir():
            candidates.extend(sorted(folder.rglob(f"{name}.csv")))
    if not candidates:
        raise ProjectError(
            f"{where}: fixture '{name}' not found; put {name}.csv under {config.test_paths[0]}/fixtures/.", path, line
        )
    return candidates[0]


def _render_with_overrides(
    manifest: Manifest, model: ModelNode, overrides: Mapping[str, Any], where: str, path: str, line: int | None
) -> str:
    renv = manifest.render_env
    if any(isinstance(manifest.nodes[u].reads_as, Ephemeral) for u in model.depends_on):
        raise ProjectError(f"{where}: overrides are not supported for models that read ephemeral models.", path, line)
    renv = replace(
        renv,
        vars={**renv.vars, **(overrides.get("vars") or {})},
        env_vars={**renv.env_vars, **(overrides.get("env_vars") or {})},
    )
    # A macro override replaces the macro (or is_incremental) by a constant, as in dbt; is_incremental() is
    # false unless the test says otherwise.
    macros = {"is_incremental": False, **(overrides.get("macros") or {})}
    extra = {name: _constant(value) for name, value in macros.items()}
    template = compile_template(renv.env, model.raw_sql, model.path)
    this = model.relation if isinstance(model.relation, Relation) else None
    rendered = render(
        renv, template, model.raw_sql, model.path, this=this, materialized=model.materialized, extra=extra
    )
    return rendered.sql.strip().rstrip(";").strip()


def _constant(value: Any) -> Any:
    return lambda *args, **kwargs: value


def _create_empty(node: SeedNode | ModelNode, cursor: duckdb.DuckDBPyConnection) -> None:
    """A parent as an empty table (a seed, its CSV types sniffed) or a view, so its children's types can be read."""
    try:
        if isinstance(node, SeedNode):
            delimiter = node.config.extra.get("delimiter")
            statement = seed_statement(node.relation, str(node.abs_path), node.config.column_types, delimiter)
            cursor.execute(statement + "\nLIMIT 0")
        else:
            cursor.execute(f"CREATE OR REPLACE VIEW {node.relation} AS\n{node.sql}")
    except duckdb.Error:
        pass  # its children fall back to fixture types


class Sandbox:
    """The in-memory DuckDB that unit tests run in: one per run, with a fresh empty catalog per test.

    It also learns, once, the column names and types of the relations unit tests read, without the warehouse:
    seeds are read from their CSV files with LIMIT 0 and models created as views over them, in DAG order. A relation
    whose types cannot be learned (a source table loaded by another tool) gets the types of its fixture values.
    Attaching a catalog costs far less than opening a database, which matters with many unit tests.
    """

    def __init__(self, manifest: Manifest) -> None:
        self._manifest = manifest
        self._lock = threading.Lock()
        self._database: duckdb.DuckDBPyConnection | None = None
        self._types: dict[str, list[tuple[str, str]]] = {}
        self._count = itertools.count(1)

    def _open(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._database is None:
                database = duckdb.connect()
                self._types = self._learn(database)
                self._database = database
            return self._database

    def types_of(self, uid: str) -> list[tuple[str, str]] | None:
        self._open()
        return self._types.get(uid)

    @contextlib.contextmanager
    def catalog(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection whose default catalog is a new, empty in-memory database, dropped afterwards."""
        cursor = self._open().cursor()
        name = f"ns_unit_{next(self._count)}"
        try:
            cursor.execute(f"ATTACH ':memory:' AS {name}")
            cursor.execute(f"USE {name}")
            yield cursor
        finally:
            cursor.execute("USE memory")
            cursor.execute(f"DETACH {name}")
            cursor.close()

    def close(self) -> None:
        if self._database is not None:
            self._database.close()

    def _learn(self, connection: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
        manifest = self._manifest
        needed = {g.node_id for n in manifest.nodes.values() if isinstance(n, UnitTestNode) for g in n.given}
        wanted = set(needed)
        for uid in needed:
            wanted |= manifest.dag.upstream(uid)
        ordered = [manifest.nodes[uid] for uid in manifest.dag.sorted() if uid in wanted]
        nodes = [n for n in ordered if isinstance(n, SeedNode | ModelNode) and n.built is not None]
        for schema in sorted({built.schema for n in nodes if (built := n.built) is not None}):
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
        # Sniffing a seed's CSV file is the slow part; seeds do not depend on each other, so sniff them in parallel.
        seeds = [node for node in nodes if isinstance(node, SeedNode)]
        with ThreadPoolExecutor(max_workers=max(1, min(len(seeds), os.cpu_count() or 1))) as pool:
            cursors = threading.local()

            def create_seed(node: SeedNode) -> None:
                if not hasattr(cursors, "cursor"):
                    cursors.cursor = connection.cursor()
                _create_empty(node, cursors.cursor)

            list(pool.map(create_seed, seeds))
        for node in nodes:
            if not isinstance(node, SeedNode):
                _create_empty(node, connection)
        types: dict[str, list[tuple[str, str]]] = {}
        for uid in needed:
            relation = manifest.nodes[uid].reads_as
            if isinstance(relation, Relation):
                try:
                    rows = connection.execute(f"DESCRIBE {relation}").fetchall()
                except duckdb.Error:
                    continue
                types[uid] = [(row[0], row[1]) for row in rows]
        return types


def run_model_in_duckdb(connection: duckdb.DuckDBPyConnection, node: UnitTestNode, actual: Relation) -> None:
    """Run the model's SQL on the fixtures loaded in ``connection`` into the table ``actual``."""
    try:
        connection.execute(f"CREATE TABLE {actual} AS\n{node.sql}")
    except duckdb.Error as error:
        first = str(error).strip().splitlines()[0]
        raise NorthstarError(f"model '{node.model_name}' failed on the fixtures: {first}") from None


# Runs a unit test's model on the fixtures of a sandbox catalog into a table there: DuckDB's by default, another
# engine's (Spark) when the test is to show the model's answer on that engine.
ModelRun = Callable[[duckdb.DuckDBPyConnection, UnitTestNode, Relation], None]


def run_unit_test(node: UnitTestNode, sandbox: Sandbox, run_model: ModelRun = run_model_in_duckdb) -> NodeResult:
    """Run the model on its fixtures (in memory, or by ``run_model``) and compare the expected columns as multisets
    of rows."""
    start = time.perf_counter()
    try:
        with sandbox.catalog() as connection:
            for given in node.given:
                types = sandbox.types_of(given.node_id)
                _load(connection, given.relation, given.fixture, types, f"input {given.input}")
            actual = Relation("main", "__ns_actual")
            run_model(connection, node, actual)
            actual_types = {row[0]: row[1] for row in connection.execute(f"DESCRIBE {actual}").fetchall()}
            expect = _evaluated(connection, node.expect, "expect")
            unknown = [c for c in expect.columns if c not in actual_types]
            if unknown:
                raise NorthstarError(
                    f"expect names column(s) {', '.join(unknown)}, which '{node.model_name}' does not return "
                    f"(it returns {', '.join(actual_types)})."
                )
            expected = Relation("main", "__ns_expected")
            _load(connection, expected, expect, [(c, actual_types[c]) for c in expect.columns], "expect")
            columns = ", ".join(quote(c) for c in expect.columns)
            missing = connection.execute(
                f"SELECT {columns} FROM {expected} EXCEPT ALL SELECT {columns} FROM {actual} ORDER BY ALL"
            ).fetchall()
            unexpected = connection.execute(
                f"SELECT {columns} FROM {actual} EXCEPT ALL SELECT {columns} FROM {expected} ORDER BY ALL"
            ).fetchall()
    except (NorthstarError, duckdb.Error) as error:
        text = error.message if isinstance(error, NorthstarError) else str(error).strip().splitlines()[0]
        fault = ProjectError(f"Unit test {node.name} on {node.model_name}: {text}", node.path, node.line)
        return NodeResult(node.unique_id, "error", str(fault), time.perf_counter() - start, error=fault)
    elapsed = time.perf_counter() - start
    failures = len(missing) + len(unexpected)
    if not failures:
        return NodeResult(node.unique_id, "pass", "", elapsed, failures=0)
    message = _failure_message(node, list(expect.columns), missing, unexpected)
    return NodeResult(
        node.unique_id,
        "fail",
        message,
        elapsed,
        failures=failures,
        details={"test_type": "unit", "missing": len(missing), "unexpected": len(unexpected)},
    )


def _failure_message(
    node: UnitTestNode, columns: list[str], missing: list[tuple[Any, ...]], unexpected: list[tuple[Any, ...]]
) -> str:
    where = f"{node.path}:{node.line}" if node.line else node.path
    counts = [f"{len(missing)} missing row{'s' if len(missing) != 1 else ''}"] if missing else []
    if unexpected:
        counts.append(f"{len(unexpected)} unexpected row{'s' if len(unexpected) != 1 else ''}")
    lines = [f"Unit test {node.name} on {node.model_name} ({where}): {', '.join(counts)}."]
    for title, rows in (
        ("Missing (expected, not returned)", missing),
        ("Unexpected (returned, not expected)", unexpected),
    ):
        if rows:
            lines.append(f"  {title}:")
            lines.extend("    " + line for line in format_table(columns, rows).splitlines())
    return "\n".join(lines)


def _evaluated(connection: duckdb.DuckDBPyConnection, fixture: Fixture, what: str) -> Fixture:
    """A ``format: sql`` fixture as rows (its query runs in the sandbox); other fixtures as they are."""
    if fixture.sql is None:
        return fixture
    try:
        connection.execute(fixture.sql)
    except duckdb.Error as error:
        raise NorthstarError(f"{what}: its SQL fails: {str(error).strip().splitlines()[0]}") from None
    columns = tuple(d[0] for d in connection.description)
    return Fixture(columns, tuple(connection.fetchall()))


def _load(
    connection: duckdb.DuckDBPyConnection,
    relation: Relation,
    fixture: Fixture,
    types: list[tuple[str, str]] | None,
    what: str,
) -> None:
    """Create ``relation`` holding the fixture rows, with the real relation's column types when known."""
    fixture = _evaluated(connection, fixture, what)
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(relation.schema)}")
    table = exp.Table(this=exp.to_identifier(relation.identifier), db=exp.to_identifier(relation.schema))
    if types:
        known = dict(types)
        unknown = [c for c in fixture.columns if c not in known]
        if unknown:
            raise NorthstarError(
                f"{what} has column(s) {', '.join(unknown)}, which {relation} does not have "
                f"(its columns: {', '.join(known)})."
            )
        data_types = {c: exp.DataType.build(t, dialect="duckdb", udt=True) for c, t in types}
        schema = exp.Schema(
            this=table, expressions=[exp.ColumnDef(this=exp.to_identifier(c), kind=data_types[c]) for c, _ in types]
        )
        connection.execute(exp.Create(this=schema, kind="TABLE").sql(dialect="duckdb"))
        if fixture.rows:
            rows = [
                tuple(exp.cast(exp.convert(v), data_types[c]) for c, v in zip(fixture.columns, row, strict=False))
                for row in fixture.rows
            ]
            statement = exp.insert(exp.values(rows), table, columns=list(fixture.columns))
            connection.execute(statement.sql(dialect="duckdb"))
        return
    if not fixture.columns:
        raise NorthstarError(f"{what} gives no columns, and {relation}'s columns are unknown; write the header row.")
    if not fixture.rows:
        select: exp.Expression = exp.select(*(exp.cast(exp.null(), "VARCHAR").as_(c) for c in fixture.columns)).limit(0)
    else:
        select = exp.select("*").from_(exp.values(fixture.rows, alias="fixture", columns=list(fixture.columns)))
    connection.execute(exp.Create(this=table, kind="TABLE", expression=select).sql(dialect="duckdb"))
