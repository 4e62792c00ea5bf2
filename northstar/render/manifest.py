"""Compile a loaded project into a manifest: every node with its final relation, rendered SQL and parents.

project (files) -> render (Jinja, once per model) -> manifest (nodes + DAG), which execution, tests, metrics and
lineage all read.

>>> manifest = compile_project(load_project(Path(".")))  # doctest: +SKIP
>>> manifest.dag.sorted()[:1]                               # doctest: +SKIP
['seed.growth.users']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jinja2

from northstar.dag import DAG
from northstar.engine.contracts import check_declaration, constraint_warnings
from northstar.errors import CompileError
from northstar.nodes import ModelNode, Node, NodeId, SeedNode, SourceNode
from northstar.project.config import (
    NodeConfig,
    build_config,
    merge_config,
    misspelt_config_keys,
    resolve_folder_config,
    unknown_strategy,
    unused_config_paths,
)
from northstar.project.loader import ModelFile, Project, Seed, SourceTable
from northstar.project.settings import DBT_PROJECT_FILE
from northstar.render.access import check_governance, restricted_projects
from northstar.render.introspect import IntrospectingCall, Introspects, Offline, Probe
from northstar.render.jinja import (
    EPHEMERAL_PREFIX,
    Ephemeral,
    External,
    Relation,
    Rendered,
    RenderEnv,
    SimpleTemplate,
    config_literals,
    make_environment,
    parse_template,
    prepare_template,
    render,
    render_property,
)
from northstar.render.naming import Namer, project_macros, project_render_env
from northstar.render.parse_cache import CACHE_FILE, ParseCache
from northstar.render.snapshots import ParsedSnapshot, parse_snapshot, snapshot_node

if TYPE_CHECKING:  # the semantic layer is read from the manifest's project, after it is compiled
    from sqlglot import exp

    from northstar.metrics.resolve import Semantics

# Config that decides a model's relation must be known before any model renders.
_STRUCTURAL_KEYS = ("materialized", "schema", "alias", "enabled")


@dataclass(frozen=True)
class Deferred:
    """A model whose SQL depends on what its parents hold: its template and package, to render during the build."""

    template: jinja2.Template | SimpleTemplate
    package: str | None


@dataclass(frozen=True)
class Manifest:
    """The compiled project: nodes by unique id, the DAG over them, and what rendering needs later."""

    project: Project
    nodes: Mapping[NodeId, Node]
    dag: DAG[NodeId]
    render_env: RenderEnv
    by_name: Mapping[str, NodeId] = field(default_factory=dict)
    semantics: Semantics | None = None  # read once, when metrics are added
    # Models that query the warehouse while rendering: their templates, rendered when their parents are built.
    deferred: Mapping[NodeId, Deferred] = field(default_factory=dict)

    def node(self, name_or_id: str) -> Node:
        uid = self.by_name.get(name_or_id) or NodeId.parse(name_or_id)
        return self.nodes[uid]


def _describe(nodes: Mapping[NodeId, Node]) -> Callable[[NodeId], str]:
    def describe(uid: NodeId) -> str:
        node = nodes.get(uid)
        return f"{node.name} ({node.path})" if node else uid

    return describe


@dataclass(frozen=True)
class _Parsed:
    model: ModelFile
    template: jinja2.Template | SimpleTemplate
    config: NodeConfig
    relation: Relation | Ephemeral
    literals: Mapping[str, Any] = field(default_factory=dict)  # config() values read before rendering


def _parse_model(
    env: jinja2.Environment, project: Project, model: ModelFile, namer: Namer, cache: ParseCache
) -> _Parsed:
    kept = cache.get(model.sql)
    tree = None
    template: jinja2.Template | SimpleTemplate  # kept, or prepared from the tree below
    if kept is not None:
        static, dynamic, template = kept
    else:
        tree = parse_template(env, model.sql, model.path)
        static, dynamic = config_literals(tree)
    for key, line in dynamic.items():
        if key in _STRUCTURAL_KEYS:
            raise CompileError(
                f"config({key}=...) must be a literal value (e.g. '{key}': 'table'), "
                "because other models need this model's relation before it renders.",
                model.path,
                line,
            )
    props = model.properties
    owner = next((p for p in project.config.packages if p.name == model.package), project.config)
    raw = merge_config(
        resolve_folder_config(owner.models, (*model.folders, model.name)),
        props.config if props else {},
        static,
    )
    where = f"Model '{model.name}'"
    config = build_config(raw, "view", where, model.path, None)
    if tree is not None:
        template = prepare_template(env, tree, model.path)
        if isinstance(template, SimpleTemplate):
            cache.put(model.sql, static, dynamic, template)
    if config.materialized == "ephemeral":
        relation: Relation | Ephemeral = Ephemeral(model.name)
    else:
        relation = namer.relation("model", model.name, model.path, model.folders, config, model.package)
    return _Parsed(model, template, config, relation, static)


def _warn_unused_config(project: Project, warn: Callable[[str], None]) -> None:
    """dbt's "unused configuration paths": a misspelt folder under models:/seeds: would silently configure nothing."""
    config = project.config
    kinds = (
        ("models", "model-paths", config.model_paths, project.models),
        ("seeds", "seed-paths", config.seed_paths, project.seeds),
    )
    for section, key, paths, nodes in kinds:
        missing = [path for path in paths if not (config.root / path).is_dir()]
        if missing and not nodes and key == "model-paths":  # no seeds/ is normal; no models/ is a wrong path
            warn(f"Warning: {config.config_file.name}: {key}: no folder {', '.join(missing)}, so there are no models.")
        tree = getattr(config, section)
        folders = sorted({n.folders[0] for n in nodes if n.folders})
        under = ", ".join(f"{path}/" for path in paths)
        for path, line in unused_config_paths(tree, [(*n.folders, n.name) for n in nodes]):
            where = config.config_file.name + (f":{line}" if line else "")
            warn(
                f"Warning: {where}: {section}: '{path}' matches no folder or file under {under}, so its config "
                f"applies to nothing. Folders: {', '.join(folders) or '(none)'}."
            )
        for key, known, line in misspelt_config_keys(tree):
            where = config.config_file.name + (f":{line}" if line else "")
            warn(f"Warning: {where}: {section}: '{key}' is no config Northstar knows. Did you mean '+{known}'?")


