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

from northstar.errors import CompileError


class DAG:
    """Nodes and their parents. Immutable once built; derived views are cached."""

    def __init__(self, parents: Mapping[str, Iterable[str]]) -> None:
        graph = {node: frozenset(deps) for node, deps in parents.items()}
        for deps in list(graph.values()):
            for dep in deps:
                graph.setdefault(dep, frozenset())
        self.parents: Mapping[str, frozenset[str]] = graph
        self.cycle: tuple[str, ...] = ()

    def __contains__(self, node: str) -> bool:
        return node in self.parents

    def __iter__(self) -> Iterator[str]:
        return iter(self.parents)

    def __len__(self) -> int:
        return len(self.parents)

    @cached_property
    def children(self) -> Mapping[str, frozenset[str]]:
        children: dict[str, set[str]] = {node: set() for node in self.parents}
        for node, deps in self.parents.items():
            for dep in deps:
                children[dep].add(node)
        return {node: frozenset(kids) for node, kids in children.items()}

    def _walk(self, start: str, edges: Mapping[str, frozenset[str]], depth: int | None) -> set[str]:
        seen: set[str] = set()
        frontier = {start}
        level = 0
        while frontier and (depth is None or level < depth):
            frontier = {n for node in frontier for n in edges.get(node, ())} - seen
            seen |= frontier
            level += 1
        return seen

    def upstream(self, node: str, depth: int | None = None) -> set[str]:
        """All ancestors of ``node`` (within ``depth`` steps when given)."""
        return self._walk(node, self.parents, depth)

    def downstream(self, node: str, depth: int | None = None) -> set[str]:
        """All descendants of ``node`` (within ``depth`` steps when given)."""
        return self._walk(node, self.children, depth)

    def subdag(self, nodes: Iterable[str]) -> DAG:
        """The DAG restricted to ``nodes``, keeping order through the nodes left out.

        >>> DAG({"a": set(), "b": {"a"}, "c": {"b"}}).subdag(["a", "c"]).parents["c"]
        frozenset({'a'})
        """
        keep = set(nodes) & set(self.parents)
        nearest: dict[str, frozenset[str]] = {}

        def kept_ancestors(node: str) -> frozenset[str]:
            if node not in nearest:
                found: set[str] = set()
                for parent in self.parents[node]:
                    found |= {parent} if parent in keep else kept_ancestors(parent)
                nearest[node] = frozenset(found)
            return nearest[node]

        return DAG({node: kept_ancestors(node) for node in keep})

    @cached_property
    def _order(self) -> list[str]:
        sorter = graphlib.TopologicalSorter({node: sorted(deps) for node, deps in sorted(self.parents.items())})
        try:
            return list(sorter.static_order())
        except graphlib.CycleError as error:
            # graphlib lists the cycle upstream first, which is the direction data flows.
            self.cycle = tuple(error.args[1])
            raise CompileError(
                f"The DAG has a cycle: {' -> '.join(self.cycle)}. Remove one of these references."
            ) from None

    def sorted(self) -> list[str]:
        """Node ids in dependency order (parents first); raises a :class:`CompileError` on a cycle."""
        return list(self._order)
