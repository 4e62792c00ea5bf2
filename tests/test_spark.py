"""The Spark target: the same project built and queried on Apache Spark gives the same tables and metrics as DuckDB.

These tests start one local Spark (``local[2]``) for the whole run; they skip, saying so, without PySpark or Java
(the README's test command installs PySpark with the ``spark`` extra).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from northstar.cli import main

SPARK_TARGET = """
targets:
  spark:
    type: spark
    master: local[2]
    location: spark-warehouse
"""

SHOP = {
    "project.yml": "name: shop\nwarehouse: warehouse.duckdb\nseeds:\n  +schema: raw\nmodels:\n  +materialized: table\n"
    "  staging:\n    +materialized: view\n" + SPARK_TARGET,
    "seeds/orders.csv": "order_id,customer_id,amount,ordered_at\n1,1,10.5,2026-01-31 23:00:00\n"
    "2,1,20,2026-02-01 01:00:00\n3,2,7.25,2026-03-16 12:30:00\n",
    "models/staging/stg_orders.sql": "select order_id, customer_id, amount, ordered_at from {{ ref('orders') }}\n",
    "models/marts/customers.sql": (
        "select\n    customer_id,\n    count(*) as orders,\n    sum(amount) as revenue,\n"
        "    date_diff('month', min(ordered_at), max(ordered_at)) as months_active\n"
        "from {{ ref('stg_orders') }}\ngroup by customer_id\n"
    ),
    "models/marts/schema.yml": """
        version: 2
        models:
          - name: customers
            columns:
              - name: customer_id
                data_tests: [unique, not_null]
        unit_tests:
          - name: counts_orders
            model: customers
            given:
              - input: ref('stg_orders')
                rows:
                  - {order_id: 1, customer_id: 7, amount: 2, ordered_at: "2026-01-31 10:00:00"}
                  - {order_id: 2, customer_id: 7, amount: 3, ordered_at: "2026-02-01 10:00:00"}
            expect:
              rows:
                - {customer_id: 7, orders: 2, revenue: 5, months_active: 1}
    """,
}


def cli(root: Path, *args: str) -> Any:
    return CliRunner().invoke(main, [*args, "--project-dir", str(root)])


def spark_rows(root: Path, schema: str, name: str) -> list[tuple[Any, ...]]:
    """A Spark target's table as DuckDB reads its Parquet files: any engine can read what Spark published."""
    catalog = json.loads((root / "spark-warehouse" / "_northstar" / "catalog.json").read_text())
    entry = next(e for e in catalog["relations"] if (e["schema"], e["name"]) == (schema, name))
    files = root / "spark-warehouse" / entry["location"] / "*.parquet"
    return sorted(duckdb.sql(f"select * from read_parquet('{files}')").fetchall(), key=_key)


def duckdb_rows(root: Path, schema: str, name: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as connection:
        return sorted(connection.execute(f'select * from "{schema}"."{name}"').fetchall(), key=_key)


def _key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((value is None, str(value)) for value in row)


def assert_same_rows(actual: list[tuple[Any, ...]], expected: list[tuple[Any, ...]], what: str) -> None:
    """Equal rows; numbers equal within 1e-9 relative (the engines sum floats in different orders)."""
    assert len(actual) == len(expected), f"{what}: {len(actual)} rows on Spark, {len(expected)} on DuckDB"
    for got, want in zip(actual, expected, strict=True):
        for a, b in zip(got, want, strict=True):
            if isinstance(a, float | Decimal) and isinstance(b, float | Decimal):
                assert math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12), f"{what}: {got} != {want}"
            else:
                assert a == b, f"{what}: {got} != {want}"


def assert_same_table(root: Path, schema: str, name: str) -> None:
    """:func:`assert_same_rows` for big tables: DuckDB first checks that the rows are exactly the same (EXCEPT ALL
    both ways, in one query); only a table where they are not is compared row by row, within 1e-9."""
    catalog = json.loads((root / "spark-warehouse" / "_northstar" / "catalog.json").read_text())
    entry = next(e for e in catalog["relations"] if (e["schema"], e["name"]) == (schema, name))
    on_spark = f"select * from read_parquet('{root / 'spark-warehouse' / entry['location'] / '*.parquet'}')"
    on_duckdb = f'select * from "{schema}"."{name}"'
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as connection:
        try:
            found = connection.execute(
                f"select (select count(*) from (({on_spark}) except all ({on_duckdb}))) "
                f"+ (select count(*) from (({on_duckdb}) except all ({on_spark})))"
            ).fetchone()
        except duckdb.Error:  # columns DuckDB cannot compare as they are: row by row
            found = None
    if found != (0,):
        assert_same_rows(spark_rows(root, schema, name), duckdb_rows(root, schema, name), f"{schema}.{name}")


