"""From metrics as written to metrics that can be compiled: names checked, joins found, derived metrics expanded.

:func:`semantics` validates a whole :class:`~northstar.metrics.spec.Spec` once against the project's models, so a
bad definition fails before any SQL runs, naming the file, the line, the metric and the valid choices. The result,
:class:`Semantics`, answers the questions the compiler asks: which dimensions a measure's rows can be grouped or
filtered by (following entities to other semantic models, one hop, as MetricFlow does) and which measures a metric
reads once its derived inputs are expanded.

>>> sem = semantics(spec, {"fct_orders": Relation("marts", "fct_orders")})   # doctest: +SKIP
>>> sem.dimension(sem.model_of("revenue"), "user__channel", sem.metric("revenue")).join.name  # doctest: +SKIP
'user'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

from northstar.errors import CompileError, ProjectError, did_you_mean
from northstar.metrics.filters import referenced_names
from northstar.metrics.spec import (
    DATE_PARTS,
    GRAINS,
    TIME_GRAINS,
    BrokenModel,
    CohortParams,
    ConversionParams,
    CoverageParams,
    CumulativeParams,
    DerivedParams,
    Dimension,
    Entity,
    Filter,
    FunnelParams,
    MeasureInput,
    Metric,
    MetricInput,
    Params,
    PyramidParams,
    RatioParams,
    RetentionParams,
    SemanticModel,
    SimpleParams,
    Spec,
    TimeSpine,
    UpliftParams,
)
from northstar.render.jinja import Relation

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from northstar.lazy import exp


@dataclass(frozen=True)
class DimensionRef:
    """A name usable in ``--by``/``--where``/filters, resolved for the rows of one semantic model.

    ``owner`` is the semantic model that holds the column; ``join`` is the entity followed to reach it (None when
    it is local). ``dimension`` is None when the name refers to an entity itself.
    """

    name: str
    owner: SemanticModel
    dimension: Dimension | None = None
    entity: Entity | None = None
    join: Entity | None = None
    grain: str | None = None
    date_part: str | None = None  # `ordered_at__extract_month`: EXTRACT(month FROM ordered_at)
    # Multi-hop names (`customer__region__region_name`): the joins before ``join``, each an entity of the model
    # before it and the semantic model it reaches, where that entity is primary or unique (so no row fans out).
    hops: tuple[tuple[Entity, SemanticModel], ...] = ()

    @property
    def path(self) -> tuple[tuple[Entity, SemanticModel], ...]:
        """Every join from the queried model to ``owner``, in order (empty for a local name)."""
        return (*self.hops, (self.join, self.owner)) if self.join is not None else ()

    @property
    def expr(self) -> str:
        if self.dimension is not None:
            return self.dimension.expr
        assert self.entity is not None
        return self.entity.expr

    @property
    def sql(self) -> exp.Expr:
        """The expression, parsed when the YAML was read."""
        if self.dimension is not None:
            return self.dimension.sql
        assert self.entity is not None
        return self.entity.sql

    @property
    def is_time(self) -> bool:
        return self.dimension is not None and self.dimension.is_time


@dataclass(frozen=True)
class MetricInfo:
    """What a metric reads, for listings and lineage: its semantic models, measures and dimensions."""

    name: str
    type: str
    description: str
    owner: str
    semantic_models: tuple[str, ...]
    models: tuple[str, ...]
    measures: tuple[str, ...]
    dimensions: tuple[str, ...]
    path: str
    line: int | None


@dataclass(frozen=True)
class Semantics:
    """A validated spec plus the warehouse relation of every model it reads."""

    spec: Spec
    relations: Mapping[str, Relation] = field(default_factory=dict)

    # -- lookups ------------------------------------------------------------------------------------------------
    @cached_property
    def _measures(self) -> dict[str, SemanticModel]:
        found: dict[str, SemanticModel] = {}
        for model in self.spec.semantic_models:
            for measure in model.measures:
                if measure.name in found:
                    other = found[measure.name]
                    raise CompileError(
                        f"Measure '{measure.name}' is declared by semantic models '{other.name}' and '{model.name}'; "
                        "measure names must be unique across the project. Rename one.",
                        model.where.path,
                        measure.line,
                    )
                found[measure.name] = model
        return found

    def metric(self, name: str, context: Metric | None = None) -> Metric:
        metric = self.spec.metric(name)
        if metric is None:
            choices = [m.name for m in self.spec.metrics]
            where = f"Metric '{context.name}' uses metric '{name}'" if context else f"No metric named '{name}'"
            hint = did_you_mean(name, choices) or f" Valid metrics: {', '.join(sorted(choices))}."
            if not choices:
                hint = " The project defines no metrics yet: declare them in YAML under metrics/ (see README, Metrics)."
            raise CompileError(
                f"{where}, which does not exist.{hint}" if context else f"{where}.{hint}",
                context.where.path if context else None,
                context.where.line if context else None,
            )
        return metric

    def model_of(self, measure: str, context: Metric | None = None) -> SemanticModel:
        model = self._measures.get(measure)
        if model is None:
            choices = sorted(self._measures)
            hint = did_you_mean(measure, choices) or f" Valid measures: {', '.join(choices) or 'none'}."
            who = f"Metric '{context.name}' uses measure" if context else "Measure"
            raise CompileError(
                f"{who} '{measure}', which no semantic model declares.{hint}",
                context.where.path if context else None,
                context.where.line if context else None,
            )
        return model

    def relation(self, model: SemanticModel) -> Relation:
        relation = self.relations.get(model.model)
        if relation is None:
            hint = did_you_mean(model.model, self.relations)
            raise CompileError(
                f"Semantic model '{model.name}' reads ref('{model.model}'), but no model has that name.{hint}",
                model.where.path,
                model.where.line,
            )
        return relation

    @property
    def custom_grains(self) -> tuple[str, ...]:
        """The custom granularities of the project's time spine (``fiscal_quarter``), usable as grains."""
        spine = self.spec.time_spine
        return spine.custom_names if spine else ()

    def spine(self, context: Metric | None, why: str = "") -> tuple[TimeSpine, Relation]:
        """The project's daily time spine and its relation, for ``context``'s ``join_to_timespine`` or for ``why``
        (``the custom granularity 'fiscal_quarter'``, which the spine defines)."""
        spine = self.spec.time_spine
        user = f"metric '{context.name}'" if context else "the query"
        if spine is None:
            why = why or f"Metric '{context.name if context else '?'}' sets join_to_timespine"
            where = (context.where.path, context.where.line) if context else (None, None)
            raise CompileError(
                f"{why}, which reports every period of MetricFlow's "
                "time spine, but the project has none. Add a model with one row per day and declare it in its YAML: "
                "`time_spine: {standard_granularity_column: date_day}` (or name it metricflow_time_spine, with a "
                "date_day column).",
                *where,
            )
        relation = self.relations.get(spine.model)
        if relation is None:
            raise CompileError(
                f"The time spine '{spine.model}' is not a model Northstar builds (missing, disabled or ephemeral); "
                f"{why or user + ' joins it (join_to_timespine)'}. Materialize it as a table or view.",
                spine.where.path,
                spine.where.line,
            )
        return spine, relation

    def agg_time_grain(self, model: SemanticModel, measure: str, name: str, context: Metric | None) -> str | None:
        """The grain when ``name`` is ``measure``'s own agg time dimension at a grain (``order__ordered_at__month``),
        which MetricFlow reads as metric time; else None."""
        ref = self.dimension(model, name, context, "--by")
        agg_time = self.agg_time(model, measure, context)
        if ref.grain and not ref.path and ref.dimension is not None and ref.dimension.name == agg_time.name:
            return ref.grain
        return None

    def agg_time(self, model: SemanticModel, measure_name: str, context: Metric | None = None) -> Dimension:
        """The time dimension a measure is aggregated over (its metric_time)."""
        measure = model.measure(measure_name)
        assert measure is not None
        name = measure.agg_time_dimension or model.default_agg_time
        if name is None:
            raise CompileError(
                f"Measure '{measure_name}' of semantic model '{model.name}' has no time dimension: set "
                "`agg_time_dimension` on the measure or `defaults: {agg_time_dimension: ...}` on the model.",
                model.where.path,
                measure.line,
            )
        dimension = model.dimension(name)
        if dimension is None or not dimension.is_time:
            times = [d.name for d in model.dimensions if d.is_time]
            raise CompileError(
                f"Measure '{measure_name}' of semantic model '{model.name}' is aggregated over '{name}', which is "
                f"not a time dimension of that model. Valid choices: {', '.join(times) or 'none (add one)'}.",
                model.where.path,
                measure.line,
            )
        return dimension

    # -- dimensions reachable from a semantic model -------------------------------------------------------------
    def _targets(self, entity: Entity, source: SemanticModel) -> list[SemanticModel]:
        """Semantic models where ``entity`` identifies one row, so joining to them cannot fan out."""
        return [
            model
            for model in self.spec.semantic_models
            if model is not source
            and (target := model.entity(entity.name)) is not None
            and target.type in ("primary", "unique", "natural")
        ]

    def available(self, model: SemanticModel) -> dict[str, list[DimensionRef]]:
        """Every name usable with ``model``'s rows, with the candidates it could mean (more than one: ambiguous)."""
        return _available(self, model)

    def dimension(self, model: SemanticModel, name: str, context: Metric | None, what: str = "") -> DimensionRef:
        """Resolve ``name`` (``channel``, ``user__channel``, ``ordered_at__month``) for ``model``'s rows."""
        base, grain, part = name, None, None
        head, _, tail = name.rpartition("__")
        if head and (tail in TIME_GRAINS or tail in self.custom_grains):
            base, grain = head, tail
        elif head and tail.startswith("extract_") and tail.removeprefix("extract_") in DATE_PARTS:
            base, part = head, tail.removeprefix("extract_")
        choices = self.available(model)
        found = choices.get(base) or _walk(self, model, base)
        if not found and (grain is not None or part is not None):
            found, base, grain, part = choices.get(name) or _walk(self, model, name), name, None, None
        # Mistakes in --by/--where are the command line's, not the metric file's.
        cli = what.startswith("--")
        where = (context.where.path, context.where.line) if context and not cli else (None, None)
        owner = f"metric '{context.name}'" if context else f"semantic model '{model.name}'"
        if not found:
            names = sorted(choices)
            grains = (*TIME_GRAINS, *self.custom_grains) if what == "--by" else ()  # --by monthh: the grain month
            hint = did_you_mean(base, [*names, *grains])
            times = f" Or a time grain: {', '.join(grains)}." if grains else ""
            # A semantic model set aside for a mistake offers no dimensions: say so, it may be the one meant.
            parts = set(base.split("__"))
            aside = "".join(f" Set aside: {b.error}" for b in self.spec.broken if parts & set(b.provides))
            raise CompileError(
                f"{what or 'The query'} uses '{name}', which is not a dimension or entity reachable from semantic "
                f"model '{model.name}' (read by {owner}).{hint} Valid choices: {', '.join(names)}.{times}{aside}",
                *where,
            )
        if len(found) > 1:
            options = ", ".join(
                f"{r.join.name}__{r.name} (semantic model '{r.owner.name}')" if r.join else f"{base} (local)"
                for r in found
            )
            raise CompileError(
                f"{what or 'The query'} uses '{name}', which is ambiguous for {owner}: it can mean {options}. "
                "Qualify it with the entity to join through, or keep one semantic model per entity with this "
                "dimension.",
                *where,
            )
        ref = found[0]
        if grain is not None:
            if not ref.is_time:
                raise CompileError(
                    f"{what or 'The query'} uses '{name}', but '{base}' is not a time dimension, so it has no "
                    f"'{grain}' grain. Use '{base}'.",
                    *where,
                )
            declared = ref.dimension.granularity if ref.dimension is not None else None
            # A custom granularity groups days: the dimension must be daily or finer.
            fineness = TIME_GRAINS.index(grain if grain in TIME_GRAINS else "day")
            if declared is not None and fineness < TIME_GRAINS.index(declared):
                raise CompileError(
                    f"{what or 'The query'} uses '{name}', finer than '{base}', whose time_granularity is "
                    f"'{declared}'. Use a grain of {declared} or coarser.",
                    *where,
                )
            ref = replace(ref, grain=grain)
        if part is not None:
            if not ref.is_time:
                raise CompileError(
                    f"{what or 'The query'} uses '{name}', but '{base}' is not a time dimension, so it has no date "
                    f"part '{part}'. Use '{base}'.",
                    *where,
                )
            ref = replace(ref, date_part=part)
        return ref

    def metric_dimension(self, model: SemanticModel, name: str) -> tuple[DimensionRef, Metric] | None:
        """``customer__revenue`` from ``Metric('revenue', group_by=['customer'])`` in a filter: the entity it is
        joined on (reachable from ``model``) and the metric computed per that entity; None if ``name`` is not one."""
        head, _, metric_name = name.rpartition("__")
        metric = self.spec.metric(metric_name) if head else None
        if metric is None:
            return None
        try:
            ref = self.dimension(model, head, None)
        except CompileError:
            return None
        if ref.entity is None or ref.dimension is not None:
            return None
        if metric.own_shape:
            raise CompileError(
                f"Metric('{metric.name}') in a filter is a {metric.type} metric, which has its own output shape; use "
                "a simple, ratio, derived, cumulative or conversion metric.",
                metric.where.path,
                metric.where.line,
            )
        return ref, metric

    # -- what a metric reads ------------------------------------------------------------------------------------
    def offset_grain(self, metric: Metric, _seen: tuple[str, ...] = ()) -> str | None:
        """The grain of the first time offset in a metric or its inputs (None: it compares no periods)."""
        p = metric.params
        inputs = _metric_inputs(p)
        for item in inputs:
            if item.offset_window is not None:
                return item.offset_window.unit if item.offset_window.unit in GRAINS else "day"
            if item.offset_to_grain is not None:
                return "day"
            used = self.spec.metric(item.name)
            if used is not None and used.name not in _seen:
                found = self.offset_grain(used, (*_seen, metric.name))
                if found is not None:
                    return found
        return None

    def refusal(self, metric: Metric, _seen: tuple[str, ...] = ()) -> CompileError | None:
        """Why ``metric`` cannot be answered yet (a MetricFlow key Northstar does not build, in it or an input)."""
        if metric.refusals:
            first = metric.refusals[0]
            return CompileError(
                f"{first.message(metric.name)} Other metrics are not affected; remove the key to use this metric.",
                first.path,
                first.line,
            )
        broken = self._broken_input(metric)
        if broken is not None:
            return broken
        p = metric.params
        if not isinstance(p, SimpleParams | RatioParams | DerivedParams):
            for item in self.measure_inputs(metric):
                model = self._measures.get(item.name)
                measure = model.measure(item.name) if model else None
                if measure is not None and measure.non_additive is not None and model is not None:
                    return CompileError(
                        f"Metric '{metric.name}' is a {metric.type} metric over '{item.name}', a semi-additive "
                        "measure (non_additive_dimension), which Northstar does not support yet for this metric "
                        "type. Other metrics are not affected; use a simple metric over it.",
                        metric.where.path,
                        metric.where.line,
                    )
        inputs = _metric_inputs(p)
        for metric_input in inputs:
            used = self.spec.metric(metric_input.name)
            if used is not None and used.name not in _seen:
                found = self.refusal(used, (*_seen, metric.name))
                if found is not None:
                    return CompileError(
                        f"Metric '{metric.name}' uses metric '{used.name}', which cannot be answered: {found.message}",
                        found.path,
                        found.line,
                    )
        return None

    def _broken_input(self, metric: Metric) -> CompileError | None:
        """The mistake of a semantic model whose measure ``metric`` reads, if any (it is set aside)."""
        if not self.spec.broken:
            return None
        owners = {name: model for model in self.spec.broken for name in model.measures}
        for item in self.measure_inputs(metric):
            model = owners.get(item.name)
            if model is not None and item.name not in self._measures:
                return CompileError(
                    f"Metric '{metric.name}' reads measure '{item.name}' of semantic model '{model.name}', which has "
                    f"a mistake: {model.error.message} Other metrics are not affected.",
                    model.error.path,
                    model.error.line,
                )
        return None

    def measure_inputs(self, metric: Metric, _stack: tuple[str, ...] = ()) -> list[MeasureInput]:
        """Every measure a metric reads once ratio and derived inputs are expanded; raises on cycles."""
        if metric.name in _stack:
            cycle = " -> ".join((*_stack[_stack.index(metric.name) :], metric.name))
            raise CompileError(
                f"Metric '{metric.name}' depends on itself: {cycle}. Break the cycle by removing one of these inputs.",
                metric.where.path,
                metric.where.line,
            )
        stack = (*_stack, metric.name)
        found = _own_measures(metric.params)
        for item in _metric_inputs(metric.params):
            found += self.measure_inputs(self.metric(item.name, metric), stack)
        return found

    def info(self, metric: Metric) -> MetricInfo:
        measures = list(dict.fromkeys(m.name for m in self.measure_inputs(metric)))
        models = list(dict.fromkeys(self.model_of(m).name for m in measures))
        dimensions: list[str] = []
        for measure in measures:
            model = self.model_of(measure)
            dimensions.append(f"{model.name}.{self.agg_time(model, measure).name}")
        for written in _filters(self, metric) if self.refusal(metric) is None else []:
            dimensions.extend(referenced_names(written.condition()))
        refs = [self.spec.semantic_model(name) for name in models]
        return MetricInfo(
            name=metric.name,
            type=metric.type,
            description=metric.description,
            owner=metric.owner,
            semantic_models=tuple(models),
            models=tuple(dict.fromkeys(m.model for m in refs if m is not None)),
            measures=tuple(measures),
            dimensions=tuple(dict.fromkeys(dimensions)),
            path=metric.where.path,
            line=metric.where.line,
        )