def _render_model(renv: RenderEnv, p: _Parsed) -> tuple[Rendered, IntrospectingCall | None]:
    """Render a model as dbt runs it (``execute`` true). If it queries the warehouse while rendering, its SQL waits
    for its parents to be built; it renders now as dbt parses it (``execute`` false), for its edges alone."""
    this = p.relation if isinstance(p.relation, Relation) else None
    args = (renv, p.template, p.model.sql, p.model.path)
    try:
        result = render(
            *args,
            this=this,
            materialized=p.config.materialized,
            package=p.model.package,
            introspector=Probe(),
            full_refresh=p.config.full_refresh,
        )
        return result, None
    except Introspects as signal:
        call = IntrospectingCall(signal.call, signal.line)
    if isinstance(p.relation, Ephemeral):
        raise CompileError(
            f"Model '{p.model.name}' is ephemeral and calls {call.describe()}, which queries the warehouse while "
            "rendering; Northstar inlines ephemeral models before the build starts. Materialize it as a view.",
            p.model.path,
            call.line,
        )
    offline = render(
        *args,
        this=this,
        materialized=p.config.materialized,
        package=p.model.package,
        introspector=Offline(),
        full_refresh=p.config.full_refresh,
    )
    return offline, call


def _render_models(renv: RenderEnv, parsed: list[_Parsed]) -> dict[str, tuple[Rendered, IntrospectingCall | None]]:
    """Render every model once; a structural config() (schema, alias, materialized...) must render as read."""
    rendered = {}
    for p in parsed:
        result, call = _render_model(renv, p)
        for key in _STRUCTURAL_KEYS:
            if key in result.config and p.config.as_dict().get(key) != result.config[key] and key != "enabled":
                raise CompileError(
                    f"config({key}=...) evaluated differently while rendering; it must be a literal value.",
                    p.model.path,
                )
        rendered[p.model.name] = (result, call)
    return rendered


