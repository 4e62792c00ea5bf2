"""State: fingerprints decide what a build re-executes; state:modified compares with a previous run's manifest."""

import json
import shutil
from types import SimpleNamespace

import duckdb
import sqlglot
from conftest import query, timeless

FILES = {
    "models/marts/big_customers.sql": "select * from {{ ref('customers') }} where revenue > 10\n",
    "models/marts/order_count.sql": "select count(*) as n from {{ ref('stg_orders') }}\n",
}


def statuses(root):
    """unique name -> 'kept' or 'built', from target/run_results.json."""
    results = json.loads((root / "target/run_results.json").read_text())["results"]
    return {
        r["unique_id"].split(".")[-1]: "kept" if r["message"].endswith("(unchanged)") else "built"
        for r in results
        if r["status"] == "success"
    }


def build(run_cli, root, *args, code=0):
    result = run_cli(root, "build", *args)
    assert result.exit_code == code, result.output
    return result.output


def test_a_second_build_keeps_everything_and_says_so(make_project, run_cli):
    root = make_project(FILES)
    build(run_cli, root)
    output = build(run_cli, root)
    # Lines come in completion order; drop the "N of 5" counter to compare them as a set.
    assert sorted(line[9:] for line in output.splitlines()[2:7]) == [
        "OK    kept marts.big_customers (unchanged) .............. [OK in 0.00s]",
        "OK    kept marts.customers (unchanged) .................. [OK in 0.00s]",
        "OK    kept marts.order_count (unchanged) ................ [OK in 0.00s]",
        "OK    kept raw.orders (unchanged) ....................... [OK in 0.00s]",
        "OK    kept staging.stg_orders (unchanged) ............... [OK in 0.00s]",
    ]
    assert timeless(output).endswith("Finished 5 nodes in T: 5 OK. Nothing changed: warehouse.duckdb is up to date.\n")
    assert query(root / "warehouse.duckdb", "select * from marts.big_customers") == [(1, 2, 30.5)]


def test_changing_a_model_rebuilds_it_and_its_downstream_only(make_project, run_cli):
    root = make_project(FILES)
    build(run_cli, root)
    (root / "models/marts/customers.sql").write_text(
        "select customer_id, count(*) as orders, sum(amount) * 2 as revenue\n"
        "from {{ ref('stg_orders') }}\ngroup by customer_id\n"
    )
    output = build(run_cli, root)
    assert timeless(output).endswith("Finished 5 nodes in T: 5 OK. Published warehouse.duckdb (3 unchanged, kept).\n")
    assert statuses(root) == {
        "orders": "kept",
        "stg_orders": "kept",
        "customers": "built",
        "order_count": "kept",
        "big_customers": "built",
    }
    assert query(root / "warehouse.duckdb", "select * from marts.big_customers order by 1") == [
        (1, 2, 61.0),
        (2, 1, 14.5),
    ]


def test_changing_seed_bytes_rebuilds_everything_downstream(make_project, run_cli):
    root = make_project(FILES)
    build(run_cli, root)
    (root / "seeds/orders.csv").write_text("order_id,customer_id,amount\n1,1,10.5\n")
    build(run_cli, root)
    assert set(statuses(root).values()) == {"built"}
    assert query(root / "warehouse.duckdb", "select n from marts.order_count") == [(1,)]


def test_a_macro_or_var_change_counts_because_the_rendered_sql_changes(make_project, run_cli):
    root = make_project(
        {**FILES, "models/marts/order_count.sql": "select count(*) * {{ var('k', 1) }} as n from {{ ref('orders') }}\n"}
    )
    build(run_cli, root)
    build(run_cli, root, "--vars", "{k: 3}")
    assert statuses(root)["order_count"] == "built"
    assert statuses(root)["customers"] == "kept"
    assert query(root / "warehouse.duckdb", "select n from marts.order_count") == [(9,)]


def test_full_refresh_rebuilds_everything(make_project, run_cli):
    root = make_project(FILES)
    build(run_cli, root)
    build(run_cli, root, "--full-refresh")
    assert set(statuses(root).values()) == {"built"}


def test_a_relation_dropped_from_the_warehouse_is_rebuilt(make_project, run_cli):
    root = make_project(FILES)
    build(run_cli, root)
    with duckdb.connect(str(root / "warehouse.duckdb")) as connection:
        connection.execute("drop table marts.customers")
    build(run_cli, root)
    assert statuses(root)["customers"] == "built"
    assert statuses(root)["big_customers"] == "kept"  # same inputs, same definition: its rows are still right
    assert query(root / "warehouse.duckdb", "select count(*) from marts.customers") == [(2,)]


def test_a_child_built_against_an_old_parent_is_rebuilt_once_the_parent_is(make_project, run_cli):
    root = make_project(FILES)
    build(run_cli, root)
    (root / "models/marts/customers.sql").write_text(
        "select customer_id, 1 as orders, 100.0 as revenue from {{ ref('stg_orders') }} group by customer_id\n"
    )
    build(run_cli, root, "-s", "big_customers")  # the parent's change is not built yet
    assert query(root / "warehouse.duckdb", "select count(*) from marts.big_customers") == [(1,)]
    build(run_cli, root)
    assert statuses(root)["customers"] == "built"
    assert statuses(root)["big_customers"] == "built"
    assert query(root / "warehouse.duckdb", "select count(*) from marts.big_customers") == [(2,)]


