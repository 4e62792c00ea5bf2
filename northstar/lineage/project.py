"""The lineage of a whole project: models in DAG order, then semantic models and metrics, cached in target/."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

# sqlglot sets __version__ in its __init__ without re-exporting it to type checkers.
from northstar.errors import NorthstarError
from northstar.jsonfile import write_json
from northstar.lineage.graph import RAW_KINDS, ROWS, ColumnRef, Deps, GraphNode, Lineage, NodeLineage, SemanticLayer
from northstar.lineage.schemas import Columns, JsonCache, cached_warehouse_columns, raw_schemas, warehouse_columns
from northstar.lineage.sql import RelationIndex, analyze_sql
from northstar.nodes import ModelNode, SeedNode, SnapshotNode, SourceNode
from northstar.render.jinja import Relation
from northstar.render.manifest import Manifest

if TYPE_CHECKING:
    from sqlglot import errors as sqlglot_errors
    from sqlglot import exp
else:
    from northstar.lazy import exp, sqlglot_errors

if TYPE_CHECKING:
    from northstar.metrics.spec import Dimension, Entity, Measure


def _fingerprint(parts: Iterable[object]) -> str:
    return hashlib.sha256(json.dumps(list(parts), sort_keys=True, default=str).encode()).hexdigest()


def model_lineage(
    manifest: Manifest,
    built: Mapping[tuple[str, str], Mapping[str, str]] | None = None,
    cache: JsonCache | None = None,
) -> dict[str, NodeLineage]:
    """Lineage of every seed, source and model, in DAG order so each model is qualified with its parents' columns.

    ``built`` is :func:`warehouse_columns` of the warehouse (read when omitted); ``cache`` maps a fingerprint of a
    model's SQL and its parents' columns to a previous result, so unchanged models are not parsed again.
    """
    if built is None:
        built = warehouse_columns(manifest.project.config.warehouse)
    index = RelationIndex(manifest)
    schemas: dict[str, dict[str, str]] = raw_schemas(manifest, built, cache)
    result: dict[str, NodeLineage] = {}
    raw = _raw_nodes(manifest)  # once: per model, it made a project's lineage quadratic
    for uid in manifest.dag.sorted():
        node = manifest.nodes.get(uid)
        if isinstance(node, (SeedNode, SourceNode, SnapshotNode)):
            # A snapshot's columns are its query's, by name, and the versions it adds: read as raw columns.
            columns = schemas.get(uid, {})
            unresolved = {} if columns else {ROWS: "its columns are unknown: build it or declare them in YAML"}
            # A source over a seed's table is loaded by that seed, column for column.
            loader = {c for p in node.depends_on for c in schemas.get(p, {}) and [p]}
            edges = {c: Deps(frozenset(ColumnRef(p, c) for p in loader if c in schemas.get(p, {}))) for c in columns}
            result[uid] = NodeLineage(uid, {**edges, ROWS: Deps()}, columns, unresolved)
        elif isinstance(node, ModelNode):
            parents = {p: schemas.get(p, {}) for p in sorted(node.depends_on)}
            key = _fingerprint([node.sql, parents])
            cached = cache.get(key) if cache is not None else None
            if cached:  # stored as it ends up (raw rows left out), decoded only where a column is read
                lineage = from_cache(uid, cached)
            else:
                found = analyze_sql(uid, node.sql, index, schemas, node.depends_on)
                lineage = NodeLineage(uid, _without_raw_rows(found.columns, raw), found.types, found.unresolved)
            if cache is not None:
                cache[key] = cached or to_json(lineage)
            relation = node.relation
            types = (
                built.get((relation.schema.lower(), relation.identifier.lower()), {})
                if isinstance(relation, Relation)
                else {}
            )
            declared = {c.name: c.data_type for c in node.columns if c.data_type}
            types = {c: types.get(c) or declared.get(c) or "UNKNOWN" for c in lineage.output_columns}
            lineage = NodeLineage(uid, lineage.columns, types, lineage.unresolved)
            result[uid] = lineage
            schemas[uid] = dict(types)
    return result


def _raw_nodes(manifest: Manifest) -> frozenset[str]:
    return frozenset(uid for uid, node in manifest.nodes.items() if node.kind in RAW_KINDS)


def _without_raw_rows(columns: Mapping[str, Deps], raw: frozenset[str]) -> dict[str, Deps]:
    """Drop "reads the rows of raw.orders": a seed's or source's rows are just the table, with nothing behind them."""
    return {c: Deps(d.value, d.filter, d.rows - raw) if d.rows & raw else d for c, d in columns.items()}


class ColumnJson(TypedDict):
    value: list[list[str]]
    filter: list[list[str]]
    rows: list[str]


class LineageJson(TypedDict):
    """A node's lineage as JSON: manifest.json's ``column_lineage`` entries and the lineage cache's."""

    columns: dict[str, ColumnJson]
    unresolved: dict[str, str]


