"""Where a model or seed builds: dbt's ``generate_database_name`` / ``generate_schema_name`` /
``generate_alias_name``, the project's own when it defines them, else their default rule computed directly.

Naming happens before any model renders (``ref()`` needs every relation), with the project's macros at hand.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import jinja2

from northstar.errors import CompileError
from northstar.project.config import NodeConfig
from northstar.project.loader import Project, read_source, schema_for
from northstar.render.jinja import (
    CodeStore,
    Ephemeral,
    External,
    Relation,
    RenderEnv,
    call_macro,
    compile_macros,
    make_environment,
)


def project_macros(
    env: jinja2.Environment, project: Project, store: CodeStore | None = None
) -> tuple[tuple[jinja2.Template, ...], dict[str, tuple[jinja2.Template, ...]]]:
    """The root project's compiled macros, and each installed package's (from ``store`` when it has them)."""

    def compiled(files: tuple[str, ...]) -> tuple[jinja2.Template, ...]:
        return tuple(
            t for path in files for t in compile_macros(env, read_source(project.root / path, path), path, store)
        )

    packages = {name: compiled(files) for name, files in project.package_macro_files.items()}
    return compiled(project.macro_files), packages


def project_render_env(
    project: Project,
    env: jinja2.Environment,
    macros: tuple[jinja2.Template, ...],
    package_macros: Mapping[str, tuple[jinja2.Template, ...]],
    *,
    relations: Mapping[str, Relation | Ephemeral],
    sources: Mapping[tuple[str, str], Relation | External],
    env_vars: Mapping[str, str],
    existing_relations: frozenset[tuple[str, str]] = frozenset(),
    full_refresh: bool = False,
    warn: Callable[[str], None] = print,
    code_store: CodeStore | None = None,
) -> RenderEnv:
    return RenderEnv(
        env=env,
        macros=macros,
        relations=relations,
        sources=sources,
        vars=project.config.vars,
        target=project.config.target.jinja(),
        project_name=project.config.name,
        env_vars=env_vars,
        existing_relations=existing_relations,
        full_refresh=full_refresh,
        warn=warn,
        package_macros=package_macros,
        dispatch=project.config.dispatch,
        package_vars={package.name: package.vars for package in project.config.packages},
        code_store=code_store,
        node_packages={
            **{model.name: model.package or project.config.name for model in project.models},
            **{m.version.model: m.package or project.config.name for m in project.models if m.version},
            **{seed.name: seed.package or project.config.name for seed in project.seeds},
        },
        versions=model_versions(project),
    )


def model_versions(project: Project) -> dict[str, dict[str, str]]:
    """Versioned models: the model's name -> each version (as text) -> the name of that version's model."""
    versions: dict[str, dict[str, str]] = {}
    for model in project.models:
        if model.version:
            versions.setdefault(model.version.model, {})[str(model.version.v)] = model.name
    return versions


def project_namer(project: Project) -> Namer:
    """A namer of its own, for callers that need relations without compiling the project (metrics queries)."""
    env = make_environment()
    macros, packages = project_macros(env, project)
    renv = project_render_env(project, env, macros, packages, relations={}, sources={}, env_vars=os.environ)
    return Namer(project, renv)


class Namer:
    """The relation a model or seed builds into: dbt's ``generate_schema_name`` / ``generate_alias_name`` /
    ``generate_database_name``, the project's own overrides when it has them (called with ``target`` and the node in
    scope, as dbt calls them), else their default behaviour computed directly."""

    _MACROS = ("generate_schema_name", "generate_alias_name", "generate_database_name")

    def __init__(self, project: Project, renv: RenderEnv) -> None:
        self.project = project
        self.renv = renv
        root = renv.macro_scope.namespaces[project.config.name]
        self.overridden = project.config.schema_naming == "dbt" and any(
            prefix + name in root for name in self._MACROS for prefix in ("", "default__", "duckdb__")
        )

    def relation(
        self, kind: str, name: str, path: str, folders: tuple[str, ...], config: NodeConfig, package: str | None
    ) -> Relation:
        if not self.overridden:
            default = self.project.config.default_seed_schema if kind == "seed" else None
            return Relation(schema_for(self.project.config, config.schema, folders, default), config.alias or name)
        package = package or self.project.config.name
        node = {
            "name": name,
            "resource_type": kind,
            "package_name": package,
            "unique_id": f"{kind}.{package}.{name}",
            "fqn": [package, *folders, name],
            "path": "/".join((*folders, path.rsplit("/", 1)[-1])),
            "original_file_path": path,
            "config": config.as_dict(),
            "tags": list(config.tags),
            "version": None,
        }
        database = self._call("generate_database_name", config.extra.get("database"), node, path)
        if database != self.renv.target["database"]:
            raise CompileError(
                f"generate_database_name names database '{database}' for {kind} '{name}', but Northstar builds into "
                f"one database, the target's ('{self.renv.target['database']}'). Return target.database for it.",
                path,
            )
        schema = self._call("generate_schema_name", config.schema, node, path)
        alias = self._call("generate_alias_name", config.alias, node, path)
        for what, value in (("generate_schema_name", schema), ("generate_alias_name", alias)):
            if not value:
                raise CompileError(f"{what} returned nothing for {kind} '{name}'; it must return a name.", path)
        return Relation(schema, alias)

    def _call(self, macro: str, custom: Any, node: Mapping[str, Any], path: str) -> str:
        argument = "custom_" + macro.removeprefix("generate_")
        return call_macro(self.renv, macro, {argument: custom, "node": node}, path)