@pytest.fixture
def shop(tmp_path: Path, spark_session: Any) -> Path:
    from conftest import write_project

    return write_project(tmp_path / "shop", SHOP)


def test_a_small_project_builds_on_spark_as_on_duckdb(shop: Path) -> None:
    on_duckdb = cli(shop, "build", "-q")
    assert on_duckdb.exit_code == 0, on_duckdb.output
    on_spark = cli(shop, "build", "-q", "--target", "spark")
    assert on_spark.exit_code == 0, on_spark.output
    assert "Published target 'spark'" in on_spark.output
    for schema, name in [("raw", "orders"), ("marts", "customers")]:
        assert_same_rows(spark_rows(shop, schema, name), duckdb_rows(shop, schema, name), f"{schema}.{name}")
    assert spark_rows(shop, "marts", "customers") == [(1, 2, Decimal("30.500"), 1), (2, 1, Decimal("7.250"), 0)]


def test_the_jvms_output_goes_to_a_log_file_and_to_stderr_with_verbose(make_project: Any, tmp_path: Path) -> None:
    """A local Spark's JVM inherits this process's stderr: Northstar points it at the target's spark.log, or leaves it
    on the terminal with -v. A stand-in `java` that fails at once shows where its lines go, in a process of its own
    (the suite's Spark is already started) and within seconds; the failure is one error naming the target and log."""
    import os
    import subprocess
    import sys

    pytest.importorskip("pyspark", reason="PySpark is not installed: pip install -e '.[spark]'")
    root = make_project({"project.yml": SHOP["project.yml"], "seeds/orders.csv": SHOP["seeds/orders.csv"]})
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\necho 'stand-in JVM: a line of its own' >&2\nexit 1\n")
    java.chmod(0o755)
    command = [str(Path(sys.executable).with_name("metrics")), "seed", "--target", "spark", "--project-dir", str(root)]
    log = root / "spark-warehouse" / "_northstar" / "spark.log"

    def seed(*flags: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "JAVA_HOME": str(java.parent.parent)}
        return subprocess.run([*command, *flags], capture_output=True, text=True, env=env, check=False)

    quiet = seed()
    assert quiet.returncode == 2
    assert "stand-in JVM" not in quiet.stdout + quiet.stderr
    assert "stand-in JVM: a line of its own" in log.read_text()
    assert (
        "Error: Target 'spark' could not start Spark (local[2]): [JAVA_GATEWAY_EXITED] Java gateway process exited "
        "before sending its port number. Check the target's master/remote and that Java 17+ is installed. The JVM's "
        f"output is in {log}."
    ) in " ".join((quiet.stdout + quiet.stderr).split())
    verbose = seed("-v")
    assert verbose.returncode == 2
    assert "stand-in JVM: a line of its own" in verbose.stderr
    assert "Traceback" not in verbose.stdout + verbose.stderr
    assert not (root / "spark-warehouse" / "_northstar" / "catalog.json").exists()