def to_json(lineage: NodeLineage) -> LineageJson:
    """A node's lineage as plain JSON (the shape of manifest.json's ``column_lineage`` entries)."""
    if isinstance(lineage.columns, _CachedColumns):  # read from that JSON: nothing to convert
        return {"columns": lineage.columns.data, "unresolved": dict(lineage.unresolved)}
    return {
        "columns": {
            column: {
                "value": [[r.node, r.column] for r in sorted(deps.value)],
                "filter": [[r.node, r.column] for r in sorted(deps.filter - deps.value)],
                "rows": sorted(deps.rows),
            }
            for column, deps in lineage.columns.items()
        },
        "unresolved": dict(lineage.unresolved),
    }


def from_cache(uid: str, data: LineageJson) -> NodeLineage:
    """A node's lineage from its :func:`to_json`; each column is decoded when first read, so writing the manifest,
    which needs the JSON again, converts nothing."""
    return NodeLineage(uid, _CachedColumns(data["columns"]), unresolved=data.get("unresolved", {}))


class _CachedColumns(Mapping[str, Deps]):
    """The columns of a cached lineage entry, as a mapping that decodes one column's edges when it is looked up."""

    def __init__(self, data: dict[str, ColumnJson]) -> None:
        self.data = data
        self._decoded: dict[str, Deps] = {}

    def __getitem__(self, column: str) -> Deps:
        found = self._decoded.get(column)
        if found is None:
            entry = self.data[column]
            found = Deps(
                frozenset(ColumnRef(*r) for r in entry["value"]),
                frozenset(ColumnRef(*r) for r in entry["filter"]),
                frozenset(entry["rows"]),
            )
            self._decoded[column] = found
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def graph_nodes(manifest: Manifest) -> dict[str, GraphNode]:
    """Models, seeds, snapshots and sources with their parents (data tests read columns but feed nothing: left out)."""
    kept = {
        uid for uid, node in manifest.nodes.items() if isinstance(node, (ModelNode, SeedNode, SnapshotNode, SourceNode))
    }
    nodes = {}
    for uid in kept:
        node = manifest.nodes[uid]
        name = f"{node.source_name}.{node.name}" if isinstance(node, SourceNode) else node.name
        parents = tuple(sorted(p for p in manifest.dag.parents.get(uid, ()) if p in kept))
        nodes[uid] = GraphNode(uid, node.kind, name, parents)
    return dict(sorted(nodes.items()))


def build_lineage(
    manifest: Manifest,
    cache: JsonCache | None = None,
    layer: SemanticLayer | None = None,
    built: Columns | None = None,
) -> Lineage:
    """The lineage of every node of ``manifest``, then of the semantic models and metrics built on it.

    ``layer`` is :func:`semantic_layer` of the manifest, read here when omitted; ``built`` the columns of the
    warehouse (``catalog.all_columns``), read from the published file when omitted.
    """
    if built is None:
        built = cached_warehouse_columns(manifest.project.config.warehouse, cache)
    nodes = model_lineage(manifest, built, cache)
    graph = graph_nodes(manifest)
    layer = layer if layer is not None else semantic_layer(manifest)
    semantic_graph, semantic_nodes = semantic_lineage(manifest, nodes, cache, layer)
    # A model and a metric may share a name; the name then means the model (the metric is metric.<project>.<name>).
    return Lineage({**semantic_graph, **graph}, {**nodes, **semantic_nodes}, layer)