def _own_measures(p: Params) -> list[MeasureInput]:
    """The measures a metric reads itself (ratio and derived metrics read other metrics instead)."""
    if isinstance(p, SimpleParams | CumulativeParams):
        return [p.measure]
    if isinstance(p, RatioParams | DerivedParams):
        return []
    if isinstance(p, ConversionParams):
        return [p.base_measure, p.conversion_measure]
    if isinstance(p, CohortParams):
        return [p.first_event, p.measure]
    if isinstance(p, RetentionParams):
        return [p.activity]
    if isinstance(p, FunnelParams):
        return [step.measure for step in p.steps]
    if isinstance(p, UpliftParams):
        outcomes = [m for outcome in p.outcomes for m in outcome.measures] if p.outcomes else [p.outcome]
        return [p.exposure, *outcomes]
    if isinstance(p, CoverageParams):
        return [p.base, p.measure]
    if isinstance(p, PyramidParams):
        return [level.measure for level in p.levels]
    raise AssertionError(p)  # pragma: no cover


def _metric_inputs(p: Params) -> list[MetricInput]:
    """The metrics a ratio or derived metric combines; none for the other types."""
    if isinstance(p, RatioParams):
        return [p.numerator, p.denominator]
    if isinstance(p, DerivedParams):
        return list(p.metrics)
    return []


