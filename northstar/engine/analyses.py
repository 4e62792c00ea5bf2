"""dbt analyses as nodes of the manifest: SELECTs under ``analysis-paths`` that are compiled and never run.

Each renders once, as a model does (``ref()``, ``source()``, ``var()``, macros), and joins the DAG by what it reads,
so ``metrics ls`` lists it, ``metrics compile`` writes it to ``target/compiled/<project>/analyses/`` and
manifest.json describes it as dbt does. No command builds or runs it.
"""

from __future__ import annotations

import dataclasses

from northstar.dag import DAG
from northstar.errors import CompileError
from northstar.nodes import AnalysisNode, NodeId
from northstar.project.config import build_config, merge_config
from northstar.project.loader import ModelFile
from northstar.render.introspect import Introspects, Probe
from northstar.render.jinja import parse_template, prepare_template, render
from northstar.render.manifest import Manifest


def add_analyses(manifest: Manifest) -> Manifest:
    """``manifest`` with an :class:`AnalysisNode` per analysis file."""
    analyses = manifest.project.analyses
    if not analyses:
        return manifest
    nodes = dict(manifest.nodes)
    parents = dict(manifest.dag.parents)
    by_name = dict(manifest.by_name)
    for analysis in analyses:
        node = _node(manifest, analysis)
        if node is None:
            continue
        nodes[node.unique_id] = node
        parents[node.unique_id] = frozenset(node.depends_on)
        by_name.setdefault(node.name, node.unique_id)  # a model of the same name keeps the bare name
    return dataclasses.replace(manifest, nodes=nodes, dag=DAG(parents), by_name=by_name)


def _node(manifest: Manifest, analysis: ModelFile) -> AnalysisNode | None:
    renv = manifest.render_env
    props = analysis.properties
    tree = parse_template(renv.env, analysis.sql, analysis.path)
    try:
        rendered = render(
            renv, prepare_template(renv.env, tree, analysis.path), analysis.sql, analysis.path,
            package=analysis.package, introspector=Probe(),
        )  # fmt: skip
    except Introspects as signal:
        raise CompileError(
            f"Analysis '{analysis.name}' queries the warehouse while rendering ({signal.call}); Northstar compiles "
            "analyses before anything is built. Write the query without it.",
            analysis.path,
            signal.line,
        ) from None
    where = f"Analysis '{analysis.name}'"
    config = build_config(
        merge_config(props.config if props else {}, dict(rendered.config)),
        "view",
        where,
        props.path if props else analysis.path,
        None,
    )
    if not config.enabled:
        return None
    depends = [manifest.by_name[name] for name in rendered.refs]
    depends += [manifest.by_name[f"{s}.{t}"] for s, t in rendered.sources]
    return AnalysisNode(
        unique_id=NodeId("analysis", analysis.package or manifest.project.config.name, analysis.name),
        name=analysis.name,
        path=analysis.path,
        raw_sql=analysis.sql,
        sql=rendered.sql.strip(),
        config=config,
        depends_on=tuple(dict.fromkeys(depends)),
        description=props.description if props else "",
        columns=props.columns if props else (),
        package=analysis.package,
        yaml_path=props.path if props else None,
    )