def compile_project(
    project: Project,
    *,
    existing_relations: frozenset[tuple[str, str]] = frozenset(),
    full_refresh: bool = False,
    env_vars: Mapping[str, str] | None = None,
    warn: Callable[[str], None] = print,
) -> Manifest:
    """Render every model and link every node. Raises :class:`CompileError` on the first broken model."""
    env = make_environment()
    prefix = project.config.name
    cache = ParseCache(project.config.target_dir / CACHE_FILE)
    macros, package_macros = project_macros(env, project, cache)
    # Filled below, once models are named: naming may call the project's macros, which need the render env.
    relations: dict[str, Relation | Ephemeral] = {}
    source_relations: dict[tuple[str, str], Relation | External] = {}
    renv = project_render_env(
        project,
        env,
        macros,
        package_macros,
        relations=relations,
        sources=source_relations,
        env_vars=os.environ if env_vars is None else env_vars,
        existing_relations=existing_relations,
        full_refresh=full_refresh,
        warn=warn,
        code_store=cache,
    )
    namer = Namer(project, renv)  # makes the macro scope, with dbt's built-in macros
    parsed = [_parse_model(env, project, model, namer, cache) for model in project.models]
    cache.save()
    parsed = [p for p in parsed if p.config.enabled]
    by_name: dict[str, NodeId] = {}
    snapshots = _parse_snapshots(env, project, namer, prefix, relations, by_name)
    _warn_unused_config(project, warn)

    nodes: dict[NodeId, Node] = {}
    seed_by_relation: dict[tuple[str, str], NodeId] = {}
    for seed in project.seeds:
        seed_node = _seed_node(project, seed, prefix, namer)
        nodes[seed_node.unique_id] = seed_node
        by_name[seed.name] = seed_node.unique_id
        relations[seed.name] = seed_node.relation
        seed_by_relation[(seed_node.relation.schema, seed_node.relation.identifier)] = seed_node.unique_id
    _name_models(parsed, prefix, relations, by_name)
    _check_unique_relations(nodes, parsed, snapshots)

    for table in project.sources:
        source_node = _source_node(project, table, prefix, seed_by_relation, env_vars)
        nodes[source_node.unique_id] = source_node
        by_name[f"{table.source_name}.{table.name}"] = source_node.unique_id
        source_relations[(table.source_name, table.name)] = source_node.relation

    rendered = _render_models(renv, parsed)
    deferred: dict[NodeId, Deferred] = {}
    nodes.update({s.uid: snapshot_node(renv, s, by_name) for s in snapshots})

    for p in parsed:
        result, call = rendered[p.model.name]
        if call is not None:
            deferred[by_name[p.model.name]] = Deferred(p.template, p.model.package)
        config = p.config
        if result.config:
            # config() values read before rendering are in already: merged again, hooks would run twice.
            extra = {
                k: v
                for k, v in result.config.items()
                if k not in _STRUCTURAL_KEYS and not (k in p.literals and p.literals[k] == v)
            }
            if extra:
                config = build_config(
                    merge_config(config.as_dict(), extra),
                    "view",
                    f"Model '{p.model.name}'",
                    p.model.path,
                    None,
                )
        deps = [by_name[name] for name in result.refs]
        deps += [by_name[f"{s}.{t}"] for s, t in result.sources]
        props = p.model.properties
        sql = result.sql.strip().rstrip(";").strip()
        if (
            not sql and call is None
        ):  # else DuckDB's "syntax error at or near AS" in a CREATE statement the user never wrote
            raise CompileError(
                f"Model '{p.model.name}' is empty: a model is one select statement. Write it, or delete the file.",
                p.model.path,
            )
        check_declaration(
            p.model.name,
            config.materialized,
            config.as_dict(),
            props.columns if props else (),
            p.model.path,
            props.path if props else None,
        )
        for warning in constraint_warnings(
            p.model.name,
            config.materialized,
            config.as_dict(),
            props.columns if props else (),
            props.constraints if props else (),
        ):
            warn(f"Warning: {props.path if props else p.model.path}: {warning}")
        unknown = unknown_strategy(config, f"Model '{p.model.name}'")
        if unknown:  # dbt-duckdb builds the first run as a table and fails only an incremental run: warn, as early
            warn(f"Warning: {p.model.path}: {unknown} The first build makes a table; an incremental run will fail.")
        node = ModelNode(
            unique_id=by_name[p.model.name],
            name=p.model.name,
            path=p.model.path,
            raw_sql=p.model.sql,
            sql=sql,
            config=config,
            relation=p.relation,
            depends_on=tuple(dict.fromkeys(deps)),
            description=props.description if props else "",
            columns=props.columns if props else (),
            tests=props.tests if props else (),
            yaml_path=props.path if props else None,
            introspects=call,
            constraints=props.constraints if props else (),
            version=p.model.version,
            deprecation_date=props.deprecation_date if props else None,
        )
        nodes[node.unique_id] = node

    check_governance(nodes, project.groups, restricted_projects(project.config), warn, renv.run_started_at)
    dag = DAG({uid: node.depends_on for uid, node in nodes.items()})
    try:
        dag.sorted()
    except CompileError:
        describe = _describe(nodes)
        raise CompileError(
            f"Models reference each other in a cycle: {' -> '.join(describe(u) for u in dag.cycle)}. "
            "Break the cycle by removing one of these ref() calls."
        ) from None

    nodes = _inline_ephemerals(nodes, dag)
    return Manifest(project=project, nodes=nodes, dag=dag, render_env=renv, by_name=by_name, deferred=deferred)