def _add(found: dict[str, list[DimensionRef]], name: str, ref: DimensionRef) -> None:
    """Offer ``ref`` under ``name``, once per owner, dimension and join path."""
    refs = found.setdefault(name, [])
    if not any(
        r.owner is ref.owner and r.dimension == ref.dimension and r.join == ref.join and r.hops == ref.hops
        for r in refs
    ):
        refs.append(ref)


def _available(sem: Semantics, model: SemanticModel) -> dict[str, list[DimensionRef]]:
    found: dict[str, list[DimensionRef]] = {}
    local_names = _add_local(found, model)
    _add_joined(found, sem, model, local_names)
    _add_multi_hop(found, sem, model)
    return found


MAX_HOPS = 4  # MetricFlow stops at 2; each hop is many-to-one, so going further never fans out


JoinPath = tuple[tuple[Entity, SemanticModel], ...]


def _add_multi_hop(found: dict[str, list[DimensionRef]], sem: Semantics, model: SemanticModel) -> None:
    """Dimensions two to MAX_HOPS entity joins away, named by the entity path: ``customer__region__region_name``.

    Each join goes to a semantic model where the entity is primary or unique, so every row of ``model`` meets at
    most one row at the end of the path; a path never comes back to a model it passed. The model's own entity may
    start the path, as it prefixes the model's own dimensions (``customer__region__region_name`` on customers)."""
    own = [e.name for e in model.entities if e.type in ("primary", "unique", "natural")]
    own += [model.primary_entity] if model.primary_entity else []
    frontier: list[JoinPath] = [
        ((entity, target),) for entity in model.entities for target in sem._targets(entity, model)
    ]
    for depth in range(MAX_HOPS):
        deeper: list[JoinPath] = []
        for path in frontier:
            entity, target = path[-1]
            names = [hop[0].name for hop in path]
            for dimension in target.dimensions:
                ref = DimensionRef(dimension.name, target, dimension, None, entity, hops=path[:-1])
                if depth:  # one hop without a prefix is _add_joined's
                    _add(found, "__".join([*names, dimension.name]), ref)
                for first in own:
                    if first not in names:
                        _add(found, "__".join([first, *names, dimension.name]), ref)
            deeper += _next_hops(sem, model, path)
        frontier = deeper


