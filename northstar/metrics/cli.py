"""What the ``metrics query``, ``metrics compile METRIC`` and ``metrics ls --metrics`` commands call.

Kept apart from ``northstar/cli.py`` so the click layer stays thin and imports nothing heavy at start-up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from northstar.metrics import CompiledProject
    from northstar.project.loader import Project


def compile_metric(project: Project | CompiledProject, name: str, by: tuple[str, ...], dialect: str) -> str:
    """The SQL of one metric, at its default grain and dimensions unless ``by`` is given."""
    from northstar.metrics import load_semantics
    from northstar.metrics.compile import compile_request, default_request
    from northstar.metrics.request import Request

    sem = load_semantics(project)
    request = Request((name,), by=by) if by else default_request(sem.metric(name), sem)
    return compile_request(sem, request, dialect)


def query_text(
    load: Callable[[], Any],
    project_dir: Path | None,
    settings: dict[str, Any],
    metrics: tuple[str, ...],
    by: tuple[str, ...],
    where: str | None,
    start: datetime | None,
    end: datetime | None,
    order: tuple[str, ...],
    limit: int | None,
    fmt: str,
    saved_query: str | None = None,
) -> str:
    """Answer a query; SQL compiled before for the same request and unchanged files comes from the cache, so a
    repeated query costs little more than DuckDB itself (no YAML, Jinja or sqlglot)."""
    from northstar.metrics.cache import find_root, lookup, store
    from northstar.metrics.query import format_rows, run_sql
    from northstar.metrics.request import Request

    request = Request(
        metrics=tuple(metrics),
        by=by,
        where=where,
        start=start.date() if start else None,
        end=end.date() if end else None,
        order=order,
        limit=limit,
        saved_query=saved_query,
    )
    root = find_root(project_dir or Path.cwd())
    hit = lookup(root, request, settings) if root else None
    if hit is not None:
        sql, warehouse = hit.sql, hit.warehouse
    else:
        from northstar.metrics import load_semantics
        from northstar.metrics.compile import compile_request

        project = load()
        sql = compile_request(load_semantics(project), request)
        target = project.config.target
        if target.type == "spark":  # not cached: starting Spark costs far more than compiling
            from northstar.spark.query import run_sql as run_on_spark

            columns, spark_rows = run_on_spark(target, sql)
            return format_rows(columns, spark_rows, fmt)
        store(project, request, settings, sql)
        warehouse = target.path
    columns, rows = run_sql(warehouse, sql)
    return format_rows(columns, rows, fmt)


def list_metrics_text(project: Project | CompiledProject, output: str) -> str:
    """One line per metric: name, type, owner and description (JSON lines with --output json)."""
    from northstar.metrics import list_metrics
    from northstar.metrics.query import format_rows

    infos = list_metrics(project)
    if output == "json":
        return "\n".join(
            json.dumps(
                {
                    "name": i.name,
                    "type": i.type,
                    "description": i.description,
                    "owner": i.owner,
                    "semantic_models": list(i.semantic_models),
                    "measures": list(i.measures),
                    "dimensions": list(i.dimensions),
                    "path": i.path,
                }
            )
            for i in infos
        )
    if output == "path":
        return "\n".join(f"{i.path}:{i.line}" for i in infos)
    rows = [(i.name, i.type, i.owner, " ".join(i.description.split())) for i in infos]
    return format_rows(("metric", "type", "owner", "description"), rows, "table")
