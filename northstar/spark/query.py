"""Answer a compiled metric query on a Spark target: the published catalog replayed into a session, the query
translated from DuckDB's SQL, the rows returned as Python values like DuckDB's."""

from __future__ import annotations

from typing import Any

from northstar.errors import CompileError, ExecutionError, ProjectError
from northstar.project.settings import Target
from northstar.spark import catalog, session
from northstar.spark.transpile import Untranslatable, to_spark


def run_sql(target: Target, sql: str) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """Run one query (DuckDB SQL) on the target's published tables."""
    assert target.spark is not None
    try:
        spark_sql = to_spark(sql)
    except Untranslatable as error:
        raise CompileError(f"The metric query cannot run on Spark: {error}") from None
    published = catalog.read(target.spark.location)
    if not published.entries:
        raise ProjectError(
            f"Nothing is built on target '{target.name}' yet ({target.spark.location}). "
            f"Run `metrics build --target {target.name}` first."
        )
    spark = session.start(target, "northstar query")
    try:
        catalog.register(spark, target.spark.location, published, private=target.spark.remote is None)
        frame = spark.sql(spark_sql)
        return tuple(frame.columns), [tuple(row) for row in frame.collect()]
    except Exception as error:  # noqa: BLE001 - Spark's analysis errors have no common base we can import
        raise ExecutionError(f"Spark rejected the metric query: {session.error_text(error)}") from None