def test_new_data_in_a_source_loaded_by_another_tool_rebuilds_its_readers(make_project, run_cli):
    root = make_project(
        {
            "models/sources.yml": "sources:\n  - name: el\n    tables:\n      - name: raw_events\n",
            "models/marts/events.sql": "select count(*) as n from {{ source('el', 'raw_events') }}\n",
        }
    )
    warehouse = root / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create schema el; create table el.raw_events as select range as id from range(3)")
    build(run_cli, root)
    build(run_cli, root)
    assert statuses(root)["events"] == "kept"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("insert into el.raw_events values (3)")
    build(run_cli, root)
    assert statuses(root)["events"] == "built"
    assert statuses(root)["customers"] == "kept"
    assert query(warehouse, "select n from marts.events") == [(4,)]


def test_fingerprints_travel_with_the_warehouse_and_stay_out_of_table_listings(make_project, run_cli):
    root = make_project()
    build(run_cli, root)
    warehouse = root / "warehouse.duckdb"
    assert query(
        warehouse, "select unique_id, kind, schema_name, relation_name from _northstar.nodes() order by 1"
    ) == [
        ("model.shop.customers", "model", "marts", "customers"),
        ("model.shop.stg_orders", "model", "staging", "stg_orders"),
        ("seed.shop.orders", "seed", "raw", "orders"),
    ]
    assert query(warehouse, "select count(*) from information_schema.tables where table_schema = '_northstar'") == [
        (0,)
    ]
    # dbt's manifest.json has no room for them: Northstar's own file beside it holds them, for state:modified.
    extras = json.loads((root / "target/northstar_manifest.json").read_text())
    assert len(extras["fingerprints"]["model.shop.customers"]) == 64
    assert "fingerprint" not in json.loads((root / "target/manifest.json").read_text())["nodes"]["model.shop.customers"]


def test_state_modified_selects_changed_nodes_and_their_downstream(make_project, run_cli, tmp_path):
    root = make_project(FILES)
    build(run_cli, root)
    shutil.copytree(root / "target", tmp_path / "base")
    (root / "models/staging/stg_orders.sql").write_text(
        "select order_id, customer_id, amount * 1 as amount from {{ ref('orders') }}\n"
    )
    output = build(run_cli, root, "-s", "state:modified+", "--state", str(tmp_path / "base"))
    assert output.splitlines()[0] == "Found 4 models."
    assert statuses(root) == {
        "stg_orders": "built",
        "customers": "built",
        "order_count": "built",
        "big_customers": "built",
    }


def test_state_new_and_unchanged(make_project, run_cli, tmp_path):
    root = make_project()
    build(run_cli, root)
    shutil.copytree(root / "target", tmp_path / "base")
    (root / "models/marts/extra.sql").write_text("select 1 as x\n")
    output = build(run_cli, root, "-s", "state:new", "--state", str(tmp_path / "base"))
    assert output.splitlines()[0] == "Found 1 model."
    output = build(run_cli, root, "-s", "state:modified", "--state", str(tmp_path / "base"))
    assert output.splitlines()[0] == "Found 1 model."


def test_state_reads_fingerprints_from_northstar_manifest_or_compares_dbt_checksums(make_project, run_cli, tmp_path):
    root = make_project()
    build(run_cli, root)
    shutil.copytree(root / "target", tmp_path / "base")
    # A description is part of the fingerprint (it becomes a table comment), not of dbt's file checksum.
    (root / "models/marts/schema.yml").write_text("models:\n  - name: customers\n    description: Buyers.\n")
    (root / "seeds/orders.csv").write_text("order_id,customer_id,amount\n1,1,10.5\n2,1,20\n3,2,7.5\n")

    def modified() -> list[str]:
        build(run_cli, root, "-s", "state:modified", "--state", str(tmp_path / "base"))
        return sorted(statuses(root))

    # Fingerprints see the seed's new bytes and the model's new description.
    assert modified() == ["customers", "orders"]
    # A manifest.json written by dbt (no northstar_manifest.json): models' and seeds' file checksums are compared.
    (tmp_path / "base/northstar_manifest.json").unlink()
    assert modified() == ["orders"]
    (tmp_path / "base/northstar_manifest.json").write_text('{"metadata": {"northstar_manifest_version": 3}}')
    result = run_cli(root, "build", "-s", "state:modified", "--state", str(tmp_path / "base"))
    assert (result.exit_code, result.output) == (
        2,
        f"Error: {tmp_path}/base/northstar_manifest.json: --state: northstar_manifest.json has format version 3; "
        "this Northstar reads versions up to 2. Compare with artifacts written by this version of Northstar.\n",
    )


