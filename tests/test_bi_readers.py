"""The BI path: SQLAlchemy + duckdb-engine (as Superset and similar tools connect), read-only, on the published
warehouse: the inspector lists schemas, tables, columns and comments; `metrics.*` answers while a build runs; a pooled
engine sees a new build after it reconnects, and an engine without a pool at once.

The versions are the dev extra's (SQLAlchemy 2.0 up to 2.0.54, duckdb-engine 0.17); the README says why.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import query
from metrics_fixture import SHOP

from northstar.cli import main

sqlalchemy = pytest.importorskip("sqlalchemy", reason="SQLAlchemy is in the dev extra: pip install -e '.[dev]'")
pytest.importorskip("duckdb_engine", reason="duckdb-engine is in the dev extra: pip install -e '.[dev]'")
from sqlalchemy.pool import NullPool  # noqa: E402


def engine(warehouse: Path, **options):
    return sqlalchemy.create_engine(f"duckdb:///{warehouse}", connect_args={"read_only": True}, **options)


def test_the_inspector_lists_schemas_tables_columns_and_comments(example_warehouse):
    bi = engine(example_warehouse / "warehouse.duckdb", poolclass=NullPool)
    inspector = sqlalchemy.inspect(bi)
    assert [s for s in inspector.get_schema_names() if s.startswith("warehouse.")] == [
        "warehouse._northstar",
        "warehouse.intermediate",
        "warehouse.main",
        "warehouse.marts",
        "warehouse.metrics",
        "warehouse.raw",
        "warehouse.staging",
    ]
    warehouse = example_warehouse / "warehouse.duckdb"
    for schema in ("marts", "metrics"):
        assert sorted(inspector.get_table_names(schema=schema)) == [
            name
            for (name,) in query(
                warehouse,
                f"select table_name from duckdb_tables() where schema_name = '{schema}' order by 1",
            )
        ]
    assert "stg_orders" in inspector.get_view_names(schema="staging")
    assert "north_star" in inspector.get_table_names(schema="metrics")
    columns = inspector.get_columns("fct_orders", schema="marts")
    assert [(c["name"], c["comment"]) for c in columns] == query(
        warehouse,
        "select column_name, comment from duckdb_columns() "
        "where schema_name = 'marts' and table_name = 'fct_orders' order by column_index",
    )
    assert (columns[0]["name"], str(columns[0]["type"]), columns[0]["comment"]) == (
        "order_id",
        "BIGINT",
        "The order's id.",
    )
    assert inspector.get_table_comment("fct_orders", schema="marts")["text"].startswith("One row per order:")
    # Northstar declares no keys in the file; the lookups answer empty rather than fail (SQLAlchemy <= 2.0.54).
    assert inspector.get_pk_constraint("fct_orders", schema="marts") == {"name": None, "constrained_columns": []}
    assert inspector.get_foreign_keys("fct_orders", schema="marts") == []
    table = sqlalchemy.Table("north_star", sqlalchemy.MetaData(), schema="metrics", autoload_with=bi)
    assert [c.name for c in table.columns] == ["metric_time__month", "north_star"]
    with bi.connect() as connection:
        rows = connection.execute(sqlalchemy.select(table).order_by(table.c.metric_time__month).limit(2)).fetchall()
    assert [tuple(r) for r in rows] == [(rows[0][0], 4), (rows[1][0], 4)]


def build(root: Path, outcome: list | None = None) -> None:
    result = CliRunner().invoke(main, ["build", "-q", "--project-dir", str(root)])
    if outcome is not None:  # run in a thread: the test asserts after joining it
        outcome.append(result)
    else:
        assert result.exit_code == 0, result.output


def add_order(root: Path, line: str) -> None:
    orders = root / "seeds/orders.csv"
    orders.write_text(orders.read_text() + line + "\n")


def test_metrics_answer_while_a_build_runs_and_a_pool_sees_the_new_build_after_reconnecting(make_project):
    root = make_project(
        {
            # A model slow enough (about a second) for the readers to query while the build runs; it reads the
            # orders, so the build after a new order runs it again rather than keeping it.
            "models/slow.sql": (
                "select sum(hash(a.range + b.range)) + (select count(*) from {{ ref('orders') }}) as n\n"
                "from range(12000) a, range(12000) b\n"
            ),
        },
        base=SHOP,
    )
    build(root)
    warehouse = root / "warehouse.duckdb"
    pooled = engine(warehouse)  # QueuePool, as BI servers keep connections
    fresh = engine(warehouse, poolclass=NullPool)  # a new connection per checkout
    query = sqlalchemy.text("select sum(revenue) from metrics.revenue")
    with pooled.connect() as connection:
        before = connection.execute(query).scalar()

    add_order(root, "99,1,2025-03-30 10:00:00,completed,1000")
    outcome: list = []
    builder = threading.Thread(target=build, args=(root, outcome))
    answers = []
    builder.start()
    while builder.is_alive():  # every read during the build sees the complete previous version
        for bi in (pooled, fresh):
            with bi.connect() as connection:
                answers.append(connection.execute(query).scalar())
        time.sleep(0.05)
    builder.join()
    assert outcome[0].exit_code == 0, outcome[0].output
    assert len(answers) > 4 and set(answers) == {before}

    # The pool's idle connection keeps the file it opened, the previous version. DuckDB shares one database instance
    # among a process's connections to a path, so even a new connection reads that version while the pool holds it.
    for bi in (pooled, fresh):
        with bi.connect() as connection:
            assert connection.execute(query).scalar() == before
    pooled.dispose()  # every connection of the process to the file closed: the next one opens the new build
    for bi in (fresh, pooled):
        with bi.connect() as connection:
            assert connection.execute(query).scalar() == before + 1000
    pooled.dispose()

    # pool_recycle: a pool reconnects connections older than it at checkout, so it follows builds by itself.
    recycled = engine(warehouse, pool_recycle=0.5)
    with recycled.connect() as connection:
        assert connection.execute(query).scalar() == before + 1000
    add_order(root, "98,2,2025-03-30 11:00:00,completed,7")
    build(root)
    time.sleep(0.6)
    with recycled.connect() as connection:
        assert connection.execute(query).scalar() == before + 1007
    recycled.dispose()
