"""dbt exposures as nodes of the manifest: what reads the project, joined to the DAG by its ``depends_on``.

An exposure is never built. Its edges let ``-s +exposure:weekly_report`` select (and build) everything a dashboard
reads, ``metrics ls`` list it, and manifest.json describe it as dbt does. ``depends_on`` takes ``ref('model')``,
``source('src', 'table')`` and ``metric('name')``; a name that is no node is an error naming the file and line.

>>> metric_name("metric('revenue')")
'revenue'
>>> metric_name("ref('orders')") is None
True
"""

from __future__ import annotations

import ast
import dataclasses

from northstar.dag import DAG
from northstar.errors import CompileError, did_you_mean
from northstar.nodes import ExposureNode, MetricNode, NodeId
from northstar.project.loader import Exposure
from northstar.render.manifest import Manifest
from northstar.render.refs import resolve_relation_call


def metric_name(text: str) -> str | None:
    """The metric ``metric('name')`` names (also inside ``{{ }}``), or None for another call."""
    body = text.strip().removeprefix("{{").removesuffix("}}").strip()
    try:
        tree = ast.parse(body, mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "metric"):
        return None
    if len(tree.args) != 1 or tree.keywords or not isinstance(tree.args[0], ast.Constant):
        return None
    value = tree.args[0].value
    return value if isinstance(value, str) else None


def add_exposures(manifest: Manifest, metrics_loaded: bool) -> Manifest:
    """``manifest`` with an :class:`ExposureNode` per exposure. Without ``metrics_loaded`` (commands that leave the
    metrics out), ``metric()`` dependencies are not checked and not in the DAG."""
    exposures = manifest.project.exposures
    if not exposures:
        return manifest
    nodes = dict(manifest.nodes)
    parents = dict(manifest.dag.parents)
    for exposure in exposures:
        node = _node(manifest, exposure, metrics_loaded)
        nodes[node.unique_id] = node
        parents[node.unique_id] = frozenset(node.depends_on)
    return dataclasses.replace(manifest, nodes=nodes, dag=DAG(parents))


def _node(manifest: Manifest, exposure: Exposure, metrics_loaded: bool) -> ExposureNode:
    package = exposure.package or manifest.project.config.name
    depends: list[NodeId] = []
    for text, line in exposure.depends_on:
        name = metric_name(text)
        if name is None:
            found = resolve_relation_call(manifest.render_env, manifest.by_name, text, exposure.path, line)
            if found is None:
                raise CompileError(
                    f"Exposure '{exposure.name}' depends on {text!r}: write ref('model'), source('source', 'table') "
                    "or metric('name').",
                    exposure.path,
                    line,
                )
            depends.append(found[1])
        elif metrics_loaded:
            metrics = {n.name: uid for uid, n in manifest.nodes.items() if isinstance(n, MetricNode)}
            if name not in metrics:
                raise CompileError(
                    f"Exposure '{exposure.name}' depends on metric('{name}'), which is no metric."
                    f"{did_you_mean(name, metrics)}",
                    exposure.path,
                    line,
                )
            depends.append(metrics[name])
    return ExposureNode(
        unique_id=NodeId("exposure", package, exposure.name),
        name=exposure.name,
        path=exposure.path,
        line=exposure.line,
        depends_on=tuple(dict.fromkeys(depends)),
        description=exposure.description,
        exposure_type=exposure.type,
        owner=exposure.owner,
        label=exposure.label,
        maturity=exposure.maturity,
        url=exposure.url,
        exposure_tags=exposure.tags,
        meta=exposure.meta,
    )
