"""Data tests through the CLI: every built-in, custom generic and singular tests, severity, where, selection,
failure output, --store-failures, --junit-xml, and a build that stops bad data before it reaches the marts."""

import json
import shutil
import textwrap
import xml.etree.ElementTree as ET

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
    "seeds/orders.csv": "order_id,customer_id,amount,channel\n1,1,10.5,web\n2,1,20,email\n3,2,7.25,web\n",
    "seeds/customers.csv": "customer_id,name\n1,Ann\n2,Bob\n",
    "models/staging/stg_orders.sql": "select order_id, customer_id, amount, channel from {{ ref('orders') }}\n",
    "models/marts/revenue.sql": (
        "select customer_id, count(*) as orders, sum(amount) as revenue\n"
        "from {{ ref('stg_orders') }}\ngroup by customer_id\n"
    ),
    "models/staging/schema.yml": """
        models:
          - name: stg_orders
            columns:
              - name: order_id
                data_tests: [not_null, unique]
              - name: customer_id
                data_tests:
                  - relationships: {to: ref('customers'), field: customer_id}
              - name: channel
                data_tests:
                  - accepted_values: {values: [web, email]}
    """,
}

WARN_ONLY = textwrap.dedent(SHOP["project.yml"]) + "data_tests:\n  +severity: warn\n"

BROKEN_ORDERS = (
    "order_id,customer_id,amount,channel\n"
    "1,1,10.5,web\n"
    "2,1,20,email\n"
    "3,2,7.25,web\n"
    "3,2,5,web\n"  # a duplicate key
    ",1,3,web\n"  # a null id
    "4,2,8,fax\n"  # an unknown channel
)


def statuses(root) -> dict[str, tuple[str, int | None]]:
    """run_results.json as {name: (status, failures)}."""
    data = json.loads((root / "target/run_results.json").read_text())
    return {r["unique_id"].split(".")[-1]: (r["status"], r["failures"]) for r in data["results"]}


def test_build_runs_each_models_tests_right_after_it(make_project, run_cli):
    root = make_project(base=SHOP)
    result = run_cli(root, "build", "--threads", "1")
    assert result.exit_code == 0, result.output
    assert timeless(result.output) == (
        "Found 2 seeds, 2 models, 4 tests.\n"
        "\n"
        "  1 of 8 OK    loaded seed raw.orders ... [OK 3 rows in T]\n"
        "  2 of 8 OK    loaded seed raw.customers ... [OK 2 rows in T]\n"
        "  3 of 8 OK    created view staging.stg_orders ... [OK in T]\n"
        "  4 of 8 PASS  accepted_values_stg_orders_channel__web__email ... [PASS in T]\n"
        "  5 of 8 PASS  not_null_stg_orders_order_id ... [PASS in T]\n"
        "  6 of 8 PASS  relationships_stg_orders_customer_id__customer_id__ref_customers_ ... [PASS in T]\n"
        "  7 of 8 PASS  unique_stg_orders_order_id ... [PASS in T]\n"
        "  8 of 8 OK    created table marts.revenue ... [OK 2 rows in T]\n"
        "\n"
        "Finished 8 nodes in T: 4 OK, 4 PASS. Published warehouse.duckdb.\n"
    )
    assert statuses(root) == {
        "customers": ("success", None),
        "orders": ("success", None),
        "stg_orders": ("success", None),
        "accepted_values_stg_orders_channel__web__email": ("pass", 0),
        "not_null_stg_orders_order_id": ("pass", 0),
        "relationships_stg_orders_customer_id__customer_id__ref_customers_": ("pass", 0),
        "unique_stg_orders_order_id": ("pass", 0),
        "revenue": ("success", None),
    }


