"""Every CLI command in-process: build, run, seed, compile, ls, init, --help, --quiet, run_results.json, exit codes."""

import json
from decimal import Decimal

from click.testing import CliRunner
from conftest import query, timeless

from northstar.cli import main


def test_build_prints_one_line_per_node_and_a_summary(make_project, run_cli):
    root = make_project()
    result = run_cli(root, "build", "--threads", "1")
    assert result.exit_code == 0, result.output
    assert timeless(result.output) == (
        "Found 1 seed, 2 models.\n"
        "\n"
        "  1 of 3 OK    loaded seed raw.orders ... [OK 3 rows in T]\n"
        "  2 of 3 OK    created view staging.stg_orders ... [OK in T]\n"
        "  3 of 3 OK    created table marts.customers ... [OK 2 rows in T]\n"
        "\n"
        "Finished 3 nodes in T: 3 OK. Published warehouse.duckdb.\n"
    )


def test_quiet_prints_only_the_summary(make_project, run_cli):
    root = make_project()
    result = run_cli(root, "build", "--quiet")
    assert result.exit_code == 0
    assert timeless(result.output) == "\nFinished 3 nodes in T: 3 OK. Published warehouse.duckdb.\n"


def test_run_builds_models_without_reloading_seeds(make_project, run_cli):
    root = make_project()
    assert run_cli(root, "seed", "-q").exit_code == 0
    (root / "seeds/orders.csv").write_text("order_id,customer_id,amount\n9,9,9\n")
    result = run_cli(root, "run", "--threads", "1")
    assert result.exit_code == 0, result.output
    assert timeless(result.output).startswith("Found 2 models.\n")
    assert query(root / "warehouse.duckdb", "select count(*) from marts.customers") == [(2,)]


def test_run_results_json(make_project, run_cli):
    root = make_project()
    assert run_cli(root, "build", "-q").exit_code == 0
    data = json.loads((root / "target/run_results.json").read_text())
    assert [
        (r["unique_id"], r["status"], r["adapter_response"].get("rows_affected"), r["relation_name"])
        for r in data["results"]
    ] == [
        ("seed.shop.orders", "success", 3, '"warehouse"."raw"."orders"'),
        ("model.shop.stg_orders", "success", None, '"warehouse"."staging"."stg_orders"'),
        ("model.shop.customers", "success", 2, '"warehouse"."marts"."customers"'),
    ]
    assert data["args"] == {
        "which": "build",
        "select": [],
        "exclude": [],
        "full_refresh": False,
        "northstar_version": "0.1.0",
    }
    assert data["elapsed_time"] > 0
    manifest = json.loads((root / "target/manifest.json").read_text())
    assert manifest["parent_map"]["model.shop.customers"] == ["model.shop.stg_orders"]


def test_compile_node_prints_sql_and_writes_target_compiled(make_project, run_cli):
    root = make_project()
    result = run_cli(root, "compile", "stg_orders")
    assert result.exit_code == 0
    assert result.output == "select order_id, customer_id, amount from raw.orders\n"
    assert (root / "target/compiled/shop/models/staging/stg_orders.sql").read_text() == result.output
    assert not (root / "warehouse.duckdb").exists()


def test_compile_all_writes_every_model(make_project, run_cli):
    root = make_project()
    result = run_cli(root, "compile")
    assert result.exit_code == 0
    assert result.output == f"Compiled 2 models to {root / 'target/compiled/shop'}\n"
    assert sorted(p.relative_to(root).as_posix() for p in (root / "target/compiled").rglob("*.sql")) == [
        "target/compiled/shop/models/marts/customers.sql",
        "target/compiled/shop/models/staging/stg_orders.sql",
    ]


def test_compile_unknown_node_and_a_seed(make_project, run_cli):
    root = make_project()
    result = run_cli(root, "compile", "customer")
    assert result.exit_code == 2
    assert result.output == (
        "Error: No model, seed, test or metric named 'customer'. Did you mean 'customers'? "
        "Run 'metrics ls' (or 'metrics ls --metrics') to list them.\n"
    )
    result = run_cli(root, "compile", "orders")
    assert result.exit_code == 2
    assert result.output == "Error: 'orders' is a seed; only models have compiled SQL.\n"