def _walk(sem: Semantics, model: SemanticModel, name: str) -> list[DimensionRef] | None:
    """A name past MAX_HOPS (``a__b__c__d__e__dimension``), resolved by following its entities one join at a time
    (listing every such path would grow with the number of paths, walking one grows with its length). Each join is
    the only one the entity allows (to a model where it is primary or unique, not passed yet), as in
    ``_add_multi_hop``; the model's own entity may start the name. None if the path does not lead to a dimension."""
    *entities, last = name.split("__")
    if len(entities) <= MAX_HOPS:
        return None  # listed by _add_multi_hop if it exists
    own = {e.name for e in model.entities if e.type in ("primary", "unique", "natural")} | {model.primary_entity}
    starts = [entities[1:], entities] if entities[0] in own else [entities]
    found = []
    for path in starts:
        at, hops, passed = model, [], {model.name}
        for entity_name in path:
            entity = at.entity(entity_name)
            targets = [m for m in sem._targets(entity, at) if m.name not in passed] if entity else []
            if entity is None or len(targets) != 1:
                break
            hops.append((entity, targets[0]))
            at = targets[0]
            passed.add(at.name)
        else:
            dimension = at.dimension(last)
            if dimension is not None and len({hop[0].name for hop in hops}) == len(hops):
                found.append(DimensionRef(last, at, dimension, None, hops[-1][0], hops=tuple(hops[:-1])))
    return found or None


