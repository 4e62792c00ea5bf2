"""Read an existing dbt project (``dbt_project.yml`` + ``profiles.yml`` with a duckdb target).

The result is the same :class:`ProjectConfig` a ``project.yml`` gives, with dbt's schema naming, so a dbt-duckdb
user gets the same tables in the same schemas.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from northstar.errors import ProjectError, did_you_mean
from northstar.project import storage_version, yamlfile
from northstar.project.groups import restrict_access
from northstar.project.packages import load_packages
from northstar.project.settings import (
    DBT_PROJECT_FILE,
    SPARK_CATALOG,
    ProjectConfig,
    RunHook,
    SparkSettings,
    Target,
    thread_count,
)
from northstar.project.yamlfile import YamlDict, expect_mapping
from northstar.render.jinja import render_property


def _render_env_vars(value: Any, env: Mapping[str, str], path: Path) -> Any:
    """profiles.yml and dbt_project.yml may hold ``{{ env_var('X') }}``: render every string value that does."""
    if isinstance(value, str):
        return render_property(value, {}, env, path)
    if isinstance(value, dict):
        return {k: _render_env_vars(v, env, path) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_env_vars(v, env, path) for v in value]
    return value


# dbt_project.yml keys Northstar reads.
_READ_KEYS = {
    "name",
    "version",
    "config-version",
    "profile",
    "model-paths",
    "source-paths",
    "seed-paths",
    "data-paths",
    "macro-paths",
    "test-paths",
    "metric-paths",
    "snapshot-paths",
    "restrict-access",
    "docs-paths",
    "analysis-paths",
    "target-path",
    "vars",
    "models",
    "seeds",
    "snapshots",
    "data_tests",
    "tests",
    "dispatch",
    "packages-install-path",
    "on-run-start",
    "on-run-end",
}
# Keys that change nothing Northstar builds: where dbt writes logs and docs, what `dbt clean` deletes, the version
# pin, the query comment, behaviour flags of dbt itself.
_NO_EFFECT_KEYS = {
    "require-dbt-version",
    "clean-targets",
    "log-path",
    "asset-paths",
    "query-comment",
    "flags",
    "exposures",
    "semantic-models",
    "saved-queries",
    "metrics",
    "unit_tests",
}
# Keys that would change what is built, which Northstar cannot honour yet: refused by name rather than ignored.
_REFUSED_KEYS = {
    "quoting": "quoting config is not supported: Northstar quotes identifiers only where DuckDB needs it",
    "sources": "source configs in dbt_project.yml are not supported yet; set them in the sources' YAML",
}


def _check_project_keys(data: yamlfile.YamlDict, path: str) -> None:
    for key in data:
        name = str(key)
        if name in _READ_KEYS or name in _NO_EFFECT_KEYS:
            continue
        line = data.line_of(name)
        if name in _REFUSED_KEYS:
            raise ProjectError(f"'{name}': {_REFUSED_KEYS[name]}. Remove the key to build with Northstar.", path, line)
        known = sorted(_READ_KEYS | _NO_EFFECT_KEYS)
        raise ProjectError(
            f"Unknown key '{name}' in dbt_project.yml.{did_you_mean(name, known)} Keys dbt knows: {', '.join(known)}.",
            path,
            line,
        )


# Hooks are SQL rendered when they run (they may use `this`); every other config value renders as the project loads.
_RENDERED_LATER = {"pre_hook", "post_hook"}


def _native(text: str) -> Any:
    """A rendered config value as the Python value it spells (``False``, ``3``, ``['a']``), as dbt's native
    rendering gives; anything else stays text."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def _render_config(value: Any, vars: Mapping[str, Any], env: Mapping[str, str], path: str) -> Any:
    """Jinja in dbt_project.yml config values (``+enabled: "{{ var('load_raw', false) }}"``), rendered with vars and
    env_var as dbt renders them; mappings keep their YAML lines for later warnings."""
    if isinstance(value, str):
        return _native(render_property(value, vars, env, path)) if "{{" in value or "{%" in value else value
    if isinstance(value, list):
        return [_render_config(item, vars, env, path) for item in value]
    if isinstance(value, dict):
        rendered = yamlfile.YamlDict(
            (
                key,
                item
                if str(key).lstrip("+").replace("-", "_") in _RENDERED_LATER
                else _render_config(item, vars, env, path),
            )
            for key, item in value.items()
        )
        if isinstance(value, yamlfile.YamlDict):
            rendered.line, rendered.path, rendered.key_lines = value.line, value.path, dict(value.key_lines)
        return rendered
    return value


