"""Column-level lineage: which upstream columns every model, metric and semantic-model column reads.

Each model's rendered SQL is parsed once with sqlglot, its tables are mapped to the manifest nodes they name, and the
query is qualified with the columns Northstar knows (seeds' and sources' columns from the warehouse, a declared YAML
list or DuckDB's sniffing of the file; upstream models' output columns from their own lineage), so ``select *`` is
expanded and every column names its table. Walking sqlglot's scopes (CTEs, derived tables, unions, subqueries) then
gives, per output column, three kinds of edges:

- ``value``: columns its value is computed from (``sum(amount)`` reads ``amount``; window partitions count too);
- ``filter``: columns that decide which rows it is computed over (``where``, join conditions, ``group by``,
  ``having``, ``qualify``);
- ``rows``: upstream models whose rows it is computed over, as the pseudo-column ``*`` ("the rows of stg_orders"),
  whose own edges are that model's filters. This is how ``count(*)`` depends on ``stg_orders``' ``where status = ...``.

A column that cannot be traced (a table Northstar does not know, SQL that does not parse) is listed in
``unresolved`` with the reason, and the rest of the lineage stands.

Modules: ``graph`` (columns, edges, walks), ``schemas`` (raw tables' columns), ``sql`` (one query), ``project``
(the whole project with its semantic layer, cached in ``target/``), ``formats`` (``metrics lineage`` output).

>>> lineage = project_lineage(manifest)                                           # doctest: +SKIP
>>> sorted(lineage.label(r) for r in lineage.raw_columns("model.shop.customers", "revenue"))  # doctest: +SKIP
['orders.amount', 'orders.customer_id']
"""

from northstar.lineage.formats import (
    FORMATS,
    Branch,
    describe,
    format_dot,
    format_json,
    format_mermaid,
    format_tree,
    walk,
)
from northstar.lineage.graph import RAW_KINDS, ROWS, ColumnRef, Deps, GraphNode, Lineage, NodeLineage, SemanticLayer
from northstar.lineage.project import (
    CACHE_FILE,
    build_lineage,
    from_cache,
    model_lineage,
    project_lineage,
    semantic_layer,
    semantic_lineage,
    to_json,
)
from northstar.lineage.schemas import raw_schemas, warehouse_columns
from northstar.lineage.sql import RelationIndex, analyze_sql

__all__ = [
    "CACHE_FILE",
    "FORMATS",
    "RAW_KINDS",
    "ROWS",
    "Branch",
    "ColumnRef",
    "Deps",
    "GraphNode",
    "Lineage",
    "NodeLineage",
    "RelationIndex",
    "SemanticLayer",
    "analyze_sql",
    "build_lineage",
    "describe",
    "format_dot",
    "format_json",
    "format_mermaid",
    "format_tree",
    "from_cache",
    "model_lineage",
    "project_lineage",
    "raw_schemas",
    "semantic_layer",
    "semantic_lineage",
    "to_json",
    "walk",
    "warehouse_columns",
]
