"""Render a model whose SQL depends on what the warehouse holds (it calls ``run_query``,
``adapter.get_columns_in_relation``...), once its parents are built: during a build on the working copy, for
``metrics compile`` on the published warehouse. Both only read.

>>> node = render_model(manifest, manifest.node("orders_pivoted"), cursor)   # doctest: +SKIP
>>> node.sql                                                                  # doctest: +SKIP
'select id, sum(case when status = ...'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

import duckdb

from northstar.errors import CompileError, ProjectError
from northstar.nodes import ModelNode, Node, NodeId, SourceNode
from northstar.render.introspect import Live
from northstar.render.jinja import Edges, Relation, render
from northstar.render.manifest import Manifest, inline_ephemeral_parents
from northstar.warehouse import catalog


def render_model(manifest: Manifest, node: ModelNode, cursor: duckdb.DuckDBPyConnection) -> ModelNode:
    """``node`` with its SQL rendered against what ``cursor`` sees (one round trip per introspecting call); the
    node itself if its SQL was rendered up front."""
    deferred = manifest.deferred.get(node.unique_id)
    if deferred is None:
        return node
    renv = manifest.render_env
    this = node.relation if isinstance(node.relation, Relation) else None
    database = str(renv.target["database"])
    introspector = Live(cursor, node.path, read_only=True, database=database)
    result = render(
        renv,
        deferred.template,
        node.raw_sql,
        node.path,
        this=this,
        materialized=node.materialized,
        package=deferred.package,
        full_refresh=node.config.full_refresh,
        introspector=introspector,
        edges=_edges(manifest, node),
    )
    sql = result.sql.strip().rstrip(";").strip()
    if not sql:
        raise CompileError(
            f"Model '{node.name}' rendered empty once it queried the warehouse: a model is one select statement.",
            node.path,
        )
    return inline_ephemeral_parents(_with_sql(node, sql), manifest.nodes, manifest.dag)


def _edges(manifest: Manifest, node: ModelNode) -> Edges:
    parents = [manifest.nodes[uid] for uid in node.depends_on]
    refs = {parent.name for parent in parents if not isinstance(parent, SourceNode)}
    sources = {(parent.source_name, parent.name) for parent in parents if isinstance(parent, SourceNode)}
    return Edges(node.name, frozenset(refs), frozenset(sources))


def _with_sql(node: ModelNode, sql: str) -> ModelNode:
    return replace(node, sql=sql)


def render_on_published(
    manifest: Manifest, uids: Iterable[NodeId] | None = None, warn: Callable[[str], None] | None = None
) -> Manifest:
    """The models among ``uids`` (default: all) that query the warehouse while rendering, rendered against the
    published warehouse read-only, as ``dbt compile`` does. When one cannot be (its parents are not built there
    yet): an error saying what to build first, or with ``warn`` (lineage, docs) a warning that it keeps the SQL
    dbt's parse gives."""
    wanted = [uid for uid in (manifest.nodes if uids is None else uids) if uid in manifest.deferred]
    if not wanted:
        return manifest
    config = manifest.project.config
    rendered: dict[NodeId, Node] = {}

    def cannot(node: Node, reason: str, fix: str) -> None:
        if warn is None:
            raise ProjectError(f"{_why(node)}, and {reason}. {fix}")
        warn(f"{_why(node)}, and {reason}: its SQL here is the one dbt's parse gives.")

    existing: set[tuple[str, str]] = set()
    connection = None
    if config.target.type != "duckdb":
        reason, fix = f"the {config.target.type} engine does not render models against its tables yet", "Use DuckDB."
    elif not config.warehouse.exists():
        reason, fix = f"{config.warehouse.name} does not exist yet", ""
    else:
        connection = duckdb.connect(str(config.warehouse), read_only=True)
        existing = set(catalog.relations(connection))
    try:
        for uid in wanted:
            node = manifest.nodes[uid]
            assert isinstance(node, ModelNode)  # only models are deferred
            if connection is None:
                cannot(node, reason, fix or _build_first(node))
                continue
            missing = [
                parent.name
                for parent in (manifest.nodes[p] for p in node.depends_on)
                if parent.built is not None and (parent.built.schema, parent.built.identifier) not in existing
            ]
            if missing:
                verb = "is" if len(missing) == 1 else "are"
                where = f"{', '.join(missing)} {verb} not built in {config.warehouse.name} yet"
                cannot(node, where, _build_first(node))
                continue
            rendered[uid] = render_model(manifest, node, connection)
    finally:
        if connection is not None:
            connection.close()
    return replace(manifest, nodes={**manifest.nodes, **rendered})


def _why(node: Node) -> str:
    call = node.introspects.describe() if isinstance(node, ModelNode) and node.introspects else "run_query()"
    return (
        f"{node.path}: Model '{node.name}' calls {call}, so its SQL depends on what its parents hold in the "
        "warehouse (read there, as dbt compile does)"
    )


def _build_first(node: Node) -> str:
    return f"Build its parents first: `metrics build -s +{node.name} --exclude {node.name}`, then compile again."