def _line(mapping: Any, *keys: str) -> int | None:
    """The line of a nested key of a YAML mapping, or of the deepest mapping found on the way."""
    line = None
    for key in keys:
        if not isinstance(mapping, YamlDict):
            break
        line = mapping.line_of(key)
        mapping = mapping.get(key)
    return line


def _find_profiles(root: Path, env: Mapping[str, str]) -> Path:
    """Where dbt finds ``profiles.yml``: ``--profiles-dir`` or ``$DBT_PROFILES_DIR`` alone when set (the CLI passes
    ``--profiles-dir`` as ``DBT_PROFILES_DIR``), else the working folder, then (Northstar only) the project folder,
    then ``~/.dbt``."""
    if env.get("DBT_PROFILES_DIR"):
        folder = Path(env["DBT_PROFILES_DIR"])
        if (folder / "profiles.yml").is_file():
            return folder / "profiles.yml"
        raise ProjectError(
            f"No profiles.yml in {folder} (named by --profiles-dir or $DBT_PROFILES_DIR). "
            "Point it at the folder holding profiles.yml.",
            DBT_PROJECT_FILE,
        )
    folders = (Path.cwd(), root, Path.home() / ".dbt")
    candidates = dict.fromkeys(folder / "profiles.yml" for folder in folders)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ProjectError(
        "dbt_project.yml found, but no profiles.yml (looked in the working folder, the project, "
        "$DBT_PROFILES_DIR and ~/.dbt). Add a profiles.yml with a duckdb target.",
        DBT_PROJECT_FILE,
    )


def _duckdb_target(
    output: dict[str, Any],
    target_name: str,
    profile_name: str,
    profiles_path: Path,
    threads: int | None,
    name: str,
    outputs: Any,
) -> Target:
    """A dbt-duckdb target: the DuckDB file and its settings."""
    db_path = Path(str(output.get("path", f"{name}.duckdb")))
    if str(db_path) == ":memory:":
        raise ProjectError("Target path ':memory:' cannot hold a warehouse; set a file path.", profiles_path)
    settings = output.get("settings") or {}
    if not isinstance(settings, dict):
        raise ProjectError(
            f"Target '{target_name}' has settings: {settings!r}; it must be a mapping of DuckDB settings.",
            profiles_path,
        )
    return Target(
        name=target_name,
        schema=str(output.get("schema", "main")),
        # DuckDB opens a relative path from the working folder, so dbt-duckdb builds `path: dev.duckdb` there, even
        # with --project-dir elsewhere; so does Northstar.
        path=db_path if db_path.is_absolute() else Path.cwd() / db_path,
        threads=threads or thread_count(output.get("threads"), profiles_path, None),
        profile_name=profile_name,
        # dbt-duckdb passes `settings:` to DuckDB, which creates a new file in this format; Northstar keeps to it.
        storage_version=storage_version.check(
            settings.get("storage_compatibility_version", storage_version.DEFAULT),
            profiles_path,
            _line(outputs[target_name], "settings", "storage_compatibility_version"),
        ),
    )


# The keys of a dbt-spark `method: session` target that mean something here; the connection keys of its other methods
# (host, port, token, cluster...) reach a Thrift or HTTP server, which Northstar does not speak.
SPARK_PROFILE_KEYS = {
    "type",
    "method",
    "schema",
    "database",
    "threads",
    "location_root",
    "host",
    "server_side_parameters",
}