def test_a_second_build_on_spark_keeps_what_did_not_change(shop: Path) -> None:
    """As on DuckDB: the catalog records each relation's fingerprint; an unchanged seed, view or table is kept (its
    folder too), a changed model and what reads it are built again; tests run every time."""
    from conftest import timeless

    def locations() -> dict[str, str]:
        published = json.loads((shop / "spark-warehouse" / "_northstar" / "catalog.json").read_text())
        return {e["name"]: e["location"] or e["sql"] for e in published["relations"]}

    assert cli(shop, "build", "-q", "--target", "spark").exit_code == 0
    first = locations()
    again = cli(shop, "build", "--target", "spark")
    assert again.exit_code == 0, again.output
    lines = sorted(line.split(" of 6 ")[1] for line in timeless(again.output).splitlines() if " of 6 " in line)
    assert lines == [
        "OK    kept marts.customers (unchanged) ... [OK in T]",
        "OK    kept raw.orders (unchanged) ... [OK in T]",
        "OK    kept staging.stg_orders (unchanged) ... [OK in T]",
        "PASS  counts_orders ... [PASS in T]",
        "PASS  not_null_customers_customer_id ... [PASS in T]",
        "PASS  unique_customers_customer_id ... [PASS in T]",
    ]
    assert timeless(again.output).endswith(
        f"Finished 6 nodes in T: 3 OK, 3 PASS. Nothing changed: target 'spark' ({shop / 'spark-warehouse'}) is up to "
        "date.\n"
    )
    assert locations() == first

    customers = shop / "models/marts/customers.sql"
    customers.write_text(customers.read_text().replace("count(*) as orders", "count(*) + 0 as orders"))
    changed = cli(shop, "build", "-q", "--target", "spark")
    assert changed.exit_code == 0, changed.output
    assert "(2 unchanged, kept)." in changed.output
    same = {name: where == first[name] for name, where in locations().items()}
    assert same == {"orders": True, "stg_orders": True, "customers": False}
    assert spark_rows(shop, "marts", "customers") == [(1, 2, Decimal("30.500"), 1), (2, 1, Decimal("7.250"), 0)]


def test_a_catalog_whose_seed_was_rebuilt_after_its_views_is_declared_in_order(shop: Path, spark_session: Any) -> None:
    """`metrics seed` after `metrics build` puts the seed after the view reading it in the catalog; a later process
    declares tables before views, and views after the views they read."""
    from northstar.spark import catalog

    assert cli(shop, "build", "-q", "--target", "spark").exit_code == 0
    seed = shop / "seeds/orders.csv"
    seed.write_text(seed.read_text() + "4,2,99,2026-03-17 10:00:00\n")
    assert cli(shop, "seed", "-q", "--target", "spark").exit_code == 0
    location = shop / "spark-warehouse"
    published = catalog.read(location)
    assert [e.name for e in published.entries] == ["stg_orders", "customers", "orders"]
    catalog.forget(spark_session)  # as a new process would find it
    catalog.register(spark_session, location, published)
    assert spark_session.table("staging.stg_orders").count() == 4


def test_a_failed_build_on_spark_leaves_the_published_version(shop: Path) -> None:
    first = cli(shop, "build", "-q", "--target", "spark")
    assert first.exit_code == 0, first.output
    catalog = (shop / "spark-warehouse" / "_northstar" / "catalog.json").read_text()
    builds = sorted(p.name for p in (shop / "spark-warehouse" / "builds").iterdir())
    customers = shop / "models/marts/customers.sql"
    customers.write_text("select\n    customer_id,\n    no_such_column\nfrom {{ ref('stg_orders') }}\n")

    result = cli(shop, "run", "-q", "--target", "spark")

    assert result.exit_code == 1
    assert "Nothing published: target 'spark'" in result.output
    assert (
        "ERROR models/marts/customers.sql:3: Model 'customers' failed on Spark: [UNRESOLVED_COLUMN.WITH_SUGGESTION] A "
        "column, variable, or function parameter with name `no_such_column` cannot be resolved."
    ) in " ".join(result.output.split())
    assert (shop / "spark-warehouse" / "_northstar" / "catalog.json").read_text() == catalog
    assert sorted(p.name for p in (shop / "spark-warehouse" / "builds").iterdir()) == builds
    assert spark_rows(shop, "marts", "customers")[0][:2] == (1, 2)


def test_a_model_spark_cannot_say_is_refused_with_its_file_and_line(shop: Path) -> None:
    (shop / "models/marts/customers.sql").write_text(
        "select\n    customer_id,\n    list_sum([amount]) as total\nfrom {{ ref('stg_orders') }}\n"
    )
    assert cli(shop, "seed", "-q", "--target", "spark").exit_code == 0
    result = cli(shop, "run", "-q", "--target", "spark")
    assert result.exit_code == 1
    assert (
        "models/marts/customers.sql:3: Model 'customers' cannot run on Spark: list_sum(...) is a DuckDB function with "
        "no Spark equivalent that Northstar knows."
    ) in " ".join(result.output.split())