def semantic_layer(manifest: Manifest, cache: JsonCache | None = None) -> SemanticLayer:
    """Read the semantic models and metrics once. Their YAML mistakes raise the semantic layer's own errors.

    Compiling every metric is most of the cost, so the SQL is cached under a fingerprint of the metric YAML, the
    models' relations and the semantic layer's code.
    """
    from northstar.metrics import semantic_docs  # light: the package's __init__ imports no compiler

    paths = {path for path, _ in semantic_docs(manifest.project)}  # legacy sections, or dbt 1.12 model YAML
    docs = [doc for doc in manifest.project.yaml_docs if doc.path in paths]
    if not docs:
        return SemanticLayer()
    # Imported only for a project with metrics: the metric compiler costs ~45 ms of start-up (see metrics.nodes).
    from northstar import metrics
    from northstar.metrics import load_semantics
    from northstar.metrics.compile import compile_expression, default_request, render

    sem = manifest.semantics or load_semantics(manifest)
    answered = [metric for metric in sem.spec.metrics if sem.refusal(metric) is None]  # refused ones are reported
    infos = tuple(sem.info(metric) for metric in answered)
    code = sorted((p.name, p.stat().st_mtime_ns) for p in Path(metrics.__file__).parent.glob("*.py"))
    relations = {name: str(relation) for name, relation in sorted(sem.relations.items())}
    key = "metrics:" + _fingerprint([[(d.path, d.data) for d in docs], relations, code, manifest.project.config.vars])
    cached = cache.get(key) if cache is not None else None
    expressions = {} if cached else {m.name: compile_expression(sem, default_request(m, sem)) for m in answered}
    sql = cached or {name: render(expression) for name, expression in expressions.items()}
    if cache is not None:
        cache[key] = sql
    specs = {m.name: m for m in sem.spec.metrics}
    saved = tuple(query for query in sem.spec.saved_queries if query.enabled and query.error is None)
    return SemanticLayer(tuple(sem.spec.semantic_models), infos, sql, specs, expressions, saved)


def semantic_lineage(
    manifest: Manifest,
    nodes: Mapping[str, NodeLineage],
    cache: JsonCache | None = None,
    layer: SemanticLayer | None = None,
) -> tuple[dict[str, GraphNode], dict[str, NodeLineage]]:
    """Semantic models (a column per entity, dimension and measure) and metrics (the columns of their SQL)."""
    layer = layer if layer is not None else semantic_layer(manifest)
    if not layer.semantic_models and not layer.metrics:
        return {}, {}
    prefix = manifest.project.config.name
    index = RelationIndex(manifest)
    schemas = {uid: dict(n.types) or dict.fromkeys(n.output_columns, "UNKNOWN") for uid, n in nodes.items()}
    graph: dict[str, GraphNode] = {}
    result: dict[str, NodeLineage] = {}
    for model in layer.semantic_models:
        uid = f"semantic_model.{prefix}.{model.name}"
        parent = manifest.by_name.get(model.model)
        node = manifest.nodes.get(parent) if parent else None
        # Semantic models are often named like the seed or model they describe ("orders"): keep them apart.
        graph[uid] = GraphNode(uid, "semantic_model", f"semantic_model:{model.name}", (parent,) if parent else ())
        relation = node.reads_as if node is not None else None
        if parent is None or not isinstance(relation, Relation):
            result[uid] = NodeLineage(uid, {ROWS: Deps()}, unresolved={ROWS: f"model '{model.model}' is not built"})
            continue
        elements: list[Entity | Dimension | Measure] = [*model.entities, *model.dimensions, *model.measures]
        key = [(e.name, e.expr) for e in elements], str(relation)

        def select(elements: list[Entity | Dimension | Measure] = elements, relation: Relation = relation) -> exp.Expr:
            return exp.select(*(exp.alias_(e.sql.copy(), e.name, quoted=False) for e in elements)).from_(
                exp.to_table(str(relation), dialect="duckdb")
            )

        result[uid] = _cached_analysis(uid, key, select, index, schemas, (parent,), cache, manifest)
    # semantic model -> (the model it reads, its lineage, its entities' names)
    over = {
        f"semantic_model.{prefix}.{m.name}": (
            graph[f"semantic_model.{prefix}.{m.name}"].parents[0],
            result[f"semantic_model.{prefix}.{m.name}"],
            {e.name for e in m.entities},
        )
        for m in layer.semantic_models
        if graph[f"semantic_model.{prefix}.{m.name}"].parents
    }
    for info in layer.metrics:
        uid = f"metric.{prefix}.{info.name}"
        models = tuple(manifest.by_name[m] for m in info.models if m in manifest.by_name)
        sql = layer.sql[info.name]
        expression = layer.expressions.get(info.name)

        def query(sql: str = sql, expression: exp.Expr | None = expression) -> str | exp.Expr:
            return expression if expression is not None else sql

        found = _cached_analysis(uid, sql, query, index, schemas, models, cache, manifest)
        used = {*info.measures, *(d.rpartition(".")[2].rpartition("__")[2] for d in info.dimensions)}
        found = _through_semantic_models(found, over, used)
        read = {r.node for d in found.columns.values() for r in d.value | d.filter} | {
            n for d in found.columns.values() for n in d.rows
        }
        named = [f"semantic_model.{prefix}.{name}" for name in info.semantic_models]
        parents = tuple(dict.fromkeys([*named, *sorted(s for s in over if s in read)]))
        graph[uid] = GraphNode(uid, "metric", info.name, parents)
        result[uid] = found
    return graph, result


