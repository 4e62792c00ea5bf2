"""A small DAG of node ids on the standard library's ``graphlib``.

>>> dag = DAG({"b": {"a"}, "c": {"b"}, "a": set()})
>>> dag.sorted()
['a', 'b', 'c']
>>> sorted(dag.downstream("a")), sorted(dag.upstream("c"))
(['b', 'c'], ['a', 'b'])
>>> DAG({"a": {"b"}, "b": {"a"}}).sorted()
Traceback (most recent call last):
...
northstar.errors.CompileError: The DAG has a cycle: a -> b -> a. Remove one of these references.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
from typing import Generic, TypeVar

from northstar.errors import CompileError

# Node keys: text (or a str subclass such as nodes.NodeId), so they sort and print in cycle messages.
K = TypeVar("K", bound=str)


class DAG(Generic[K]):
    """Nodes and their parents. Immutable once built; derived views are cached."""

    def __init__(self, parents: Mapping[K, Iterable[K]]) -> None:
        graph = {node: frozenset(deps) for node, deps in parents.items()}
        for deps in list(graph.values()):
            for dep in deps:
                graph.setdefault(dep, frozenset())
        self.parents: Mapping[K, frozenset[K]] = graph
        self.cycle: tuple[K, ...] = ()

    def __contains__(self, node: K) -> bool:
        return node in self.parents

    def __iter__(self) -> Iterator[K]:
        return iter(self.parents)

    def __len__(self) -> int:
        return len(self.parents)

    @cached_property
    def children(self) -> Mapping[K, frozenset[K]]:
        children: dict[K, set[K]] = {node: set() for node in self.parents}
        for node, deps in self.parents.items():
            for dep in deps:
                children[dep].add(node)
        return {node: frozenset(kids) for node, kids in children.items()}

    def _walk(self, start: K, edges: Mapping[K, frozenset[K]], depth: int | None) -> set[K]:
        seen: set[K] = set()
        frontier = {start}
        level = 0
        while frontier and (depth is None or level < depth):
            frontier = {n for node in frontier for n in edges.get(node, ())} - seen
            seen |= frontier
            level += 1
        return seen

    def upstream(self, node: K, depth: int | None = None) -> set[K]:
        """All ancestors of ``node`` (within ``depth`` steps when given)."""
        return self._walk(node, self.parents, depth)

    def downstream(self, node: K, depth: int | None = None) -> set[K]:
        """All descendants of ``node`` (within ``depth`` steps when given)."""
        return self._walk(node, self.children, depth)

    def subdag(self, nodes: Iterable[K]) -> DAG[K]:
        """The DAG restricted to ``nodes``, keeping order through the nodes left out.

        >>> DAG({"a": set(), "b": {"a"}, "c": {"b"}}).subdag(["a", "c"]).parents["c"]
        frozenset({'a'})
        """
        keep = set(nodes) & set(self.parents)
        nearest: dict[K, frozenset[K]] = {}

        def kept_ancestors(node: K) -> frozenset[K]:
            if node not in nearest:
                found: set[K] = set()
                for parent in self.parents[node]:
                    found |= {parent} if parent in keep else kept_ancestors(parent)
                nearest[node] = frozenset(found)
            return nearest[node]

        return DAG({node: kept_ancestors(node) for node in keep})

    @cached_property
    def _order(self) -> list[K]:
        sorter = graphlib.TopologicalSorter({node: sorted(deps) for node, deps in sorted(self.parents.items())})
        try:
            return list(sorter.static_order())
        except graphlib.CycleError as error:
            # graphlib lists the cycle upstream first, which is the direction data flows.
            self.cycle = tuple(error.args[1])
            raise CompileError(
                f"The DAG has a cycle: {' -> '.join(self.cycle)}. Remove one of these references."
            ) from None

    def sorted(self) -> list[K]:
        """Node ids in dependency order (parents first); raises a :class:`CompileError` on a cycle."""
        return list(self._order)
