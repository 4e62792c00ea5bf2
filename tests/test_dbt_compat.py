"""A dbt project (dbt_project.yml + profiles.yml) builds the same tables, in the same schemas, as dbt-duckdb."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import query

# Real dbt takes seconds to start, so comparing against it is opt-in: NORTHSTAR_TEST_DBT=1 with dbt-duckdb installed
# in /tmp/dbtvenv (see bench/bench_engine.py) or on PATH.
DBT = next((p for p in (Path("/tmp/dbtvenv/bin/dbt"), shutil.which("dbt")) if p and Path(p).is_file()), None)
if os.environ.get("NORTHSTAR_TEST_DBT", "1") != "1":  # the path of a dbt executable
    DBT = Path(os.environ["NORTHSTAR_TEST_DBT"])
if not os.environ.get("NORTHSTAR_TEST_DBT"):
    DBT = None


@pytest.fixture(autouse=True)
def in_project_folder(tmp_path, monkeypatch):
    """dbt-duckdb opens a relative `path:` from the working folder, so these tests run from the project's."""
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")


DBT_PROJECT = {
    "dbt_project.yml": """
        name: jaffle
        version: '1.0'
        config-version: 2
        profile: jaffle
        model-paths: [models]
        seed-paths: [seeds]
        vars:
          min_amount: 5
        models:
          jaffle:
            +materialized: table
            staging:
              +materialized: view
            marts:
              finance:
                +schema: finance
        seeds:
          jaffle:
            +column_types:
              amount: decimal(10, 2)
    """,
    "profiles.yml": """
        jaffle:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: jaffle.duckdb
              schema: analytics
              threads: 2
    """,
    "seeds/raw_orders.csv": "order_id,customer_id,amount\n1,1,10.5\n2,1,20\n3,2,4.25\n",
    "models/staging/stg_orders.sql": (
        "select order_id, customer_id, amount\nfrom {{ ref('raw_orders') }}\nwhere amount >= {{ var('min_amount') }}\n"
    ),
    "models/marts/customers.sql": (
        "select customer_id, count(*) as orders, sum(amount) as revenue\nfrom {{ ref('stg_orders') }}\ngroup by 1\n"
    ),
    "models/marts/finance/revenue.sql": "select sum(revenue) as revenue from {{ ref('customers') }}\n",
    "models/marts/finance/by_size.sql": (
        "{{ config(schema='reporting', materialized='view') }}\n"
        "select orders, count(*) as customers from {{ ref('customers') }} group by 1\n"
    ),
}

RELATIONS = (
    "select table_schema, table_name, table_type from information_schema.tables "
    "where table_schema not in ('information_schema', 'pg_catalog') order by 1, 2"
)
EXPECTED = [
    ("analytics", "customers", "BASE TABLE"),
    ("analytics", "raw_orders", "BASE TABLE"),
    ("analytics", "stg_orders", "VIEW"),
    ("analytics_finance", "revenue", "BASE TABLE"),
    ("analytics_reporting", "by_size", "VIEW"),
]


def test_dbt_project_builds_with_dbt_schema_naming(make_project, run_cli):
    root = make_project(DBT_PROJECT, base={})
    result = run_cli(root, "build", "-q")
    assert result.exit_code == 0, result.output
    warehouse = root / "jaffle.duckdb"
    assert query(warehouse, RELATIONS) == EXPECTED
    assert query(warehouse, "select * from analytics.customers order by 1") == [(1, 2, 30.5)]
    assert query(warehouse, "select * from analytics_finance.revenue") == [(30.5,)]
    assert query(
        warehouse,
        "select data_type from information_schema.columns where table_name = 'raw_orders' and column_name = 'amount'",
    ) == [("DECIMAL(10,2)",)]


def test_dbt_project_vars_target_and_errors(make_project, run_cli):
    root = make_project(DBT_PROJECT, base={})
    result = run_cli(root, "compile", "stg_orders", "--vars", "{min_amount: 1}")
    assert result.output == "select order_id, customer_id, amount\nfrom analytics.raw_orders\nwhere amount >= 1\n"
    result = run_cli(root, "build", "--target", "prod")
    assert result.exit_code == 2
    assert result.output == f"Error: {root / 'profiles.yml'}:3: Profile 'jaffle' has no target 'prod'. Targets: dev.\n"


