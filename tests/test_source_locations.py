"""Source locations that use var(): the example project's switch between seeds and Parquet files read in place."""

import json

import duckdb
from conftest import query

SOURCES = """
    version: 2
    sources:
      - name: raw
        schema: raw
        meta:
          external_location: "{% if var('raw_data_dir', none) %}{{ var('raw_data_dir') }}/{name}.parquet{% endif %}"
        tables:
          - name: orders
"""
FILES = {
    "models/staging/_sources.yml": SOURCES,
    "models/staging/stg_orders.sql": "select order_id, customer_id, amount from {{ source('raw', 'orders') }}\n",
}


def test_without_the_var_the_source_is_the_seeded_table(make_project, run_cli):
    root = make_project(FILES)
    result = run_cli(root, "build")
    assert result.exit_code == 0, result.output
    assert query(root / "warehouse.duckdb", "select count(*) from staging.stg_orders") == [(3,)]
    compiled = run_cli(root, "compile", "stg_orders").output
    assert "from raw.orders" in compiled


def test_with_the_var_the_source_reads_parquet_in_place(make_project, run_cli, tmp_path):
    root = make_project(FILES)
    data = tmp_path / "big"
    data.mkdir()
    with duckdb.connect() as connection:
        connection.execute(
            f"copy (select range as order_id, range % 7 as customer_id, 1.5 as amount from range(1000)) "
            f"to '{data}/orders.parquet' (format parquet)"
        )
    result = run_cli(root, "build", "--vars", f"{{raw_data_dir: {data}}}")
    assert result.exit_code == 0, result.output
    assert query(root / "warehouse.duckdb", "select count(*), sum(revenue) from marts.customers") == [(7, 1500.0)]
    compiled = run_cli(root, "compile", "stg_orders", "--vars", f"{{raw_data_dir: {data}}}").output
    assert f"from read_parquet('{data}/orders.parquet')" in compiled


def _write_orders(path, rows):
    with duckdb.connect() as connection:
        connection.execute(
            f"copy (select range as order_id, range % 7 as customer_id, 1.5 as amount from range({rows})) "
            f"to '{path}' (format parquet)"
        )


def _built(output):
    """The models a build executed (not kept), from its progress lines."""
    return sorted(line.split()[6] for line in output.splitlines() if line.split()[4:5] == ["created"])


def test_a_source_written_as_read_parquet_of_literal_files_is_kept_until_the_files_change(
    make_project, run_cli, tmp_path
):
    data = tmp_path / "lake"
    data.mkdir()
    _write_orders(data / "orders.parquet", 1000)
    sources = SOURCES.replace(
        "external_location: \"{% if var('raw_data_dir', none) %}{{ var('raw_data_dir') }}/{name}.parquet{% endif %}\"",
        f"external_location: \"read_parquet(['{data}/{{name}}.parquet'], union_by_name = true)\"",
    )
    root = make_project({**FILES, "models/staging/_sources.yml": sources})
    first = run_cli(root, "build")
    assert first.exit_code == 0, first.output
    again = run_cli(root, "build")
    assert again.exit_code == 0, again.output
    assert again.output.rstrip().endswith("Nothing changed: warehouse.duckdb is up to date."), again.output
    _write_orders(data / "orders.parquet", 70)
    changed = run_cli(root, "build")
    assert changed.exit_code == 0, changed.output
    assert _built(changed.output) == ["marts.customers", "staging.stg_orders"], changed.output
    assert query(root / "warehouse.duckdb", "select count(*), sum(revenue) from marts.customers") == [(7, 105.0)]


def test_a_source_read_through_a_computed_path_is_always_read_again(make_project, run_cli, tmp_path):
    data = tmp_path / "lake"
    data.mkdir()
    _write_orders(data / "orders.parquet", 1000)
    sources = SOURCES.replace(
        "external_location: \"{% if var('raw_data_dir', none) %}{{ var('raw_data_dir') }}/{name}.parquet{% endif %}\"",
        f"external_location: \"read_parquet(concat('{data}/', '{{name}}.parquet'))\"",
    )
    root = make_project({**FILES, "models/staging/_sources.yml": sources})
    assert run_cli(root, "build").exit_code == 0
    again = run_cli(root, "build")
    assert again.exit_code == 0, again.output
    assert _built(again.output) == ["marts.customers", "staging.stg_orders"], again.output


def _source_columns(root):
    manifest = json.loads((root / "target" / "manifest.json").read_text(encoding="utf-8"))
    columns = manifest["sources"]["source.shop.raw.orders"]["columns"]
    return {name: column["data_type"] for name, column in columns.items()}


def test_a_parquet_source_s_columns_in_the_manifest_follow_its_file(make_project, run_cli, tmp_path):
    """The columns read from a file's footer are kept in target/ for the next build while the file is unchanged;
    a rewritten file is read again."""
    data = tmp_path / "lake"
    data.mkdir()
    _write_orders(data / "orders.parquet", 1000)
    root = make_project(FILES)
    vars_ = ["--vars", f"{{raw_data_dir: {data}}}"]
    assert run_cli(root, "build", *vars_).exit_code == 0
    first = {"order_id": "BIGINT", "customer_id": "BIGINT", "amount": "DECIMAL(2,1)"}
    assert _source_columns(root) == first
    again = run_cli(root, "build", *vars_)
    assert again.exit_code == 0, again.output
    assert _source_columns(root) == first
    with duckdb.connect() as connection:
        connection.execute(
            f"copy (select range::integer as order_id, 3 as customer_id, 2.5::double as amount, 'web' as channel "
            f"from range(10)) to '{data}/orders.parquet' (format parquet)"
        )
    changed = run_cli(root, "build", *vars_)
    assert changed.exit_code == 0, changed.output
    assert _source_columns(root) == {
        "order_id": "INTEGER",
        "customer_id": "INTEGER",
        "amount": "DOUBLE",
        "channel": "VARCHAR",
    }
