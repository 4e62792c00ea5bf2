"""The lineage graph: columns of nodes, their edges (value, filter, rows), and what a column reads or feeds."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from northstar.lazy import exp


if TYPE_CHECKING:  # types only: building a graph needs no semantic layer (nor its Jinja import)
    from northstar.metrics.resolve import MetricInfo
    from northstar.metrics.spec import Metric, SavedQuery, SemanticModel

_Item = TypeVar("_Item", bound=Hashable)

ROWS = "*"  # the pseudo-column "the rows of this node"
RAW_KINDS = frozenset({"seed", "source"})


@dataclass(frozen=True, order=True)
class ColumnRef:
    """One column of one node; ``column == "*"`` stands for the node's rows."""

    node: str
    column: str


@dataclass(frozen=True)
class Deps:
    """The edges of one column: columns its value reads, columns deciding its rows, nodes whose rows it reads."""

    value: frozenset[ColumnRef] = frozenset()
    filter: frozenset[ColumnRef] = frozenset()
    rows: frozenset[str] = frozenset()

    def __or__(self, other: Deps) -> Deps:
        return Deps(self.value | other.value, self.filter | other.filter, self.rows | other.rows)

    def as_filter(self) -> Deps:
        """The same columns, used to decide rows rather than to compute a value."""
        return Deps(frozenset(), self.value | self.filter, self.rows)

    def edges(self) -> list[tuple[str, ColumnRef]]:
        """``(kind, parent)`` pairs, value edges first, each kind sorted; a column read both ways counts as value.

        >>> status = ColumnRef("model.shop.stg_orders", "status")
        >>> Deps(frozenset({status}), frozenset({status}), frozenset({"model.shop.stg_orders"})).edges()
        [('value', ColumnRef(node='model.shop.stg_orders', column='status')), \
('rows', ColumnRef(node='model.shop.stg_orders', column='*'))]
        """
        return [
            *(("value", r) for r in sorted(self.value)),
            *(("filter", r) for r in sorted(self.filter - self.value)),
            *(("rows", ColumnRef(n, ROWS)) for n in sorted(self.rows)),
        ]


@dataclass(frozen=True)
class NodeLineage:
    """The lineage of one node's columns (in output order); ``columns["*"]`` is the lineage of its rows."""

    unique_id: str
    columns: Mapping[str, Deps]
    types: Mapping[str, str] = field(default_factory=dict)
    unresolved: Mapping[str, str] = field(default_factory=dict)  # column (or "*") -> why it could not be traced

    @property
    def output_columns(self) -> list[str]:
        return [c for c in self.columns if c != ROWS]


@dataclass(frozen=True)
class GraphNode:
    """What the lineage graph shows for a node: its kind, display name, and node-level parents."""

    unique_id: str
    kind: str  # model, seed, source, semantic_model, metric
    name: str  # e.g. stg_orders, raw.orders (source), sarpu
    parents: tuple[str, ...] = ()


