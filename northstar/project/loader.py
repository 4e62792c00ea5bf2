"""Load a project from disk: its settings, model files, seeds, sources and YAML properties.

Nothing here renders Jinja or touches DuckDB; the result is plain frozen data that later stages read.

>>> project = load_project(Path("."))            # doctest: +SKIP
>>> [model.name for model in project.models][:2]  # doctest: +SKIP
['stg_orders', 'stg_users']
"""

from __future__ import annotations

import datetime
import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from northstar.errors import ProjectError, did_you_mean
from northstar.project import storage_version, yamlfile
from northstar.project.config import NodeConfig, build_config, merge_config, resolve_folder_config
from northstar.project.dbt import load_dbt_config
from northstar.project.groups import Group, deprecation_date, read_group
from northstar.project.settings import DBT_PROJECT_FILE, PROJECT_FILE, ProjectConfig, Target, thread_count
from northstar.project.snapshots import (
    SnapshotFile,
    SnapshotProperties,
    discover_snapshots,
    snapshot_blocks,
    snapshot_entries,
)
from northstar.project.targets import choose_target
from northstar.project.versions import ModelVersion, VersionEntry, model_versions
from northstar.project.yamlfile import YamlDict, check_keys, expect_list, expect_mapping

PROJECT_KEYS = {
    "name",
    "version",
    "config-version",
    "model-paths",
    "seed-paths",
    "macro-paths",
    "test-paths",
    "metric-paths",
    "snapshot-paths",
    "target-path",
    "warehouse",
    "schema",
    "vars",
    "models",
    "seeds",
    "snapshots",
    "data_tests",
    "tests",
    "threads",
    "storage_version",
    "target",
    "targets",
}
PROPERTY_FILE_KEYS = {
    "version",
    "models",
    "seeds",
    "sources",
    "unit_tests",
    "semantic_models",
    "metrics",
    "saved_queries",
    "exposures",
    "macros",
    "snapshots",
    "groups",
    "data_tests",
    "analyses",
}
ANALYSIS_KEYS = {"name", "description", "config", "columns", "docs", "meta", "tags"}
SEMANTIC_MODEL_KEYS = ("semantic_model", "agg_time_dimension", "primary_entity", "derived_semantics", "metrics")
MODEL_PROPERTY_KEYS = {
    "name",
    "description",
    "config",
    "columns",
    "data_tests",
    "tests",
    "docs",
    "meta",
    "tags",
    "access",
    "group",
    "constraints",
    "latest_version",
    "versions",
    "deprecation_date",
    "time_spine",  # MetricFlow's time spine (dbt 1.9+); checked by _time_spine
    # dbt 1.12's semantic model declared on the model; read by northstar.metrics.latest
    *SEMANTIC_MODEL_KEYS,
}
COLUMN_KEYS = {
    "granularity",
    "entity",  # dbt 1.12: the column as an entity or a dimension of the model's semantic model
    "dimension",
    "name",
    "description",
    "data_type",
    "data_tests",
    "tests",
    "meta",
    "quote",
    "constraints",
    "tags",
    "config",  # dbt 1.10+: a column's meta and tags under config:
}
COLUMN_CONFIG_KEYS = {"meta", "tags"}
SOURCE_KEYS = {
    "name",
    "description",
    "schema",
    "database",
    "loader",
    "meta",
    "config",
    "tables",
    "tags",
    "freshness",
    "loaded_at_field",
    "quoting",
    "overrides",
}
SOURCE_TABLE_KEYS = {
    "name",
    "description",
    "identifier",
    "external_location",
    "meta",
    "config",
    "columns",
    "data_tests",
    "tests",
    "tags",
    "freshness",
    "loaded_at_field",
    "quoting",
    "loader",
}