def _next_hops(sem: Semantics, model: SemanticModel, path: JoinPath) -> list[JoinPath]:
    """``path`` one join longer, through each entity of its last model not used yet, to models not passed yet."""
    at = path[-1][1]
    passed = {model.name, *(hop[1].name for hop in path)}
    used = {hop[0].name for hop in path}
    return [
        (*path, (entity, target))
        for entity in at.entities
        if entity.name not in used
        for target in sem._targets(entity, at)
        if target.name not in passed
    ]


def _add_local(found: dict[str, list[DimensionRef]], model: SemanticModel) -> set[str]:
    """The model's own dimensions (bare and prefixed by its primary entities) and entities; returns their names."""

    def add(name: str, ref: DimensionRef) -> None:
        _add(found, name, ref)

    local_names = set()
    for dimension in model.dimensions:
        ref = DimensionRef(dimension.name, model, dimension)
        add(dimension.name, ref)
        local_names.add(dimension.name)
        for entity in model.entities:
            if entity.type in ("primary", "unique", "natural"):
                add(f"{entity.name}__{dimension.name}", ref)
        if model.primary_entity:  # MetricFlow's primary_entity: the prefix of a model without a primary entity
            add(f"{model.primary_entity}__{dimension.name}", ref)
    for entity in model.entities:
        add(entity.name, DimensionRef(entity.name, model, None, entity))
        local_names.add(entity.name)
    return local_names


