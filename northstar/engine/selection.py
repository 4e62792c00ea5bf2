"""dbt's node selection syntax over the DAG.

Spaces (or repeated ``--select``) mean union, commas mean intersection. Each term is a method and a value with
optional graph operators: ``name``, ``+name`` (and its ancestors), ``name+`` (and descendants), ``2+name``,
``@name``, ``tag:x``, ``path:models/marts``, ``source:raw.orders``, ``resource_type:seed``,
``config.materialized:table``, ``fqn:*``, ``exposure:weekly_report``, and wildcards in names (``stg_*``).

>>> from northstar.dag import DAG
>>> dag = DAG({"a": set(), "b": {"a"}, "c": {"b"}})
>>> sorted(select(dag, lambda term: {n for n in dag if n == term}, ["+b"]))
['a', 'b']
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import TypeVar

from northstar.dag import DAG
from northstar.errors import ProjectError, did_you_mean
from northstar.nodes import ExposureNode, ModelNode, Node, NodeId, SourceNode, TestNode

K = TypeVar("K", bound=str)

_TERM = re.compile(r"^(?P<at>@)?(?:(?P<up>\d*)\+)?(?P<body>[^+]+?)(?:\+(?P<down>\d*))?$")

METHODS = (
    "tag",
    "path",
    "source",
    "resource_type",
    "config",
    "fqn",
    "file",
    "state",
    "test_type",
    "metric",
    "exposure",
    "version",
)


def _expand(dag: DAG[K], nodes: set[K], match: re.Match[str]) -> set[K]:
    result = set(nodes)
    if match.group("at"):
        for node in nodes:
            down = dag.downstream(node) | {node}
            result |= down
            for child in down:
                result |= dag.upstream(child)
        return result
    if match.group("up") is not None:
        depth = int(match.group("up")) if match.group("up") else None
        for node in nodes:
            result |= dag.upstream(node, depth)
    if match.group("down") is not None:
        depth = int(match.group("down")) if match.group("down") else None
        for node in nodes:
            result |= dag.downstream(node, depth)
    return result


def select(dag: DAG[K], resolve: Callable[[str], set[K]], select: Sequence[str], exclude: Sequence[str] = ()) -> set[K]:
    """Node ids chosen by ``select`` minus ``exclude``; ``resolve`` maps one bare term to node ids."""

    def evaluate(expressions: Sequence[str]) -> set[K]:
        chosen: set[K] = set()
        for expression in expressions:
            for union_term in expression.split():
                parts = [part for part in union_term.split(",") if part]
                sets = [_term(part) for part in parts]
                chosen |= set.intersection(*sets) if sets else set()
        return chosen

    def _term(term: str) -> set[K]:
        match = _TERM.match(term)
        if not match:
            raise ProjectError(f"Cannot parse selector '{term}'. Examples: orders, +orders, orders+, tag:daily.")
        return _expand(dag, resolve(match.group("body")), match)

    chosen = evaluate(select) if select else set(dag)
    return chosen - evaluate(exclude) if exclude else chosen


def resolver(
    nodes: Mapping[NodeId, Node], state_modified: Callable[[str], set[NodeId]] | None = None
) -> Callable[[str], set[NodeId]]:
    """Resolve one selector term against manifest nodes."""

    def resolve(body: str) -> set[NodeId]:
        method, sep, value = body.partition(":")
        if not sep:
            return _by_name(nodes, body)
        if not value:
            raise ProjectError(f"Selector '{body}' needs a value after the colon, e.g. tag:daily or path:models/marts.")
        if method.startswith("config."):
            key = method.split(".", 1)[1]
            return {uid for uid, n in nodes.items() if n.config_values and str(n.config_values.get(key)) == value}
        if method == "state":
            if state_modified is None:
                raise ProjectError("state: selectors need --state DIR (a folder holding a previous manifest.json).")
            if value not in ("modified", "new"):
                raise ProjectError(f"Unknown state selector 'state:{value}'. Use state:modified or state:new.")
            return state_modified(value)
        if not method:  # ":name" reads as the bare name
            return _by_name(nodes, value)
        match = _MATCHERS.get(method)
        if match is None:
            raise ProjectError(
                f"Unknown selector method '{method}:'. Use one of: {', '.join(m + ':' for m in METHODS)}."
            )
        return {uid for uid, n in nodes.items() if match(uid, n, value)}

    return resolve


def _by_name(nodes: Mapping[NodeId, Node], value: str) -> set[NodeId]:
    """A bare selector: a name (glob), else a path, else (dotted) a fully qualified name."""
    found = {uid for uid, n in nodes.items() if fnmatch.fnmatchcase(n.display_name, value) or uid == value}
    found |= {uid for uid, n in nodes.items() if isinstance(n, ModelNode) and _model_of_version(n, value)}
    if not found:
        found = {uid for uid, n in nodes.items() if _path_matches(n.path, value, False)}
    if not found and "." in value:  # dbt reads a dotted name as a fully qualified one: marts.fct_orders
        found = {uid for uid, n in nodes.items() if _fqn_matches(uid, n, value)}
    if not found:
        names = sorted({n.name for n in nodes.values()})
        raise ProjectError(f"--select '{value}' matches no node.{did_you_mean(value, names)}")
    return found


def _tag_matches(uid: NodeId, node: Node, value: str) -> bool:
    return value in node.tags


def _folder_matches(uid: NodeId, node: Node, value: str) -> bool:
    return _path_matches(node.path, value.rstrip("/"), False)


def _file_matches(uid: NodeId, node: Node, value: str) -> bool:
    return _path_matches(node.path, value.rstrip("/"), True)


def _source_matches(uid: NodeId, node: Node, value: str) -> bool:
    return isinstance(node, SourceNode) and fnmatch.fnmatch(node.display_name, value if "." in value else f"{value}.*")


def _exposure_matches(uid: NodeId, node: Node, value: str) -> bool:
    return isinstance(node, ExposureNode) and fnmatch.fnmatchcase(node.name, value)


def _model_of_version(node: ModelNode, value: str) -> bool:
    """A bare model name selects all its versions, as in dbt."""
    return node.version is not None and fnmatch.fnmatchcase(node.version.model, value)


def _version_matches(uid: NodeId, node: Node, value: str) -> bool:
    """``version:latest``, ``prerelease``, ``old`` (versions of a versioned model) or ``none`` (any other model)."""
    if value not in ("latest", "prerelease", "old", "none"):
        raise ProjectError(f"Unknown selector 'version:{value}'. Use version:latest, prerelease, old or none.")
    if not isinstance(node, ModelNode):
        return False
    return node.version.kind == value if node.version else value == "none"


def _kind_matches(uid: NodeId, node: Node, value: str) -> bool:
    return node.kind == value


def _test_type_matches(uid: NodeId, node: Node, value: str) -> bool:
    return isinstance(node, TestNode) and node.test_type == value


def _fqn_matches(uid: NodeId, node: Node, value: str) -> bool:
    """dbt's fqn: project, folders under the model/seed path, name; ``marts`` or ``growth.marts.fct_*`` match a prefix.

    >>> from northstar.render.jinja import Relation
    >>> uid, relation = NodeId("source", "growth", "raw.orders"), Relation("raw", "orders")
    >>> path = "models/raw/sources.yml"
    >>> node = SourceNode(unique_id=uid, name="orders", source_name="raw", path=path, relation=relation)
    >>> [_fqn_matches(uid, node, v) for v in ("raw", "growth.raw.orders", "staging")]
    [True, True, False]
    """
    parts = value.split(".")
    fqn = (uid.package, *PurePosixPath(node.path).parts[1:-1], node.name)
    for full in (fqn, fqn[1:]):
        if len(parts) <= len(full) and all(
            fnmatch.fnmatchcase(f, p) for f, p in zip(full[: len(parts)], parts, strict=True)
        ):
            return True
    return len(parts) == 1 and fnmatch.fnmatchcase(node.name, value)


# The selector methods that test one node at a time (config.*, state: and bare names are resolved above).
_MATCHERS: dict[str, Callable[[NodeId, Node, str], bool]] = {
    "tag": _tag_matches,
    "path": _folder_matches,
    "file": _file_matches,
    "source": _source_matches,
    "resource_type": _kind_matches,
    "fqn": _fqn_matches,
    "test_type": _test_type_matches,
    "exposure": _exposure_matches,
    "version": _version_matches,
}


def _path_matches(path: str, value: str, exact: bool) -> bool:
    if exact:
        return path == value or path.endswith("/" + value)
    return path == value or path.startswith(value + "/") or fnmatch.fnmatch(path, value)
