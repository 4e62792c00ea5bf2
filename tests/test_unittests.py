"""Unit tests of models: fixtures in (inline rows, inline CSV, CSV files), expected rows out, in memory only."""

import json

from conftest import query, timeless

SHOP = {
    "project.yml": """
        name: shop
        warehouse: warehouse.duckdb
        models:
          +materialized: table
          staging:
            +materialized: view
        seeds:
          +schema: raw
    """,
    "seeds/orders.csv": (
        "order_id,customer_id,ordered_at,amount,status\n"
        "1,1,2024-01-05 10:00:00,10.5,completed\n"
        "2,2,2024-02-05 10:00:00,20,completed\n"
    ),
    "models/staging/_sources.yml": """
        sources:
          - name: raw
            tables:
              - name: orders
    """,
    "models/staging/stg_orders.sql": (
        "select order_id, customer_id, ordered_at, amount, status from {{ source('raw', 'orders') }}\n"
    ),
    "models/marts/monthly_revenue.sql": (
        "select customer_id, date_trunc('month', ordered_at) as month, sum(amount) as revenue, count(*) as orders\n"
        "from {{ ref('stg_orders') }}\n"
        "where status = 'completed' and amount >= {{ var('min_amount', 0) }}\n"
        "group by all\n"
    ),
    "models/marts/top_customer.sql": (
        "select customer_id from {{ ref('monthly_revenue') }} order by revenue desc limit 1\n"
    ),
    "models/marts/unit_tests.yml": """
        unit_tests:
          - name: revenue_by_calendar_month
            description: An order at 23:59:59 on the 31st belongs to January.
            model: monthly_revenue
            given:
              - input: ref('stg_orders')
                rows:
                  - {order_id: 1, customer_id: 1, ordered_at: "2024-01-31 23:59:59", amount: 10, status: completed}
                  - {order_id: 2, customer_id: 1, ordered_at: 2024-02-01 00:00:00, amount: 5, status: completed}
                  - {order_id: 3, customer_id: 1, ordered_at: 2024-02-03 00:00:00, amount: 7, status: returned}
            expect:
              rows:
                - {customer_id: 1, month: 2024-01-01, revenue: 10}
                - {customer_id: 1, month: 2024-02-01, revenue: 5}
          - name: staging_keeps_every_order
            model: stg_orders
            given:
              - input: source('raw', 'orders')
                format: csv
                rows: |
                  order_id,customer_id,amount
                  1,1,10
                  2,,3.5
            expect:
              fixture: two_orders
    """,
    "tests/fixtures/two_orders.csv": "order_id,customer_id,amount\n1,1,10\n2,,3.5\n",
}


def statuses(root) -> dict[str, tuple[str, int | None]]:
    data = json.loads((root / "target/run_results.json").read_text())
    return {r["unique_id"].split(".")[-1]: (r["status"], r["failures"]) for r in data["results"]}


def test_unit_tests_run_on_fixtures_without_a_warehouse(make_project, run_cli):
    root = make_project(base=SHOP)
    result = run_cli(root, "test", "-s", "test_type:unit", "--threads", "1")
    assert result.exit_code == 0, result.output
    assert timeless(result.output) == (
        "Found 2 tests.\n"
        "\n"
        "  1 of 2 PASS  staging_keeps_every_order ... [PASS in T]\n"
        "  2 of 2 PASS  revenue_by_calendar_month ... [PASS in T]\n"
        "\n"
        "Finished 2 nodes in T: 2 PASS.\n"
    )
    assert not (root / "warehouse.duckdb").exists()


