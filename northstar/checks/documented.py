"""Columns documented in YAML that the built relation does not have.

A column listed under a model's or seed's ``columns:`` but missing from what its SQL returns (renamed, dropped, a
typo) would otherwise have its description and tests apply to nothing, unnoticed. Like dbt, a build does not fail
for documentation alone (the docs may lead the SQL in a pull request), so this is a warning naming the YAML line;
a data test on such a column still fails the build, since it selects a column that does not exist.

>>> print(undocumented_message("fct_orders", "amont", "models/marts/schema.yml", 12, ["order_id", "amount"]))
... # doctest: +NORMALIZE_WHITESPACE
models/marts/schema.yml:12: column 'amont' of 'fct_orders' is documented but the relation has no such column.
Did you mean 'amount'? Fix the name or remove it from the YAML (columns: order_id, amount).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from northstar.errors import did_you_mean
from northstar.nodes import ModelNode, NodeId, SeedNode
from northstar.render.jinja import Relation
from northstar.render.manifest import Manifest


def undocumented_message(node: str, column: str, path: str | None, line: int | None, actual: Sequence[str]) -> str:
    where = f"{path}:{line}: " if path and line else (f"{path}: " if path else "")
    return (
        f"{where}column '{column}' of '{node}' is documented but the relation has no such column."
        f"{did_you_mean(column, actual)} Fix the name or remove it from the YAML (columns: {', '.join(actual)})."
    )


def missing_documented_columns(
    actual: Mapping[tuple[str, str], Mapping[str, str]], manifest: Manifest, unique_ids: Iterable[NodeId]
) -> list[str]:
    """One warning per documented column absent from its built model or seed (among ``unique_ids``); ``actual`` is
    what the warehouse holds, as ``catalog.all_columns`` gives it."""
    nodes = [
        node
        for uid in unique_ids
        if isinstance(node := manifest.nodes[uid], ModelNode | SeedNode)
        and node.columns
        and isinstance(node.relation, Relation)
    ]
    warnings = []
    for node in nodes:
        relation = node.relation
        assert isinstance(relation, Relation)
        types = actual.get((relation.schema.lower(), relation.identifier.lower()))
        if types is None:  # not built (failed, skipped): its error says more than a warning would
            continue
        columns = list(types)
        lowered = {c.lower() for c in columns}  # DuckDB identifiers are case-insensitive
        for column in node.columns:
            if column.name.lower() not in lowered:
                path = node.yaml_path or node.path
                warnings.append(undocumented_message(node.name, column.name, path, column.line, columns))
    return warnings
