"""``metrics build``/``run``/``seed``/``test`` on a Spark target: the DuckDB pipeline's steps, on Spark.

project -> manifest (render, DAG: the same as on DuckDB) -> selection -> each node translated and run on Spark, into
a build folder of its own -> the catalog of record replaced in one rename, only when every node succeeded.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from northstar.checks import datatests
from northstar.checks.unittests import Sandbox
from northstar.console import Reporter
from northstar.engine import pipeline
from northstar.engine.execute import BLOCKING, NodeResult, run_dag
from northstar.engine.manifest import load_manifest
from northstar.engine.pipeline import BuildOptions, BuildResult
from northstar.errors import ProjectError
from northstar.nodes import MetricNode, ModelNode, NodeId, SnapshotNode
from northstar.project.loader import Project
from northstar.render.manifest import Manifest
from northstar.spark import catalog, session
from northstar.spark.runners import SparkBuild
from northstar.spark.transpile import to_spark_or_note
from northstar.warehouse import state, working_copy


@dataclass(frozen=True)
class _Shared:
    """run_dag gives each worker thread a cursor; on Spark every thread submits its jobs to the one session."""

    session: Any

    def cursor(self) -> Any:
        return self.session


def build(project: Project, options: BuildOptions | None = None, reporter: Reporter | None = None) -> BuildResult:
    """Build the selected nodes on the project's Spark target and publish them if everything succeeded."""
    options = options or BuildOptions()
    reporter = reporter or Reporter(quiet=True)
    config = project.config
    target = config.target
    assert target.spark is not None, "a spark target"
    _refuse_unsupported(options, target.name)
    location = target.spark.location
    started = time.perf_counter()
    with working_copy.build_lock(target.path, options.wait, reporter.waiting):
        published = catalog.read(location)
        existing = {(e.schema, e.name): "VIEW" if e.kind == "view" else "BASE TABLE" for e in published.entries}
        manifest = load_manifest(project, existing=existing, full_refresh=options.full_refresh, warn=reporter.waiting)
        selected = pipeline.select_nodes(manifest, options)
        _refuse_dbt_features(manifest, selected, target.name)
        plan = _plan(manifest, selected, published, existing, options.full_refresh)
        spark = session.start(target)
        build_id = time.strftime("b%Y%m%d_%H%M%S_") + uuid.uuid4().hex[:8]  # a valid Spark name part
        try:
            catalog.register(spark, location, published, private=target.spark.remote is None)
            catalog.forget(spark)  # the build declares its new tables in the session as it goes
            work = SparkBuild(spark, location, build_id, published, Sandbox(manifest), plan, options.full_refresh)
            run = work.runner()
            reporter.begin(
                len(selected),
                {uid: manifest.nodes[uid].name for uid in selected},
                pipeline.found(manifest, selected, options),
            )

            def run_node(uid: NodeId, _session: Any) -> NodeResult:
                return run(manifest.nodes[uid])

            dag = datatests.build_dag(manifest, selected) if options.command == "build" else manifest.dag
            results = run_dag(dag, selected, run_node, _Shared(spark), target.threads, on_result=reporter.result)
            success = not any(r.status in BLOCKING for r in results)
            if success and work.built:
                published = published.with_entries(build_id, work.built)
                catalog.publish(location, published)
            else:
                catalog.abandon(location, build_id)
            if success and target.spark.remote is None:
                # The session holds the published catalog (what it held, plus what the build declared): a query in
                # this process does not declare it all again.
                catalog.remember(spark, location, published)
        except BaseException:
            catalog.abandon(location, build_id)
            raise
    elapsed = time.perf_counter() - started
    pipeline.write_artifacts(manifest, results, elapsed, options, translate=to_spark_or_note)
    shown = f"target '{target.name}' ({location})"
    kept = sum(1 for r in results if r.details.get("state") == state.UNCHANGED)
    if not success:
        tail = f"Nothing published: {shown} is unchanged."
    elif not work.built:
        tail = f"Nothing changed: {shown} is up to date." if kept else f"Nothing to publish on {shown}."
    else:
        tail = f"Published {shown}" + (f" ({kept} unchanged, kept)." if kept else ".")
    reporter.summary(results, tail)
    return BuildResult(manifest, tuple(results), elapsed, success, target.path)