def test_dbt_project_without_profiles(make_project, run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    root = make_project({**DBT_PROJECT, "profiles.yml": None}, base={})
    result = run_cli(root, "build")
    assert result.exit_code == 2
    assert result.output == (
        "Error: dbt_project.yml: dbt_project.yml found, but no profiles.yml (looked in the working folder, the "
        "project, $DBT_PROFILES_DIR and ~/.dbt). Add a profiles.yml with a duckdb target.\n"
    )


@pytest.mark.skipif(DBT is None, reason="set NORTHSTAR_TEST_DBT=1 with dbt-duckdb installed to compare with dbt")
def test_same_tables_and_rows_as_real_dbt(make_project, run_cli, tmp_path):
    root = make_project(DBT_PROJECT, base={})
    dbt_root = tmp_path / "with_dbt"
    shutil.copytree(root, dbt_root)
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    completed = subprocess.run(
        [str(DBT), "build", "--profiles-dir", str(dbt_root), "--project-dir", str(dbt_root)],
        cwd=dbt_root,
        capture_output=True,
        text=True,
        env=env,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert run_cli(root, "build", "-q").exit_code == 0
    ours, theirs = root / "jaffle.duckdb", dbt_root / "jaffle.duckdb"
    assert query(ours, RELATIONS) == query(theirs, RELATIONS) == EXPECTED
    for schema, table, _ in EXPECTED:
        sql = f"select * from {schema}.{table} order by all"
        assert query(ours, sql) == query(theirs, sql), table
        # Column names match; types may differ on purpose: dbt infers seed types with agate (INTEGER), Northstar
        # lets DuckDB infer them (BIGINT), overridable with column_types in both.
        columns = (
            "select column_name from information_schema.columns "
            f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position"
        )
        assert query(ours, columns) == query(theirs, columns), table


def test_profiles_env_var(make_project, run_cli, monkeypatch):
    profiles = (
        "jaffle:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        "      path: \"{{ env_var('NS_DB_PATH') }}\"\n"
    )
    root = make_project({**DBT_PROJECT, "profiles.yml": profiles}, base={})
    monkeypatch.setenv("NS_DB_PATH", "from_env.duckdb")
    assert run_cli(root, "build", "-q").exit_code == 0
    assert query(root / "from_env.duckdb", "select count(*) from main.customers") == [(1,)]
    monkeypatch.delenv("NS_DB_PATH")
    result = run_cli(root, "build", "-q")
    assert result.exit_code == 2
    assert result.output == (
        f"Error: {root / 'profiles.yml'}: env_var('NS_DB_PATH') is not set in the environment and has no default. "
        "Export NS_DB_PATH=... or use env_var('NS_DB_PATH', 'default').\n"
    )
    (root / "profiles.yml").write_text(profiles.replace("env_var('NS_DB_PATH')", "env_var('NS_DB_PATH'"))
    result = run_cli(root, "build", "-q")
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {root / 'profiles.yml'}: Cannot render ")


def test_benchmark_project_builds(tmp_path, run_cli, monkeypatch):
    """bench/bench_engine.py's generated dbt project (joins, aggregations, windows, a macro, vars) builds."""
    bench = Path(__file__).resolve().parent.parent / "bench"
    monkeypatch.syspath_prepend(str(bench))
    from bench_engine import generate_project, warehouse_contents

    root = generate_project(tmp_path / "bench", 8)
    monkeypatch.chdir(root)
    result = run_cli(root, "build", "-q")
    assert result.exit_code == 0, result.output
    contents = warehouse_contents(root)
    assert sorted(name for _, name, _ in contents) == [
        "customer_days",
        *[f"m{i:04d}" for i in range(8)],
        "orders",
        "sessions",
        "stg_orders",
        "stg_sessions",
    ]
    assert all(schema == "main" for schema, _, _ in contents)
    assert contents[("main", "orders", "BASE TABLE")] == 4000
