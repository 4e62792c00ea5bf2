"""Model unit tests on Spark: the fixtures are loaded as on DuckDB (same types, same checks), handed to Spark, and the
model's SQL, translated, runs there; its rows come back to be compared with the expected rows as on DuckDB.

The model reads each input under a temporary view of this Spark session, so tests running at once never see each
other's fixtures and nothing is written to the catalog.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from northstar.checks.unittests import ModelRun
from northstar.errors import NorthstarError
from northstar.nodes import UnitTestNode
from northstar.render.jinja import Relation
from northstar.spark.session import error_text
from northstar.spark.transpile import Untranslatable, to_spark

_count = itertools.count(1)


def spark_model_run(session: Any) -> ModelRun:
    """A :data:`~northstar.checks.unittests.ModelRun` that runs the model on ``session``."""

    def run(connection: duckdb.DuckDBPyConnection, node: UnitTestNode, actual: Relation) -> None:
        folder = Path(tempfile.mkdtemp(prefix="northstar-unit-"))
        try:
            names: dict[tuple[str, str], str] = {}
            for given in node.given:
                view = f"__ns_unit_{next(_count)}"
                path = folder / f"given{len(names)}.parquet"  # Spark skips files whose names start with _
                connection.execute(f"COPY {given.relation} TO '{path}' (FORMAT parquet)")
                session.read.parquet(str(path)).createOrReplaceTempView(view)
                names[(given.relation.schema, given.relation.identifier)] = view
            try:
                sql = to_spark(_read_views(node.sql, names))
            except Untranslatable as error:
                raise NorthstarError(f"model '{node.model_name}' cannot run on Spark: {error}") from None
            result = folder / "actual"
            try:
                session.sql(sql).write.parquet(str(result))
            except Exception as error:  # noqa: BLE001 - Spark's errors have no common base we can import
                raise NorthstarError(
                    f"model '{node.model_name}' failed on Spark on the fixtures: {error_text(error)}"
                ) from None
            connection.execute(f"CREATE TABLE {actual} AS SELECT * FROM read_parquet('{result}/*.parquet')")
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return run


def _read_views(sql: str, views: dict[tuple[str, str], str]) -> str:
    """The model's SQL with each input relation replaced by the temporary view holding its fixture."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    for table in tree.find_all(exp.Table):
        view = views.get((table.db, table.name))
        if view is not None:
            table.replace(exp.table_(view, alias=table.alias or table.name))
    return tree.sql(dialect="duckdb")