def _parse_snapshots(
    env: jinja2.Environment,
    project: Project,
    namer: Namer,
    prefix: str,
    relations: dict[str, Relation | Ephemeral],
    by_name: dict[str, NodeId],
) -> list[ParsedSnapshot]:
    """The enabled snapshots, configured and named before anything renders (models may ref() them)."""
    parsed = (parse_snapshot(env, project, snapshot, namer, prefix) for snapshot in project.snapshots)
    snapshots = [s for s in parsed if s.config.enabled]
    for s in snapshots:
        relations[s.snapshot.name] = s.relation
        by_name[s.snapshot.name] = s.uid
    return snapshots


def _name_models(
    parsed: list[_Parsed], prefix: str, relations: dict[str, Relation | Ephemeral], by_name: dict[str, NodeId]
) -> None:
    """Each model's relation and id by its name. dbt's id of a version is model.<package>.<model>.v<v>, and the
    model's name alone reads its latest version."""
    for p in parsed:
        relations[p.model.name] = p.relation
        version = p.model.version
        own = f"{version.model}.{version.suffix}" if version else p.model.name
        by_name[p.model.name] = NodeId("model", p.model.package or prefix, own)
        if version and version.kind == "latest":
            relations[version.model] = p.relation
            by_name[version.model] = by_name[p.model.name]


def _check_unique_relations(
    seeds: Mapping[NodeId, Node], parsed: list[_Parsed], snapshots: list[ParsedSnapshot]
) -> None:
    """Two nodes building the same table would overwrite each other in turn; DuckDB names ignore case."""
    owners: dict[tuple[str, str], str] = {}
    nodes = [
        (seed.path, (seed.relation.schema, seed.relation.identifier))
        for seed in seeds.values()
        if isinstance(seed, SeedNode)
    ]
    nodes += [
        (p.model.path, (p.relation.schema, p.relation.identifier)) for p in parsed if isinstance(p.relation, Relation)
    ]
    nodes += [(s.snapshot.path, (s.relation.schema, s.relation.identifier)) for s in snapshots]
    for path, (schema, identifier) in nodes:
        key = (schema.lower(), identifier.lower())
        if key in owners:
            raise CompileError(
                f"Both {owners[key]} and {path} build {schema}.{identifier}. Give one of them another name, "
                "alias or schema.",
                path,
            )
        owners[key] = path


def _seed_node(project: Project, seed: Seed, prefix: str, namer: Namer) -> SeedNode:
    props = seed.properties
    return SeedNode(
        unique_id=NodeId("seed", seed.package or prefix, seed.name),
        name=seed.name,
        path=seed.path,
        abs_path=project.root / seed.path,
        config=seed.config,
        relation=namer.relation("seed", seed.name, seed.path, seed.folders, seed.config, seed.package),
        description=props.description if props else "",
        columns=props.columns if props else (),
        tests=props.tests if props else (),
        yaml_path=props.path if props else None,
        dbt_types=project.config.config_file.name == DBT_PROJECT_FILE,
    )