def test_a_broken_seed_fails_the_build_names_test_model_rows_and_keeps_the_warehouse(make_project, run_cli):
    root = make_project(base=SHOP)
    assert run_cli(root, "build", "-q").exit_code == 0
    (root / "seeds/orders.csv").write_text(BROKEN_ORDERS)
    result = run_cli(root, "build", "--threads", "1")
    assert result.exit_code == 1
    output = timeless(result.output)
    assert "  8 of 8 SKIP  revenue ... [SKIP in T]\n" in output
    assert output.split("\n\nFinished", 1)[1] == (
        " 8 nodes in T: 3 OK, 1 PASS, 3 FAIL, 1 SKIP. Nothing published: warehouse.duckdb is unchanged.\n"
        "\n"
        "FAIL Test accepted_values_stg_orders_channel__web__email on stg_orders (models/staging/schema.yml:11): "
        "1 failing row.\n"
        "  Failing rows:\n"
        "    value_field | n_records\n"
        "    ------------+----------\n"
        "    fax         | 1\n"
        "\n"
        "FAIL Test not_null_stg_orders_order_id on stg_orders (models/staging/schema.yml:4): 1 failing row.\n"
        "  Failing rows:\n"
        "    order_id | customer_id | amount | channel\n"
        "    ---------+-------------+--------+--------\n"
        "    NULL     | 1           | 3.0    | web\n"
        "\n"
        "FAIL Test unique_stg_orders_order_id on stg_orders (models/staging/schema.yml:4): 1 failing row.\n"
        "  Failing rows:\n"
        "    unique_field | n_records\n"
        "    -------------+----------\n"
        "    3            | 2\n"
    )
    # The mart downstream was not rebuilt and the published warehouse still holds the good data.
    warehouse = root / "warehouse.duckdb"
    assert query(warehouse, "select * from marts.revenue order by 1") == [(1, 2, 30.5), (2, 1, 7.25)]
    assert query(warehouse, "select count(*) from raw.orders") == [(3,)]
    assert statuses(root)["revenue"] == ("skipped", None)


BUILTINS = {
    **SHOP,
    "seeds/orders.csv": BROKEN_ORDERS,
    "models/staging/schema.yml": """
        models:
          - name: stg_orders
            data_tests:
              - expression_is_true: {expression: "amount < 10"}
              - unique_combination: {columns: [order_id, customer_id]}
              - dbt_utils.unique_combination_of_columns: {combination_of_columns: [order_id], name: orders_key}
              - row_count: {min: 1, max: 5}
              - row_count: {compare_model: ref('orders'), name: same_rows_as_seed}
            columns:
              - name: order_id
                tests: [not_null, unique]
              - name: customer_id
                data_tests:
                  - relationships: {to: ref('customers'), field: customer_id}
                  - accepted_values: {values: [1], quote: false}
              - name: channel
                data_tests:
                  - accepted_values: {values: [web, email]}
              - name: amount
                data_tests:
                  - accepted_range: {min: 5, max: 10}
                  - accepted_range: {min_value: 5, max_value: 10, inclusive: false, name: amount_strictly_inside}
                  - expression_is_true: {expression: ">= 7.25"}
    """,
    "seeds/customers.csv": "customer_id,name\n1,Ann\n",
}


def test_every_builtin_counts_its_failing_rows(make_project, run_cli):
    root = make_project(base=BUILTINS)
    result = run_cli(root, "build")
    assert result.exit_code == 1
    tests = {name: value for name, value in statuses(root).items() if value[1] is not None}
    assert tests == {
        "expression_is_true_stg_orders_amount_10": ("fail", 2),
        "unique_combination_stg_orders_order_id__customer_id": ("fail", 1),
        "orders_key": ("fail", 1),
        "row_count_stg_orders_5__1": ("fail", 1),
        "same_rows_as_seed": ("pass", 0),
        "not_null_stg_orders_order_id": ("fail", 1),
        "unique_stg_orders_order_id": ("fail", 1),
        "relationships_stg_orders_customer_id__customer_id__ref_customers_": ("fail", 3),
        "accepted_values_stg_orders_customer_id__False__1": ("fail", 1),
        "accepted_values_stg_orders_channel__web__email": ("fail", 1),
        "accepted_range_stg_orders_amount__10__5": ("fail", 3),
        "amount_strictly_inside": ("fail", 4),
        "expression_is_true_stg_orders_amount___7_25": ("fail", 2),
    }


