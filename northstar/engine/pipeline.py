"""The build pipeline as one library function per CLI command: build, run, seed, test.

project -> manifest (render, DAG) -> selection -> execute into a private copy -> publish -> artifacts.
A build that fails anywhere leaves the published warehouse exactly as it was.

>>> result = build(load_project(Path(".")), BuildOptions(select=("+fct_orders",)))  # doctest: +SKIP
>>> result.success                                                                    # doctest: +SKIP
True
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb

from northstar.checks import datatests
from northstar.checks import run as testrun
from northstar.checks.documented import missing_documented_columns
from northstar.console import Reporter
from northstar.engine import artifacts, dbt_manifest, selection
from northstar.engine.execute import (
    BLOCKING,
    BuildContext,
    NodeResult,
    build_model,
    build_seed,
    check_source,
    run_dag,
)
from northstar.engine.hooks import render_model_hooks, run_hooks
from northstar.engine.manifest import load_manifest
from northstar.engine.snapshots import build_snapshot
from northstar.errors import NorthstarError, ProjectError
from northstar.lineage.schemas import Columns
from northstar.metrics.nodes import run_metric
from northstar.nodes import MetricNode, ModelNode, Node, NodeId, SeedNode, SnapshotNode, SourceNode, TestNode
from northstar.project.loader import Project
from northstar.project.settings import ProjectConfig
from northstar.render.deferred import render_model
from northstar.render.manifest import Manifest
from northstar.warehouse import catalog, state, storage
from northstar.warehouse import working_copy as warehouse

# Runs one node inside the working copy.
Runner = Callable[[Node, duckdb.DuckDBPyConnection, BuildContext], NodeResult]


@dataclass(frozen=True)
class BuildOptions:
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    kinds: frozenset[str] = frozenset({"seed", "model"})
    full_refresh: bool = False
    wait: bool = True
    command: str = "build"
    state: Path | None = None  # a previous run's target/, for state: selectors
    store_failures: bool = False  # keep every data test's failing rows in the test_failures schema
    junit_xml: Path | None = None  # also write the test results as a JUnit XML report here


@dataclass(frozen=True)
class BuildResult:
    manifest: Manifest
    results: tuple[NodeResult, ...]
    elapsed: float
    published: bool
    warehouse: Path

    @property
    def success(self) -> bool:
        return not any(r.status in BLOCKING for r in self.results)

    def result(self, name: str) -> NodeResult:
        uid = self.manifest.by_name.get(name, name)
        return next(r for r in self.results if r.unique_id == uid)


def make_runner(
    manifest: Manifest, store_failures: bool = False, rendered: dict[NodeId, ModelNode] | None = None
) -> Runner:
    """The runner of one invocation: each node runs by its type. A model whose SQL queries the warehouse renders
    now, against what its parents hold, and its hooks render now (into ``rendered``, for the artifacts)."""
    run_test = testrun.make_runner(manifest, store_failures)

    def build(node: ModelNode, cursor: duckdb.DuckDBPyConnection, context: BuildContext) -> NodeResult:
        start = time.perf_counter()
        try:
            node = render_model(manifest, node, cursor)
            if rendered is not None and node.introspects is not None:
                rendered[node.unique_id] = node
            node = render_model_hooks(manifest, node, cursor)
        except NorthstarError as error:
            return NodeResult(node.unique_id, "error", str(error), time.perf_counter() - start, error=error)
        return build_model(node, cursor, context)

    def run(node: Node, cursor: duckdb.DuckDBPyConnection, context: BuildContext) -> NodeResult:
        match node:
            case SeedNode():
                try:
                    seed = render_model_hooks(manifest, node, cursor)
                except NorthstarError as error:
                    return NodeResult(node.unique_id, "error", str(error), error=error)
                return build_seed(seed, cursor, context)
            case ModelNode():
                return build(node, cursor, context)
            case SourceNode():
                return check_source(node, cursor, context)
            case TestNode():
                return run_test(node, cursor)
            case MetricNode():
                return run_metric(node, cursor, context)
            case SnapshotNode():
                return build_snapshot(node, cursor, context)
        raise TypeError(f"No runner for {type(node).__name__} nodes")  # a kind declared but not built yet

    return run


def select_nodes(
    manifest: Manifest, options: BuildOptions, state_modified: Callable[[str], set[NodeId]] | None = None
) -> list[NodeId]:
    """The unique ids to run, in DAG order: ``--select``/``--exclude`` (``state_modified`` answers
    ``state:modified``), plus the tests of the chosen nodes when tests are among ``options.kinds``, as dbt's
    indirect selection does; only nodes of those kinds."""
    resolve = selection.resolver(manifest.nodes, state_modified)
    chosen = selection.select(manifest.dag, resolve, options.select, options.exclude)
    if "test" in options.kinds:  # dbt's indirect selection: the tests of the chosen nodes come along
        excluded = selection.select(manifest.dag, resolve, options.exclude) if options.exclude else set()
        chosen = datatests.with_tests(manifest, chosen, excluded)
    return [uid for uid in manifest.dag.sorted() if uid in chosen and manifest.nodes[uid].kind in options.kinds]


def build(project: Project, options: BuildOptions = BuildOptions(), reporter: Reporter | None = None) -> BuildResult:
    """Build the selected nodes into a private copy of the warehouse and publish it if everything succeeded.

    What to rebuild is decided on the published file first, opened read-only: when every selected node is kept and
    the tests only read, they run right there and nothing is copied, whatever the file's size.
    """
    reporter = reporter or Reporter(quiet=True)
    config = project.config
    started = time.perf_counter()
    with warehouse.build_lock(config.warehouse, options.wait, reporter.waiting):
        warehouse.clean_stale(config.warehouse)
        warned: list[str] = []
        planned = _plan_on_published(project, options, reporter, warned)
        if isinstance(planned, _Outcome):
            outcome = planned
        else:
            outcome = _build_in_copy(project, options, reporter, planned, warned)
    elapsed = time.perf_counter() - started
    manifest, results = outcome.manifest, outcome.results
    write_artifacts(manifest, results, elapsed, options, columns=outcome.columns.get("published"))
    reporter.summary(results, _build_tail(config, results, outcome.success, outcome.up_to_date, outcome.failures))
    return BuildResult(manifest, tuple(results), elapsed, outcome.success, config.warehouse)


@dataclass(frozen=True)
class _Prepared:
    """A compiled project and its plan against one state of the warehouse file (``base``)."""

    existing: Mapping[tuple[str, str], str]
    manifest: Manifest
    selected: list[NodeId]
    plan: _Plan
    base: warehouse.Identity
    # A full refresh that makes again everything the file holds: the build starts from an empty file, not a copy.
    remakes_all: bool = False


@dataclass(frozen=True)
class _Outcome:
    manifest: Manifest
    results: list[NodeResult]
    success: bool
    up_to_date: bool
    failures: Path | None
    # The columns of the published file as the build leaves it, under "published" when the build knows them (not
    # after a failure, nor when other tools' changes were merged in while publishing): the manifest's lineage needs
    # them and need not open the file again.
    columns: dict[str, Columns]


def _prepare(
    connection: duckdb.DuckDBPyConnection,
    project: Project,
    options: BuildOptions,
    warn: Callable[[str], None],
    base: warehouse.Identity,
) -> _Prepared:
    existing = warehouse.relations_in(connection)
    # Compiled against the file being built, so is_incremental() sees exactly the tables the build will.
    manifest = load_manifest(project, existing=existing, full_refresh=options.full_refresh, warn=warn)
    modified = state.modified_selector(manifest, options.state) if options.state else None
    selected = select_nodes(manifest, options, modified)
    plan = _plan(connection, manifest, selected, existing, base, options.full_refresh)
    return _Prepared(existing, manifest, selected, plan, base)


def _plan_on_published(
    project: Project, options: BuildOptions, reporter: Reporter, warned: list[str]
) -> _Prepared | _Outcome | None:
    """Plan on the published file, read-only. If the plan writes nothing, run it there (the outcome); else hand the
    plan to :func:`_build_in_copy`, which reuses it if the copy is of the same file. None: no plan (no file yet, a
    file to convert or to recover, or one DuckDB cannot open)."""
    config = project.config
    with warehouse.read_published(config.warehouse, reporter.waiting) as snapshot:
        if snapshot is None:
            return None

        def warn(message: str) -> None:
            warned.append(message)
            reporter.waiting(message)

        with ThreadPoolExecutor(max_workers=1) as background:
            # A full refresh starts from a new file if the published one holds only what it makes again. Listing
            # what it holds takes DuckDB ~12 ms (it walks its built-in functions to find macros), without the GIL:
            # on its own cursor, it runs while the manifest compiles.
            found = background.submit(_objects, snapshot.connection) if options.full_refresh else None
            prepared = _prepare(snapshot.connection, project, options, warn, snapshot.base)
            manifest, selected, plan = prepared.manifest, prepared.selected, prepared.plan
            if found is not None and _remakes_all(found.result(), manifest, selected):
                return replace(prepared, remakes_all=True)  # a new file, made in the wanted format
        probe = config.warehouse.with_name(f".{config.warehouse.name}.probe")
        if not storage.in_format(snapshot.connection, config.target.storage_version, probe):
            return None  # the copy converts it
        if options.full_refresh:
            return prepared
        if not _reads_only(manifest, selected, plan.state.kept, options.store_failures):
            return prepared
        _begin(reporter, manifest, selected, options)
        results, manifest = _execute(
            snapshot.connection, manifest, selected, plan, prepared.existing, options, reporter
        )
        success = not any(r.status in BLOCKING for r in results)
        failures = _conclude(snapshot.connection, manifest, results, plan, success, options.store_failures)
        if success:
            state.remember_versions(config.target_dir, snapshot.base, manifest=manifest, versions=plan.versions)
        columns = {"published": catalog.all_columns(snapshot.connection)}  # what it held, and holds still
        return _Outcome(manifest, results, success, success, failures, columns)


def _objects(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        return catalog.objects(cursor)


def _remakes_all(objects: list[tuple[str, str, str]], manifest: Manifest, selected: list[NodeId]) -> bool:
    """Whether a full refresh of ``selected`` makes again all the ``objects`` a file holds (:func:`catalog.objects`):
    each table and view is one a selected seed, model or metric rebuilds, each schema one of theirs, and nothing else
    is there (no snapshot's history, no other tool's table, macro, sequence or type, no model kept by
    ``full_refresh: false``)."""
    remade: set[tuple[str, str]] = set()
    for uid in selected:
        node = manifest.nodes[uid]
        if isinstance(node, ModelNode) and node.config.full_refresh is False:
            return False
        if isinstance(node, SeedNode | ModelNode | MetricNode) and node.built is not None:
            remade.add((node.built.schema.lower(), node.built.identifier.lower()))
    schemas = {schema for schema, _ in remade} | {state.SCHEMA}
    for kind, schema, name in objects:
        schema, name = schema.lower(), name.lower()
        if kind == "schema":
            mine = schema in schemas
        elif kind in ("table", "view"):
            mine = (schema, name) in remade
        else:  # the build's record of what it made is a macro in its own schema
            mine = kind == "macro" and schema == state.SCHEMA
        if not mine:
            return False
    return True


def _reads_only(manifest: Manifest, selected: list[NodeId], kept: frozenset[NodeId], store_failures: bool) -> bool:
    """Whether running ``selected`` writes nothing: every node kept, or a source, or a test that stores no rows, and
    no run hook (which may write anything)."""
    config = manifest.project.config
    if config.on_run_start or config.on_run_end:
        return False
    for uid in selected:
        node = manifest.nodes[uid]
        if uid in kept or isinstance(node, SourceNode):
            continue
        if isinstance(node, TestNode) and not (store_failures or _stores_failures(node)):
            continue
        return False
    return True


def _build_in_copy(
    project: Project, options: BuildOptions, reporter: Reporter, planned: _Prepared | None, warned: list[str]
) -> _Outcome:
    """Build into a private copy and publish it if everything succeeded; ``planned`` is reused when the copy was
    taken of the very file it was planned on (else the plan is made again on the copy)."""
    config = project.config
    replaced = planned.base if planned is not None and planned.remakes_all else None
    with warehouse.draft_of(config.warehouse, reporter.waiting, replaced) as draft:
        with _open(draft.path, config, reporter.waiting) as connection:
            if planned is not None and planned.base == draft.base:
                prepared = planned
            else:  # another tool wrote in between: plan again, without repeating the warnings already given

                def warn(message: str) -> None:
                    if message not in warned:
                        reporter.waiting(message)

                prepared = _prepare(connection, project, options, warn, draft.base)
            manifest, selected, plan = prepared.manifest, prepared.selected, prepared.plan
            _begin(reporter, manifest, selected, options)
            results, manifest = _execute(connection, manifest, selected, plan, prepared.existing, options, reporter)
            success = not any(r.status in BLOCKING for r in results)
            # Read once, for the warnings and for the manifest's lineage (recording the build adds no columns).
            built = catalog.all_columns(connection)
            for warning in missing_documented_columns(built, manifest, selected):
                reporter.waiting(f"Warning: {warning}")
            failures = _conclude(connection, manifest, results, plan, success, options.store_failures)
        # Asked before publishing, which drops an untouched copy: the summary then says nothing changed.
        up_to_date = success and draft.untouched()
        columns: dict[str, Columns] = {}
        if success:
            remember = functools.partial(
                state.remember_versions, config.target_dir, manifest=manifest, versions=plan.versions
            )

            def published(identity: warehouse.Identity) -> None:  # called unless other tools' changes were merged
                remember(identity)
                columns["published"] = built

            draft.publish_on_exit(_owned(manifest, plan.previous), published)
    return _Outcome(manifest, results, success, up_to_date, failures, columns)


@dataclass(frozen=True)
class _Plan:
    """What the warehouse holds before a build and what the build will do about it."""

    previous: Mapping[NodeId, state.Stored]  # the fingerprints the copy records
    versions: Mapping[NodeId, str]  # the data versions of the sources other tools load
    state: state.Plan  # every node's fingerprint, and which nodes are kept


def _plan(
    connection: duckdb.DuckDBPyConnection,
    manifest: Manifest,
    selected: list[NodeId],
    existing: Mapping[tuple[str, str], str],
    base: warehouse.Identity,
    full_refresh: bool,
) -> _Plan:
    previous = state.stored(connection)
    known = state.remembered_versions(manifest.project.config.target_dir, base)
    versions = state.source_versions(connection, manifest, existing, known)
    return _Plan(previous, versions, state.plan_build(manifest, selected, previous, existing, versions, full_refresh))


def _execute(
    connection: duckdb.DuckDBPyConnection,
    manifest: Manifest,
    selected: list[NodeId],
    plan: _Plan,
    existing: Mapping[tuple[str, str], str],
    options: BuildOptions,
    reporter: Reporter,
) -> tuple[list[NodeResult], Manifest]:
    """Run the selected nodes, keeping those the plan keeps; each model's tests run right after it, and its
    children wait for the error-severity ones. The project's run hooks run first and last. Returns the results and
    the manifest with the SQL the models that query the warehouse rendered to."""
    rendered: dict[NodeId, ModelNode] = {}
    runner = make_runner(manifest, options.store_failures, rendered)
    context = BuildContext(existing=existing, full_refresh=options.full_refresh)

    def run_node(uid: NodeId, cursor: duckdb.DuckDBPyConnection) -> NodeResult:
        node = manifest.nodes[uid]
        if uid in plan.state.kept:  # already in the copy, built from the same inputs
            return NodeResult(uid, "success", state.kept_message(node), details={"state": state.UNCHANGED})
        return runner(node, cursor, context)

    dag = datatests.build_dag(manifest, selected)
    threads = manifest.project.config.target.threads
    run_hooks(manifest, connection, "on-run-start")
    results = run_dag(dag, selected, run_node, connection, threads, on_result=reporter.result)
    run_hooks(manifest, connection, "on-run-end", results)
    if rendered:
        manifest = replace(manifest, nodes={**manifest.nodes, **rendered})
    return results, manifest


def _begin(reporter: Reporter, manifest: Manifest, selected: list[NodeId], options: BuildOptions) -> None:
    reporter.begin(
        len(selected), {uid: manifest.nodes[uid].name for uid in selected}, found(manifest, selected, options)
    )


def _conclude(
    connection: duckdb.DuckDBPyConnection,
    manifest: Manifest,
    results: list[NodeResult],
    plan: _Plan,
    success: bool,
    store_failures: bool,
) -> Path | None:
    """Record what a successful build made; after a failure, which publishes nothing, keep the failing rows where
    they can be inspected (the file, if any)."""
    if success:
        made = [r.unique_id for r in results if manifest.nodes[r.unique_id].keepable]
        state.record(connection, manifest, plan.state.built(made), plan.previous)
        return None
    return testrun.keep_failures(connection, manifest, results, manifest.project.config.target_dir, store_failures)


def _build_tail(
    config: ProjectConfig, results: list[NodeResult], success: bool, up_to_date: bool, failures: Path | None
) -> str:
    """The summary's last words: what became of the published warehouse."""
    shown = _display(config.warehouse, config.root)
    kept = sum(1 for r in results if r.details.get("state") == state.UNCHANGED)
    if not success:
        tail = f"Nothing published: {shown} is unchanged."
    elif up_to_date:
        tail = f"Nothing changed: {shown} is up to date."
    else:
        tail = f"Published {shown}" + (f" ({kept} unchanged, kept)." if kept else ".")
    if failures is not None:
        tail += f" Failing rows of the tests are in {_display(failures, config.root)}."
    return tail