def _plan(
    manifest: Manifest,
    selected: list[NodeId],
    published: catalog.Catalog,
    existing: Mapping[tuple[str, str], str],
    full_refresh: bool,
) -> state.Plan:
    """As on DuckDB, a selected seed, model or metric table is kept when the published catalog holds it built from
    the same inputs: its entry records the fingerprint it would be built with now."""
    previous: dict[NodeId, state.Stored] = {}
    for uid, node in manifest.nodes.items():
        relation = node.built
        entry = published.entry(relation.schema, relation.identifier) if relation is not None else None
        if entry is None or not entry.fingerprint:
            continue
        # The same fingerprint means the same SQL: whether it calls now() or random() is read from today's SQL.
        calls_volatile = isinstance(node, ModelNode | MetricNode) and state.volatile(node)
        previous[uid] = state.Stored(uid, node.kind, entry.key, entry.fingerprint, "", calls_volatile)
    # A table another tool keeps in Spark's catalog cannot be versioned cheaply: what reads it is always rebuilt.
    versions = state.versions_of_sources(manifest, lambda relation: f"unknown:{uuid.uuid4()}")
    return state.plan_build(manifest, selected, previous, existing, versions, full_refresh)


def run_tests(project: Project, options: BuildOptions | None = None, reporter: Reporter | None = None) -> BuildResult:
    """Run the selected tests against the tables published on the Spark target."""
    options = options or BuildOptions()
    target = project.config.target
    assert target.spark is not None
    if not catalog.read(target.spark.location).entries:
        raise ProjectError(
            f"Nothing is built on target '{target.name}' yet, so there is nothing to test. "
            f"Run `metrics build --target {target.name}` first."
        )
    return build(project, replace(options, kinds=frozenset({"test"}), command="test"), reporter)


def _refuse_unsupported(options: BuildOptions, target: str) -> None:
    if options.store_failures:
        raise ProjectError(
            f"--store-failures keeps failing rows in the DuckDB warehouse; target '{target}' runs on Spark, which "
            "has no such schema yet. Run the tests without it, or on the DuckDB target."
        )
    if options.state is not None:
        raise ProjectError(f"state: selection compares DuckDB builds; it is not available on target '{target}'.")


def _refuse_dbt_features(manifest: Manifest, selected: list[NodeId], target: str) -> None:
    """What the Spark engine cannot do yet, refused by name before anything runs: run hooks, models whose Jinja
    queries the warehouse while rendering, hooks with Jinja (rendered against DuckDB's context)."""
    config = manifest.project.config
    for key, hooks in (("on-run-start", config.on_run_start), ("on-run-end", config.on_run_end)):
        if hooks:
            raise ProjectError(
                f"'{key}' hooks run on DuckDB targets only; target '{target}' runs on Spark. Build on a DuckDB "
                "target, or remove the hooks.",
                config.config_file.name,
                hooks[0].line,
            )
    for uid in selected:
        node = manifest.nodes[uid]
        if isinstance(node, SnapshotNode):
            raise ProjectError(
                f"Snapshot '{node.name}' cannot run on target '{target}': the Spark engine does not build snapshots "
                "yet. Run `metrics snapshot` on a DuckDB target, or leave it out with --exclude "
                f"{node.name}.",
                node.path,
                node.line,
            )
        if not isinstance(node, ModelNode):
            continue
        if node.introspects is not None:
            raise ProjectError(
                f"Model '{node.name}' calls {node.introspects.describe()}, which queries the warehouse while "
                f"rendering; the Spark engine does not render models against its tables yet (target '{target}'). "
                "Build it on a DuckDB target.",
                node.path,
                node.introspects.line,
            )
        if any("{{" in h.sql or "{%" in h.sql for h in (*node.config.pre_hook, *node.config.post_hook)):
            raise ProjectError(
                f"Model '{node.name}' has a pre_hook/post_hook with Jinja; the Spark engine runs hooks as written "
                f"and does not render them yet (target '{target}'). Write the hook without Jinja, or build on a "
                "DuckDB target.",
                node.path,
            )