def test_warn_severity_where_and_thresholds(make_project, run_cli):
    root = make_project(
        {
            "seeds/orders.csv": BROKEN_ORDERS,
            "models/staging/schema.yml": """
                models:
                  - name: stg_orders
                    columns:
                      - name: order_id
                        data_tests:
                          - not_null: {severity: warn}
                          - unique: {config: {where: "customer_id = 1"}}
                          - unique: {name: few_duplicates_are_fine, config: {error_if: ">1", warn_if: ">0"}}
                      - name: channel
                        data_tests:
                          - accepted_values: {values: [web, email], where: "order_id <> 4"}
                          - accepted_values: {values: [web], name: web_only, config: {limit: 1, severity: warn}}
            """,
        },
        base=SHOP,
    )
    result = run_cli(root, "build", "--threads", "1")
    assert result.exit_code == 0, result.output
    assert {name: value for name, value in statuses(root).items() if value[1] is not None} == {
        "not_null_stg_orders_order_id": ("warn", 1),
        "unique_stg_orders_order_id": ("pass", 0),
        "few_duplicates_are_fine": ("warn", 1),
        "accepted_values_stg_orders_channel__web__email": ("pass", 0),
        "web_only": ("warn", 1),  # email and fax fail; limit 1 counts one
    }
    assert "Finished 9 nodes in T: 4 OK, 2 PASS, 3 WARN. Published warehouse.duckdb.\n" in timeless(result.output)
    assert "WARN Test not_null_stg_orders_order_id on stg_orders (models/staging/schema.yml:6): 1 failing row.\n" in (
        result.output
    )
    # Warnings do not stop the marts.
    assert query(root / "warehouse.duckdb", "select count(*) from marts.revenue") == [(2,)]


def test_project_level_severity_and_bad_severity(make_project, run_cli):
    root = make_project(
        {"project.yml": WARN_ONLY, "seeds/orders.csv": BROKEN_ORDERS},
        base=SHOP,
    )
    result = run_cli(root, "build", "-q")
    assert result.exit_code == 0, result.output
    assert statuses(root)["unique_stg_orders_order_id"] == ("warn", 1)
    # dbt's spelling, under the project's name
    (root / "project.yml").write_text(WARN_ONLY.replace("  +severity", "  shop:\n    +severity"))
    assert run_cli(root, "build", "-q").exit_code == 0
    assert statuses(root)["unique_stg_orders_order_id"] == ("warn", 1)

    (root / "models/staging/schema.yml").write_text(
        "models:\n  - name: stg_orders\n    columns:\n      - name: order_id\n"
        "        data_tests:\n          - unique: {severity: fatal}\n"
    )
    result = run_cli(root, "build")
    assert result.exit_code == 2
    assert result.output == (
        "Error: models/staging/schema.yml:6: Test 'unique' on stg_orders.order_id has severity 'fatal'. "
        "Use error or warn.\n"
    )


