"""Walking the lineage from a node or column, and printing it as a tree, JSON, Mermaid or Graphviz dot."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from northstar.errors import NorthstarError, ProjectError, did_you_mean
from northstar.lineage.graph import ROWS, ColumnRef, Lineage, NodeLineage
from northstar.lineage.project import project_lineage
from northstar.render.manifest import Manifest


@dataclass(frozen=True)
class Branch:
    """One line of a lineage tree: a column reached through an edge of ``kind``, and what it reaches in turn."""

    ref: ColumnRef
    kind: str  # value, filter, rows; "" for the starting columns
    children: tuple[Branch, ...] = ()
    repeated: bool = False  # already expanded above: not expanded again


def walk(lineage: Lineage, uid: str, column: str | None, upstream: bool = True, depth: int | None = None) -> Branch:
    """The tree of columns ``uid.column`` reads (``upstream``) or feeds, ``depth`` edges deep at most.

    Without a column, the root is the node and its children are its columns (and its rows, when they depend on
    anything), so ``depth`` counts from the columns.
    """
    step = lineage.parents if upstream else lineage.children
    expanded: set[ColumnRef] = set()

    def grow(ref: ColumnRef, kind: str, level: int) -> Branch:
        if ref in expanded:
            return Branch(ref, kind, (), repeated=bool(step(ref)))
        expanded.add(ref)
        if depth is not None and level >= depth:
            return Branch(ref, kind)
        return Branch(ref, kind, tuple(grow(r, k, level + 1) for k, r in step(ref)))

    if column is not None:
        return grow(ColumnRef(uid, column), "", 0)
    starts = [ColumnRef(uid, c) for c in lineage.columns_of(uid)]
    rows = ColumnRef(uid, ROWS)
    if step(rows):
        starts.append(rows)
    return Branch(ColumnRef(uid, ""), "", tuple(grow(ref, "", 0) for ref in starts))


def _edges(lineage: Lineage, branch: Branch, upstream: bool) -> list[tuple[ColumnRef, ColumnRef, str]]:
    """``(from, to, kind)`` in the direction data flows, each edge once."""
    found: dict[tuple[ColumnRef, ColumnRef], str] = {}
    stack = [branch]
    while stack:
        item = stack.pop()
        for child in item.children:
            if item.ref.column != "":
                pair = (child.ref, item.ref) if upstream else (item.ref, child.ref)
                found.setdefault(pair, child.kind)
            stack.append(child)
    ordered = sorted(found.items(), key=lambda e: (lineage.label(e[0][0]), lineage.label(e[0][1])))
    return [(a, b, kind) for (a, b), kind in ordered]


def _line_label(lineage: Lineage, branch: Branch, upstream: bool) -> str:
    if branch.ref.column == "":
        node = lineage.graph[branch.ref.node]
        return f"{node.name} ({node.kind.replace('_', ' ')})"
    text = lineage.label(branch.ref)
    if branch.kind == "filter":
        text += " [filter]" if upstream else " [as a filter]"
    if branch.repeated:
        text += " (see above)"
    return text


def format_tree(lineage: Lineage, branch: Branch, upstream: bool = True) -> str:
    """The tree as text, then the raw columns it reads (upstream) or the columns it feeds (downstream)."""
    lines = [_line_label(lineage, branch, upstream)]

    def draw(item: Branch, prefix: str) -> None:
        for position, child in enumerate(item.children):
            last = position == len(item.children) - 1
            lines.append(prefix + ("└── " if last else "├── ") + _line_label(lineage, child, upstream))
            draw(child, prefix + ("    " if last else "│   "))

    draw(branch, "")
    if upstream:
        raw = sorted(lineage.label(r) for r in lineage.raw_columns(branch.ref.node, branch.ref.column or None))
        lines.append("")
        lines.append(f"Reads {len(raw)} raw column{'s' if len(raw) != 1 else ''}:" + "".join(f"\n  {r}" for r in raw))
    else:
        starts = [branch.ref] if branch.ref.column else [c.ref for c in branch.children]
        every = set().union(*(lineage.downstream(r) for r in starts)) if starts else set()
        fed = sorted(lineage.label(r) for r in every - set(starts) if r.column not in ("", ROWS))
        lines.append("")
        lines.append(f"Feeds {len(fed)} column{'s' if len(fed) != 1 else ''}:" + "".join(f"\n  {r}" for r in fed))
    problems = lineage.unresolved(branch.ref.node) if upstream else {}
    if problems:
        lines.append("Unresolved:" + "".join(f"\n  {name}: {why}" for name, why in sorted(problems.items())))
    return "\n".join(lines)


def _kind(lineage: Lineage, uid: str) -> str:
    return lineage.graph[uid].kind if uid in lineage.graph else ""


def format_json(lineage: Lineage, branch: Branch, upstream: bool = True) -> str:
    edges = _edges(lineage, branch, upstream)
    reached = {r for a, b, _ in edges for r in (a, b)}
    root = branch.ref
    data: dict[str, object] = {
        "node": root.node,
        "name": lineage.graph[root.node].name,
        "resource_type": _kind(lineage, root.node),
        "column": root.column or None,
        "direction": "upstream" if upstream else "downstream",
        "edges": [{"from": lineage.label(a), "to": lineage.label(b), "kind": kind} for a, b, kind in edges],
        "columns": sorted(lineage.label(r) for r in reached if r.column not in ("", ROWS)),
    }
    if upstream:
        data["raw_columns"] = sorted(lineage.label(r) for r in lineage.raw_columns(root.node, root.column or None))
        data["unresolved"] = lineage.unresolved(root.node)
    return json.dumps(data, indent=2)


def _graph_id(lineage: Lineage, ref: ColumnRef) -> str:
    text = lineage.label(ref).replace(" (rows)", "__rows")
    return "".join(ch if ch.isalnum() else "_" for ch in text)


def format_mermaid(lineage: Lineage, branch: Branch, upstream: bool = True) -> str:
    lines = ["graph LR"]
    edges = _edges(lineage, branch, upstream)
    for ref in sorted({r for a, b, _ in edges for r in (a, b)} or {branch.ref}, key=lineage.label):
        lines.append(f'    {_graph_id(lineage, ref)}["{lineage.label(ref)}"]')
    for a, b, kind in edges:
        arrow = "-->" if kind == "value" else f"-.->|{kind}|"
        lines.append(f"    {_graph_id(lineage, a)} {arrow} {_graph_id(lineage, b)}")
    return "\n".join(lines)


def format_dot(lineage: Lineage, branch: Branch, upstream: bool = True) -> str:
    lines = ["digraph lineage {", "    rankdir=LR;", '    node [shape=box, fontname="Helvetica"];']
    edges = _edges(lineage, branch, upstream)
    for ref in sorted({r for a, b, _ in edges for r in (a, b)} or {branch.ref}, key=lineage.label):
        lines.append(f'    "{lineage.label(ref)}";')
    for a, b, kind in edges:
        style = "" if kind == "value" else f' [style=dashed, label="{kind}"]'
        lines.append(f'    "{lineage.label(a)}" -> "{lineage.label(b)}"{style};')
    lines.append("}")
    return "\n".join(lines)


FORMATS = {"tree": format_tree, "json": format_json, "mermaid": format_mermaid, "dot": format_dot}


def describe(
    manifest: Manifest,
    name: str,
    column: str | None = None,
    upstream: bool = True,
    depth: int | None = None,
    output: str = "tree",
    warn: Callable[[str], None] | None = None,
) -> str:
    """What ``metrics lineage NAME`` prints: NAME is a model, seed, source, metric, or one of their columns.

    Raises :class:`ProjectError` naming the closest existing node or column when NAME or COLUMN do not exist. A
    mistake in the metric YAML is raised only when NAME is not a model, seed or source; otherwise ``warn`` is told
    that metrics are left out.
    """
    try:
        lineage = project_lineage(manifest)
    except NorthstarError as error:
        lineage = project_lineage(manifest, strict=False)
        if not lineage.resolve(name)[0]:
            raise
        if warn is not None:
            warn(f"Metrics are left out of this lineage: {error}")
    uid, named_column = lineage.resolve(name)
    if not uid:
        raise ProjectError(
            f"No model, seed, source or metric named '{name}'.{did_you_mean(name, lineage.names())} "
            "Run 'metrics ls' to list them; a column is written NODE.COLUMN, e.g. raw.orders.status."
        )
    if named_column and column and named_column != column:
        raise ProjectError(f"'{name}' already names column '{named_column}'; leave out --column {column}.")
    column = column or named_column
    if column is not None and column not in lineage.nodes.get(uid, NodeLineage(uid, {})).columns:
        columns = lineage.columns_of(uid)
        node = lineage.graph[uid]
        raise ProjectError(
            f"{node.kind.replace('_', ' ').capitalize()} '{node.name}' has no column '{column}'."
            f"{did_you_mean(column, columns)} Its columns: {', '.join(columns) or '(unknown)'}."
        )
    branch = walk(lineage, uid, column, upstream, depth)
    return FORMATS[output](lineage, branch, upstream)