def _add_joined(
    found: dict[str, list[DimensionRef]], sem: Semantics, model: SemanticModel, local_names: set[str]
) -> None:
    """What one entity hop reaches: ``entity__dimension``, and a bare name where the model has none of its own."""

    def add(name: str, ref: DimensionRef) -> None:
        _add(found, name, ref)

    for entity in model.entities:
        for target in sem._targets(entity, model):
            for dimension in target.dimensions:
                ref = DimensionRef(dimension.name, target, dimension, None, entity)
                if f"{entity.name}__{dimension.name}" not in found or not any(
                    r.owner is model for r in found[f"{entity.name}__{dimension.name}"]
                ):
                    add(f"{entity.name}__{dimension.name}", ref)
                if dimension.name not in local_names:
                    add(dimension.name, ref)
            for other in target.entities:
                if other.name not in local_names and other.name != entity.name:
                    add(f"{entity.name}__{other.name}", DimensionRef(other.name, target, None, other, entity))


def _filters(sem: Semantics, metric: Metric) -> list[Filter]:
    texts = [metric.filter] if metric.filter else []
    for item in sem.measure_inputs(metric):
        if item.filter:
            texts.append(item.filter)
    for metric_input in _metric_inputs(metric.params):
        if metric_input.filter:
            texts.append(metric_input.filter)
        texts += _filters(sem, sem.metric(metric_input.name, metric))
    return texts


def semantics(spec: Spec, relations: Mapping[str, Relation]) -> Semantics:
    """Validate every semantic model and metric once. A semantic model with a mistake is set aside (its metrics
    are refused with its error, naming its file and line); a metric's mistake raises a :class:`CompileError`."""
    sound, broken = [], list(spec.broken)
    probe = Semantics(spec, relations)
    for model in spec.semantic_models:
        try:
            _check_model(probe, model)
        except CompileError as error:
            provides = (*(e.name for e in model.entities), *(d.name for d in model.dimensions))
            broken.append(BrokenModel(model.name, tuple(m.name for m in model.measures), error, provides))
            continue
        sound.append(model)
    sem = Semantics(replace(spec, semantic_models=tuple(sound), broken=tuple(broken)), relations)
    sem._measures  # noqa: B018 - duplicate measure names fail here
    for metric in sem.spec.metrics:
        # Refused metrics fail when used, naming the key or the semantic model's mistake; the others keep working.
        if not metric.refusals and sem.refusal(metric) is None:
            _validate_metric(sem, metric)
    return sem