def test_custom_generic_tests_from_macros_and_tests_generic(make_project, run_cli):
    root = make_project(
        {
            # A test block with whitespace control, and a test written as a `test_` macro (dbt's older form), each
            # in a file of its own, are found too.
            "macros/tests.sql": """
                {%- test is_lowercase(model, column_name) -%}
                select * from {{ model }} where {{ column_name }} <> lower({{ column_name }})
                {%- endtest -%}
            """,
            "macros/at_least.sql": """
                {% macro test_at_least(model, column_name, value) %}
                select * from {{ model }} where {{ column_name }} < {{ value }}
                {% endmacro %}
            """,
            "tests/generic/at_most.sql": """
                {% test at_most(model, column_name, value) %}
                select * from {{ model }} where {{ column_name }} > {{ value }}
                {% endtest %}
            """,
            "seeds/orders.csv": "order_id,customer_id,amount,channel\n1,1,10.5,Web\n2,1,20,email\n",
            "models/staging/schema.yml": """
                models:
                  - name: stg_orders
                    columns:
                      - name: channel
                        data_tests: [is_lowercase]
                      - name: amount
                        data_tests:
                          - at_most: {value: 15}
                          - at_least: {value: 11}
            """,
        },
        base=SHOP,
    )
    result = run_cli(root, "build", "-q")
    assert result.exit_code == 1
    assert {name: value for name, value in statuses(root).items() if value[1] is not None} == {
        "is_lowercase_stg_orders_channel": ("fail", 1),
        "at_most_stg_orders_amount__15": ("fail", 1),
        "at_least_stg_orders_amount__11": ("fail", 1),
    }
    assert (
        "FAIL Test at_most_stg_orders_amount__15 on stg_orders (models/staging/schema.yml:8): 1 failing row.\n"
        "  Failing rows:\n"
        "    order_id | customer_id | amount | channel\n"
        "    ---------+-------------+--------+--------\n"
        "    2        | 1           | 20.0   | email\n"
    ) in result.output


def test_unknown_generic_test_is_an_error_with_a_suggestion(make_project, run_cli):
    root = make_project(
        {
            "models/staging/schema.yml": """
                models:
                  - name: stg_orders
                    columns:
                      - name: order_id
                        data_tests: [not_nul]
            """,
        },
        base=SHOP,
    )
    result = run_cli(root, "build")
    assert result.exit_code == 2
    assert result.output.startswith(
        "Error: models/staging/schema.yml:4: Test 'not_nul' on stg_orders.order_id: there is no generic test "
        "'not_nul'. Did you mean 'not_null'?"
    )
    assert "Warehouse" not in result.output and not (root / "warehouse.duckdb").exists()


def test_duplicate_test_names_ask_for_a_name(make_project, run_cli):
    root = make_project(
        {
            "models/staging/schema.yml": """
                models:
                  - name: stg_orders
                    columns:
                      - name: order_id
                        data_tests: [not_null, not_null]
            """,
        },
        base=SHOP,
    )
    result = run_cli(root, "build")
    assert result.exit_code == 2
    assert result.output == (
        "Error: models/staging/schema.yml:4: Two tests (or a test and a node) are named "
        "'not_null_stg_orders_order_id' (the other is in models/staging/schema.yml:4). "
        "Give one of them a unique `name:`.\n"
    )


SINGULAR = {
    **SHOP,
    "tests/singular/revenue_is_positive.sql": "select * from {{ ref('revenue') }} where revenue <= 0\n",
    "tests/singular/at_most_two_orders.sql": (
        "{{ config(severity='warn') }}\nselect customer_id, orders from {{ ref('revenue') }} where orders > 1\n"
    ),
    "tests/orders_have_amounts.sql": "select * from {{ ref('stg_orders') }} where amount is null\n",
}


def test_singular_tests_with_config_and_refs(make_project, run_cli):
    root = make_project(base=SINGULAR)
    result = run_cli(root, "build", "--threads", "1")
    assert result.exit_code == 0, result.output
    assert timeless(result.output) == (
        "Found 2 seeds, 2 models, 7 tests.\n"
        "\n"
        "  1 of 11 OK    loaded seed raw.orders ... [OK 3 rows in T]\n"
        "  2 of 11 OK    loaded seed raw.customers ... [OK 2 rows in T]\n"
        "  3 of 11 OK    created view staging.stg_orders ... [OK in T]\n"
        "  4 of 11 PASS  accepted_values_stg_orders_channel__web__email ... [PASS in T]\n"
        "  5 of 11 PASS  not_null_stg_orders_order_id ... [PASS in T]\n"
        "  6 of 11 PASS  orders_have_amounts ... [PASS in T]\n"
        "  7 of 11 PASS  relationships_stg_orders_customer_id__customer_id__ref_customers_ ... [PASS in T]\n"
        "  8 of 11 PASS  unique_stg_orders_order_id ... [PASS in T]\n"
        "  9 of 11 OK    created table marts.revenue ... [OK 2 rows in T]\n"
        " 10 of 11 WARN  at_most_two_orders ... [WARN 1 failing row in T]\n"
        " 11 of 11 PASS  revenue_is_positive ... [PASS in T]\n"
        "\n"
        "Finished 11 nodes in T: 4 OK, 6 PASS, 1 WARN. Published warehouse.duckdb.\n"
        "\n"
        "WARN Test at_most_two_orders on revenue (tests/singular/at_most_two_orders.sql): 1 failing row.\n"
        "  Failing rows:\n"
        "    customer_id | orders\n"
        "    ------------+-------\n"
        "    1           | 2\n"
    )