def run_tests(
    project: Project, options: BuildOptions = BuildOptions(), reporter: Reporter | None = None
) -> BuildResult:
    """Run the selected tests against the published warehouse (unit tests against their fixtures only).

    Tests only read, so the published file is opened read-only, unless failing rows are to be stored: then the
    tests run in a private copy that is published afterwards, whatever the tests found, since the stored rows
    are the point.
    """
    reporter = reporter or Reporter(quiet=True)
    config = project.config
    options = replace(options, kinds=frozenset({"test"}))
    started = time.perf_counter()
    manifest = load_manifest(project, warn=reporter.waiting)
    selected = select_nodes(manifest, options)
    # Unit tests (of models and of metrics) run on fixtures alone: they need no warehouse.
    data_tests = [uid for uid in selected if manifest.nodes[uid].reads_warehouse]
    if data_tests and not config.warehouse.exists():
        raise ProjectError(
            f"{_display(config.warehouse, config.root)} does not exist yet, so there is nothing to test. "
            "Run `metrics build` first, or run only unit tests: `metrics test -s test_type:unit`."
        )
    reporter.begin(
        len(selected), {uid: manifest.nodes[uid].name for uid in selected}, found(manifest, selected, options)
    )
    runner = make_runner(manifest, options.store_failures)
    context = BuildContext(existing={})

    def run_test(uid: NodeId, cursor: duckdb.DuckDBPyConnection) -> NodeResult:
        return runner(manifest.nodes[uid], cursor, context)

    threads = config.target.threads
    store = any(options.store_failures or _stores_failures(manifest.nodes[uid]) for uid in data_tests)
    if not store:
        try:
            connection = duckdb.connect(str(config.warehouse), read_only=True) if data_tests else duckdb.connect()
        except duckdb.Error as error:
            raise ProjectError(f"Cannot open {config.warehouse} to test it: {error}") from None
        try:
            results = run_dag(manifest.dag, selected, run_test, connection, threads, on_result=reporter.result)
        finally:
            connection.close()
        tail = ""
    else:  # published whatever the tests found: the stored rows are the point
        with warehouse.working_copy(config.warehouse, options.wait, reporter.waiting) as draft:
            with _open(draft.path, config, reporter.waiting) as connection:
                results = run_dag(manifest.dag, selected, run_test, connection, threads, on_result=reporter.result)
                previous = state.stored(connection)
            draft.publish_on_exit(_owned(manifest, previous))
        tail = f"Failing rows are in schema {datatests.FAILURES_SCHEMA} of {_display(config.warehouse, config.root)}."
    elapsed = time.perf_counter() - started
    write_artifacts(manifest, results, elapsed, options)
    reporter.summary(results, tail)
    return BuildResult(manifest, tuple(results), elapsed, store, config.warehouse)


