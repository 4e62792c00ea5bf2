"""``targets:`` in ``project.yml``: the engines one project builds on, chosen with ``--target``.

The warehouse file (``warehouse:``) is the target ``dev`` unless ``targets:`` says otherwise; ``target:`` names the
default. A ``spark`` target builds the same models on Apache Spark::

    target: dev
    targets:
      dev: {type: duckdb, path: warehouse.duckdb}
      spark:
        type: spark
        master: local[*]             # or remote: sc://host:15002 (Spark Connect)
        location: spark-warehouse    # Parquet files and the catalog of record
        conf: {spark.executor.memory: 4g}
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from northstar.errors import ProjectError
from northstar.project.settings import PROJECT_FILE, SPARK_CATALOG, SparkSettings, Target, thread_count
from northstar.project.yamlfile import YamlDict, check_keys, expect_mapping

TYPES = ("duckdb", "spark")
COMMON_KEYS = {"type", "schema", "threads"}
KEYS = {"duckdb": COMMON_KEYS | {"path"}, "spark": COMMON_KEYS | {"master", "remote", "location", "conf"}}


def choose_target(data: YamlDict, name: str | None, default: Target, root: Path) -> Target:
    """The target ``name`` (or ``target:``, or ``dev``) from ``project.yml``'s ``targets:``; ``default`` is the
    ``warehouse:`` file, which is ``dev`` unless ``targets:`` declares a ``dev`` of its own."""
    targets = expect_mapping(data.get("targets"), "targets", PROJECT_FILE, data.line_of("targets"))
    chosen = name or data.get("target") or "dev"
    if not isinstance(chosen, str):
        raise ProjectError(f"target: must name one of targets:, got {chosen!r}.", PROJECT_FILE, data.line_of("target"))
    if chosen not in targets:
        if chosen == "dev":
            return default
        names = ", ".join(dict.fromkeys(["dev", *targets]))
        where = "--target" if name else "target:"
        raise ProjectError(
            f"{where} names '{chosen}', which project.yml does not declare. Targets: {names}. "
            "Declare it under targets: (type: duckdb or spark).",
            PROJECT_FILE,
            None if name else data.line_of("target"),
        )
    entry = expect_mapping(targets[chosen], f"target '{chosen}'", PROJECT_FILE, targets.line_of(chosen))
    kind = entry.get("type", "duckdb")
    if kind not in TYPES:
        raise ProjectError(
            f"Target '{chosen}' has type '{kind}'; Northstar builds on {' or '.join(TYPES)}.",
            PROJECT_FILE,
            entry.line_of("type"),
        )
    check_keys(entry, KEYS[kind], f"target '{chosen}' (type {kind})")
    target = replace(
        default,
        name=chosen,
        type=kind,
        schema=str(entry.get("schema", default.schema)),
        threads=_threads(entry, default.threads),
    )
    if kind == "duckdb":
        path = Path(str(entry.get("path", default.path)))
        return replace(target, path=path if path.is_absolute() else root / path)
    spark = _spark(entry, chosen, root)
    return replace(target, spark=spark, path=spark.location / SPARK_CATALOG)


def _threads(entry: YamlDict, default: int) -> int:
    return thread_count(entry["threads"], PROJECT_FILE, entry.line_of("threads")) if "threads" in entry else default


def _spark(entry: YamlDict, name: str, root: Path) -> SparkSettings:
    if "master" in entry and "remote" in entry:
        raise ProjectError(
            f"Target '{name}' sets both master: (a local Spark) and remote: (a Spark Connect server); keep one.",
            PROJECT_FILE,
            entry.line_of("remote"),
        )
    location = Path(str(entry.get("location", "spark-warehouse")))
    conf: Any = expect_mapping(entry.get("conf"), f"conf of target '{name}'", PROJECT_FILE, entry.line_of("conf"))
    return SparkSettings(
        location=location if location.is_absolute() else root / location,
        master=str(entry.get("master", "local[*]")),
        remote=str(entry["remote"]) if entry.get("remote") else None,
        conf=tuple((str(k), str(v)) for k, v in conf.items()),
    )
