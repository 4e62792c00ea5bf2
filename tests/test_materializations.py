"""Views, tables and ephemeral models, and switching a model between materializations."""

from conftest import query

RELATIONS = "select table_schema, table_name, table_type from information_schema.tables order by 1, 2"

EPHEMERAL = {
    "models/staging/base_orders.sql": (
        "{{ config(materialized='ephemeral') }}\nselect order_id, amount from {{ ref('orders') }}\n"
    ),
    "models/staging/big_orders.sql": (
        "{{ config(materialized='ephemeral') }}\n"
        "with b as (select * from {{ ref('base_orders') }})\n"
        "select order_id, amount from b where amount > 8\n"
    ),
    "models/marts/report.sql": (
        "with totals as (\n"
        "    select count(*) as n, sum(amount) as total from {{ ref('big_orders') }}\n"
        ")\n"
        "select n, total from totals\n"
    ),
}


def test_views_and_tables_are_created_as_configured(make_project, run_cli):
    root = make_project()
    assert run_cli(root, "build").exit_code == 0
    assert query(root / "warehouse.duckdb", RELATIONS) == [
        ("marts", "customers", "BASE TABLE"),
        ("raw", "orders", "BASE TABLE"),
        ("staging", "stg_orders", "VIEW"),
    ]


def test_default_materialization_is_view_without_folder_config(make_project, run_cli):
    root = make_project({"project.yml": "name: shop\n"})
    assert run_cli(root, "build").exit_code == 0
    assert query(root / "warehouse.duckdb", RELATIONS) == [
        ("marts", "customers", "VIEW"),
        ("raw", "orders", "BASE TABLE"),
        ("staging", "stg_orders", "VIEW"),
    ]


def test_ephemeral_models_are_inlined_as_ctes_and_never_built(make_project, run_cli):
    root = make_project(EPHEMERAL)
    result = run_cli(root, "compile", "report")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "WITH __ns_cte__base_orders AS (\n"
        "  SELECT\n"
        "    order_id,\n"
        "    amount\n"
        "  FROM raw.orders\n"
        "), __ns_cte__big_orders AS (\n"
        "  WITH b AS (\n"
        "    SELECT\n"
        "      *\n"
        "    FROM __ns_cte__base_orders\n"
        "  )\n"
        "  SELECT\n"
        "    order_id,\n"
        "    amount\n"
        "  FROM b\n"
        "  WHERE\n"
        "    amount > 8\n"
        "), totals AS (\n"
        "  SELECT\n"
        "    COUNT(*) AS n,\n"
        "    SUM(amount) AS total\n"
        "  FROM __ns_cte__big_orders\n"
        ")\n"
        "SELECT\n"
        "  n,\n"
        "  total\n"
        "FROM totals\n"
    )
    assert run_cli(root, "build").exit_code == 0
    assert query(root / "warehouse.duckdb", "select * from marts.report") == [(2, 30.5)]
    assert query(root / "warehouse.duckdb", RELATIONS) == [
        ("marts", "customers", "BASE TABLE"),
        ("marts", "report", "BASE TABLE"),
        ("raw", "orders", "BASE TABLE"),
        ("staging", "stg_orders", "VIEW"),
    ]


def test_ephemeral_read_by_a_view_and_selected_alone(make_project, run_cli):
    root = make_project({**EPHEMERAL, "models/staging/v.sql": "select count(*) as n from {{ ref('base_orders') }}"})
    result = run_cli(root, "build", "--select", "orders v")
    assert result.exit_code == 0, result.output
    assert query(root / "warehouse.duckdb", "select * from staging.v") == [(3,)]


def test_switching_between_view_and_table_replaces_the_relation(make_project, run_cli):
    root = make_project()
    assert run_cli(root, "build").exit_code == 0
    model = root / "models/staging/stg_orders.sql"
    model.write_text("{{ config(materialized='table') }}\n" + model.read_text())
    assert run_cli(root, "build").exit_code == 0
    assert query(root / "warehouse.duckdb", RELATIONS)[2] == ("staging", "stg_orders", "BASE TABLE")
    model.write_text(model.read_text().replace("'table'", "'view'"))
    assert run_cli(root, "build").exit_code == 0
    assert query(root / "warehouse.duckdb", RELATIONS)[2] == ("staging", "stg_orders", "VIEW")
    assert query(root / "warehouse.duckdb", "select * from marts.customers order by 1") == [(1, 2, 30.5), (2, 1, 7.25)]


def test_table_rebuild_reflects_new_data(make_project, run_cli):
    root = make_project()
    assert run_cli(root, "build").exit_code == 0
    (root / "seeds/orders.csv").write_text("order_id,customer_id,amount\n1,3,1\n")
    assert run_cli(root, "build").exit_code == 0
    assert query(root / "warehouse.duckdb", "select * from marts.customers") == [(3, 1, 1.0)]


def test_unknown_materialization_is_an_error(make_project, run_cli):
    root = make_project({"models/x.sql": "{{ config(materialized='snapshot') }}\nselect 1"})
    result = run_cli(root, "build")
    assert result.exit_code == 2
    assert result.output == (
        "Error: models/x.sql: Model 'x' has materialized='snapshot'. Use one of: view, table, ephemeral, incremental.\n"
    )


def test_a_model_builds_into_a_schema_named_by_a_reserved_word(make_project, run_cli):
    # `select.orders` is a syntax error in DuckDB: the schema must be quoted in every statement and in ref().
    root = make_project(
        {
            "models/select/order.sql": "{{ config(materialized='table') }}\nselect order_id from {{ ref('orders') }}\n",
            "models/marts/from_select.sql": "select count(*) as n from {{ ref('order') }}\n",
        }
    )
    result = run_cli(root, "build")
    assert result.exit_code == 0, result.output
    assert query(root / "warehouse.duckdb", "select n from marts.from_select") == [(3,)]
    assert query(root / "warehouse.duckdb", RELATIONS) == [
        ("marts", "customers", "BASE TABLE"),
        ("marts", "from_select", "BASE TABLE"),
        ("raw", "orders", "BASE TABLE"),
        ("select", "order", "BASE TABLE"),
        ("staging", "stg_orders", "VIEW"),
    ]
    compiled = run_cli(root, "compile", "from_select")
    assert compiled.output == 'select count(*) as n from "select"."order"\n'