def _source_node(
    project: Project,
    table: SourceTable,
    prefix: str,
    seed_by_relation: Mapping[tuple[str, str], NodeId],
    env_vars: Mapping[str, str] | None,
) -> SourceNode:
    # The location may use var()/env_var(), e.g. to read Parquet files in place only when a var is set; an empty
    # result means the source is a table after all.
    location = render_property(
        table.external_location or "", project.config.vars, os.environ if env_vars is None else env_vars, table.path
    ).strip()
    relation: Relation | External
    if location:
        external = External(location)
        if not external.is_expression and "://" not in location and not os.path.isabs(location):
            external = External(str(project.root / location))
        relation = external
        depends_on: tuple[NodeId, ...] = ()
    else:
        relation = Relation(table.schema, table.identifier)
        # A source naming a seed's table is loaded by that seed: build the seed first.
        seed = seed_by_relation.get((table.schema, table.identifier))
        depends_on = (seed,) if seed else ()
    return SourceNode(
        unique_id=NodeId("source", prefix, f"{table.source_name}.{table.name}"),
        name=table.name,
        source_name=table.source_name,
        path=table.path,
        relation=relation,
        depends_on=depends_on,
        description=table.description,
        columns=table.columns,
        tests=table.tests,
        line=table.line,
    )


def _inline_ephemerals(nodes: dict[NodeId, Node], dag: DAG[NodeId]) -> dict[NodeId, Node]:
    """Give every model that reads an ephemeral model its SQL as leading CTEs (recursively, parents first); a model
    rendered during the build gets them then (:func:`inline_ephemeral_parents`)."""
    if not any(isinstance(n, ModelNode) and n.materialized == "ephemeral" for n in nodes.values()):
        return nodes
    result = dict(nodes)
    order = {uid: i for i, uid in enumerate(dag.sorted())}
    for uid, node in nodes.items():
        if isinstance(node, ModelNode) and node.introspects is None:
            result[uid] = inline_ephemeral_parents(node, nodes, dag, order)
    return result


def inline_ephemeral_parents(
    node: ModelNode, nodes: Mapping[NodeId, Node], dag: DAG[NodeId], order: Mapping[NodeId, int] | None = None
) -> ModelNode:
    """``node`` with the ephemeral models it reads (directly or through other ephemerals) as leading CTEs;
    ``order``: the DAG's order of the nodes, when the caller has it."""
    from sqlglot import exp

    ephemeral = {uid: n for uid, n in nodes.items() if isinstance(n, ModelNode) and n.materialized == "ephemeral"}
    uid = node.unique_id
    order = order or {u: i for i, u in enumerate(dag.sorted())}
    needed = sorted((dag.upstream(uid) & ephemeral.keys()), key=order.__getitem__)
    # Only ephemerals reachable through other ephemerals (or directly) are inlined.
    needed = [e for e in needed if _reaches_through_ephemerals(dag, e, uid, ephemeral)]
    if not needed:
        return node
    query = _parse_for_inlining(node, f"it reads the ephemeral model '{nodes[needed[-1]].name}'")
    ctes = [
        exp.CTE(
            this=_parse_for_inlining(ephemeral[e], f"it is ephemeral and {node.name} reads it"),
            alias=exp.TableAlias(this=exp.to_identifier(EPHEMERAL_PREFIX + ephemeral[e].name)),
        )
        for e in needed
    ]
    # sqlglot >= 26 names the WITH clause "with_"; older versions "with".
    key = "with_" if "with_" in type(query).arg_types else "with"
    existing = query.args.get(key)
    if existing is not None:
        existing.set("expressions", [*ctes, *existing.expressions])
    else:
        query.set(key, exp.With(expressions=ctes))
    return _replace(node, sql=query.sql(dialect="duckdb", pretty=True))


def _parse_for_inlining(node: ModelNode, why: str) -> exp.Expr:
    """Parse a model's rendered SQL to inline ephemeral CTEs; a failure names the model's file, not a traceback."""
    import sqlglot

    try:
        return sqlglot.parse_one(node.sql, dialect="duckdb")
    except sqlglot.errors.SqlglotError as error:
        first = str(error).splitlines()[0]
        raise CompileError(
            f"Model '{node.name}' must be a single SELECT that sqlglot can parse, because {why}. sqlglot says "
            f"(lines of the compiled SQL, see `metrics compile {node.name}`): {first}",
            node.path,
        ) from None


def _reaches_through_ephemerals(
    dag: DAG[NodeId], start: NodeId, target: NodeId, ephemeral: Mapping[NodeId, ModelNode]
) -> bool:
    frontier, seen = {start}, set()
    while frontier:
        nxt = set()
        for node in frontier:
            for child in dag.children[node]:
                if child == target:
                    return True
                if child in ephemeral and child not in seen:
                    nxt.add(child)
        seen |= frontier
        frontier = nxt
    return False


def _replace(node: ModelNode, **changes: Any) -> ModelNode:
    from dataclasses import replace

    return replace(node, **changes)
