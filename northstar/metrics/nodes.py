"""Metrics as nodes of the build DAG: ``metrics build`` materializes each one into schema ``metrics``.

A metric node reads the models of its semantic models, so it runs after them (and after their error-severity
tests), in parallel with the other metrics; a failing metric fails the build, which then publishes nothing. Each
table holds the metric at its default grain and dimensions, with table and column comments from the YAML, so BI
tools read ``metrics.churn_rate`` without knowing any of this. The metric's own tests become ``test`` nodes
(:mod:`northstar.metrics.checks`).

>>> manifest = load_manifest(project)                                        # doctest: +SKIP
>>> manifest.node("north_star").relation                                      # doctest: +SKIP
Relation(schema='metrics', identifier='north_star')
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

import duckdb

from northstar.dag import DAG
from northstar.engine.execute import BuildContext, NodeResult, document_statements, row_count, run_together
from northstar.engine.materialize import create_statement
from northstar.errors import CompileError, ExecutionError, NorthstarError, ProjectError
from northstar.metrics.build_cache import CACHE_FILE, MetricBuildCache, semantic_key
from northstar.nodes import MetricNode, NodeId
from northstar.project.loader import Column
from northstar.render.jinja import Relation
from northstar.render.manifest import Manifest

if TYPE_CHECKING:  # the metric compiler is imported when metrics are built, not with this module
    from northstar.metrics.request import Request
    from northstar.metrics.resolve import Semantics
    from northstar.metrics.spec import Metric

SCHEMA = "metrics"


def add_metrics(manifest: Manifest, warn: Callable[[str], None] | None = None) -> Manifest:
    """The manifest with a ``metric`` node per metric and a ``test`` node per metric test (nothing if none).

    A metric using a MetricFlow feature Northstar does not build yet gets no table: ``warn`` hears once which ones
    and why, and every other metric is built."""
    project = manifest.project
    if not any("metrics" in doc.data or "saved_queries" in doc.data for doc in project.yaml_docs):
        return manifest
    # Imported only now: the metric compiler and sqlglot's DuckDB generator cost ~45 ms of start-up that a
    # project without metrics need not pay.
    from northstar.metrics import load_semantics, semantic_docs
    from northstar.metrics.checks import metric_tests
    from northstar.metrics.compile import default_request

    sem = load_semantics(manifest)
    docs = semantic_docs(project)  # what load_semantics read
    relations = {name: str(relation) for name, relation in sorted(sem.relations.items())}
    cache = MetricBuildCache(project.config.target_dir / CACHE_FILE, semantic_key(docs, relations))
    prefix = project.config.name
    relation_owner = {
        (node.built.schema, node.built.identifier): uid
        for uid, node in manifest.nodes.items()
        if node.built is not None and node.feeds_fingerprints
    }
    relation_owner.update({(SCHEMA, metric.name): NodeId("metric", prefix, metric.name) for metric in sem.spec.metrics})
    nodes = dict(manifest.nodes)
    by_name = dict(manifest.by_name)
    parents: dict[NodeId, Iterable[NodeId]] = dict(manifest.dag.parents)
    added = []
    refused = []
    for metric in sem.spec.metrics:
        uid = NodeId("metric", prefix, metric.name)
        problem = sem.refusal(metric)
        if problem is not None:
            refused.append(str(problem))
            continue
        request = default_request(metric, sem)
        sql = cache.sql(metric.name, functools.partial(_sql, sem, metric, request))
        # Every relation the SQL reads, not only the semantic models' own: a filter or a dimension joined through an
        # entity (user__segment) reads another model, and a change there must rebuild this table.
        reads = [
            owner
            for model_name in sem.info(metric).models
            if (relation := sem.relations.get(model_name)) is not None
            and (owner := relation_owner.get((relation.schema, relation.identifier)))
        ]
        reads += read_nodes(sql, relation_owner, cache)
        node = MetricNode(
            unique_id=uid,
            name=metric.name,
            path=metric.where.path,
            line=metric.where.line,
            metric_type=metric.type,
            sql=sql,
            relation=Relation(SCHEMA, metric.name),
            depends_on=tuple(dict.fromkeys(reads)),
            description=_table_doc(metric),
            columns=tuple(Column(name, doc) for name, doc in column_docs(sem, metric, request).items()),
        )
        nodes[uid] = node
        by_name.setdefault(metric.name, uid)  # a model or seed of the same name keeps the bare name
        parents[uid] = node.depends_on
        added.append(node)
    if sem.spec.broken and warn is not None:
        count = len(sem.spec.broken)
        warn(
            f"{count} semantic model{'s' if count > 1 else ''} with a mistake (the metrics reading "
            f"{'them' if count > 1 else 'it'} are skipped):\n  " + "\n  ".join(str(m.error) for m in sem.spec.broken)
        )
    if refused and warn is not None:
        warn(
            f"{len(refused)} metric{'s' if len(refused) > 1 else ''} not materialized (their tables and tests are "
            "skipped; every other metric is built):\n  " + "\n  ".join(refused)
        )
    exports, unanswered = _exports(sem, prefix, relation_owner)
    for node in exports:
        nodes[node.unique_id] = node
        parents[node.unique_id] = node.depends_on
    if unanswered and warn is not None:
        warn(
            f"{len(unanswered)} saved quer{'ies' if len(unanswered) > 1 else 'y'} cannot be answered (their exports "
            "are skipped; everything else is built):\n  " + "\n  ".join(unanswered)
        )
    for test in metric_tests(sem, {n.name: n for n in added}, prefix):
        if test.name in by_name:
            raise ProjectError(
                f"Two tests (or a test and a node) are named '{test.name}'. Give the metric test a unique `name:`.",
                test.path,
                test.line,
            )
        # A test comparing with another metric's query reads that metric's models: it runs after them.
        reads = read_nodes(test.sql, relation_owner, cache)
        test = replace(test, depends_on=tuple(dict.fromkeys([*test.depends_on, *reads])))
        nodes[test.unique_id] = test
        by_name[test.name] = test.unique_id
        parents[test.unique_id] = test.depends_on
    cache.save()
    return replace(manifest, nodes=nodes, dag=DAG(parents), by_name=by_name, semantics=sem)


def _exports(
    sem: Semantics, prefix: str, relation_owner: dict[tuple[str, str], NodeId]
) -> tuple[list[MetricNode], list[str]]:
    """A node per export of every saved query (its rows as a table or view), and why a saved query is left out.

    Every saved query is compiled, exports or not, so a mistake in one is reported by the build (as a warning: it
    blocks nothing else) rather than the first time someone asks for it."""
    from northstar.metrics.compile import compile_request
    from northstar.metrics.request import Request

    made: list[MetricNode] = []
    problems: list[str] = []
    for query in sem.spec.saved_queries:
        if not query.enabled:
            continue
        try:
            sql = compile_request(sem, Request((), saved_query=query.name))
        except NorthstarError as error:
            problems.append(str(error))
            continue
        for export in query.exports:
            relation = Relation(export.schema or SCHEMA, export.alias or export.name)
            uid = NodeId("saved_query", prefix, f"{query.name}.{export.name}")
            owner = relation_owner.get((relation.schema, relation.identifier))
            if owner is not None:
                problems.append(
                    str(
                        CompileError(
                            f"Export '{export.name}' of saved query '{query.name}' would write {relation}, which "
                            f"{owner} builds. Give the export another `alias:` or `schema:`.",
                            query.where.path,
                            export.line,
                        )
                    )
                )
                continue
            relation_owner[(relation.schema, relation.identifier)] = uid
            made.append(
                MetricNode(
                    unique_id=uid,
                    name=f"{query.name}.{export.name}",
                    path=query.where.path,
                    line=export.line,
                    metric_type="saved_query",
                    # The header makes export_as part of the node's fingerprint: table <-> view rebuilds it.
                    sql=f"-- saved query {query.name}, export {export.name} as {export.export_as}\n{sql}",
                    relation=relation,
                    depends_on=tuple(read_nodes(sql, relation_owner)),
                    description=query.description or f"Saved query {query.name}.",
                    materialized=export.export_as,
                )
            )
    return made, problems


def read_nodes(
    sql: str, owners: Mapping[tuple[str, str], NodeId], cache: MetricBuildCache | None = None
) -> list[NodeId]:
    """The nodes owning the warehouse relations a query reads (CTE names and unknown tables are left out)."""
    tables = cache.tables(sql, functools.partial(_tables, sql)) if cache is not None else _tables(sql)
    return list(dict.fromkeys(owner for table in tables if (owner := owners.get(table)) is not None))


def _tables(sql: str) -> list[tuple[str, str]]:
    """``(schema, name)`` of every table a query names, in order."""
    import sqlglot
    from sqlglot import exp

    return [(table.db, table.name) for table in sqlglot.parse_one(sql, dialect="duckdb").find_all(exp.Table)]


def _sql(sem: Semantics, metric: Metric, request: Request) -> str:
    from northstar.metrics.compile import compile_request

    try:
        return compile_request(sem, request)
    except ProjectError as error:  # a request-level mistake: here it is the metric's defaults
        raise CompileError(
            f"Metric '{metric.name}' cannot be materialized at its defaults: {error.message} Set `defaults:` "
            "(grain, by) on the metric.",
            metric.where.path,
            metric.where.line,
        ) from None


def _table_doc(metric: Metric) -> str:
    parts = [metric.description or metric.name]
    if metric.formula:
        parts.append(f"Formula: {metric.formula}")
    if metric.owner:
        parts.append(f"Owner: {metric.owner}")
    return " ".join(p.strip().rstrip(".") + "." for p in parts)


def column_docs(sem: Semantics, metric: Metric, request: Request) -> dict[str, str]:
    """A comment for each column of a metric's table: metric time, dimensions, values."""
    from northstar.metrics.plan import parse_by
    from northstar.metrics.spec import FunnelParams, PyramidParams, UpliftParams

    docs: dict[str, str] = {}
    measures = [sem.model_of(m.name) for m in sem.measure_inputs(metric)]
    times = sorted(
        {
            f"{model.name}.{sem.agg_time(model, m.name).name}"
            for model, m in zip(measures, sem.measure_inputs(metric), strict=True)
        }
    )
    for group in parse_by(request.by, metric.default_grain or "day", sem.custom_grains):
        if group.is_time:
            docs[group.column] = f"Start of the {group.grain} (UTC) of the metric time ({', '.join(times)})."
        else:
            try:
                ref = sem.dimension(measures[0], group.dimension, metric, "defaults.by")
                text = (ref.dimension.description if ref.dimension else "") or f"The {ref.name} of {ref.owner.name}."
            except NorthstarError:
                text = f"Dimension {group.name}."
            docs[group.column] = text
    p = metric.params
    value = _table_doc(metric)
    if isinstance(p, FunnelParams):
        for i, step in enumerate(p.steps):
            docs[step.name] = f"Step {i + 1}: {p.entity}s reaching '{step.name}'."
            if i:
                docs[f"{step.name}_rate"] = f"Share of step {i} reaching step {i + 1}."
        docs[metric.name] = f"Share of step 1 reaching the last step. {value}"
    elif isinstance(p, UpliftParams) and p.outcomes:
        level = round(p.confidence * 100)
        docs["treatment_members"] = "Members in the treatment group."
        docs["control_members"] = "Members in the control group."
        for outcome in p.outcomes:
            what = (
                f"{outcome.measure.name} per member"
                if outcome.measure is not None
                else f"{outcome.numerator.name if outcome.numerator else ''} / "
                f"{outcome.denominator.name if outcome.denominator else ''} over the group"
            )
            docs[f"{outcome.name}_treatment"] = f"Treatment: {what} within {p.window} after exposure."
            docs[f"{outcome.name}_control"] = f"Control: {what} within {p.window} after exposure."
            docs[f"{outcome.name}_uplift"] = f"Treatment minus control of {outcome.name}. {value}"
            docs[f"{outcome.name}_ci{level}_low"] = f"Lower bound of the {level}% confidence interval."
            docs[f"{outcome.name}_ci{level}_high"] = f"Upper bound of the {level}% confidence interval."
    elif isinstance(p, UpliftParams):
        docs.update(
            {
                "treatment_members": "Members in the treatment group.",
                "control_members": "Members in the control group.",
                "treatment_per_member": f"{p.outcome.name} per treatment member within {p.window} after exposure.",
                "control_per_member": f"{p.outcome.name} per control member within {p.window} after exposure.",
                metric.name: f"Treatment minus control per member (absolute). {value}",
                f"{metric.name}_relative": "Uplift relative to the control group.",
            }
        )
        level = round(p.confidence * 100)
        docs[f"{metric.name}_ci{level}_low"] = f"Lower bound of the {level}% confidence interval of the uplift."
        docs[f"{metric.name}_ci{level}_high"] = f"Upper bound of the {level}% confidence interval of the uplift."
    elif isinstance(p, PyramidParams):
        for tier in p.levels:
            span = f"in the {tier.window}" if tier.window else "ever"
            test = (
                f", the fewest bringing {tier.top_share:g} of the total"
                if tier.top_share is not None
                else f", at least {tier.min:g}"
                if tier.min is not None
                else ""
            )
            docs[tier.name] = f"{p.entity}s with {tier.measure.name} {span} up to the period's end{test}."
    else:
        docs[metric.name] = value
    return docs


def run_metric(node: MetricNode, cursor: duckdb.DuckDBPyConnection, context: BuildContext) -> NodeResult:
    """Materialize one metric as a table with its comments; a DuckDB error fails the node, naming the metric file."""
    start = time.perf_counter()
    relation = node.relation
    try:
        with context.schema_lock:
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        if relation.schema != SCHEMA:
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {relation.schema}")
        created = cursor.execute(create_statement(relation, node.sql, node.materialized)).fetchall()
        # CREATE TABLE ... AS answers with its row count: no need to count again (a view is counted).
        table = node.materialized == "table" and created
        rows = int(created[0][0]) if table else row_count(cursor, str(relation))
        docs: Mapping[str, str] = {c.name: c.description for c in node.columns}
        run_together(cursor, document_statements(cursor, relation, node.materialized, node.description, docs))
    except duckdb.Error as error:
        first = str(error).strip().splitlines()[0]
        fault = ExecutionError(f"Metric '{node.name}' failed in DuckDB: {first}", node.path, node.line)
        return NodeResult(node.unique_id, "error", str(fault), time.perf_counter() - start, error=fault)
    done = f"created {node.materialized} {relation}"
    return NodeResult(node.unique_id, "success", done, time.perf_counter() - start, rows=rows)