def test_singular_test_sql_error_is_an_error_naming_the_test(make_project, run_cli):
    root = make_project(
        {"tests/broken.sql": "select * from {{ ref('revenue') }} where no_such_column > 0\n"}, base=SHOP
    )
    result = run_cli(root, "build", "-q")
    assert result.exit_code == 1
    assert statuses(root)["broken"] == ("error", None)
    assert (
        "ERROR tests/broken.sql: Test 'broken' failed in DuckDB: Binder Error: Referenced column \"no_such_column\" "
        "not found in FROM clause!"
    ) in result.output


def test_metrics_test_selection_and_run_skips_tests(make_project, run_cli):
    root = make_project(base=SINGULAR)
    result = run_cli(root, "run", "-q")
    assert result.exit_code == 1  # nothing to read yet: seeds were not loaded
    assert run_cli(root, "build", "-q").exit_code == 0
    assert run_cli(root, "run", "-q").exit_code == 0
    assert not [name for name in statuses(root) if name not in ("stg_orders", "revenue")]

    def selected(*args):
        result = run_cli(root, "test", "-q", *args)
        assert result.exit_code == 0, result.output
        return sorted(statuses(root))

    assert selected("-s", "stg_orders") == [
        "accepted_values_stg_orders_channel__web__email",
        "not_null_stg_orders_order_id",
        "orders_have_amounts",
        "relationships_stg_orders_customer_id__customer_id__ref_customers_",
        "unique_stg_orders_order_id",
    ]
    assert selected("-s", "customers") == ["relationships_stg_orders_customer_id__customer_id__ref_customers_"]
    assert selected("-s", "test_type:singular") == ["at_most_two_orders", "orders_have_amounts", "revenue_is_positive"]
    assert selected("-s", "test_type:generic", "--exclude", "unique_stg_orders_order_id customers") == [
        "accepted_values_stg_orders_channel__web__email",
        "not_null_stg_orders_order_id",
    ]
    assert selected("-s", "revenue+") == ["at_most_two_orders", "revenue_is_positive"]
    assert len(selected()) == 7


def test_metrics_test_reads_the_published_warehouse_and_needs_one(make_project, run_cli):
    root = make_project(base=SHOP)
    result = run_cli(root, "test")
    assert result.exit_code == 2
    assert result.output == (
        "Error: warehouse.duckdb does not exist yet, so there is nothing to test. Run `metrics build` first, "
        "or run only unit tests: `metrics test -s test_type:unit`.\n"
    )
    assert run_cli(root, "build", "-q").exit_code == 0
    before = (root / "warehouse.duckdb").stat().st_mtime_ns
    result = run_cli(root, "test", "--threads", "1")
    assert result.exit_code == 0, result.output
    assert timeless(result.output) == (
        "Found 4 tests.\n"
        "\n"
        "  1 of 4 PASS  accepted_values_stg_orders_channel__web__email ... [PASS in T]\n"
        "  2 of 4 PASS  not_null_stg_orders_order_id ... [PASS in T]\n"
        "  3 of 4 PASS  relationships_stg_orders_customer_id__customer_id__ref_customers_ ... [PASS in T]\n"
        "  4 of 4 PASS  unique_stg_orders_order_id ... [PASS in T]\n"
        "\n"
        "Finished 4 nodes in T: 4 PASS.\n"
    )
    assert (root / "warehouse.duckdb").stat().st_mtime_ns == before


