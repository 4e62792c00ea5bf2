"""Incremental models: strategies, unique keys, is_incremental(), on_schema_change and --full-refresh."""

from conftest import query

BASE = {
    "project.yml": """
        name: shop
        warehouse: warehouse.duckdb
        seeds:
          +schema: raw
    """,
    "seeds/raw_events.csv": "id,region,amount\n1,eu,10\n2,eu,20\n3,us,30\n",
}


def model(config: str, where: str = "id >= (select max(id) from {{ this }})", columns: str = "id, region, amount"):
    return {
        "models/events.sql": (
            "{{ config(materialized='incremental', " + config + ") }}\n"
            f"select {columns} from {{{{ ref('raw_events') }}}}\n"
            "{% if is_incremental() %}\n"
            f"where {where}\n"
            "{% endif %}\n"
        )
    }


def rows(root, sql="select * from main.events order by all"):
    return query(root / "warehouse.duckdb", sql)


def build(run_cli, root, *args, code=0):
    result = run_cli(root, "build", *args)
    assert result.exit_code == code, result.output
    return result.output


def load(root, csv):
    (root / "seeds/raw_events.csv").write_text(csv)


def test_first_build_is_a_plain_table_then_merge_updates_and_inserts(make_project, run_cli):
    root = make_project(model("unique_key='id'"), base=BASE)
    build(run_cli, root)
    assert rows(root) == [(1, "eu", 10), (2, "eu", 20), (3, "us", 30)]
    load(root, "id,region,amount\n1,eu,999\n3,us,31\n4,us,40\n")
    build(run_cli, root)
    # id 1 is filtered out by is_incremental(); 3 is updated; 4 is new.
    assert rows(root) == [(1, "eu", 10), (2, "eu", 20), (3, "us", 31), (4, "us", 40)]


def test_merge_on_a_composite_unique_key(make_project, run_cli):
    root = make_project(model("unique_key=['id', 'region'], incremental_strategy='merge'", where="true"), base=BASE)
    build(run_cli, root)
    load(root, "id,region,amount\n1,eu,11\n1,us,12\n")
    build(run_cli, root)
    assert rows(root) == [(1, "eu", 11), (1, "us", 12), (2, "eu", 20), (3, "us", 30)]


def test_delete_insert_replaces_every_row_of_a_key(make_project, run_cli):
    root = make_project(
        model("unique_key='region', incremental_strategy='delete+insert'", where="region = 'us'"), base=BASE
    )
    build(run_cli, root)
    load(root, "id,region,amount\n5,us,50\n6,us,60\n7,eu,70\n")
    build(run_cli, root)
    # Every 'us' row is replaced by the new 'us' rows; 'eu' rows are untouched (the filter leaves out id 7).
    assert rows(root) == [(1, "eu", 10), (2, "eu", 20), (5, "us", 50), (6, "us", 60)]


def test_append_adds_rows_without_looking_at_keys(make_project, run_cli):
    root = make_project(model("incremental_strategy='append'"), base=BASE)
    build(run_cli, root)
    load(root, "id,region,amount\n3,us,30\n4,us,40\n")
    output = build(run_cli, root)
    assert "built incremental main.events" in output
    assert rows(root) == [(1, "eu", 10), (2, "eu", 20), (3, "us", 30), (3, "us", 30), (4, "us", 40)]


def test_full_refresh_rebuilds_from_scratch(make_project, run_cli):
    root = make_project(model("incremental_strategy='append'"), base=BASE)
    build(run_cli, root)
    load(root, "id,region,amount\n3,us,30\n4,us,40\n")
    build(run_cli, root)
    build(run_cli, root, "--full-refresh")
    assert rows(root) == [(3, "us", 30), (4, "us", 40)]


def test_an_unchanged_incremental_model_is_kept(make_project, run_cli):
    root = make_project(model("unique_key='id'"), base=BASE)
    build(run_cli, root)
    build(run_cli, root)  # renders the is_incremental() branch for the first time: a new fingerprint
    output = build(run_cli, root)
    assert "kept main.events (unchanged)" in output
    assert rows(root) == [(1, "eu", 10), (2, "eu", 20), (3, "us", 30)]


def test_on_schema_change_ignore_keeps_the_table_columns(make_project, run_cli):
    root = make_project(model("unique_key='id'"), base=BASE)
    build(run_cli, root)
    root = make_project(model("unique_key='id'", columns="id, region, amount, amount * 2 as doubled"), base=BASE)
    build(run_cli, root)
    assert rows(root, "select column_name from information_schema.columns where table_name = 'events'") == [
        ("id",),
        ("region",),
        ("amount",),
    ]