def test_state_without_a_manifest_is_a_clear_error(make_project, run_cli, tmp_path):
    root = make_project()
    result = run_cli(root, "build", "-s", "state:modified+", "--state", str(tmp_path))
    assert result.exit_code == 2
    assert result.output == (
        f"Error: {tmp_path}/manifest.json: --state {tmp_path}: no manifest.json there. Point --state at the "
        "target/ folder of a previous run (for example a copy of the main branch's target/).\n"
    )
    result = run_cli(root, "build", "-s", "state:modified+")
    assert result.exit_code == 2
    assert result.output == ("Error: state: selectors need --state DIR (a folder holding a previous manifest.json).\n")


def test_data_tests_still_run_on_kept_models(make_project, run_cli):
    root = make_project(
        {
            "models/marts/schema.yml": """
                models:
                  - name: customers
                    columns:
                      - name: customer_id
                        data_tests: [not_null]
            """
        }
    )
    build(run_cli, root)
    output = build(run_cli, root)
    assert "kept marts.customers (unchanged)" in output
    assert "PASS  not_null_customers_customer_id" in output
    with duckdb.connect(str(root / "warehouse.duckdb")) as connection:  # damage a kept table behind our back
        connection.execute("update marts.customers set customer_id = null")
    output = build(run_cli, root, code=1)
    assert "kept marts.customers (unchanged)" in output
    assert "FAIL  not_null_customers_customer_id" in output


def test_source_hashes_are_reused_while_the_warehouse_file_is_as_the_last_build_left_it(make_project, run_cli):
    root = make_project(
        {
            "models/sources.yml": "sources:\n  - name: el\n    tables:\n      - name: raw_events\n",
            "models/marts/events.sql": "select count(*) as n from {{ source('el', 'raw_events') }}\n",
        }
    )
    with duckdb.connect(str(root / "warehouse.duckdb")) as connection:
        connection.execute("create schema el; create table el.raw_events as select range as id from range(3)")
    build(run_cli, root)
    remembered = root / "target/northstar_sources.json"
    data = json.loads(remembered.read_text())
    assert list(data["versions"]) == ["el.raw_events"]
    # Trusted without a scan while the file is untouched: a doctored version shows up as a change.
    data["versions"]["el.raw_events"] = "doctored"
    remembered.write_text(json.dumps(data))
    build(run_cli, root)
    assert statuses(root)["events"] == "built"
    build(run_cli, root)
    assert statuses(root)["events"] == "kept"


def test_a_model_calling_now_or_random_is_rebuilt_every_time(make_project, run_cli):
    root = make_project(
        {
            "models/marts/today.sql": "select current_date as day, count(*) as n from {{ ref('orders') }}\n",
            "models/marts/sample.sql": "select * from {{ ref('orders') }} where random() < 2\n",
        }
    )
    build(run_cli, root)
    build(run_cli, root)
    assert statuses(root) == {
        "orders": "kept",
        "stg_orders": "kept",
        "customers": "kept",
        "today": "built",
        "sample": "built",
    }
    assert query(
        root / "warehouse.duckdb", "select volatile from _northstar.nodes() where unique_id like '%today'"
    ) == [(True,)]


def test_state_modified_leaves_out_unchanged_data_tests(make_project, run_cli, tmp_path):
    root = make_project(
        {
            "models/marts/schema.yml": """
                models:
                  - name: customers
                    columns:
                      - name: customer_id
                        data_tests: [not_null]
            """
        }
    )
    build(run_cli, root)
    shutil.copytree(root / "target", tmp_path / "base")
    output = build(run_cli, root, "-s", "state:modified+", "--state", str(tmp_path / "base"))
    assert output.splitlines()[0] == (
        "Nothing to do: no node matches --select state:modified+. `metrics ls` lists the nodes."
    )
    (root / "models/marts/customers.sql").write_text("select 1 as customer_id\n")
    output = build(run_cli, root, "-s", "state:modified+", "--state", str(tmp_path / "base"))
    assert output.splitlines()[0] == "Found 1 model, 1 test."


def test_every_function_sqlglot_reads_as_volatile_is_caught_by_the_word_scan():
    # volatile() parses only SQL naming a word of its list: a name the dialect maps to now()/random() and the list
    # lacks would make a model calling it kept forever. Ask the dialect itself about each of its function names.
    from sqlglot.dialects.duckdb import DuckDB

    from northstar.warehouse.state import volatile

    volatile_kinds = {"CurrentDate", "CurrentTimestamp", "CurrentTime", "CurrentDatetime", "Localtimestamp", "Rand"}
    volatile_kinds.add("Uuid")
    missed = []
    for name in DuckDB.parser_class.FUNCTIONS:
        for sql in (f"select {name}()", f"select {name}(1)"):
            try:
                tree = sqlglot.parse_one(sql, dialect="duckdb")
            except Exception:  # noqa: BLE001 - a name that needs other arguments: the other form tries
                continue
            calls = [type(item).__name__ for item in tree.walk()]
            if any(kind in volatile_kinds for kind in calls) and not volatile(SimpleNamespace(sql=sql)):
                missed.append(name)
    assert missed == []