def test_store_failures_keeps_failing_rows_and_junit_xml(make_project, run_cli, tmp_path):
    root = make_project(
        {"models/staging/stg_orders.sql": "select * from {{ ref('orders') }}\nunion all select 3, 9, 1, 'fax'\n"},
        base=SHOP,
    )
    result = run_cli(root, "build", "-q", "--junit-xml", str(tmp_path / "junit.xml"))
    assert result.exit_code == 1
    assert not (root / "warehouse.duckdb").exists()
    report = ET.parse(tmp_path / "junit.xml").getroot()
    suite = report.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "4",
        "3",
        "0",
        "0",
    )
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert sorted(cases) == sorted(name for name in statuses(root) if "stg_orders_" in name)
    failure = cases["unique_stg_orders_order_id"].find("failure")
    assert failure.get("message") == (
        "Test unique_stg_orders_order_id on stg_orders (models/staging/schema.yml:4): 1 failing row."
    )
    assert cases["not_null_stg_orders_order_id"].find("failure") is None
    assert cases["unique_stg_orders_order_id"].get("classname") == "shop.stg_orders"

    # A build whose tests only warn publishes; --store-failures keeps the failing rows next to the data.
    (root / "project.yml").write_text(WARN_ONLY)
    result = run_cli(root, "build", "-q", "--store-failures")
    assert result.exit_code == 0, result.output
    warehouse = root / "warehouse.duckdb"
    assert query(warehouse, "select * from test_failures.unique_stg_orders_order_id") == [(3, 2)]
    assert query(warehouse, "select count(*) from test_failures.not_null_stg_orders_order_id") == [(0,)]
    assert query(warehouse, "select value_field from test_failures.accepted_values_stg_orders_channel__web__email") == [
        ("fax",)
    ]


def test_example_project_passes_its_tests_and_a_broken_seed_stops_the_marts(example_project, run_cli, tmp_path):
    root = tmp_path / "growth"
    shutil.copytree(example_project, root)
    result = run_cli(root, "build", "-q")
    assert result.exit_code == 0, result.output
    tests = {name: value for name, value in statuses(root).items() if value[1] is not None}
    assert len(tests) > 100
    assert {value for value in tests.values()} == {("pass", 0)}
    warehouse = root / "warehouse.duckdb"
    before = query(warehouse, "select count(*), sum(session_id) from marts.fct_sessions")

    sessions = root / "seeds/sessions.csv"
    good = sessions.read_text()
    last = good.rstrip("\n").splitlines()[-1].split(",")
    duplicate = ",".join(last)
    null_user = ",".join(["999999", "", *last[2:]])
    fax = ",".join(["999998", last[1], last[2], "fax", *last[4:]])
    sessions.write_text(good + "\n".join([duplicate, null_user, fax]) + "\n")
    result = run_cli(root, "build", "-q")
    assert result.exit_code == 1
    failed = {name for name, (status, _) in statuses(root).items() if status == "fail"}
    # The seed's own tests catch the bad rows, so nothing reads them: staging, its tests and the marts are skipped.
    assert failed == {
        "unique_sessions_session_id",
        "not_null_sessions_user_id",
        "accepted_values_sessions_channel__paid_search__paid_social__seo__direct__referral__email__sms__push__whatsapp",
    }
    assert statuses(root)["stg_sessions"] == ("skipped", None)
    assert statuses(root)["unique_stg_sessions_session_id"] == ("skipped", None)
    assert statuses(root)["fct_sessions"] == ("skipped", None)
    assert "FAIL Test unique_sessions_session_id on sessions (seeds/seeds.yml:" in result.output
    assert f"    {last[0]:<12} | 2\n" in result.output
    assert "    fax         | 1\n" in result.output
    assert query(warehouse, "select count(*), sum(session_id) from marts.fct_sessions") == before


