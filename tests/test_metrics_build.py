"""metrics build materializes every metric into schema metrics, after the models it reads, and runs metric tests."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import query, write_project
from metrics_fixture import CHECKED

from northstar.cli import main


def cli(root: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--project-dir", str(root)])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = write_project(tmp_path_factory.mktemp("checked") / "shop", CHECKED)
    result = cli(root, "build")
    assert result.exit_code == 0, result.output
    return root, result.output


def test_every_metric_is_a_table_at_its_defaults(built):
    root, _ = built
    warehouse = root / "warehouse.duckdb"
    tables = query(warehouse, "select table_name from information_schema.tables where table_schema = 'metrics'")
    assert sorted(t for (t,) in tables) == [
        "checked_cpu",
        "checked_revenue",
        "completed_orders",
        "cpu",
        "new_users",
        "revenue",
        "revenue_2m",
        "revenue_growth",
        "revenue_to_date",
        "spend",
    ]
    assert query(warehouse, "select * from metrics.cpu order by all") == [
        (date(2025, 1, 1), "paid_search", 50.0),
        (date(2025, 1, 1), "seo", None),
        (date(2025, 2, 1), "paid_search", 90.0),
        (date(2025, 2, 1), "seo", None),
        (date(2025, 3, 1), "paid_search", 30.0),
        (date(2025, 3, 1), "paid_social", None),
    ]
    assert query(warehouse, "select * from metrics.revenue order by 1") == [
        (date(2025, 1, 1), 140.5),
        (date(2025, 2, 1), 140.25),
        (date(2025, 3, 1), 50.0),
        (date(2025, 5, 1), 10.0),
    ]
    assert query(warehouse, "select * from metrics.spend") == [(182.0,)]


def test_tables_and_columns_carry_the_yaml_docs(built):
    root, _ = built
    comments = query(
        root / "warehouse.duckdb",
        "select column_name, comment from duckdb_columns() where schema_name = 'metrics' and table_name = 'cpu'",
    )
    assert comments == [
        ("metric_time__month", "Start of the month (UTC) of the metric time (spend.spend_date, users.first_seen_at)."),
        ("channel", "The channel of spend."),
        ("cpu", "Spend per new user. Owner: performance."),
    ]
    (table,) = query(
        root / "warehouse.duckdb",
        "select comment from duckdb_tables() where schema_name = 'metrics' and table_name = 'checked_revenue'",
    )
    assert table == ("Completed revenue, with tests.",)


def test_metric_nodes_follow_the_models_they_read(built):
    from northstar.engine.manifest import load_manifest
    from northstar.project.loader import load_project

    root, output = built
    manifest = load_manifest(load_project(root))
    assert manifest.nodes["metric.shop.cpu"].depends_on == ("model.shop.fct_spend", "model.shop.dim_users")
    assert manifest.dag.parents["test.shop.metric_checked_revenue_range"] == {"metric.shop.checked_revenue"}
    lines = output.splitlines()

    def at(text: str) -> int:
        return next(i for i, line in enumerate(lines) if text in line)

    assert at("marts.fct_spend ") < at("metrics.cpu ") and at("marts.dim_users ") < at("metrics.cpu ")


def test_metric_tests_run_in_build_and_in_metrics_test(built):
    root, output = built
    assert "Finished 22 nodes" in output and "5 PASS, 1 WARN" in output
    assert (
        "WARN Test metric_checked_revenue_not_null on checked_revenue (metrics/shop.yml:86): 1 failing row." in output
    )
    assert "    2025-04-01" in output  # April has no revenue
    result = cli(root, "test", "-s", "test_type:metric", "-s", "test_type:metric_unit")
    assert result.exit_code == 0, result.output
    assert "Finished 6 nodes" in result.output and "5 PASS, 1 WARN" in result.output


def test_metric_unit_tests_need_no_warehouse(tmp_path):
    root = write_project(tmp_path / "shop", CHECKED)
    result = cli(root, "test", "-s", "test_type:metric_unit")
    assert result.exit_code == 0, result.output
    assert "Finished 2 nodes" in result.output and "2 PASS" in result.output
    assert not (root / "warehouse.duckdb").exists()


def test_failing_unit_test_shows_unexpected_and_missing_rows(tmp_path):
    files = dict(CHECKED)
    files["metrics/shop.yml"] = files["metrics/shop.yml"].replace("checked_revenue: 1.25}", "checked_revenue: 1.5}")
    root = write_project(tmp_path / "shop", files)
    result = cli(root, "build")
    assert result.exit_code == 1
    assert "FAIL Test metric_checked_revenue_unit on checked_revenue" in result.output
    assert "unexpected | 2025-02-01         | 1.25" in result.output
    assert "missing    | 2025-02-01         | 1.5" in result.output
    assert "Nothing published" in result.output
    assert not (root / "warehouse.duckdb").exists()


def test_a_metric_failing_in_duckdb_fails_the_build_and_publishes_nothing(tmp_path):
    root = write_project(tmp_path / "shop", CHECKED)
    assert cli(root, "build", "-q").exit_code == 0
    before = query(root / "warehouse.duckdb", "select * from metrics.spend")
    files = {"metrics/shop.yml": CHECKED["metrics/shop.yml"].replace("expr: spend}", "expr: spend_typo}")}
    write_project(root, files)
    result = cli(root, "build")
    assert result.exit_code == 1
    assert "Metric 'spend' failed in DuckDB: Binder Error: Cannot extract field 'spend_typo'" in result.output
    assert "ERROR metrics/shop.yml:" in result.output
    assert query(root / "warehouse.duckdb", "select * from metrics.spend") == before


def test_bad_metric_test_definitions_name_the_file(make_project, run_cli):
    files = dict(CHECKED)
    files["metrics/shop.yml"] = files["metrics/shop.yml"].replace("- range: {min: 0}", "- range: {lo: 0}")
    root = make_project(files, base={})
    result = run_cli(root, "build")
    assert result.exit_code == 2
    assert "Unknown key 'lo' in the range test of metric 'checked_revenue'. Allowed keys: column, max, min." in (
        result.output
    )


def test_an_equals_test_whose_sql_is_not_a_query_names_the_file(make_project, run_cli):
    files = dict(CHECKED)
    files["metrics/shop.yml"] = files["metrics/shop.yml"].replace("- equals: {metric: revenue}", "- equals: {sql: '1'}")
    written = textwrap.dedent(files["metrics/shop.yml"]).lstrip("\n").splitlines()
    line = next(i + 1 for i, text in enumerate(written) if "{sql: '1'}" in text)
    root = make_project(files, base={})
    result = run_cli(root, "build")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert (
        f"metrics/shop.yml:{line}: The sql of the equals test of 'checked_revenue' must be a query (select ... as "
        "value), got '1'." in result.output
    )


def test_metric_sql_kept_between_builds_follows_the_yaml_and_the_models(tmp_path):
    from metrics_fixture import SHOP

    root = write_project(tmp_path / "shop", SHOP)
    assert cli(root, "build").exit_code == 0
    assert cli(root, "build").exit_code == 0  # target/ exists now: the compiled SQL is kept there
    assert (root / "target/metric_build_cache.json").exists()
    again = cli(root, "build")  # every metric's SQL from target/
    assert again.exit_code == 0, again.output
    assert "Nothing changed" in again.output
    assert query(root / "warehouse.duckdb", "select sum(revenue) from metrics.revenue") == [(340.75,)]

    # The measure changes: the SQL is compiled again and the table rebuilt.
    shop = root / "metrics/shop.yml"
    shop.write_text(
        shop.read_text().replace(
            "{name: revenue, agg: sum, expr: \"case when status = 'completed' then amount end\"}",
            "{name: revenue, agg: sum, expr: \"case when status = 'completed' then 2 * amount end\"}",
        )
    )
    changed = cli(root, "build")
    assert changed.exit_code == 0, changed.output
    assert query(root / "warehouse.duckdb", "select sum(revenue) from metrics.revenue") == [(681.5,)]
    fresh = tmp_path / "fresh"
    write_project(fresh, {**SHOP, "metrics/shop.yml": shop.read_text()})
    assert cli(fresh, "build").exit_code == 0
    assert query(root / "warehouse.duckdb", "select * from metrics.revenue order by 1") == query(
        fresh / "warehouse.duckdb", "select * from metrics.revenue order by 1"
    )
