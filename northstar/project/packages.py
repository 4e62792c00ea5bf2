"""dbt packages as ``dbt deps`` leaves them: ``packages.yml`` (or ``dependencies.yml``) lists them, and each sits in
``dbt_packages/<folder>/`` with its own ``dbt_project.yml``.

Northstar does not download packages; it reads the installed ones and says which listed ones are missing. Each
installed package becomes a :class:`ProjectConfig` whose paths point into its folder (relative to the root project,
so messages name ``dbt_packages/my_utils/macros/x.sql``), with the config dbt gives its nodes: the package's own
``models:``/``seeds:`` trees under the root project's ``models: <package>:`` ones, and its vars under the root's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from northstar.errors import ProjectError
from northstar.project import yamlfile
from northstar.project.groups import restrict_access
from northstar.project.settings import DBT_PROJECT_FILE, ProjectConfig
from northstar.project.yamlfile import expect_list, expect_mapping

PACKAGE_FILES = ("packages.yml", "dependencies.yml")
PACKAGE_ENTRY_KEYS = {"package", "version", "git", "revision", "subdirectory", "local", "tarball", "name", "private"}
PACKAGE_ENTRY_KEYS |= {"warn-unpinned", "install-prerelease"}


def load_packages(config: ProjectConfig, install_path: str, root_trees: Mapping[str, Any]) -> tuple[ProjectConfig, ...]:
    """The installed packages of a dbt project, after checking every listed one is installed.

    ``root_trees`` holds the root project's whole ``models:`` and ``seeds:`` trees and its raw ``vars:``, where
    a package's config may be set under the package's name.
    """
    listed = _listed(config.root)
    folder = config.root / install_path
    installed: dict[str, ProjectConfig] = {}
    if folder.is_dir():
        for candidate in sorted(folder.iterdir()):
            if (candidate / DBT_PROJECT_FILE).is_file():
                package = _package_config(config, candidate, root_trees)
                installed.setdefault(package.name, package)
    folders = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    for file, line, entry, expected in listed:
        if expected not in installed and expected not in folders:
            raise ProjectError(
                f"Package {entry} is listed but not installed in {install_path}/. Run `dbt deps` to install the "
                "packages, then build again.",
                file,
                line,
            )
    return tuple(installed.values())


def _listed(root: Path) -> list[tuple[str, int | None, str, str]]:
    """(file, line, how it is written, the folder or project name dbt deps installs it as) for every listed package."""
    found = []
    for name in PACKAGE_FILES:
        path = root / name
        if not path.is_file():
            continue
        data = expect_mapping(yamlfile.load(path, name), name, name)
        for entry in expect_list(data.get("packages"), "packages", name, data.line_of("packages")):
            entry = expect_mapping(entry, "A package entry", name, data.line_of("packages"))
            yamlfile.check_keys(entry, PACKAGE_ENTRY_KEYS, "a package entry")
            line = entry.line
            if "package" in entry:  # hub: dbt-labs/dbt_utils installs as dbt_utils
                spelled = str(entry["package"])
                found.append((name, line, f"'{spelled}'", spelled.rsplit("/", 1)[-1]))
            elif "git" in entry or "private" in entry:
                spelled = str(entry.get("git") or entry.get("private"))
                expected = str(entry.get("name") or spelled.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git"))
                found.append((name, line, f"'{spelled}'", expected))
            elif "local" in entry:
                local = root / str(entry["local"])
                expected = _project_name(local) if (local / DBT_PROJECT_FILE).is_file() else local.name
                found.append((name, line, f"local '{entry['local']}'", expected))
            elif "tarball" in entry:
                found.append((name, line, f"'{entry['tarball']}'", str(entry.get("name", ""))))
            else:
                raise ProjectError("A package entry needs `package:`, `git:`, `local:` or `tarball:`.", name, line)
    return found


def _project_name(folder: Path) -> str:
    data = yamlfile.load(folder / DBT_PROJECT_FILE, str(folder / DBT_PROJECT_FILE))
    return str(data.get("name")) if isinstance(data, dict) else folder.name


def _package_config(root: ProjectConfig, folder: Path, root_trees: Mapping[str, Any]) -> ProjectConfig:
    rel = folder.relative_to(root.root).as_posix()
    display = f"{rel}/{DBT_PROJECT_FILE}"
    data = expect_mapping(yamlfile.load(folder / DBT_PROJECT_FILE, display), "dbt_project.yml", display)
    if "name" not in data:
        raise ProjectError("The package's dbt_project.yml has no 'name'.", display, 1)
    name = str(data["name"])
    for key in ("on-run-start", "on-run-end"):
        if data.get(key):
            raise ProjectError(
                f"Package '{name}' has '{key}' hooks; Northstar runs the root project's run hooks only, not those "
                "of installed packages. Copy the statements into the root dbt_project.yml, or remove the package.",
                display,
                data.line_of(key),
            )

    def paths(*keys: str, default: str) -> tuple[str, ...]:
        for key in keys:
            if key in data:
                value = data[key]
                return tuple(f"{rel}/{item}" for item in ([value] if isinstance(value, str) else value))
        return (f"{rel}/{default}",)

    own_vars = dict(data.get("vars") or {})
    own_scoped = own_vars.pop(name, None)
    root_vars = dict(root_trees.get("vars") or {})
    root_scoped = root_vars.get(name)
    global_root = {k: v for k, v in root_vars.items() if not isinstance(v, dict) or k != name}
    vars = {
        **own_vars,
        **(own_scoped if isinstance(own_scoped, dict) else {}),
        **global_root,
        **(root_scoped if isinstance(root_scoped, dict) else {}),
        **root_trees.get("cli_vars", {}),
    }
    return replace(
        root,
        name=name,
        version=str(data.get("version", "0.0.0")),
        config_file=folder / DBT_PROJECT_FILE,
        model_paths=paths("model-paths", "source-paths", default="models"),
        seed_paths=paths("seed-paths", "data-paths", default="seeds"),
        macro_paths=paths("macro-paths", default="macros"),
        test_paths=paths("test-paths", default="tests"),
        metric_paths=paths("model-paths", "source-paths", default="models"),
        snapshot_paths=paths("snapshot-paths", default="snapshots"),
        analysis_paths=paths("analysis-paths", default="analyses"),
        docs_paths=paths("docs-paths", default="") if "docs-paths" in data else None,
        vars=vars,
        models=_tree(data.get("models"), root_trees.get("models"), name),
        seeds=_tree(data.get("seeds"), root_trees.get("seeds"), name),
        dispatch={},
        restrict_access=restrict_access(data, display, data.line_of("restrict-access")),
        on_run_start=(),
        on_run_end=(),
    )


def _tree(own: Any, root: Any, name: str) -> dict[str, Any]:
    """A package's folder config: its own ``models: <name>:`` tree, under the root project's global ``+`` keys,
    with the root project's ``models: <name>:`` tree merged over it (the root project has the last word)."""
    own_tree = own.get(name) if isinstance(own, dict) else None
    root_tree = root.get(name) if isinstance(root, dict) else None
    root_globals = {k: v for k, v in root.items() if str(k).startswith("+")} if isinstance(root, dict) else {}
    return _deep_merge(_deep_merge(root_globals, own_tree or {}), root_tree or {})


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping) and not str(key).startswith("+"):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