def _check_model(sem: Semantics, model: SemanticModel) -> None:
    """A semantic model's own references: its model, each measure's time dimension and non-additive dimension."""
    sem.relation(model)
    for measure in model.measures:
        sem.agg_time(model, measure.name)
        semi = measure.non_additive
        if semi is not None:
            dimension = model.dimension(semi.dimension)
            if dimension is None or not dimension.is_time:
                times = [d.name for d in model.dimensions if d.is_time]
                raise CompileError(
                    f"The non_additive_dimension of measure '{measure.name}' is '{semi.dimension}', which is not "
                    f"a time dimension of semantic model '{model.name}'. Valid choices: {', '.join(times)}.",
                    model.where.path,
                    measure.line,
                )
            for entity in semi.groupings:
                if model.entity(entity) is None:
                    raise CompileError(
                        f"The window_groupings of measure '{measure.name}' name '{entity}', which is not an "
                        f"entity of semantic model '{model.name}'. Valid choices: "
                        f"{', '.join(e.name for e in model.entities)}.",
                        model.where.path,
                        measure.line,
                    )
    if model.default_agg_time is not None:
        dimension = model.dimension(model.default_agg_time)
        if dimension is None or not dimension.is_time:
            times = [d.name for d in model.dimensions if d.is_time]
            raise CompileError(
                f"Semantic model '{model.name}' defaults agg_time_dimension to '{model.default_agg_time}', "
                f"which is not one of its time dimensions. Valid choices: {', '.join(times) or 'none'}.",
                model.where.path,
                model.where.line,
            )


def _check_pyramid(sem: Semantics, metric: Metric, p: PyramidParams) -> None:
    """A top_share level ranks entities by their part of a total, so its measure must add up (sum or count)."""
    for level in p.levels:
        model = sem.model_of(level.measure.name, metric)
        measure = model.measure(level.measure.name)
        assert measure is not None
        if level.top_share is not None and measure.agg not in ("sum", "count", "sum_boolean"):
            raise CompileError(
                f"Level '{level.name}' of metric '{metric.name}' ranks entities by measure '{measure.name}', an "
                f"{measure.agg}: shares of a total need a measure that adds up (agg sum or count). Use such a measure.",
                metric.where.path,
                metric.where.line,
            )


def _population(p: Params) -> list[MeasureInput]:
    """The measure whose rows define a growth metric's population (first event, exposure, base), if it has one."""
    if isinstance(p, CohortParams):
        return [p.first_event]
    if isinstance(p, UpliftParams):
        return [p.exposure]
    if isinstance(p, ConversionParams):
        return [p.base_measure]
    return []


def _validate_metric(sem: Semantics, metric: Metric) -> None:
    inputs = sem.measure_inputs(metric)  # also: unknown metrics, cycles
    for item in inputs:
        sem.model_of(item.name, metric)
    p = metric.params
    _check_metric_inputs(sem, metric)
    _check_entity(sem, metric, inputs)
    if isinstance(p, UpliftParams):
        exposure = sem.model_of(p.exposure.name, metric)
        sem.dimension(exposure, p.group, metric, f"Uplift metric '{metric.name}' (group)")
    if isinstance(p, ConversionParams):
        for pair in p.constant_properties:
            what = f"The constant_properties of metric '{metric.name}'"
            sem.dimension(sem.model_of(p.base_measure.name, metric), pair.base_property, metric, what)
            sem.dimension(sem.model_of(p.conversion_measure.name, metric), pair.conversion_property, metric, what)
    # A coverage metric's dimensions are categories of its measure's rows; its population is not split.
    grouped = [p.measure] if isinstance(p, CoverageParams) else inputs
    for default in metric.default_by:
        if default not in GRAINS and not default.startswith("metric_time"):
            for item in grouped:
                sem.dimension(sem.model_of(item.name), default, metric, f"Metric '{metric.name}' (defaults.by)")
    if isinstance(p, PyramidParams):
        _check_pyramid(sem, metric, p)
    _check_filters(sem, metric, inputs)