def _spark_target(
    output: dict[str, Any], target_name: str, profile_name: str, profiles_path: Path, threads: int | None
) -> Target:
    """A dbt-spark target with ``method: session``: a local Spark (or, with ``host: sc://...``, Spark Connect)."""
    method = output.get("method")
    if method != "session":
        raise ProjectError(
            f"Target '{target_name}' is a dbt-spark target with method '{method}'; Northstar runs Spark in-process "
            "(`method: session`) or through Spark Connect (`method: session` with `host: sc://host:15002`).",
            profiles_path,
        )
    unknown = sorted(set(output) - SPARK_PROFILE_KEYS)
    if unknown:
        raise ProjectError(
            f"Target '{target_name}' sets {', '.join(unknown)}, which a `method: session` target does not use. "
            f"Keys it reads: {', '.join(sorted(SPARK_PROFILE_KEYS))}.",
            profiles_path,
        )
    host = str(output.get("host") or "")
    location = Path(str(output.get("location_root", "spark-warehouse")))
    conf = output.get("server_side_parameters") or {}
    settings = SparkSettings(
        location=location if location.is_absolute() else Path.cwd() / location,
        remote=host if host.startswith("sc://") else None,
        conf=tuple((str(k), str(v)) for k, v in dict(conf).items()),
    )
    return Target(
        name=target_name,
        schema=str(output.get("schema", "default")),
        path=settings.location / SPARK_CATALOG,
        threads=threads or thread_count(output.get("threads"), profiles_path, None),
        profile_name=profile_name,
        type="spark",
        spark=settings,
    )


def load_dbt_config(
    root: Path,
    cli_vars: Mapping[str, Any],
    target_name: str | None,
    threads: int | None,
    env: Mapping[str, str],
) -> ProjectConfig:
    """A dbt project's ``dbt_project.yml`` and its profile's target from ``profiles.yml`` (in the project,
    ``$DBT_PROFILES_DIR`` or ``~/.dbt``) as the same :class:`ProjectConfig` a ``project.yml`` gives."""
    data = expect_mapping(yamlfile.load(root / DBT_PROJECT_FILE, DBT_PROJECT_FILE), "dbt_project.yml", DBT_PROJECT_FILE)
    if "name" not in data:
        raise ProjectError("dbt_project.yml has no 'name'.", DBT_PROJECT_FILE, 1)
    name = str(data["name"])
    _check_project_keys(data, DBT_PROJECT_FILE)
    profile_name = str(data.get("profile") or name)

    profiles_path = _find_profiles(root, env)
    profiles = yamlfile.load(profiles_path)
    profile = profiles.get(profile_name)
    if not isinstance(profile, yamlfile.YamlDict):  # every mapping yamlfile loads is one
        raise ProjectError(
            f"profiles.yml has no profile '{profile_name}' (dbt_project.yml names it). "
            f"Profiles there: {', '.join(k for k in profiles if k != 'config') or 'none'}.",
            profiles_path,
        )
    target_name = target_name or str(_render_env_vars(profile.get("target", "dev"), env, profiles_path))
    outputs = profile.get("outputs") or {}
    if target_name not in outputs:
        raise ProjectError(
            f"Profile '{profile_name}' has no target '{target_name}'. Targets: {', '.join(outputs) or 'none'}.",
            profiles_path,
            profile.line_of("outputs"),
        )
    output = _render_env_vars(dict(outputs[target_name]), env, profiles_path)
    if output.get("type") == "spark":
        target = _spark_target(output, target_name, profile_name, profiles_path, threads)
    elif output.get("type") != "duckdb":
        raise ProjectError(
            f"Target '{target_name}' is of type '{output.get('type')}'; Northstar builds into DuckDB or Spark. "
            "Add a target with `type: duckdb` (or `type: spark` with `method: session`).",
            profiles_path,
        )
    else:
        target = _duckdb_target(output, target_name, profile_name, profiles_path, threads, name, outputs)

    def paths(*keys: str, default: str) -> tuple[str, ...]:
        for key in keys:
            if key in data:
                value = data[key]
                return (value,) if isinstance(value, str) else tuple(value)
        return (default,)

    raw_vars = dict(data.get("vars") or {})
    # dbt allows vars scoped per project: vars: {my_project: {x: 1}}.
    scoped = raw_vars.pop(name, None)
    project_vars = {**raw_vars, **(scoped if isinstance(scoped, dict) else {})}
    all_vars = {**project_vars, **cli_vars}
    models_tree = _render_config(data.get("models") or {}, all_vars, env, DBT_PROJECT_FILE)
    seeds_tree = _render_config(data.get("seeds") or {}, all_vars, env, DBT_PROJECT_FILE)
    snapshots_tree = _render_config(data.get("snapshots") or {}, all_vars, env, DBT_PROJECT_FILE)
    models = models_tree.get(name) or {}
    seeds = seeds_tree.get(name) or {}
    config = ProjectConfig(
        name=name,
        version=str(data.get("version", "0.0.0")),
        root=root,
        config_file=root / DBT_PROJECT_FILE,
        target=target,
        model_paths=paths("model-paths", "source-paths", default="models"),
        seed_paths=paths("seed-paths", "data-paths", default="seeds"),
        macro_paths=paths("macro-paths", default="macros"),
        test_paths=paths("test-paths", default="tests"),
        metric_paths=paths("metric-paths", default="models"),
        snapshot_paths=paths("snapshot-paths", default="snapshots"),
        analysis_paths=paths("analysis-paths", default="analyses"),
        docs_paths=paths("docs-paths", default="") if "docs-paths" in data else None,
        target_path=str(data.get("target-path", "target")),
        vars=all_vars,
        models={**{k: v for k, v in models_tree.items() if k.startswith("+")}, **models},
        seeds={**{k: v for k, v in seeds_tree.items() if k.startswith("+")}, **seeds},
        snapshots={
            **{k: v for k, v in snapshots_tree.items() if k.startswith("+")},
            **(snapshots_tree.get(name) or {}),
        },
        data_tests=_render_config(data.get("data_tests") or data.get("tests") or {}, all_vars, env, DBT_PROJECT_FILE),
        schema_naming="dbt",
        default_seed_schema="",
        dispatch=_dispatch(data),
        restrict_access=restrict_access(data, DBT_PROJECT_FILE, data.line_of("restrict-access")),
        on_run_start=run_hooks(data, "on-run-start", DBT_PROJECT_FILE),
        on_run_end=run_hooks(data, "on-run-end", DBT_PROJECT_FILE),
    )
    trees = {"models": models_tree, "seeds": seeds_tree, "vars": raw_vars, "cli_vars": cli_vars}
    install_path = str(data.get("packages-install-path", "dbt_packages"))
    return replace(config, packages=load_packages(config, install_path, trees))


