"""CLI details a new user meets first, each checked on its exact output: number formats, pipes, --state on ls,
--dialect for models, double-quoted strings in --where, misspelt YAML keys, documented columns the model lacks,
and a new project that can be queried."""

import shutil
import subprocess
import sys
from decimal import Decimal

from click.testing import CliRunner
from conftest import timeless

from northstar.cli import main
from northstar.metrics.query import format_rows

SHOP_METRICS = {
    "models/marts/fct_orders.sql": (
        "select order_id, customer_id, amount,\n"
        "    cast('2025-01-01' as date) + cast(order_id * 20 as integer) as ordered_at\n"
        "from {{ ref('stg_orders') }}\n"
    ),
    "metrics/orders.yml": """
        semantic_models:
          - name: orders
            model: ref('fct_orders')
            defaults: {agg_time_dimension: ordered_at}
            entities: [{name: order, type: primary, expr: order_id}, {name: customer, type: foreign, expr: customer_id}]
            dimensions: [{name: ordered_at, type: time, type_params: {time_granularity: day}}]
            measures: [{name: revenue, agg: sum, expr: amount}, {name: orders, agg: count, expr: order_id}]
        metrics:
          - name: revenue
            type: simple
            type_params: {measure: revenue}
          - name: orders
            type: simple
            type_params: {measure: orders}
    """,
}


def test_a_numeric_column_shows_the_same_decimals_on_every_row():
    rows = [("a", 1505.1, Decimal("10.50"), 0.5), ("b", 804.7051, Decimal("7.25"), 0.02131), ("c", None, None, None)]
    assert format_rows(("name", "cpuser", "revenue", "rate"), rows) == (
        "name   cpuser  revenue    rate\n"
        "----  -------  -------  ------\n"
        "a     1505.10    10.50  0.5000\n"
        "b      804.71     7.25  0.0213\n"
        "c"
    )


def test_new_project_answers_a_query_after_init_and_build(tmp_path):
    runner = CliRunner()
    root = tmp_path / "shop"
    assert runner.invoke(main, ["init", str(root)]).exit_code == 0
    assert sorted(p.name for p in (root / "metrics").iterdir()) == ["orders.yml"]
    build = runner.invoke(main, ["build", "--project-dir", str(root)])
    assert build.exit_code == 0, build.output
    result = runner.invoke(
        main, ["query", "revenue", "orders", "average_order_value", "--by", "month", "--project-dir", str(root)]
    )
    assert result.exit_code == 0, result.output
    assert result.output == (
        "metric_time__month  revenue  orders  average_order_value\n"
        "------------------  -------  ------  -------------------\n"
        "2025-01-01           120.50       1               120.50\n"
        "2025-02-01           122.00       2                61.00\n"
        "2025-03-01           310.25       1               310.25\n"
    )


def test_ls_into_a_closed_pipe_exits_quietly(make_project):
    root = make_project()
    # The reader is gone before ls writes (as `metrics ls | head -1` once head has its line): no message, 141.
    process = subprocess.Popen(
        [sys.executable, "-m", "northstar", "ls", "--project-dir", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 141
    assert stderr == b""


def test_ls_takes_state_to_list_what_changed(make_project, run_cli, tmp_path):
    root = make_project()
    assert run_cli(root, "build", "-q").exit_code == 0
    base = tmp_path / "base-target"
    shutil.copytree(root / "target", base)
    (root / "models/staging/stg_orders.sql").write_text(
        "select order_id, customer_id, amount * 2 as amount\nfrom {{ ref('orders') }}\n"
    )
    result = run_cli(root, "ls", "-s", "state:modified+", "--state", str(base))
    assert result.exit_code == 0, result.output
    assert result.output == "stg_orders\ncustomers\n"


def test_compile_a_model_for_another_dialect(make_project, run_cli):
    root = make_project(
        {"models/marts/daily.sql": "select epoch_ms(order_id) as at, amount from {{ ref('stg_orders') }}\n"}
    )
    result = run_cli(root, "compile", "daily", "--dialect", "snowflake")
    assert result.exit_code == 0, result.output
    assert result.output == "SELECT\n  TO_TIMESTAMP(order_id, 3) AS at,\n  amount\nFROM staging.stg_orders\n"


def test_compile_refuses_what_the_dialect_cannot_express(make_project, run_cli):
    root = make_project(
        {
            "models/marts/wide.sql": (
                "select * from {{ ref('stg_orders') }}\npivot (sum(amount) for customer_id in (1, 2))\n"
            )
        }
    )
    result = run_cli(root, "compile", "wide", "--dialect", "postgres")
    assert result.exit_code == 2
    assert result.output == (
        "Error: models/marts/wide.sql: Model 'wide' cannot be written in postgres: "
        "PIVOT unsupported. Its DuckDB SQL is in target/compiled/.\n"
    )
    result = run_cli(root, "compile", "--dialect", "postgres")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: --dialect postgres transpiles one NODE's SQL (metrics compile fct_orders --dialect postgres); "
        "target/compiled/ always holds the DuckDB SQL that builds run."
    )


def test_where_with_a_double_quoted_string_says_to_use_single_quotes(make_project, run_cli):
    root = make_project(SHOP_METRICS)
    assert run_cli(root, "build", "-q").exit_code == 0
    result = run_cli(root, "query", "revenue", "--by", "customer", "--where", 'customer = "1"')
    assert result.exit_code == 2
    assert result.output == (
        'Error: --where \'customer = "1"\' writes "1" in double quotes, which SQL reads as a column name. '
        "String literals take single quotes: customer = '1'\n"
    )
    # A double-quoted name compared with a string is a quoted column, as SQL says: it works.
    result = run_cli(root, "query", "revenue", "--by", "customer", "--where", '"customer" = 1')
    assert result.exit_code == 0, result.output
    assert result.output == "customer  revenue\n--------  -------\n       1    30.50\n"


def test_a_misspelt_yaml_key_gets_a_suggestion(make_project, run_cli):
    root = make_project(
        {"models/marts/schema.yml": "models:\n  - name: customers\n    descrption: One per customer.\n"}
    )
    result = run_cli(root, "build")
    assert result.exit_code == 2
    assert result.output == (
        "Error: models/marts/schema.yml:3: Unknown key 'descrption' in model 'customers'. Did you mean 'description'? "
        "Allowed keys: access, agg_time_dimension, columns, config, constraints, data_tests, deprecation_date, "
        "derived_semantics, description, docs, group, latest_version, meta, metrics, name, primary_entity, "
        "semantic_model, tags, tests, time_spine, versions.\n"
    )


def test_a_documented_column_the_model_lacks_is_a_warning_naming_the_line(make_project, run_cli):
    schema = "models:\n  - name: customers\n    columns:\n      - name: customer_id\n      - name: revenu\n"
    root = make_project({"models/marts/schema.yml": schema})
    result = run_cli(root, "build", "-q")
    assert result.exit_code == 0, result.output
    assert timeless(result.output) == (
        "Warning: models/marts/schema.yml:5: column 'revenu' of 'customers' is documented but the relation has no "
        "such column. Did you mean 'revenue'? Fix the name or remove it from the YAML "
        "(columns: customer_id, orders, revenue).\n"
        "\n"
        "Finished 3 nodes in T: 3 OK. Published warehouse.duckdb.\n"
    )