def test_a_failing_unit_test_names_missing_and_unexpected_rows(make_project, run_cli):
    root = make_project(
        {
            "models/marts/unit_tests.yml": """
                unit_tests:
                  - name: revenue_by_calendar_month
                    model: monthly_revenue
                    given:
                      - input: ref('stg_orders')
                        rows:
                          - {order_id: 1, customer_id: 1, ordered_at: "2024-01-31 23:59:59", amount: 10,
                             status: completed}
                          - {order_id: 2, customer_id: 2, ordered_at: "2024-02-01", amount: 5, status: completed}
                    expect:
                      rows:
                        - {customer_id: 1, month: 2024-02-01, revenue: 10}
                        - {customer_id: 2, month: 2024-02-01, revenue: 5}
            """,
        },
        base=SHOP,
    )
    result = run_cli(root, "test", "-q")
    assert result.exit_code == 1
    assert timeless(result.output) == (
        "\n"
        "Finished 1 node in T: 1 FAIL.\n"
        "\n"
        "FAIL Unit test revenue_by_calendar_month on monthly_revenue (models/marts/unit_tests.yml:2): "
        "1 missing row, 1 unexpected row.\n"
        "  Missing (expected, not returned):\n"
        "    customer_id | month               | revenue\n"
        "    ------------+---------------------+--------\n"
        "    1           | 2024-02-01 00:00:00 | 10.0\n"
        "  Unexpected (returned, not expected):\n"
        "    customer_id | month               | revenue\n"
        "    ------------+---------------------+--------\n"
        "    1           | 2024-01-01 00:00:00 | 10.0\n"
    )
    assert statuses(root) == {"revenue_by_calendar_month": ("fail", 2)}


def test_overrides_and_fixture_files(make_project, run_cli):
    root = make_project(
        {
            "models/marts/unit_tests.yml": """
                unit_tests:
                  - name: small_orders_are_left_out
                    model: monthly_revenue
                    overrides:
                      vars: {min_amount: 6}
                    given:
                      - input: ref('stg_orders')
                        fixture: january_orders
                    expect:
                      format: csv
                      rows: |
                        customer_id,revenue,orders
                        1,10,1
            """,
            "tests/fixtures/january_orders.csv": (
                "order_id,customer_id,ordered_at,amount,status\n"
                "1,1,2024-01-05 10:00:00,10,completed\n"
                "2,1,2024-01-06 10:00:00,5,completed\n"
            ),
        },
        base=SHOP,
    )
    result = run_cli(root, "test", "-q")
    assert result.exit_code == 0, result.output
    assert statuses(root) == {"small_orders_are_left_out": ("pass", 0)}


def test_a_failing_unit_test_stops_the_model_in_a_build(make_project, run_cli):
    root = make_project(
        {"models/marts/monthly_revenue.sql": SHOP["models/marts/monthly_revenue.sql"].replace("'month'", "'year'")},
        base=SHOP,
    )
    result = run_cli(root, "build", "-q")
    assert result.exit_code == 1
    assert statuses(root) == {
        "revenue_by_calendar_month": ("fail", 3),
        "staging_keeps_every_order": ("pass", 0),
        "orders": ("success", None),
        "stg_orders": ("success", None),
        "monthly_revenue": ("skipped", None),
        "top_customer": ("skipped", None),
    }
    assert not (root / "warehouse.duckdb").exists()


def test_unit_tests_do_not_read_the_warehouse(make_project, run_cli):
    root = make_project(base=SHOP)
    assert run_cli(root, "build", "-q").exit_code == 0
    assert query(root / "warehouse.duckdb", "select count(*) from marts.monthly_revenue") == [(2,)]
    result = run_cli(root, "test", "-q", "-s", "monthly_revenue")
    assert result.exit_code == 0, result.output
    assert statuses(root) == {"revenue_by_calendar_month": ("pass", 0)}


def bad_test(given: str, expect: str = "rows: [{customer_id: 1}]") -> dict[str, str]:
    return {
        "models/marts/unit_tests.yml": (
            "unit_tests:\n  - name: bad\n    model: monthly_revenue\n    given:\n"
            + "".join(f"      {line}\n" for line in given.strip().splitlines())
            + f"    expect:\n      {expect}\n"
        )
    }


def test_unit_test_mistakes_are_explained(make_project, run_cli):
    root = make_project(bad_test("- input: ref('orders')\n  rows: []"), base=SHOP)
    result = run_cli(root, "test")
    assert result.exit_code == 2
    assert result.output == (
        "Error: models/marts/unit_tests.yml:5: Unit test 'bad': 'monthly_revenue' does not read ref('orders') "
        "(it reads stg_orders).\n"
    )

    (root / "models/marts/unit_tests.yml").write_text(
        "unit_tests:\n  - name: bad\n    model: monthly_revenu\n    given: []\n    expect: {rows: []}\n"
    )
    result = run_cli(root, "test")
    assert result.exit_code == 2
    assert result.output == (
        "Error: models/marts/unit_tests.yml:2: Unit test 'bad' tests 'monthly_revenu', which is not a model. "
        "Did you mean 'monthly_revenue'?\n"
    )

    (root / "models/marts/unit_tests.yml").write_text(
        "unit_tests:\n  - name: bad\n    model: monthly_revenue\n    given: []\n    expect: {rows: []}\n"
    )
    result = run_cli(root, "test")
    assert result.exit_code == 2
    assert result.output == (
        "Error: models/marts/unit_tests.yml:2: Unit test 'bad': 'monthly_revenue' also reads stg_orders, which the "
        "test does not give. Add each input, e.g. `- input: ref('stg_orders')` with `rows: []` for an empty one.\n"
    )


