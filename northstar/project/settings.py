"""A project's settings: where it lives, where it builds, and the folder config of its nodes.

``project.yml`` (:mod:`northstar.project.loader`) and ``dbt_project.yml`` plus ``profiles.yml``
(:mod:`northstar.project.dbt`) are read into the same :class:`ProjectConfig`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from northstar.errors import ProjectError
from northstar.project import storage_version

PROJECT_FILE = "project.yml"
DBT_PROJECT_FILE = "dbt_project.yml"
SPARK_CATALOG = "_northstar/catalog.json"  # a Spark target's catalog of record, under its location


@dataclass(frozen=True)
class SparkSettings:
    """Where a ``type: spark`` target runs and keeps its tables."""

    location: Path  # the Parquet files and the catalog of record
    master: str = "local[*]"  # a local Spark in this process's JVM...
    remote: str | None = None  # ...or a Spark Connect server, sc://host:port
    conf: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        return self.remote or self.master


@dataclass(frozen=True)
class Target:
    """Where and how to build: dbt's ``target``, also available in Jinja.

    ``path`` is the DuckDB file of a ``duckdb`` target; a ``spark`` target has ``spark`` settings instead, and its
    ``path`` is where its catalog of record lives.
    """

    name: str
    schema: str
    path: Path
    threads: int
    profile_name: str | None = None
    # The oldest DuckDB release that can read the published warehouse (DuckDB's STORAGE_VERSION).
    storage_version: str = storage_version.DEFAULT
    type: str = "duckdb"
    spark: SparkSettings | None = None

    def jinja(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "schema": self.schema,
            "type": self.type,
            "path": str(self.path),
            "threads": self.threads,
            "database": self.path.stem,
            "profile_name": self.profile_name,
        }


@dataclass(frozen=True)
class RunHook:
    """One ``on-run-start``/``on-run-end`` statement of ``dbt_project.yml``, Jinja rendered when it runs."""

    sql: str
    line: int | None = None


@dataclass(frozen=True)
class ProjectConfig:
    """The settings of ``project.yml`` (or of ``dbt_project.yml`` plus ``profiles.yml``)."""

    name: str
    version: str
    root: Path
    config_file: Path
    target: Target
    model_paths: tuple[str, ...] = ("models",)
    seed_paths: tuple[str, ...] = ("seeds",)
    macro_paths: tuple[str, ...] = ("macros",)
    test_paths: tuple[str, ...] = ("tests",)
    metric_paths: tuple[str, ...] = ("metrics",)
    snapshot_paths: tuple[str, ...] = ("snapshots",)
    analysis_paths: tuple[str, ...] = ("analyses",)
    docs_paths: tuple[str, ...] | None = None  # where {% docs %} blocks are; None: every resource path, as dbt
    target_path: str = "target"
    vars: Mapping[str, Any] = field(default_factory=dict)
    models: Mapping[str, Any] = field(default_factory=dict)
    seeds: Mapping[str, Any] = field(default_factory=dict)
    snapshots: Mapping[str, Any] = field(default_factory=dict)  # the `snapshots:` config tree, like `models:`
    data_tests: Mapping[str, Any] = field(default_factory=dict)
    # "folder": models/staging/x.sql builds into schema staging (Northstar). "dbt": target schema, and a custom
    # schema becomes <target>_<custom>, as dbt's generate_schema_name does.
    schema_naming: str = "folder"
    default_seed_schema: str = "raw"
    # dbt's `dispatch:` config: macro namespace -> the packages adapter.dispatch searches, in order.
    dispatch: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Installed dbt packages (dbt_packages/<name>), each with its own paths, vars and folder config.
    packages: tuple[ProjectConfig, ...] = ()
    # dbt's `restrict-access:`: other projects may not ref this one's protected models (nor its private ones).
    restrict_access: bool = False
    # dbt's run hooks: statements run in the build's working copy before the first node and after the last.
    on_run_start: tuple[RunHook, ...] = ()
    on_run_end: tuple[RunHook, ...] = ()

    @property
    def warehouse(self) -> Path:
        return self.target.path

    @property
    def target_dir(self) -> Path:
        return self.root / self.target_path


def thread_count(value: Any, path: str | Path, line: int | None) -> int:
    """The ``threads:`` setting: a positive integer, or the number of cores when absent."""
    if value is None:
        return os.cpu_count() or 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProjectError(f"threads must be a positive whole number, got {value!r}.", path, line)
    return value