def _check_metric_inputs(sem: Semantics, metric: Metric) -> None:
    """A ratio or derived metric combines one-value metrics, at one grain (ratio), by its inputs' names (derived)."""
    p = metric.params
    if isinstance(p, RatioParams | DerivedParams):
        for part in _metric_inputs(p):
            used = sem.metric(part.name, metric)
            if used.own_shape:
                raise CompileError(
                    f"Metric '{metric.name}' uses '{used.name}', a {used.type} metric; {used.type} metrics have "
                    "their own output shape and cannot be inputs of ratio or derived metrics.",
                    metric.where.path,
                    metric.where.line,
                )
        if isinstance(p, RatioParams):
            grains = {
                side: sem.metric(item.name).default_grain
                for side, item in (("numerator", p.numerator), ("denominator", p.denominator))
            }
            if grains["numerator"] and grains["denominator"] and grains["numerator"] != grains["denominator"]:
                raise CompileError(
                    f"Ratio metric '{metric.name}' divides '{p.numerator.name}' (grain {grains['numerator']}) by "
                    f"'{p.denominator.name}' (grain {grains['denominator']}); both sides need the same grain. "
                    "Give the inputs the same `defaults: {grain: ...}`.",
                    metric.where.path,
                    metric.where.line,
                )
        if isinstance(p, DerivedParams):
            _check_derived_expr(metric, p)


# The metric types that follow one entity (count members, match events per member, ...).
_FOLLOWS_ENTITY = (
    ConversionParams | CohortParams | RetentionParams | FunnelParams | UpliftParams | CoverageParams | PyramidParams
)


def _check_entity(sem: Semantics, metric: Metric, inputs: list[MeasureInput]) -> None:
    """A growth metric follows one entity, which every measure it reads must have."""
    p = metric.params
    if isinstance(p, _FOLLOWS_ENTITY):
        entity = p.entity
        for item in inputs:
            model = sem.model_of(item.name, metric)
            if model.entity(entity) is None:
                raise CompileError(
                    f"Metric '{metric.name}' follows entity '{entity}', but measure '{item.name}' comes from semantic "
                    f"model '{model.name}', which has no such entity. Valid choices: "
                    f"{', '.join(e.name for e in model.entities) or 'none'}.",
                    metric.where.path,
                    metric.where.line,
                )


def _check_filters(sem: Semantics, metric: Metric, inputs: list[MeasureInput]) -> None:
    # A growth metric's own filter applies to the rows that define its population (first event, exposure, ...).
    population = _population(metric.params) or inputs
    for item in inputs:
        model = sem.model_of(item.name, metric)
        if item.filter:
            _check_filter(sem, model, item.filter, metric)
        if metric.filter and item in population:
            _check_filter(sem, model, metric.filter, metric)


def _check_filter(sem: Semantics, model: SemanticModel, written: Filter, metric: Metric) -> None:
    """Every name in a metric's filter must resolve for the rows it filters."""
    try:
        names = referenced_names(written.condition())
    except (ProjectError, CompileError) as error:
        raise CompileError(f"Metric '{metric.name}': {error.message}", metric.where.path, metric.where.line) from None
    for name in names:
        if name.startswith("metric_time"):
            continue
        found = sem.metric_dimension(model, name)
        if found is not None:
            if found[1].name == metric.name:
                raise CompileError(
                    f"The filter of metric '{metric.name}' uses Metric('{metric.name}'), the metric itself. Filter on "
                    "another metric.",
                    metric.where.path,
                    metric.where.line,
                )
            continue
        sem.dimension(model, name, metric, f"The filter of metric '{metric.name}'")


def _check_derived_expr(metric: Metric, params: DerivedParams) -> None:
    """A derived expression may only name its inputs (by alias when given)."""
    parsed = params.sql
    refs = [item.ref for item in params.metrics]
    if parsed.find(exp.Query):
        raise CompileError(
            f"The expr of derived metric '{metric.name}' contains a query; combine its inputs ({', '.join(refs)}).",
            metric.where.path,
            metric.where.line,
        )
    for column in parsed.find_all(exp.Column):
        if column.name not in refs:
            raise CompileError(
                f"The expr of derived metric '{metric.name}' uses '{column.name}', which is not one of its inputs. "
                f"Valid choices: {', '.join(refs)} (list it under type_params.metrics).",
                metric.where.path,
                metric.where.line,
            )