@dataclass(frozen=True)
class Column:
    name: str
    description: str = ""
    data_type: str | None = None
    tests: tuple[Any, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    line: int | None = None
    constraints: tuple[Mapping[str, Any], ...] = ()  # validated by _constraints, as written
    tags: tuple[str, ...] = ()  # its data tests get them, as in dbt


@dataclass(frozen=True)
class Properties:
    """What a YAML file says about one model or seed: docs, columns, config and tests."""

    path: str
    line: int | None
    description: str = ""
    columns: tuple[Column, ...] = ()
    config: Mapping[str, Any] = field(default_factory=dict)
    tests: tuple[Any, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    constraints: tuple[Mapping[str, Any], ...] = ()  # model-level (several columns), validated by _constraints
    deprecation_date: datetime.datetime | None = None


@dataclass(frozen=True)
class ModelFile:
    """A ``.sql`` file under a model path, before rendering."""

    name: str
    path: str  # relative to the project root, with forward slashes
    sql: str
    folders: tuple[str, ...]  # folders below the model path, e.g. ("marts",)
    properties: Properties | None = None
    package: str | None = None  # an installed dbt package's name; None for the project's own
    version: ModelVersion | None = None  # a version of a versioned model; `name` is then <model>_v<v>


@dataclass(frozen=True)
class Seed:
    name: str
    path: str
    folders: tuple[str, ...]
    config: NodeConfig
    schema: str
    properties: Properties | None = None
    package: str | None = None

    @property
    def alias(self) -> str:
        return self.config.alias or self.name


@dataclass(frozen=True)
class SourceTable:
    source_name: str
    name: str
    schema: str
    identifier: str
    path: str
    line: int | None
    external_location: str | None = None
    description: str = ""
    columns: tuple[Column, ...] = ()
    tests: tuple[Any, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.source_name}.{self.name}"


@dataclass(frozen=True)
class Exposure:
    """A dbt exposure: a dashboard, notebook or application that reads the project's nodes (``exposures:`` YAML)."""

    name: str
    path: str
    line: int | None
    type: str
    owner: Mapping[str, Any]
    depends_on: tuple[tuple[str, int | None], ...]  # ref()/source()/metric() calls as written, with a line
    description: str = ""
    label: str | None = None
    maturity: str | None = None
    url: str | None = None
    tags: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    package: str | None = None


@dataclass(frozen=True)
class DocBlock:
    """A ``{% docs name %}...{% enddocs %}`` block of a ``.md`` file, which ``{{ doc('name') }}`` puts into a
    description."""

    name: str
    path: str
    line: int
    contents: str
    package: str | None = None
    in_project: str = ""  # the path inside its own project's folder, which differs from `path` for a package's


@dataclass(frozen=True)
class YamlDoc:
    """A parsed property file; later stages pick their own keys (unit_tests, semantic_models, metrics)."""

    path: str
    data: YamlDict


@dataclass(frozen=True)
class Project:
    config: ProjectConfig
    models: tuple[ModelFile, ...]
    seeds: tuple[Seed, ...]
    sources: tuple[SourceTable, ...]
    macro_files: tuple[str, ...]
    test_files: tuple[str, ...]
    yaml_docs: tuple[YamlDoc, ...]
    snapshots: tuple[SnapshotFile, ...] = ()
    # The project defines generate_schema_name / generate_alias_name / generate_database_name (or their default__ /
    # duckdb__ forms): relations are named by rendering them, not by rule.
    names_relations: bool = False
    package_macro_files: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # by package name
    exposures: tuple[Exposure, ...] = ()  # enabled ones
    doc_blocks: tuple[DocBlock, ...] = ()
    groups: tuple[Group, ...] = ()
    analyses: tuple[ModelFile, ...] = ()  # compiled by `metrics compile`, never run

    @property
    def root(self) -> Path:
        return self.config.root


def find_project_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding a project file, as dbt finds ``dbt_project.yml``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).is_file() or (folder / DBT_PROJECT_FILE).is_file():
            return folder
    raise ProjectError(
        f"No {PROJECT_FILE} (or {DBT_PROJECT_FILE}) found in {start} or any folder above it. "
        "Run from inside a project, pass --project-dir, or create one with `metrics init DIR`."
    )


def load_config(
    root: Path,
    cli_vars: Mapping[str, Any] | None = None,
    target_name: str | None = None,
    threads: int | None = None,
    env: Mapping[str, str] | None = None,
) -> ProjectConfig:
    """Read the project settings, from ``project.yml`` or, failing that, ``dbt_project.yml``."""
    env = os.environ if env is None else env
    if not (root / PROJECT_FILE).is_file():
        return load_dbt_config(root, cli_vars or {}, target_name, threads, env)
    path = root / PROJECT_FILE
    data = expect_mapping(yamlfile.load(path, PROJECT_FILE), "project.yml", PROJECT_FILE)
    check_keys(data, PROJECT_KEYS, PROJECT_FILE)
    if "name" not in data:
        raise ProjectError("project.yml has no 'name'. Add e.g. `name: my_project`.", PROJECT_FILE, 1)
    if not isinstance(data["name"], str) or not data["name"].strip():
        raise ProjectError(
            f"name must be a word such as `name: my_project`, got {data['name']!r}.", PROJECT_FILE, data.line_of("name")
        )
    warehouse = Path(str(data.get("warehouse", "warehouse.duckdb")))
    env_warehouse = env.get("NORTHSTAR_WAREHOUSE")
    if env_warehouse:
        warehouse = Path(env_warehouse)
    if (warehouse if warehouse.is_absolute() else root / warehouse).is_dir():
        where = "NORTHSTAR_WAREHOUSE" if env_warehouse else "warehouse:"
        raise ProjectError(
            f"The warehouse {warehouse} is a folder; {where} must name a DuckDB file, e.g. warehouse.duckdb.",
            None if env_warehouse else PROJECT_FILE,
            None if env_warehouse else data.line_of("warehouse"),
        )
    target = Target(
        name="dev",
        schema=str(data.get("schema", "main")),
        path=warehouse if warehouse.is_absolute() else root / warehouse,
        threads=threads or thread_count(data.get("threads"), PROJECT_FILE, data.line_of("threads")),
        storage_version=storage_version.check(
            data.get("storage_version", storage_version.DEFAULT), PROJECT_FILE, data.line_of("storage_version")
        ),
    )
    target = choose_target(data, target_name, target, root)
    return ProjectConfig(
        name=str(data["name"]),
        version=str(data.get("version", "0.0.0")),
        root=root,
        config_file=path,
        target=target,
        model_paths=_paths(data, "model-paths", "models"),
        seed_paths=_paths(data, "seed-paths", "seeds"),
        macro_paths=_paths(data, "macro-paths", "macros"),
        test_paths=_paths(data, "test-paths", "tests"),
        metric_paths=_paths(data, "metric-paths", "metrics"),
        snapshot_paths=_paths(data, "snapshot-paths", "snapshots"),
        target_path=str(data.get("target-path", "target")),
        vars={
            **expect_mapping(data.get("vars"), "vars", PROJECT_FILE, data.line_of("vars")),
            **(cli_vars or {}),
        },
        models=expect_mapping(data.get("models"), "models", PROJECT_FILE, data.line_of("models")),
        seeds=expect_mapping(data.get("seeds"), "seeds", PROJECT_FILE, data.line_of("seeds")),
        snapshots=expect_mapping(data.get("snapshots"), "snapshots", PROJECT_FILE, data.line_of("snapshots")),
        data_tests=expect_mapping(
            data.get("data_tests", data.get("tests")), "data_tests", PROJECT_FILE, data.line_of("data_tests")
        ),
    )


def read_source(path: Path, display: str) -> str:
    """A text file of the project; anything but UTF-8 is an error naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ProjectError(
            f"The file is not UTF-8 text (byte {error.start}: {error.reason}). Save it as UTF-8.", display
        ) from None


def _paths(data: YamlDict, key: str, default: str) -> tuple[str, ...]:
    value = data.get(key, [default])
    if isinstance(value, str):
        value = [value]
    return tuple(str(item) for item in expect_list(value, key, PROJECT_FILE, data.line_of(key)))


def load_project(
    root: Path,
    cli_vars: Mapping[str, Any] | None = None,
    target_name: str | None = None,
    threads: int | None = None,
    env: Mapping[str, str] | None = None,
) -> Project:
    """Read everything a project declares. Raises :class:`ProjectError` for any mistake in its files."""
    config = load_config(root, cli_vars, target_name, threads, env)
    yaml_docs = tuple(doc for cfg in (config, *config.packages) for doc in _load_yaml_docs(cfg))
    doc_blocks = _doc_blocks(config)
    for package in config.packages:
        doc_blocks += tuple(replace(block, package=package.name) for block in _doc_blocks(package))
    for doc in yaml_docs:
        _put_doc_blocks(doc.data, doc.path, doc_blocks, config.name)
    model_props, seed_props, versions = _collect_properties(yaml_docs)
    models = _discover_models(config, model_props, versions)
    seeds = _discover_seeds(config, seed_props)
    for package in config.packages:  # dbt_packages/<name>: its models and seeds join the project's, under its name
        found = _discover_models(package, model_props, versions)
        models += tuple(replace(m, package=package.name) for m in found)
        seeds += tuple(replace(s, package=package.name) for s in _discover_seeds(package, seed_props))
    entries = [props for doc in yaml_docs for props in snapshot_entries(doc.path, doc.data)]
    _refuse_package_snapshots(config, entries)
    snapshots = discover_snapshots(config, entries, lambda rel: read_source(config.root / rel, rel))
    names: dict[str, str] = {}
    nodes: tuple[ModelFile | Seed | SnapshotFile, ...] = (*models, *seeds, *snapshots)
    for node in nodes:
        if node.name in names:
            raise ProjectError(
                f"Two nodes are named '{node.name}': {names[node.name]} and {node.path}. "
                "Model, seed and snapshot names must be unique; rename one of the files.",
                node.path,
            )
        names[node.name] = node.path
    _check_versions_found(versions, {m.name for m in models})
    for name, props in {**model_props, **seed_props}.items():
        if name not in names:
            raise ProjectError(
                f"Properties are given for '{name}', but no model or seed has that name. "
                "Fix the name or remove the entry.",
                props.path,
                props.line,
            )
    macro_files = tuple(_files(config, config.macro_paths, "*.sql"))
    return Project(
        config=config,
        models=models,
        seeds=seeds,
        sources=tuple(_collect_sources(config, yaml_docs)),
        exposures=_collect_exposures(yaml_docs),
        doc_blocks=doc_blocks,
        groups=_collect_groups(config, yaml_docs),
        analyses=_discover_analyses(config, yaml_docs),
        macro_files=macro_files,
        test_files=tuple(_files(config, config.test_paths, "*.sql")),
        yaml_docs=yaml_docs,
        snapshots=snapshots,
        names_relations=config.schema_naming == "dbt"
        and any(_NAMING_MACRO.search(read_source(config.root / rel, rel)) for rel in macro_files),
        package_macro_files={
            package.name: tuple(_files(package, package.macro_paths, "*.sql")) for package in config.packages
        },
    )


_NAMING_MACRO = re.compile(r"{%-?\s*macro\s+(?:default__|duckdb__)?generate_(?:schema|alias|database)_name\s*\(")


def _files(config: ProjectConfig, paths: tuple[str, ...], pattern: str) -> list[str]:
    found = []
    for base in paths:
        folder = config.root / base
        if folder.is_dir():
            found.extend(sorted(p.relative_to(config.root).as_posix() for p in folder.rglob(pattern)))
    return found


def _load_yaml_docs(config: ProjectConfig) -> list[YamlDoc]:
    docs = []
    folders = dict.fromkeys(
        (*config.model_paths, *config.seed_paths, *config.metric_paths, *config.analysis_paths, *config.snapshot_paths)
    )
    for base in folders:
        folder = config.root / base
        if not folder.is_dir():
            continue
        for path in sorted((*folder.rglob("*.yml"), *folder.rglob("*.yaml"))):
            rel = path.relative_to(config.root).as_posix()
            data = yamlfile.load(path, rel)
            data = expect_mapping(data, "A property file", rel, 1)
            check_keys(data, PROPERTY_FILE_KEYS, "a property file")
            docs.append(YamlDoc(rel, data))
    return docs


def _columns(entry: YamlDict, path: str) -> tuple[Column, ...]:
    columns = []
    for column in expect_list(entry.get("columns"), "columns", path, entry.line_of("columns")):
        column = expect_mapping(column, "A column", path, entry.line_of("columns"))
        check_keys(column, COLUMN_KEYS, f"column '{column.get('name', '?')}'")
        if "name" not in column:
            raise ProjectError("A column entry has no 'name'.", path, column.line)
        config = expect_mapping(column.get("config"), f"The config of column '{column['name']}'", path, column.line)
        check_keys(config, COLUMN_CONFIG_KEYS, f"the config of column '{column['name']}'")
        tags = [*_tag_list(column.get("tags")), *_tag_list(config.get("tags"))]
        columns.append(
            Column(
                name=str(column["name"]),
                description=str(column.get("description") or ""),
                data_type=column.get("data_type"),
                tests=tuple(expect_list(column.get("data_tests", column.get("tests")), "data_tests", path)),
                meta={**(column.get("meta") or {}), **(config.get("meta") or {})},
                tags=tuple(dict.fromkeys(map(str, tags))),
                line=column.line,
                constraints=_constraints(column, path, f"column '{column['name']}'", model_level=False),
            )
        )
    return tuple(columns)


def properties_of(entry: YamlDict, path: str) -> Properties:
    """What a YAML entry (a model's, seed's or snapshot's) says: docs, columns, config, tests."""
    config: Mapping[str, Any] = expect_mapping(entry.get("config"), "config", path, entry.line_of("config"))
    for key in ("tags", "group", "access"):  # properties dbt also reads as config
        if key in entry:
            config = {**config, key: entry[key]}
    deprecated = entry.get("deprecation_date")
    return Properties(
        path=path,
        line=entry.line,
        description=str(entry.get("description") or ""),
        columns=_columns(entry, path),
        config=config,
        tests=tuple(expect_list(entry.get("data_tests", entry.get("tests")), "data_tests", path)),
        meta=entry.get("meta") or {},
        constraints=_constraints(entry, path, f"model '{entry.get('name', '?')}'", model_level=True),
        deprecation_date=None
        if deprecated is None
        else deprecation_date(deprecated, path, entry.line_of("deprecation_date")),
    )


# dbt's constraint types and keys (a model-level constraint also names its `columns`).
CONSTRAINT_TYPES = ("check", "not_null", "unique", "primary_key", "foreign_key", "custom")
CONSTRAINT_KEYS = {"type", "name", "expression", "warn_unenforced", "warn_unsupported", "to", "to_columns"}


def _constraints(entry: YamlDict, path: str, owner: str, model_level: bool) -> tuple[YamlDict, ...]:
    """The ``constraints:`` of a column or model, checked as dbt parses them: a known type, known keys, and what
    each type needs (an expression, the columns, what a foreign key references)."""
    found = []
    for item in expect_list(entry.get("constraints"), "constraints", path, entry.line_of("constraints")):
        item = expect_mapping(item, f"A constraint of {owner}", path, entry.line_of("constraints"))
        check_keys(item, CONSTRAINT_KEYS | ({"columns"} if model_level else set()), f"a constraint of {owner}")
        kind = item.get("type")
        problem = None
        if kind not in CONSTRAINT_TYPES:
            problem = f"has type {kind!r}. Use one of: {', '.join(CONSTRAINT_TYPES)}."
        elif kind in ("check", "custom") and not item.get("expression"):
            problem = f"of type {kind} needs an `expression:`."
        elif kind == "not_null" and model_level:
            problem = "of type not_null belongs on the column: write it under that column's `constraints:`."
        elif model_level and kind != "check" and kind != "custom" and not item.get("columns"):
            problem = f"of type {kind} needs the `columns:` it applies to."
        elif kind == "foreign_key" and not (item.get("expression") or (item.get("to") and item.get("to_columns"))):
            problem = "of type foreign_key needs `to:` and `to_columns:` (or an `expression:` such as `orders (id)`)."
        if problem:
            raise ProjectError(f"A constraint of {owner} {problem}", path, item.line)
        found.append(item)
    return tuple(found)


_SPINE_GRAINS = (
    "nanosecond",
    "microsecond",
    "millisecond",
    "second",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "quarter",
    "year",
)


def _time_spine(entry: YamlDict, path: str) -> None:
    """A model declared as MetricFlow's time spine (``time_spine:``, dbt 1.9+): its shape is checked here; the
    semantic layer reads its days and its custom granularities (``metrics/reader.py``)."""
    spine = entry.get("time_spine")
    if spine is None:
        return
    name = entry.get("name", "?")
    spine = expect_mapping(spine, f"The time_spine of model '{name}'", path, entry.line_of("time_spine"))
    check_keys(spine, {"standard_granularity_column", "custom_granularities"}, f"the time_spine of model '{name}'")
    if not isinstance(spine.get("standard_granularity_column"), str):
        raise ProjectError(
            f"The time_spine of model '{name}' needs `standard_granularity_column:` (the column with one row per "
            "day, or per the spine's grain).",
            path,
            spine.line,
        )
    for item in expect_list(spine.get("custom_granularities"), "custom_granularities", path, spine.line):
        item = expect_mapping(item, "A custom granularity", path, spine.line)
        check_keys(item, {"name", "column_name"}, "a custom granularity")
        grain = item.get("name")
        if not isinstance(grain, str) or not grain or str(grain).lower() in _SPINE_GRAINS:
            raise ProjectError(
                f"A custom granularity of the time spine '{name}' is named '{grain}': give it a `name:` of its own "
                f"(e.g. fiscal_quarter), not one of the standard grains ({', '.join(_SPINE_GRAINS)}).",
                path,
                item.line,
            )
    for column in entry.get("columns") or []:
        grain = column.get("granularity") if isinstance(column, dict) else None
        if grain is not None and str(grain).lower() not in _SPINE_GRAINS:
            raise ProjectError(
                f"Column '{column.get('name')}' of model '{name}' has granularity '{grain}'. Valid choices: "
                f"{', '.join(_SPINE_GRAINS)}.",
                path,
                column.line if isinstance(column, YamlDict) else entry.line,
            )


def _collect_properties(
    docs: tuple[YamlDoc, ...],
) -> tuple[dict[str, Properties], dict[str, Properties], dict[str, list[VersionEntry]]]:
    """Models' and seeds' properties by name, and the versions of each versioned model (whose versions' properties
    are under their own names, <model>_v<v>)."""
    found: tuple[dict[str, Properties], dict[str, Properties]] = ({}, {})
    versions: dict[str, list[VersionEntry]] = {}
    for doc in docs:
        for key, into in (("models", found[0]), ("seeds", found[1])):
            for entry in expect_list(doc.data.get(key), key, doc.path, doc.data.line_of(key)):
                entry = expect_mapping(entry, f"An entry of {key}", doc.path, doc.data.line_of(key))
                check_keys(entry, MODEL_PROPERTY_KEYS, f"{key[:-1]} '{entry.get('name', '?')}'")
                if "name" not in entry:
                    raise ProjectError(f"An entry of {key} has no 'name'.", doc.path, entry.line)
                _time_spine(entry, doc.path)
                semantic = [k for k in SEMANTIC_MODEL_KEYS if k in entry]
                if key == "seeds" and semantic:
                    raise ProjectError(
                        f"Seed '{entry.get('name')}' sets {semantic[0]}: a semantic model reads a model. Select the "
                        "seed in a model and declare the semantic model there.",
                        doc.path,
                        entry.line_of(semantic[0]),
                    )
                name = str(entry["name"])
                if name in into or name in versions:
                    first = into[name] if name in into else versions[name][0].entry
                    raise ProjectError(
                        f"'{name}' is described twice: here and in {doc.path if name in versions else into[name].path}"
                        f":{first.line}. Keep one entry.",
                        doc.path,
                        entry.line,
                    )
                if key == "seeds" and "versions" in entry:
                    raise ProjectError(f"Seed '{name}' has versions; only models have.", doc.path, entry.line)
                by_version = model_versions(entry, doc.path)
                for version in by_version:
                    into[version.name] = properties_of(version.entry, doc.path)
                if by_version:
                    versions[name] = by_version
                else:
                    into[name] = properties_of(entry, doc.path)
    return found[0], found[1], versions


def _discover_models(
    config: ProjectConfig, props: dict[str, Properties], versions: dict[str, list[VersionEntry]]
) -> tuple[ModelFile, ...]:
    files: list[tuple[Path, Path]] = []
    for base in config.model_paths:
        folder = config.root / base
        if folder.is_dir():
            files.extend((folder, path) for path in sorted(folder.rglob("*.sql")))
    stems = {path.stem for _, path in files}
    by_file: dict[str, VersionEntry] = {}
    for entries in versions.values():
        for entry in entries:
            if entry.file in stems:
                by_file[entry.file] = entry
            elif entry.fallback is not None and entry.fallback in stems:
                by_file[entry.fallback] = entry
    models = []
    for folder, path in files:
        rel = path.relative_to(config.root).as_posix()
        version = by_file.get(path.stem)
        if version is None and path.stem in versions:
            raise ProjectError(
                f"Model '{path.stem}' has versions in YAML, and this file is none of them. Name it after its version "
                f"({path.stem}_v<v>.sql) or point a version's `defined_in:` at it.",
                rel,
            )
        name = version.name if version else path.stem
        models.append(
            ModelFile(
                name=name,
                path=rel,
                sql=read_source(path, rel),
                folders=path.parent.relative_to(folder).parts,
                properties=props.get(name),
                version=version.version if version else None,
            )
        )
    return tuple(models)


def _check_versions_found(versions: dict[str, list[VersionEntry]], names: set[str]) -> None:
    """Every version needs its file (dbt leaves one without a file out, and a ref to it then fails)."""
    for entries in versions.values():
        for version in entries:
            if version.name not in names:
                raise ProjectError(
                    f"Version {version.version.v} of model '{version.version.model}' has no file: write "
                    f"{version.file}.sql under a model path, or set its `defined_in:` to the file's name.",
                    version.entry.path,
                    version.line,
                )


def _discover_seeds(config: ProjectConfig, props: dict[str, Properties]) -> tuple[Seed, ...]:
    seeds = []
    for base in config.seed_paths:
        folder = config.root / base
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.csv")):
            rel = path.relative_to(config.root).as_posix()
            folders = path.parent.relative_to(folder).parts
            prop = props.get(path.stem)
            raw = merge_config(resolve_folder_config(config.seeds, (*folders, path.stem)), prop.config if prop else {})
            node_config = build_config(raw, "seed", f"Seed '{path.stem}'", prop.path if prop else rel, None)
            seeds.append(
                Seed(
                    name=path.stem,
                    path=rel,
                    folders=folders,
                    config=node_config,
                    schema=schema_for(config, node_config.schema, (), default=config.default_seed_schema),
                    properties=prop,
                )
            )
    return tuple(seeds)


def schema_for(config: ProjectConfig, custom: str | None, folders: tuple[str, ...], default: str | None = None) -> str:
    """The schema a node builds into.

    Northstar maps the first folder under the model path to a schema (models/marts -> marts) unless a schema is
    configured; dbt projects keep dbt's rule (target schema, or ``<target>_<custom>``).
    """
    if config.schema_naming == "dbt":
        return f"{config.target.schema}_{custom}" if custom else config.target.schema
    if custom:
        return str(custom)
    if default:
        return default
    return folders[0] if folders else config.target.schema


def _location_settings(entry: YamlDict) -> dict[str, Any]:
    """A source's or source table's ``meta``, ``config`` and (dbt 1.10+) ``config: meta:`` merged, the last winning:
    dbt-duckdb reads ``external_location`` from any of them."""
    config = entry.get("config") or {}
    nested = config.get("meta") if isinstance(config, dict) else None
    return {
        **(entry.get("meta") or {}),
        **(config if isinstance(config, dict) else {}),
        **(nested if isinstance(nested, dict) else {}),
    }


def _collect_sources(config: ProjectConfig, docs: tuple[YamlDoc, ...]) -> list[SourceTable]:
    tables: list[SourceTable] = []
    seen: dict[str, str] = {}
    for doc in docs:
        for source in expect_list(doc.data.get("sources"), "sources", doc.path, doc.data.line_of("sources")):
            source = expect_mapping(source, "A source", doc.path, doc.data.line_of("sources"))
            check_keys(source, SOURCE_KEYS, f"source '{source.get('name', '?')}'")
            if "name" not in source:
                raise ProjectError("A source has no 'name'.", doc.path, source.line)
            source_name = str(source["name"])
            schema = str(source.get("schema") or source_name)
            source_meta = _location_settings(source)
            for table in expect_list(source.get("tables"), "tables", doc.path, source.line_of("tables")):
                table = expect_mapping(table, "A source table", doc.path, source.line)
                check_keys(table, SOURCE_TABLE_KEYS, f"table '{table.get('name', '?')}' of source '{source_name}'")
                if "name" not in table:
                    raise ProjectError(f"A table of source '{source_name}' has no 'name'.", doc.path, table.line)
                name = str(table["name"])
                location = table.get("external_location") or _location_settings(table).get("external_location")
                if location is None and source_meta.get("external_location"):
                    # dbt-duckdb's template for every table of the source: {name}, {identifier}, {schema}.
                    fields = {"name": name, "identifier": str(table.get("identifier") or name), "schema": schema}
                    location = str(source_meta["external_location"])
                    for field_name, value in fields.items():
                        location = location.replace("{" + field_name + "}", value)
                key = f"{source_name}.{name}"
                if key in seen:
                    raise ProjectError(f"Source table '{key}' is declared twice (also in {seen[key]}).", doc.path)
                seen[key] = doc.path
                tables.append(
                    SourceTable(
                        source_name=source_name,
                        name=name,
                        schema=schema,
                        identifier=str(table.get("identifier") or name),
                        path=doc.path,
                        line=table.line,
                        external_location=str(location) if location else None,
                        description=str(table.get("description") or ""),
                        columns=_columns(table, doc.path),
                        tests=tuple(expect_list(table.get("data_tests", table.get("tests")), "data_tests", doc.path)),
                        meta=table.get("meta") or {},
                    )
                )
    return tables


EXPOSURE_KEYS = {
    "name",
    "type",
    "owner",
    "depends_on",
    "description",
    "label",
    "maturity",
    "url",
    "tags",
    "meta",
    "config",
}
EXPOSURE_TYPES = ("dashboard", "notebook", "analysis", "ml", "application")
EXPOSURE_MATURITIES = ("high", "medium", "low")


def _discover_analyses(config: ProjectConfig, docs: tuple[YamlDoc, ...]) -> tuple[ModelFile, ...]:
    """The ``.sql`` files under ``analysis-paths`` (the project's and its packages'), with their ``analyses:``
    properties."""
    props: dict[str, Properties] = {}
    for doc in docs:
        for entry in expect_list(doc.data.get("analyses"), "analyses", doc.path, doc.data.line_of("analyses")):
            entry = expect_mapping(entry, "An entry of analyses", doc.path, doc.data.line_of("analyses"))
            check_keys(entry, ANALYSIS_KEYS, f"analysis '{entry.get('name', '?')}'")
            if "name" not in entry:
                raise ProjectError("An entry of analyses has no 'name'.", doc.path, entry.line)
            props[str(entry["name"])] = properties_of(entry, doc.path)
    found: list[ModelFile] = []
    for project in (config, *config.packages):
        for rel in _files(project, project.analysis_paths, "*.sql"):
            path = config.root / rel
            folder = next(base for base in project.analysis_paths if rel.startswith(base + "/"))
            found.append(
                ModelFile(
                    name=path.stem,
                    path=rel,
                    sql=read_source(path, rel),
                    folders=PurePosixPath(rel).parent.relative_to(folder).parts,
                    properties=props.pop(path.stem, None),
                    package=None if project is config else project.name,
                )
            )
    for name, orphan in props.items():
        raise ProjectError(
            f"Properties are given for analysis '{name}', but no analysis has that name. Fix the name or remove the "
            "entry.",
            orphan.path,
            orphan.line,
        )
    return tuple(found)


def _collect_groups(config: ProjectConfig, docs: tuple[YamlDoc, ...]) -> tuple[Group, ...]:
    """The ``groups:`` of every property file; a package's belong to it."""
    found: dict[str, Group] = {}
    for doc in docs:
        package = next((p.name for p in config.packages if doc.path.startswith(_folder_of(p))), None)
        for entry in expect_list(doc.data.get("groups"), "groups", doc.path, doc.data.line_of("groups")):
            entry = expect_mapping(entry, "A group", doc.path, doc.data.line_of("groups"))
            group = replace(read_group(entry, doc.path), package=package)
            if group.name in found:
                first = found[group.name]
                raise ProjectError(
                    f"Group '{group.name}' is declared twice: here and in {first.path}:{first.line}. Keep one.",
                    doc.path,
                    entry.line,
                )
            found[group.name] = group
    return tuple(found.values())


def _refuse_package_snapshots(config: ProjectConfig, entries: list[SnapshotProperties]) -> None:
    """An installed package's snapshots (blocks under its snapshot-paths, YAML ``snapshots:``) are not built yet:
    refused by name, rather than skipped or taken for the root project's."""
    for package in config.packages:
        folder = _folder_of(package)
        found = [(str(p.entry["name"]), p.path, p.line) for p in entries if p.path.startswith(folder)]
        for base in package.snapshot_paths:
            for file in sorted((config.root / base).rglob("*.sql")):
                rel = file.relative_to(config.root).as_posix()
                found += [(b.name, b.path, b.line) for b in snapshot_blocks(read_source(file, rel), rel, ())]
        if found:
            name, path, line = found[0]
            raise ProjectError(
                f"Snapshot '{name}' belongs to the installed package '{package.name}'; Northstar does not build a "
                "package's snapshots yet. Copy it into the root project's snapshots/, or remove the package.",
                path,
                line,
            )


def _folder_of(package: ProjectConfig) -> str:
    return package.config_file.parent.relative_to(package.root).as_posix() + "/"


def _collect_exposures(docs: tuple[YamlDoc, ...]) -> tuple[Exposure, ...]:
    """The enabled ``exposures:`` of every property file, checked as dbt parses them."""
    found: dict[str, Exposure] = {}
    for doc in docs:
        for entry in expect_list(doc.data.get("exposures"), "exposures", doc.path, doc.data.line_of("exposures")):
            entry = expect_mapping(entry, "An exposure", doc.path, doc.data.line_of("exposures"))
            exposure = _exposure(entry, doc.path)
            if exposure is None:
                continue
            if exposure.name in found:
                first = found[exposure.name]
                raise ProjectError(
                    f"Exposure '{exposure.name}' is declared twice: here and in {first.path}:{first.line}. Keep one.",
                    doc.path,
                    entry.line,
                )
            found[exposure.name] = exposure
    return tuple(found.values())


def _exposure(entry: YamlDict, path: str) -> Exposure | None:
    """One exposure, or None when its config disables it."""
    check_keys(entry, EXPOSURE_KEYS, f"exposure '{entry.get('name', '?')}'")
    name = entry.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise ProjectError(
            f"Exposure name {name!r} must be letters, digits and underscores (put a display name in `label:`).",
            path,
            entry.line,
        )
    what = f"Exposure '{name}'"
    config = expect_mapping(entry.get("config"), f"The config of {what.lower()}", path, entry.line_of("config"))
    check_keys(config, {"enabled", "tags", "meta"}, f"the config of exposure '{name}'")
    if not isinstance(config.get("enabled", True), bool):
        raise ProjectError(f"{what} has enabled={config['enabled']!r}; use true or false.", path, config.line)
    if not config.get("enabled", True):
        return None
    for key, choices in (("type", EXPOSURE_TYPES), ("maturity", EXPOSURE_MATURITIES)):
        value = entry.get(key)
        if (value is not None or key == "type") and value not in choices:
            raise ProjectError(
                f"{what} has {key} {value!r}. Use one of: {', '.join(choices)}.", path, entry.line_of(key) or entry.line
            )
    owner = expect_mapping(entry.get("owner"), f"The owner of {what.lower()}", path, entry.line_of("owner"))
    check_keys(owner, {"name", "email"}, f"the owner of exposure '{name}'")
    if not owner.get("name") and not owner.get("email"):
        raise ProjectError(
            f"{what} needs an owner with a name or an email, e.g. `owner: {{name: Analytics, email: a@example.com}}`.",
            path,
            entry.line_of("owner") or entry.line,
        )
    items = expect_list(entry.get("depends_on"), "depends_on", path, entry.line_of("depends_on"))
    line = entry.line_of("depends_on")
    return Exposure(
        name=name,
        path=path,
        line=entry.line,
        type=str(entry["type"]),
        owner=dict(owner),
        depends_on=tuple((str(item), line) for item in items),  # each named by its text at depends_on's line
        description=str(entry.get("description") or ""),
        label=str(entry["label"]) if entry.get("label") is not None else None,
        maturity=entry.get("maturity"),
        url=str(entry["url"]) if entry.get("url") is not None else None,
        tags=tuple(dict.fromkeys(str(t) for t in [*_tag_list(entry.get("tags")), *_tag_list(config.get("tags"))])),
        meta={**(entry.get("meta") or {}), **(config.get("meta") or {})},
    )


def _tag_list(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


_DOCS_BLOCK = re.compile(r"{%-?\s*docs\s+(\w+)\s*-?%}(.*?){%-?\s*enddocs\s*-?%}", re.DOTALL)
_DOC_CALL = re.compile(r"{{-?\s*doc\(\s*(?:['\"](\w+)['\"]\s*,\s*)?['\"](\w+)['\"]\s*\)\s*-?}}")


def _doc_blocks(config: ProjectConfig) -> tuple[DocBlock, ...]:
    """The docs blocks of the ``.md`` files under ``docs-paths`` (by default every resource path, as dbt)."""
    paths = config.docs_paths
    if paths is None:
        paths = (*config.model_paths, *config.seed_paths, *config.macro_paths, *config.test_paths)
        paths += (*config.snapshot_paths, *config.analysis_paths, *config.metric_paths)
    found: dict[str, DocBlock] = {}
    folder = config.config_file.parent.relative_to(config.root)
    for rel in dict.fromkeys(_files(config, tuple(dict.fromkeys(paths)), "*.md")):
        text = read_source(config.root / rel, rel)
        for match in _DOCS_BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            name = match.group(1)
            if name in found:
                first = found[name]
                raise ProjectError(
                    f"Docs block '{name}' is defined twice: here and in {first.path}:{first.line}. Rename one.",
                    rel,
                    line,
                )
            if "{{" in match.group(2) or "{%" in match.group(2):
                raise ProjectError(
                    f"Docs block '{name}' holds Jinja, which dbt renders and Northstar does not: write its text "
                    "as it should read.",
                    rel,
                    line,
                )
            in_project = PurePosixPath(rel).relative_to(folder.as_posix()).as_posix()
            found[name] = DocBlock(name, rel, line, match.group(2).strip(), in_project=in_project)
    return tuple(found.values())


def _put_doc_blocks(data: Any, path: str, blocks: tuple[DocBlock, ...], root: str) -> None:
    """Replace ``{{ doc('name') }}`` (or ``doc('package', 'name')``) in every ``description`` of a property file by
    the block's text, in place; a name no block has is an error at the description's line."""
    if isinstance(data, list):
        for item in data:
            _put_doc_blocks(item, path, blocks, root)
        return
    if not isinstance(data, YamlDict):
        return
    for key, value in data.items():
        if key == "description" and isinstance(value, str) and "doc(" in value:
            line = data.line_of(key)
            data[key] = _DOC_CALL.sub(functools.partial(_doc_text, blocks, path, line, root), value)
            if re.search(r"{{[^}]*\bdoc\(", data[key]):
                raise ProjectError(
                    "A description calls doc() in a way Northstar does not read: write the call alone in its "
                    "braces, with quoted names, as {{ doc('name') }} or {{ doc('package', 'name') }}.",
                    path,
                    line,
                )
        else:
            _put_doc_blocks(value, path, blocks, root)


def _doc_text(blocks: tuple[DocBlock, ...], path: str, line: int | None, root: str, match: re.Match[str]) -> str:
    package, name = match.group(1), match.group(2)
    for block in blocks:
        if block.name == name and package in (None, block.package or root):
            return block.contents
    known = sorted({block.name for block in blocks})
    raise ProjectError(
        f"{match.group(0).strip()} names no docs block.{did_you_mean(name, known)} Define it in a .md file as "
        f"{{% docs {name} %}}...{{% enddocs %}}.",
        path,
        line,
    )
