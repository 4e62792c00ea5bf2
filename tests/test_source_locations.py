"""Source locations that use var(): the example project's switch between seeds and Parquet files read in place."""

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