def test_incremental_models_append_and_merge_on_spark(shop: Path) -> None:
    (shop / "models/marts/latest.sql").write_text(
        "{{ config(materialized='incremental', unique_key='customer_id') }}\n"
        "select customer_id, max(amount) as amount from {{ ref('stg_orders') }}\n"
        "{% if is_incremental() %}where amount > 8{% endif %}\ngroup by customer_id\n"
    )
    assert cli(shop, "build", "-q", "--target", "spark").exit_code == 0
    assert spark_rows(shop, "marts", "latest") == [(1, Decimal("20.000")), (2, Decimal("7.250"))]
    (shop / "seeds/orders.csv").write_text(
        (shop / "seeds/orders.csv").read_text() + "4,2,99,2026-03-17 10:00:00\n4,3,1,2026-03-17 11:00:00\n"
    )
    assert cli(shop, "build", "-q", "--target", "spark").exit_code == 0
    # customer 2 replaced by the new row over 8, customer 3's row (1 <= 8) not selected incrementally
    assert spark_rows(shop, "marts", "latest") == [(1, Decimal("20.000")), (2, Decimal("99.000"))]


def test_an_unreachable_spark_connect_server_is_one_clear_error(make_project: Any, run_cli: Any) -> None:
    root = make_project(
        {"project.yml": SHOP["project.yml"] + "  cluster:\n    type: spark\n    remote: sc://127.0.0.1:9\n"}
    )
    started = time.perf_counter()
    result = run_cli(root, "build", "--target", "cluster")
    assert time.perf_counter() - started < 30
    assert result.exit_code == 2
    assert "Target 'cluster': no Spark Connect server answers at 127.0.0.1:9" in result.output
    assert "Traceback" not in result.output
    assert not (root / "spark-warehouse" / "_northstar" / "catalog.json").exists()