def test_tests_on_sources_seeds_and_ephemeral_models(make_project, run_cli):
    root = make_project(
        {
            "seeds/orders.csv": BROKEN_ORDERS,
            "models/staging/_sources.yml": """
                sources:
                  - name: raw
                    tables:
                      - name: orders
                        columns:
                          - name: order_id
                            data_tests: [not_null]
                seeds:
                  - name: customers
                    data_tests:
                      - row_count: {max: 1, name: one_customer}
            """,
            "models/staging/web_orders.sql": (
                "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('stg_orders') }} where channel = 'web'\n"
            ),
            "models/marts/web_revenue.sql": "select sum(amount) as revenue from {{ ref('web_orders') }}\n",
            "models/staging/schema.yml": """
                models:
                  - name: web_orders
                    columns:
                      - name: order_id
                        data_tests:
                          - unique: {where: "customer_id = 2"}
                          - not_null: {config: {enabled: false}}
            """,
        },
        base=SHOP,
    )
    result = run_cli(root, "build", "-q")
    assert result.exit_code == 1
    assert {name: value for name, value in statuses(root).items() if value[1] is not None} == {
        "source_not_null_raw_orders_order_id": ("fail", 1),
        "one_customer": ("fail", 1),
        "unique_web_orders_order_id": ("fail", 1),
    }
    assert "FAIL Test source_not_null_raw_orders_order_id on raw.orders (models/staging/_sources.yml:6)" in (
        result.output
    )


def test_compile_prints_a_tests_sql(make_project, run_cli):
    root = make_project(
        {"models/staging/schema.yml": SHOP["models/staging/schema.yml"].replace("[not_null, unique]", "[not_null]")}
        | {
            "models/marts/schema.yml": """
                models:
                  - name: revenue
                    data_tests:
                      - expression_is_true: {expression: "revenue >= 0", where: "orders > 1"}
            """
        },
        base=SHOP,
    )
    result = run_cli(root, "compile", "relationships_stg_orders_customer_id__customer_id__ref_customers_")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "select ns_child.* from staging.stg_orders as ns_child\n"
        "left join (select customer_id as ns_to_field from raw.customers where customer_id is not null) as ns_parent\n"
        "  on ns_child.customer_id = ns_parent.ns_to_field\n"
        "where ns_child.customer_id is not null and ns_parent.ns_to_field is null\n"
    )
    result = run_cli(root, "compile", "expression_is_true_revenue_revenue_0")
    assert result.output == "select * from (SELECT * FROM marts.revenue WHERE orders > 1)\nwhere not (revenue >= 0)\n"


def test_store_failures_of_a_failed_build_and_of_metrics_test(make_project, run_cli):
    root = make_project({"seeds/orders.csv": BROKEN_ORDERS}, base=SHOP)
    result = run_cli(root, "build", "-q", "--store-failures")
    assert result.exit_code == 1
    assert timeless(result.output).startswith(
        "\nFinished 8 nodes in T: 3 OK, 1 PASS, 3 FAIL, 1 SKIP. Nothing published: warehouse.duckdb is unchanged. "
        "Failing rows of the tests are in target/failing_rows.duckdb.\n"
    )
    assert not (root / "warehouse.duckdb").exists()
    failures = root / "target/failing_rows.duckdb"
    assert query(failures, "select table_name from information_schema.tables order by 1") == [
        ("accepted_values_stg_orders_channel__web__email",),
        ("not_null_stg_orders_order_id",),
        ("unique_stg_orders_order_id",),
    ]
    assert query(failures, "select * from test_failures.unique_stg_orders_order_id") == [(3, 2)]

    # metrics test --store-failures publishes the failing rows next to the data, whatever the tests found.
    (root / "project.yml").write_text(WARN_ONLY)
    assert run_cli(root, "build", "-q").exit_code == 0
    (root / "project.yml").write_text(textwrap.dedent(SHOP["project.yml"]))
    result = run_cli(root, "test", "-q", "--store-failures", "-s", "test_type:generic")
    assert result.exit_code == 1
    assert "Failing rows are in schema test_failures of warehouse.duckdb.\n" in result.output
    assert query(root / "warehouse.duckdb", "select * from test_failures.not_null_stg_orders_order_id") == [
        (None, 1, 3.0, "web")
    ]