def _through_semantic_models(
    metric: NodeLineage, semantic: Mapping[str, tuple[str, NodeLineage, set[str]]], used: set[str]
) -> NodeLineage:
    """Route a metric's edges through the semantic models it is defined on.

    The metric's SQL reads the models' columns; where a measure, dimension or entity of a semantic model over that
    model reads exactly columns the metric reads (``revenue`` = ``case when is_completed then payment_total end``),
    the metric reads that element instead, so the lineage shows metric -> measure -> model column. Only elements the
    metric uses (its measures and dimensions, and entities) are considered, and the raw columns reached stay the same.
    """
    columns: dict[str, Deps] = {}
    for column, deps in metric.columns.items():
        reads = deps.value | deps.filter
        value, filter_, rows = set(deps.value), set(deps.filter), set(deps.rows)
        covered: set[ColumnRef] = set()
        for uid, (model, lineage, entities) in semantic.items():
            if not any(r.node == model for r in reads) and model not in deps.rows:
                continue
            for element, element_deps in lineage.columns.items():
                if element == ROWS or (element not in used and element not in entities):
                    continue
                sources = {r for r in element_deps.value if r.node == model}
                if sources and sources <= reads:
                    (value if sources & deps.value else filter_).add(ColumnRef(uid, element))
                    covered |= sources
            if model in rows:
                rows = (rows - {model}) | {uid}
        columns[column] = Deps(frozenset(value - covered), frozenset(filter_ - covered), frozenset(rows))
    return NodeLineage(metric.unique_id, columns, metric.types, metric.unresolved)


def _cached_analysis(
    uid: str,
    key: object,
    query: Callable[[], str | exp.Expr],
    index: RelationIndex,
    schemas: Mapping[str, Mapping[str, str]],
    parents: tuple[str, ...],
    cache: JsonCache | None,
    manifest: Manifest,
) -> NodeLineage:
    """:func:`analyze_sql` of ``query()``, unless the cache knows ``key`` with these parents' columns."""
    key = _fingerprint([uid, key, {p: schemas.get(p, {}) for p in sorted(parents)}])
    cached = cache.get(key) if cache is not None else None
    if cached:
        lineage = from_cache(uid, cached)
    else:
        try:
            found = analyze_sql(uid, query(), index, schemas, parents)
            columns = _without_raw_rows(found.columns, _raw_nodes(manifest))
            lineage = NodeLineage(uid, columns, found.types, found.unresolved)
        except sqlglot_errors.SqlglotError as error:
            lineage = NodeLineage(uid, {ROWS: Deps()}, unresolved={ROWS: f"an expression does not parse: {error}"})
    if cache is not None:
        cache[key] = cached or to_json(lineage)
    return lineage


CACHE_FILE = "lineage_cache.json"
# Entries depend on sqlglot's reading of the SQL and on their own shape (2: raw rows left out before caching).
# The sqlglot release that analysed an entry is part of its key, read from the installed package's metadata rather
# than from sqlglot itself, which a build whose lineage is all cached need not import (~0.15 s).
_CACHE_VERSION = f"{importlib.metadata.version('sqlglot')}/2"


def project_lineage(manifest: Manifest, strict: bool = True, built: Columns | None = None) -> Lineage:
    """:func:`build_lineage` of the project's models, semantic models and metrics, with a cache in ``target/``, so
    models whose SQL and parents did not change are not parsed again by the next build, ``lineage`` or ``docs``.

    With ``strict=False`` a semantic layer that does not load (a mistake in the metric YAML, which the metric
    commands report) leaves the metrics out instead of raising. The layer is ``lineage.layer``. ``built``: the columns
    of the warehouse when the caller has them (a build: those of the file it published), else read from the file.
    """
    path = manifest.project.config.target_dir / CACHE_FILE
    try:
        cache = json.loads(path.read_text(encoding="utf-8"))
        if cache.get("version") != _CACHE_VERSION:
            cache = {}
    except (OSError, ValueError):
        cache = {}
    previous = cache.get("entries", {})
    entries = _Cache(previous)
    try:
        layer = semantic_layer(manifest, entries)
    except NorthstarError:
        if strict:
            raise
        layer = SemanticLayer()
    lineage = build_lineage(manifest, entries, layer, built)
    if entries.keys() != previous.keys():
        # Only what this project still uses is written back, so the file does not grow forever.
        write_json(path, {"version": _CACHE_VERSION, "entries": dict(entries)})
    return lineage


class _Cache(dict[str, Any]):
    """Starts empty and reads misses from ``previous``: what ends up in it is exactly what this run used."""

    def __init__(self, previous: Mapping[str, Any]) -> None:
        super().__init__()
        self.previous = previous

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key) or self.previous.get(key, default)