def _owned(manifest: Manifest, previous: Mapping[NodeId, state.Stored]) -> frozenset[tuple[str, str]]:
    """Relations this project builds or built before, and the tables of stored test failures: all others belong to
    other tools."""
    owned = {(node.built.schema, node.built.identifier) for node in manifest.nodes.values() if node.built}
    owned.update(row.relation for row in previous.values() if row.relation)
    return frozenset(owned) | datatests.failure_relations(manifest)


def _stores_failures(node: Node) -> bool:
    return isinstance(node, TestNode) and node.config.store_failures


def _open(work: Path, config: ProjectConfig, on_note: Callable[[str], None]) -> duckdb.DuckDBPyConnection:
    """Open the working copy in the project's storage format (converting it if it is in another); a published file
    DuckDB cannot read is a project error, not a crash."""
    published, root = config.warehouse, config.root
    try:
        return storage.open_for_build(work, config.target.storage_version, on_note, _display(published, root))
    except duckdb.Error as error:
        reason = str(error).replace(str(work), str(published)).splitlines()[0]
        raise ProjectError(
            f"Cannot build into {_display(published, root)}: {reason} Move the file away, or set `warehouse:` to "
            "another path, and build again."
        ) from None


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def found(manifest: Manifest, selected: list[NodeId], options: BuildOptions) -> str:
    """The header line: ``Found 1 seed, 2 models.``, or why there is nothing to do (a typo'd tag: selects nothing)."""
    counts: dict[str, int] = {}
    for uid in selected:
        kind = manifest.nodes[uid].kind
        counts[kind] = counts.get(kind, 0) + 1
    if counts:
        order = [
            "seed",
            "model",
            "snapshot",
            "test",
            "metric",
        ]  # a stable order, not the DAG's (which varies as models change)
        kinds = sorted(counts, key=lambda kind: order.index(kind) if kind in order else len(order))
        return "Found " + ", ".join(f"{counts[k]} {k}{'s' if counts[k] != 1 else ''}" for k in kinds) + "."
    if options.select or options.exclude:
        given = " ".join([*(f"--select {s}" for s in options.select), *(f"--exclude {e}" for e in options.exclude)])
        only = {"seed": "seed", "run": "model", "test": "test", "snapshot": "snapshot"}.get(options.command)
        if only:  # `metrics run -s some_seed` selects a node, just not one this command runs
            return (
                f"Nothing to do: no {only} matches {given} (`metrics {options.command}` runs {only}s only). "
                "`metrics ls` lists the nodes."
            )
        return f"Nothing to do: no node matches {given}. `metrics ls` lists the nodes."
    what = {"seed": "seeds", "run": "models", "test": "tests", "snapshot": "snapshots"}.get(
        options.command, "seeds, models, snapshots or metrics"
    )
    return f"Nothing to do: the project has no {what}."


