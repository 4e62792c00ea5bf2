"""dbt's --select/--exclude syntax, checked through `metrics ls` (whole output) and a selected build."""

import pytest
from conftest import query

PROJECT = {
    "models/staging/sources.yml": """
        sources:
          - name: crm
            schema: raw
            tables:
              - name: orders
    """,
    "models/staging/stg_orders.sql": "{{ config(tags=['daily']) }}\nselect * from {{ source('crm', 'orders') }}",
    "models/staging/stg_customers.sql": "select distinct customer_id from {{ ref('orders') }}",
    "models/marts/customers.sql": (
        "{{ config(tags=['daily', 'finance']) }}\n"
        "select c.customer_id, count(o.order_id) as orders\n"
        "from {{ ref('stg_customers') }} c left join {{ ref('stg_orders') }} o using (customer_id)\ngroup by 1"
    ),
    "models/marts/revenue.sql": (
        "{{ config(tags=['finance']) }}\nselect sum(amount) as revenue from {{ ref('stg_orders') }}"
    ),
    "models/reports/summary.sql": "select * from {{ ref('customers') }} cross join {{ ref('revenue') }}",
}


@pytest.fixture
def project(make_project):
    return make_project(PROJECT)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "orders crm.orders stg_customers stg_orders customers revenue summary"),
        (["-s", "customers"], "customers"),
        (["-s", "+customers"], "orders crm.orders stg_customers stg_orders customers"),
        (["-s", "stg_orders+"], "stg_orders customers revenue summary"),
        (["-s", "1+customers"], "stg_customers stg_orders customers"),
        (["-s", "stg_orders+1"], "stg_orders customers revenue"),
        (["-s", "@stg_customers"], "orders crm.orders stg_customers stg_orders customers revenue summary"),
        (["-s", "tag:daily"], "stg_orders customers"),
        (["-s", "tag:finance"], "customers revenue"),
        (["-s", "path:models/marts"], "customers revenue"),
        (["-s", "path:models/staging/stg_orders.sql"], "stg_orders"),
        (["-s", "models/reports"], "summary"),
        (["-s", "source:crm"], "crm.orders"),
        (["-s", "source:crm.orders+"], "crm.orders stg_orders customers revenue summary"),
        (["-s", "stg_*"], "stg_customers stg_orders"),
        (["-s", "resource_type:seed"], "orders"),
        (["-s", "config.materialized:view"], "stg_customers stg_orders"),
        (["-s", "crm.orders"], "crm.orders"),
        (["-s", "customers revenue"], "customers revenue"),
        (["-s", "customers", "-s", "summary"], "customers summary"),
        (["-s", "tag:daily,tag:finance"], "customers"),
        (["-s", "tag:finance,path:models/marts,revenue"], "revenue"),
        (["-s", "stg_orders+", "--exclude", "tag:finance"], "stg_orders summary"),
        (["--exclude", "path:models/staging", "--exclude", "orders"], "customers revenue summary"),
        (["-s", "+summary", "--exclude", "+stg_orders"], "stg_customers customers revenue summary"),
    ],
)
def test_ls_selection(project, run_cli, args, expected):
    result = run_cli(project, "ls", *args)
    assert result.exit_code == 0, result.output
    assert sorted(result.output.split()) == sorted(expected.split())


def test_ls_resource_type_and_output_formats(project, run_cli):
    assert run_cli(project, "ls", "--resource-type", "seed").output == "orders\n"
    assert run_cli(project, "ls", "-s", "revenue", "--output", "path").output == "models/marts/revenue.sql\n"
    assert run_cli(project, "ls", "-s", "revenue", "--output", "json").output == (
        '{"unique_id": "model.shop.revenue", "resource_type": "model", "name": "revenue", '
        '"path": "models/marts/revenue.sql", "relation": "marts.revenue"}\n'
    )


def test_build_runs_only_the_selection(project, run_cli):
    result = run_cli(project, "build", "-s", "+revenue")
    assert result.exit_code == 0, result.output
    assert query(project / "warehouse.duckdb", "select table_name from information_schema.tables order by 1") == [
        ("orders",),
        ("revenue",),
        ("stg_orders",),
    ]
    assert query(project / "warehouse.duckdb", "select * from marts.revenue") == [(37.75,)]


def test_unknown_name_suggests_the_closest(project, run_cli):
    result = run_cli(project, "ls", "-s", "revenu+")
    assert result.exit_code == 2
    assert result.output == "Error: --select 'revenu' matches no node. Did you mean 'revenue'?\n"


def test_unknown_method_and_bad_syntax(project, run_cli):
    result = run_cli(project, "ls", "-s", "colour:red")
    assert result.exit_code == 2
    assert result.output.startswith("Error: Unknown selector method 'colour:'. Use one of: tag:, path:")
    result = run_cli(project, "ls", "-s", "a++b")
    assert result.exit_code == 2
    assert result.output == ("Error: Cannot parse selector 'a++b'. Examples: orders, +orders, orders+, tag:daily.\n")