def _dispatch(data: yamlfile.YamlDict) -> dict[str, tuple[str, ...]]:
    """``dispatch: [{macro_namespace: dbt_utils, search_order: [my_project, dbt_utils]}]``."""
    orders: dict[str, tuple[str, ...]] = {}
    line = data.line_of("dispatch")
    for entry in yamlfile.expect_list(data.get("dispatch"), "dispatch", DBT_PROJECT_FILE, line):
        entry = expect_mapping(entry, "A dispatch entry", DBT_PROJECT_FILE, line)
        yamlfile.check_keys(entry, {"macro_namespace", "search_order"}, "a dispatch entry")
        namespace, order = entry.get("macro_namespace"), entry.get("search_order")
        if not isinstance(namespace, str) or not isinstance(order, list) or not order:
            raise ProjectError(
                "A dispatch entry needs `macro_namespace:` (a package name) and `search_order:` (a list of packages), "
                "e.g. {macro_namespace: dbt_utils, search_order: [my_project, dbt_utils]}.",
                DBT_PROJECT_FILE,
                entry.line,
            )
        orders[namespace] = tuple(str(package) for package in order)
    return orders


def run_hooks(data: yamlfile.YamlDict, key: str, path: str) -> tuple[RunHook, ...]:
    """``on-run-start:``/``on-run-end:``: one statement or a list of them, kept as written (rendered when run)."""
    value = data.get(key)
    line = data.line_of(key)
    items = [] if value is None else value if isinstance(value, list) else [value]
    hooks = []
    for item in items:
        if not isinstance(item, str):
            raise ProjectError(
                f"'{key}' holds {item!r}; a run hook is a SQL statement (text, Jinja allowed), or a list of them.",
                path,
                line,
            )
        if item.strip():
            hooks.append(RunHook(item, line))
    return tuple(hooks)