def write_artifacts(
    manifest: Manifest,
    results: list[NodeResult],
    elapsed: float,
    options: BuildOptions,
    translate: Callable[[str], str] | None = None,
    columns: Columns | None = None,
) -> None:
    """``target/``: the compiled SQL (as ``translate`` makes it for another engine), manifest.json, run_results.json
    and the JUnit report when asked for. ``columns``: the warehouse's, when the build knows them (see ``_Outcome``)."""
    target = manifest.project.config.target_dir
    # As dbt-duckdb names them: "warehouse"."marts"."fct_orders" (files read in place: the expression reading them).
    database = dbt_manifest.database_name(manifest)
    relations = {
        uid: name
        for uid, node in manifest.nodes.items()
        if (name := dbt_manifest.relation_name(database, node.reads_as)) is not None
    }
    args: dict[str, Any] = {
        "which": options.command,
        "select": list(options.select),
        "exclude": list(options.exclude),
        "full_refresh": options.full_refresh,
    }
    artifacts.write_compiled(manifest, target, translate=translate)
    artifacts.write_manifest(manifest, target, columns=columns)
    artifacts.write_run_results(target, results, elapsed, manifest.render_env.invocation_id, args, relations)
    if options.junit_xml is not None:
        from northstar.checks.junit import write_junit  # imported when asked for: its XML library costs 2 ms

        write_junit(options.junit_xml, manifest, results, elapsed)