def test_a_spark_connect_address_that_accepts_but_never_answers_is_one_clear_error(
    make_project: Any, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another service's port, a proxy with no server behind it: the client would retry for minutes."""
    import socket

    from northstar.spark import session

    pytest.importorskip("grpc", reason="PySpark's Spark Connect client is not installed")
    monkeypatch.setattr(session, "ANSWER_TIMEOUT", 1.0)  # 10 s for users; the suite need not wait that long
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # accepts connections (the kernel does), never answers
        port = listener.getsockname()[1]
        cluster = f"  cluster:\n    type: spark\n    remote: sc://127.0.0.1:{port}\n"
        root = make_project({"project.yml": SHOP["project.yml"] + cluster})
        started = time.perf_counter()
        result = run_cli(root, "build", "--target", "cluster")
    assert time.perf_counter() - started < 30
    assert (result.exit_code, result.output) == (
        2,
        f"Error: Target 'cluster': something accepts connections at 127.0.0.1:{port} but does not answer as a Spark "
        "Connect server within 1 s. Check that the server runs and listens on that port (15002 by default), or "
        "correct the target's remote:.\n",
    )
    assert not (root / "spark-warehouse" / "_northstar" / "catalog.json").exists()


def test_an_unknown_target_names_the_targets(make_project: Any, run_cli: Any) -> None:
    root = make_project({"project.yml": SHOP["project.yml"]})
    result = run_cli(root, "build", "--target", "sparc")
    assert result.exit_code == 2
    assert "--target names 'sparc', which project.yml does not declare. Targets: dev, spark." in result.output


@pytest.fixture(scope="module")
def example_on_both(tmp_path_factory: pytest.TempPathFactory, spark_session: Any) -> Path:
    """The example project, built once for the module from its committed seeds on DuckDB and on Spark: its seeds
    and models, which the metric queries read (about a minute on 2 cores); with NORTHSTAR_TEST_SPARK_EXAMPLE=1,
    everything `metrics build` does, its 300-odd data tests and the metric tables too (several minutes)."""
    import os

    from conftest import REPO_ROOT

    everything = os.environ.get("NORTHSTAR_TEST_SPARK_EXAMPLE") == "1"
    selection = [] if everything else ["--exclude", "resource_type:test resource_type:metric"]
    root = tmp_path_factory.mktemp("example-spark") / "growth"
    ignore = shutil.ignore_patterns(
        ".venv", ".git", "target", "*.duckdb*", "__pycache__", "northstar", "bench", "data", "spark-warehouse"
    )
    shutil.copytree(REPO_ROOT, root, ignore=ignore)
    for target in ("dev", "spark"):
        result = cli(root, "build", "-q", "--target", target, *selection)
        assert result.exit_code == 0, result.output
    return root


def test_every_table_of_the_example_is_the_same_on_spark(example_on_both: Path) -> None:
    """Seeds, intermediate and mart tables (and the metric tables when they are built): the same relations, the same
    rows, numbers within 1e-9 relative."""
    with duckdb.connect(str(example_on_both / "warehouse.duckdb"), read_only=True) as connection:
        tables = connection.execute(
            "select schema_name, table_name from duckdb_tables() where schema_name not like '\\_%' escape '\\' "
            "order by 1, 2"
        ).fetchall()
    published = json.loads((example_on_both / "spark-warehouse" / "_northstar" / "catalog.json").read_text())
    assert sorted((e["schema"], e["name"]) for e in published["relations"] if e["kind"] == "table") == tables
    assert len([t for t in tables if t[0] == "marts"]) >= 10
    for schema, name in tables:
        assert_same_table(example_on_both, schema, name)


def test_every_metric_query_answers_the_same_on_spark(example_on_both: Path) -> None:
    listed = cli(example_on_both, "ls", "--resource-type", "metric", "--output", "name")
    names = listed.output.split()
    assert len(names) > 30, listed.output
    for name in names:
        answers = []
        for target in ("dev", "spark"):
            result = cli(example_on_both, "query", name, "--format", "json", "--target", target)
            answers.append((result.exit_code, result.output))
        (duck_code, duck_out), (spark_code, spark_out) = answers
        assert spark_code == duck_code, f"{name}: {spark_out}"
        if duck_code != 0:  # a metric that needs --by says so on both engines
            assert spark_out == duck_out
            continue
        duck = [tuple(row.values()) for row in json.loads(duck_out)]
        spark = [tuple(row.values()) for row in json.loads(spark_out)]
        assert_same_rows(sorted(spark, key=_key), sorted(duck, key=_key), name)


def test_a_dbt_project_with_a_dbt_spark_session_target_builds_on_spark(tmp_path: Path, spark_session: Any) -> None:
    from conftest import write_project

    root = write_project(
        tmp_path / "jaffle",
        {
            "dbt_project.yml": "name: jaffle\nprofile: jaffle\nmodels:\n  jaffle:\n    +materialized: table\n",
            "profiles.yml": "jaffle:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: jaffle.duckdb}\n"
            f"    spark: {{type: spark, method: session, schema: analytics, location_root: {tmp_path / 'lake'}}}\n",
            "seeds/raw_orders.csv": "id,amount\n1,10\n2,32\n",
            "models/orders.sql": "select id, amount * 2 as doubled from {{ ref('raw_orders') }}\n",
        },
    )
    result = CliRunner().invoke(main, ["build", "-q", "--target", "spark", "--project-dir", str(root)])
    assert result.exit_code == 0, result.output
    catalog = json.loads((tmp_path / "lake" / "_northstar" / "catalog.json").read_text())
    assert [(e["schema"], e["name"]) for e in catalog["relations"]] == [
        ("analytics", "raw_orders"),
        ("analytics", "orders"),
    ]


def test_a_dbt_spark_target_of_another_method_is_refused(tmp_path: Path) -> None:
    from conftest import write_project

    root = write_project(
        tmp_path / "jaffle",
        {
            "dbt_project.yml": "name: jaffle\nprofile: jaffle\n",
            "profiles.yml": "jaffle:\n  target: prod\n  outputs:\n    prod: {type: spark, method: thrift, host: h}\n",
        },
    )
    result = CliRunner().invoke(main, ["build", "--project-dir", str(root)])
    assert result.exit_code == 2
    assert (
        "Target 'prod' is a dbt-spark target with method 'thrift'; Northstar runs Spark in-process (`method: "
        "session`) or through Spark Connect (`method: session` with `host: sc://host:15002`)."
    ) in " ".join(result.output.split())


@pytest.fixture
def connect_server(tmp_path: Path) -> Any:
    """A Spark Connect server on this machine, started from PySpark's own scripts: opt-in, as it starts a second JVM
    (NORTHSTAR_TEST_SPARK_CONNECT=1)."""
    import os
    import socket
    import subprocess

    if os.environ.get("NORTHSTAR_TEST_SPARK_CONNECT") != "1":
        pytest.skip("set NORTHSTAR_TEST_SPARK_CONNECT=1 to start a Spark Connect server for this test")
    pyspark = pytest.importorskip("pyspark")
    home = Path(pyspark.__file__).parent
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOG_DIR": str(tmp_path), "SPARK_PID_DIR": str(tmp_path)}
    start = [str(home / "sbin" / "start-connect-server.sh"), "--conf", f"spark.connect.grpc.binding.port={port}"]
    subprocess.run(start, env=env, check=True, capture_output=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with socket.socket() as client:
            if client.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(1)
    yield f"sc://127.0.0.1:{port}"
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    # Released while the server still answers: the client would otherwise try to release it at exit, for minutes.
    active = ConnectSession.getActiveSession()
    if active is not None:
        active.stop()
    subprocess.run([str(home / "sbin" / "stop-connect-server.sh")], env=env, capture_output=True)


def test_a_project_builds_through_spark_connect(tmp_path: Path, connect_server: str) -> None:
    from conftest import write_project

    cluster = f"  cluster:\n    type: spark\n    remote: {connect_server}\n"
    files = {**SHOP, "project.yml": SHOP["project.yml"] + cluster}
    root = write_project(tmp_path / "shop", files)
    assert cli(root, "build", "-q").exit_code == 0
    result = cli(root, "build", "-q", "--target", "cluster")
    assert result.exit_code == 0, result.output
    assert_same_rows(spark_rows(root, "marts", "customers"), duckdb_rows(root, "marts", "customers"), "customers")
    answer = cli(root, "compile", "customers", "--target", "cluster")
    assert "DATEDIFF" not in answer.output and "YEAR(" in answer.output


def test_introspection_and_run_hooks_are_refused_by_name_on_spark(tmp_path: Path) -> None:
    """Refused before Spark starts: the Spark engine does not render models against its tables, nor run hooks."""
    from conftest import write_project

    files = {
        "dbt_project.yml": "name: jaffle\nprofile: jaffle\n",
        "profiles.yml": "jaffle:\n  target: spark\n  outputs:\n"
        f"    spark: {{type: spark, method: session, schema: analytics, location_root: {tmp_path / 'lake'}}}\n",
        "seeds/raw_orders.csv": "id,amount\n1,10\n",
        "models/cols.sql": "{% if execute %}{% set c = adapter.get_columns_in_relation(ref('raw_orders')) %}"
        "{% endif %}\nselect 1 as x from {{ ref('raw_orders') }}\n",
    }
    root = write_project(tmp_path / "jaffle", files)
    result = CliRunner().invoke(main, ["build", "-q", "--project-dir", str(root)])
    assert (result.exit_code, result.output) == (
        2,
        "Error: models/cols.sql:1: Model 'cols' calls adapter.get_columns_in_relation() at line 1, which queries "
        "the warehouse while rendering; the Spark engine does not render models against its tables yet (target "
        "'spark'). Build it on a DuckDB target.\n",
    )
    (root / "dbt_project.yml").write_text("name: jaffle\nprofile: jaffle\non-run-start: ['select 1']\n")
    (root / "models" / "cols.sql").write_text("select 1 as x\n")
    result = CliRunner().invoke(main, ["build", "-q", "--project-dir", str(root)])
    assert (result.exit_code, result.output) == (
        2,
        "Error: dbt_project.yml:3: 'on-run-start' hooks run on DuckDB targets only; target 'spark' runs on Spark. "
        "Build on a DuckDB target, or remove the hooks.\n",
    )


def test_a_local_spark_driver_gets_a_quarter_of_the_machines_memory(spark_session: Any) -> None:
    """Spark's own 1 GB default fails the example project at 100,000 users; a local target's driver gets a quarter
    of the machine's memory, from 1 to 8 GB, unless the target sets spark.driver.memory."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    expected = min(8, max(1, total // 4 // 2**30))
    assert spark_session.sparkContext.getConf().get("spark.driver.memory") == f"{expected}g"
    heap = spark_session.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory()
    assert heap > (expected - 1) * 2**30  # the JVM really has it (its reported maximum is a little below -Xmx)


def test_a_local_spark_broadcasts_joins_only_from_sizes_measured_at_run_time(spark_session: Any) -> None:
    """Sized from compressed Parquet, a data test's join broadcast a 10M-row table and ran a local driver out of
    memory at 1M users: a local target plans joins without broadcasting and lets adaptive execution broadcast."""
    conf = spark_session.conf
    assert (conf.get("spark.sql.autoBroadcastJoinThreshold"), conf.get("spark.sql.adaptive.enabled")) == ("-1", "true")
    assert conf.get("spark.sql.adaptive.autoBroadcastJoinThreshold") == "10MB"