def test_on_schema_change_fail_names_the_changes_and_publishes_nothing(make_project, run_cli):
    root = make_project(model("unique_key='id', on_schema_change='fail'"), base=BASE)
    build(run_cli, root)
    root = make_project(
        model("unique_key='id', on_schema_change='fail'", columns="id, amount::varchar as amount, 1 as extra"),
        base=BASE,
    )
    output = build(run_cli, root, code=1)
    assert output.splitlines()[-1] == (
        "ERROR models/events.sql: Model 'events' is incremental with on_schema_change='fail' and its columns "
        "changed: new columns extra; missing columns region; amount changed from BIGINT to VARCHAR. Rebuild it "
        "with --full-refresh, or set on_schema_change to 'append_new_columns' or 'sync_all_columns'."
    )
    assert rows(root) == [(1, "eu", 10), (2, "eu", 20), (3, "us", 30)]


def test_append_new_columns_adds_them_and_keeps_old_ones(make_project, run_cli):
    config = "unique_key='id', on_schema_change='append_new_columns'"
    root = make_project(model(config), base=BASE)
    build(run_cli, root)
    root = make_project(model(config, columns="id, amount, 'x' as note"), base=BASE)
    load(root, "id,region,amount\n4,us,40\n")
    build(run_cli, root)
    assert rows(root) == [(1, "eu", 10, None), (2, "eu", 20, None), (3, "us", 30, None), (4, None, 40, "x")]


def test_sync_all_columns_drops_missing_and_retypes(make_project, run_cli):
    config = "unique_key='id', on_schema_change='sync_all_columns'"
    root = make_project(model(config), base=BASE)
    build(run_cli, root)
    root = make_project(model(config, columns="id, amount::double as amount, 'x' as note"), base=BASE)
    load(root, "id,region,amount\n4,us,40\n")
    build(run_cli, root)
    assert rows(root) == [(1, 10.0, None), (2, 20.0, None), (3, 30.0, None), (4, 40.0, "x")]
    assert rows(
        root, "select data_type from information_schema.columns where table_name = 'events' and column_name = 'amount'"
    ) == [("DOUBLE",)]


def test_merge_without_unique_key_is_a_clear_error(make_project, run_cli):
    root = make_project(model("incremental_strategy='merge'"), base=BASE)
    build(run_cli, root)
    load(root, "id,region,amount\n4,us,40\n")
    output = build(run_cli, root, code=1)
    assert output.splitlines()[-1] == (
        "ERROR models/events.sql: Model 'events' uses incremental_strategy='merge', which needs a unique_key. "
        "Set unique_key='id' (or a list of columns) in its config, or use incremental_strategy='append'."
    )


def test_unique_key_missing_from_the_select(make_project, run_cli):
    root = make_project(model("unique_key='event_id'"), base=BASE)
    build(run_cli, root)
    load(root, "id,region,amount\n4,us,40\n")
    output = build(run_cli, root, code=1)
    assert output.splitlines()[-1] == (
        "ERROR models/events.sql: Model 'events': unique_key column(s) event_id are not in its SELECT "
        "(it selects id, region, amount). Select them, or fix unique_key."
    )


def test_sql_errors_in_the_incremental_select_name_the_users_line(make_project, run_cli):
    root = make_project(model("unique_key='id'"), base=BASE)
    build(run_cli, root)
    load(root, "id,region,amount\n4,us,40\n")
    root = make_project(model("unique_key='id'", where="nope > 1"), base=BASE)
    output = build(run_cli, root, code=1)
    assert "ERROR models/events.sql:4: Model 'events' failed in DuckDB: Binder Error:" in output


def test_full_refresh_false_keeps_the_table_under_the_flag_and_true_rebuilds_every_run(make_project, run_cli):
    # dbt's model config: false keeps an incremental model's history even under --full-refresh...
    root = make_project(model("unique_key='id', full_refresh=false", where="true"), base=BASE)
    build(run_cli, root)
    load(root, "id,region,amount\n4,us,40\n")  # the raw data now holds only the newest event
    build(run_cli, root, "--full-refresh")
    assert rows(root) == [(1, "eu", 10), (2, "eu", 20), (3, "us", 30), (4, "us", 40)]

    # ...and true makes it again from scratch on every run, the flag or not.
    (root / "models/events.sql").write_text(
        model("unique_key='id', full_refresh=true", where="true")["models/events.sql"]
    )
    build(run_cli, root)
    assert rows(root) == [(4, "us", 40)]
    load(root, "id,region,amount\n5,eu,50\n")
    build(run_cli, root)
    assert rows(root) == [(5, "eu", 50)]


def test_full_refresh_that_is_not_true_or_false_is_refused(make_project, run_cli):
    root = make_project(model("full_refresh='never'"), base=BASE)
    output = build(run_cli, root, code=2)
    assert "full_refresh='never'; use true or false." in output
    assert "models/events.sql" in output