def test_manifest_json_lists_tests_like_dbt(make_project, run_cli):
    root = make_project(base=SINGULAR)
    assert run_cli(root, "compile").exit_code == 0
    nodes = json.loads((root / "target/manifest.json").read_text())["nodes"]
    relationships = nodes["test.shop.relationships_stg_orders_customer_id__customer_id__ref_customers_"]
    assert relationships["resource_type"] == "test"
    assert relationships["test_metadata"] == {
        "name": "relationships",
        "kwargs": {"to": "ref('customers')", "field": "customer_id", "column_name": "customer_id"},
        "namespace": None,
    }
    assert relationships["depends_on"] == {"macros": [], "nodes": ["model.shop.stg_orders", "seed.shop.customers"]}
    assert relationships["attached_node"] == "model.shop.stg_orders"
    singular = nodes["test.shop.at_most_two_orders"]  # dbt's singular tests have no test_metadata
    assert ("test_metadata" in singular, singular["config"]["severity"], singular["original_file_path"]) == (
        False,
        "warn",
        "tests/singular/at_most_two_orders.sql",
    )


def test_arguments_are_checked_against_the_tests_signature(make_project, run_cli):
    def error(tests_yaml: str) -> str:
        root = make_project({"models/staging/schema.yml": tests_yaml}, base=SHOP)
        result = run_cli(root, "compile")
        assert result.exit_code == 2
        return result.output

    column = "models:\n  - name: stg_orders\n    columns:\n      - name: channel\n        data_tests:\n{}"
    assert error(column.format("          - accepted_values: {valuez: [web]}\n")) == (
        "Error: models/staging/schema.yml:6: Test 'accepted_values' on stg_orders.channel: unknown argument "
        "'valuez'. Did you mean 'values'? Its arguments: values, quote.\n"
    )
    assert error(column.format("          - relationships: {to: ref('customers')}\n")) == (
        "Error: models/staging/schema.yml:6: Test 'relationships' on stg_orders.channel: needs argument 'field'.\n"
    )
    assert error(column.format("          - accepted_values: {values: web}\n")) == (
        "Error: models/staging/schema.yml:6: Test 'accepted_values' on stg_orders.channel: values must be a list, "
        "e.g. `values: [a, b]`.\n"
    )
    assert error("models:\n  - name: stg_orders\n    data_tests: [not_null]\n") == (
        "Error: models/staging/schema.yml:2: Test 'not_null' on stg_orders: needs a column (declare it under a "
        "column's data_tests).\n"
    )
    assert error(column.format("          - relationships: {to: ref('custmers'), field: id}\n")) == (
        "Error: models/staging/schema.yml:6: ref('custmers') names no model or seed. Did you mean 'customers'?\n"
    )


def test_ls_lists_a_models_tests(make_project, run_cli):
    root = make_project(base=SINGULAR)
    result = run_cli(root, "ls", "-s", "revenue")
    assert result.exit_code == 0, result.output
    assert result.output == "revenue\nat_most_two_orders\nrevenue_is_positive\n"
    result = run_cli(root, "ls", "--resource-type", "test", "-s", "test_type:singular", "--output", "path")
    assert result.output == (
        "tests/orders_have_amounts.sql\ntests/singular/at_most_two_orders.sql\ntests/singular/revenue_is_positive.sql\n"
    )