def test_fixture_and_expect_columns_are_checked_when_the_test_runs(make_project, run_cli):
    root = make_project(bad_test("- input: ref('stg_orders')\n  rows: [{order_id: 1, amout: 3}]"), base=SHOP)
    result = run_cli(root, "test", "-q")
    assert result.exit_code == 1
    assert statuses(root) == {"bad": ("error", None)}
    assert (
        "ERROR models/marts/unit_tests.yml:2: Unit test bad on monthly_revenue: input ref('stg_orders') has "
        "column(s) amout, which staging.stg_orders does not have (its columns: order_id, customer_id, ordered_at, "
        "amount, status).\n"
    ) in result.output

    (root / "models/marts/unit_tests.yml").write_text(
        bad_test("- input: ref('stg_orders')\n  rows: []", "rows: [{client: 1}]")["models/marts/unit_tests.yml"]
    )
    result = run_cli(root, "test", "-q")
    assert result.exit_code == 1
    assert (
        "ERROR models/marts/unit_tests.yml:2: Unit test bad on monthly_revenue: expect names column(s) client, which "
        "'monthly_revenue' does not return (it returns customer_id, month, revenue, orders).\n"
    ) in result.output


INCREMENTAL = {
    **SHOP,
    "models/marts/new_orders.sql": """
        {{ config(materialized='incremental', unique_key='order_id') }}
        select order_id, amount from {{ ref('stg_orders') }}
        {% if is_incremental() %}
        where order_id > (select max(order_id) from {{ this }})
        {% endif %}
    """,
    "models/marts/unit_tests.yml": """
        unit_tests:
          - name: only_new_orders
            model: new_orders
            overrides:
              macros: {is_incremental: true}
            given:
              - input: ref('stg_orders')
                rows: [{order_id: 1, amount: 1}, {order_id: 5, amount: 2}]
              - input: this
                rows: [{order_id: 3, amount: 9}]
            expect:
              rows: [{order_id: 5, amount: 2}]
          - name: first_build_takes_all
            model: new_orders
            given:
              - input: ref('stg_orders')
                rows: [{order_id: 1, amount: 1}, {order_id: 5, amount: 2}]
            expect:
              rows: [{order_id: 1, amount: 1}, {order_id: 5, amount: 2}]
    """,
}


def test_incremental_models_are_unit_tested_as_first_builds_unless_told(make_project, run_cli):
    root = make_project(base=INCREMENTAL)
    assert run_cli(root, "build", "-q").exit_code == 0
    # The warehouse now holds new_orders, so its compiled SQL is the incremental branch; unit tests do not care.
    result = run_cli(root, "test", "-q", "-s", "test_type:unit")
    assert result.exit_code == 0, result.output
    assert statuses(root) == {"only_new_orders": ("pass", 0), "first_build_takes_all": ("pass", 0)}


def test_sql_fixtures(make_project, run_cli):
    root = make_project(
        {
            "models/marts/unit_tests.yml": """
                unit_tests:
                  - name: sql_rows
                    model: monthly_revenue
                    given:
                      - input: ref('stg_orders')
                        format: sql
                        rows: |
                          select 1 as customer_id, timestamp '2024-03-02 10:00:00' as ordered_at, 4.5 as amount,
                                 'completed' as status
                    expect:
                      format: sql
                      rows: select 1 as customer_id, date '2024-03-01' as month, 4.5 as revenue
            """
        },
        base=SHOP,
    )
    result = run_cli(root, "test", "-q")
    assert result.exit_code == 0, result.output
    assert statuses(root) == {"sql_rows": ("pass", 0)}