class Lineage:
    """Column lineage of a whole project: nodes, their columns and the edges between them."""

    def __init__(
        self, graph: Mapping[str, GraphNode], nodes: Mapping[str, NodeLineage], layer: SemanticLayer | None = None
    ) -> None:
        self.graph = graph
        self.nodes = nodes
        self.layer = layer if layer is not None else SemanticLayer()
        self._by_name = {g.name: uid for uid, g in graph.items()}
        self._rows_memo: dict[str, bool] = {}
        for uid, g in graph.items():
            if ":" in g.name:
                self._by_name.setdefault(g.name.partition(":")[2], uid)  # "orders" for semantic_model:orders if free

    # -- lookups --------------------------------------------------------------------------------------------------

    def resolve(self, text: str) -> tuple[str, str | None]:
        """``stg_orders`` -> (uid, None); ``raw.orders.status`` or ``stg_orders.status`` -> (uid, column).

        Returns ``("", None)`` when nothing matches.
        """
        if text in self.graph:
            return text, None
        if text in self._by_name:
            return self._by_name[text], None
        head, _, column = text.rpartition(".")
        if head and (head in self._by_name or head in self.graph):
            return self._by_name.get(head, head), column
        return "", None

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def label(self, ref: ColumnRef) -> str:
        name = self.graph[ref.node].name if ref.node in self.graph else ref.node
        return f"{name} (rows)" if ref.column == ROWS else f"{name}.{ref.column}"

    def columns_of(self, uid: str) -> list[str]:
        node = self.nodes.get(uid)
        return node.output_columns if node else []

    def deps(self, ref: ColumnRef) -> Deps:
        node = self.nodes.get(ref.node)
        return node.columns.get(ref.column, Deps()) if node else Deps()

    def parents(self, ref: ColumnRef) -> list[tuple[str, ColumnRef]]:
        # "Reads the rows of stg_orders" says nothing when nothing decides those rows: leave it out.
        return [(k, r) for k, r in self.deps(ref).edges() if k != "rows" or self._rows_matter(r.node)]

    def _rows_matter(self, uid: str, seen: frozenset[str] = frozenset()) -> bool:
        """Whether anything (a filter, or the rows of a node whose rows matter) decides the rows of ``uid``."""
        if uid not in self._rows_memo:
            deps = self.deps(ColumnRef(uid, ROWS))
            self._rows_memo[uid] = bool(deps.value or deps.filter) or any(
                self._rows_matter(n, seen | {uid}) for n in deps.rows if n not in seen and n != uid
            )
        return self._rows_memo[uid]

    @functools.cached_property
    def _children(self) -> dict[ColumnRef, set[tuple[str, ColumnRef]]]:
        """Every column's readers. Indexed on the first downstream walk: writing manifest.json never needs it, and
        indexing a 1,000-model project costs more than the rest of its lineage."""
        children: dict[ColumnRef, set[tuple[str, ColumnRef]]] = {}
        for uid, node in self.nodes.items():
            for column, deps in node.columns.items():
                for kind, parent in deps.edges():
                    children.setdefault(parent, set()).add((kind, ColumnRef(uid, column)))
        return children

    def children(self, ref: ColumnRef) -> list[tuple[str, ColumnRef]]:
        found = set(self._children.get(ref, ()))
        if ref.column != ROWS:
            return sorted(found, key=lambda e: (e[1], e[0]))
        return sorted(found, key=lambda e: (e[1], e[0]))

    # -- closures -------------------------------------------------------------------------------------------------

    def upstream(self, ref: ColumnRef) -> set[ColumnRef]:
        """Every column (and rows pseudo-column) ``ref`` reads, directly or not."""
        return _closure(ref, lambda r: [p for _, p in self.parents(r)])

    def downstream(self, ref: ColumnRef) -> set[ColumnRef]:
        """Every column whose value or rows depend on ``ref``."""
        return _closure(ref, lambda r: [c for _, c in self.children(r)])

    def is_raw(self, ref: ColumnRef) -> bool:
        return ref.column not in ("", ROWS) and self.graph.get(ref.node, _NO_NODE).kind in RAW_KINDS

    def raw_columns(self, uid: str, column: str | None = None) -> set[ColumnRef]:
        """The first seed or source columns that ``uid.column`` (or any column of ``uid``) reads.

        A source loaded by a seed stops the walk: ``raw.orders.status``, not the seed's ``orders.status`` behind it.
        """
        starts = (
            [ColumnRef(uid, column)]
            if column
            else [ColumnRef(uid, c) for c in self.nodes.get(uid, _NO_LINEAGE).columns]
        )
        if self.graph.get(uid, _NO_NODE).kind in RAW_KINDS:
            return {s for s in starts if self.is_raw(s)}
        found: set[ColumnRef] = set()
        for start in starts:
            found |= _closure(start, lambda r: [] if self.is_raw(r) else [p for _, p in self.parents(r)])
        return {r for r in found if self.is_raw(r)}

    def unresolved(self, uid: str) -> dict[str, str]:
        """Unresolved columns of ``uid`` and of everything upstream of it, as ``label -> reason``."""
        seen = {uid} | _closure(uid, lambda u: self.graph[u].parents if u in self.graph else ())
        return {
            (f"{self.graph[u].name}.{c}" if c != ROWS else self.graph[u].name): why
            for u in sorted(seen)
            if u in self.nodes
            for c, why in self.nodes[u].unresolved.items()
        }


_NO_NODE = GraphNode("", "", "")
_NO_LINEAGE = NodeLineage("", {})


def _closure(start: _Item, step: Callable[[_Item], Iterable[_Item]]) -> set[_Item]:
    seen: set[_Item] = set()
    frontier = [start]
    while frontier:
        item = frontier.pop()
        for nxt in step(item):
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


@dataclass(frozen=True)
class SemanticLayer:
    """The project's semantic models and metrics as the lineage and docs need them: SQL per metric, expressions per
    semantic-model element. Empty when the project has none."""

    semantic_models: tuple[SemanticModel, ...] = ()
    metrics: tuple[MetricInfo, ...] = ()
    sql: Mapping[str, str] = field(default_factory=dict)  # metric name -> DuckDB SQL at its default grain
    specs: Mapping[str, Metric] = field(default_factory=dict)  # metric name -> its spec
    # metric name -> the expression the SQL was rendered from, when compiled in this run (saves parsing it again)
    expressions: Mapping[str, exp.Expr] = field(default_factory=dict, compare=False)
    saved_queries: tuple[SavedQuery, ...] = ()  # enabled ones, for manifest.json
