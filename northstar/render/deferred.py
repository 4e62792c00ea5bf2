"""Render a model whose SQL depends on what the warehouse holds (it calls ``run_query``,
``adapter.get_columns_in_relation``...), once its parents are built: during a build on the working copy, for
``metrics compile`` on the published warehouse. Both only read.

>>> node = render_model(manifest, manifest.node("orders_pivoted"), cursor)   # doctest: +SKIP
>>> node.sql                                                                  # doctest: +SKIP
'select id, sum(case when status = ...'
"""

from __future__ import annotations

from collections.abc import Iterable
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


def render_on_published(manifest: Manifest, uids: Iterable[NodeId]) -> Manifest:
    """For ``metrics compile``: the models among ``uids`` that query the warehouse while rendering, rendered against
    the published warehouse read-only, as ``dbt compile`` does; an error saying what to build first if a model's
    parents are not there yet."""
    wanted = [uid for uid in uids if uid in manifest.deferred]
    if not wanted:
        return manifest
    config = manifest.project.config
    rendered: dict[NodeId, Node] = {}
    first = manifest.nodes[wanted[0]]
    if config.target.type != "duckdb":
        raise ProjectError(
            f"{_why(first)}; the {config.target.type} engine does not render models against its tables yet. "
            "Compile it with a DuckDB target."
        )
    if not config.warehouse.exists():
        raise ProjectError(f"{_why(first)}, and {config.warehouse.name} does not exist yet. {_build_first(first)}")
    with duckdb.connect(str(config.warehouse), read_only=True) as connection:
        existing = catalog.relations(connection)
        for uid in wanted:
            node = manifest.nodes[uid]
            assert isinstance(node, ModelNode)  # only models are deferred
            missing = [
                parent.name
                for parent in (manifest.nodes[p] for p in node.depends_on)
                if parent.built is not None and (parent.built.schema, parent.built.identifier) not in existing
            ]
            if missing:
                verb = "is" if len(missing) == 1 else "are"
                raise ProjectError(
                    f"{_why(node)}, and {', '.join(missing)} {verb} not built in {config.warehouse.name} yet. "
                    f"{_build_first(node)}"
                )
            rendered[uid] = render_model(manifest, node, connection)
    return replace(manifest, nodes={**manifest.nodes, **rendered})


def _why(node: Node) -> str:
    call = node.introspects.describe() if isinstance(node, ModelNode) and node.introspects else "run_query()"
    return (
        f"{node.path}: Model '{node.name}' calls {call}, so its SQL depends on what its parents hold in the "
        "warehouse (dbt compile reads them too)"
    )


def _build_first(node: Node) -> str:
    return f"Build its parents first: `metrics build -s +{node.name} --exclude {node.name}`, then compile again."