def test_ls_lists_nodes_in_dag_order(make_project, run_cli):
    root = make_project()
    result = run_cli(root, "ls")
    assert result.exit_code == 0
    assert result.output == "orders\nstg_orders\ncustomers\n"


def test_init_creates_a_project_that_builds(tmp_path):
    runner = CliRunner()
    target = tmp_path / "new_project"
    result = runner.invoke(main, ["init", str(target)])
    assert result.exit_code == 0
    assert result.output == (
        f"Created 11 files in {target}. Next:\n  cd {target}\n  metrics build\n"
        "  metrics query revenue orders --by month\n"
    )
    result = runner.invoke(main, ["build", "--project-dir", str(target)])
    assert result.exit_code == 0, result.output
    revenue = "select customer_id, orders, revenue from marts.customer_revenue order by 1"
    assert query(target / "warehouse.duckdb", revenue) == [
        (1, 2, Decimal("200.50")),
        (2, 1, Decimal("42.00")),
        (3, 1, Decimal("310.25")),
    ]
    result = runner.invoke(main, ["init", str(target)])
    assert result.exit_code == 2
    assert result.output == f"Error: {target} is not empty. Choose a new folder for the project.\n"


def test_help_lists_every_command_with_a_full_sentence():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    commands = {line.split()[0]: line for line in result.output.split("Commands:\n", 1)[1].splitlines()}
    assert {"build", "compile", "init", "ls", "run", "seed"} <= set(commands)
    for command in ("build", "compile", "init", "run", "seed"):
        assert not commands[command].endswith("..."), commands[command]
    for command in ("build", "run", "seed", "compile", "ls", "init"):
        result = CliRunner().invoke(main, [command, "--help"])
        assert result.exit_code == 0
        assert result.output.startswith(f"Usage: main {command} [OPTIONS]")


def test_project_dir_and_running_from_a_subfolder(make_project, monkeypatch):
    root = make_project()
    monkeypatch.chdir(root / "models" / "staging")
    result = CliRunner().invoke(main, ["build", "-q"])
    assert result.exit_code == 0, result.output
    assert (root / "warehouse.duckdb").exists()
    assert (root / "target/run_results.json").exists()
    assert not (root / "models/staging/warehouse.duckdb").exists()
    result = CliRunner().invoke(main, ["ls", "--project-dir", str(root / "models")])
    assert result.output == "orders\nstg_orders\ncustomers\n"


def test_no_project_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["build"])
    assert result.exit_code == 2
    assert result.output == (
        f"Error: No project.yml (or dbt_project.yml) found in {tmp_path} or any folder above it. "
        "Run from inside a project, pass --project-dir, or create one with `metrics init DIR`.\n"
    )


def test_parallel_threads_build_independent_models(make_project, run_cli):
    files = {
        f"models/wide/m{i:02d}.sql": f"select {i} as i, count(*) as n from {{{{ ref('stg_orders') }}}}"
        for i in range(12)
    }
    files["models/wide/all_of_them.sql"] = " union all ".join(
        f"select * from {{{{ ref('m{i:02d}') }}}}" for i in range(12)
    )
    root = make_project(files)
    result = run_cli(root, "build", "--threads", "4", "-q")
    assert result.exit_code == 0, result.output
    assert query(root / "warehouse.duckdb", "select sum(i), sum(n) from wide.all_of_them") == [(66, 36)]


def test_exit_codes(make_project, run_cli):
    root = make_project()
    assert run_cli(root, "build", "-q").exit_code == 0
    bad = make_project({"models/marts/bad.sql": "select nope from {{ ref('orders') }}"})
    assert run_cli(bad, "build", "-q").exit_code == 1
    assert run_cli(bad, "build", "--bogus-flag").exit_code == 2
    assert run_cli(bad, "build", "--vars", "[1, 2]").exit_code == 2


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.output == "northstar, version 0.1.0\n"
