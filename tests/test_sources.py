"""Sources: a table already in the warehouse, and CSV or Parquet files (or globs) read in place."""

import duckdb
from conftest import query


def test_source_over_a_table_loaded_by_another_tool(make_project, run_cli):
    root = make_project(
        {
            "models/staging/sources.yml": """
                sources:
                  - name: crm
                    schema: crm_raw
                    tables:
                      - name: accounts
            """,
            "models/staging/stg_accounts.sql": "select id, upper(name) as name from {{ source('crm', 'accounts') }}",
        }
    )
    with duckdb.connect(str(root / "warehouse.duckdb")) as connection:
        connection.execute("create schema crm_raw; create table crm_raw.accounts as select 1 as id, 'acme' as name")
    result = run_cli(root, "build")
    assert result.exit_code == 0, result.output
    assert query(root / "warehouse.duckdb", "select * from staging.stg_accounts") == [(1, "ACME")]
    # The loaded table survives the atomic publish.
    assert query(root / "warehouse.duckdb", "select * from crm_raw.accounts") == [(1, "acme")]


def test_sources_over_csv_and_parquet_files_and_globs(make_project, run_cli, tmp_path):
    data = tmp_path / "lake"
    data.mkdir()
    (data / "visits_1.csv").write_text("visit_id,pages\n1,3\n2,5\n")
    (data / "visits_2.csv").write_text("visit_id,pages\n3,1\n")
    with duckdb.connect() as connection:
        connection.execute(f"copy (select 1 as user_id, 'fr' as country) to '{data / 'users.parquet'}'")
        for part in (1, 2):
            connection.execute(
                f"copy (select {part} as day, {part * 10} as spend) to '{data / f'spend_{part}.parquet'}'"
            )
    root = make_project(
        {
            "models/staging/sources.yml": f"""
                sources:
                  - name: lake
                    tables:
                      - name: visits
                        external_location: "{data}/visits_*.csv"
                      - name: users
                        external_location: "{data}/users.parquet"
                      - name: spend
                        meta:
                          external_location: "{data}/spend_*.parquet"
                  - name: local
                    config:
                      external_location: "data/{{name}}.csv"
                    tables:
                      - name: rates
            """,
            "data/rates.csv": "currency,rate\nEUR,1.1\n",
            "models/staging/visits.sql": (
                "select sum(pages) as pages, count(*) as n from {{ source('lake', 'visits') }}"
            ),
            "models/staging/users.sql": "select * from {{ source('lake', 'users') }}",
            "models/staging/spend.sql": "select sum(spend) as spend from {{ source('lake', 'spend') }}",
            "models/staging/rates.sql": "select * from {{ source('local', 'rates') }}",
        }
    )
    result = run_cli(root, "compile", "visits")
    assert result.output == f"select sum(pages) as pages, count(*) as n from read_csv('{data}/visits_*.csv')\n"
    result = run_cli(root, "compile", "rates")
    assert result.output == f"select * from read_csv('{root}/data/rates.csv')\n"
    result = run_cli(root, "build")
    assert result.exit_code == 0, result.output
    warehouse = root / "warehouse.duckdb"
    assert query(warehouse, "select * from staging.visits") == [(9, 3)]
    assert query(warehouse, "select * from staging.users") == [(1, "fr")]
    assert query(warehouse, "select * from staging.spend") == [(30,)]
    assert query(warehouse, "select * from staging.rates") == [("EUR", 1.1)]


def test_source_naming_a_seed_table_depends_on_the_seed(make_project, run_cli):
    root = make_project(
        {
            "models/staging/sources.yml": """
                sources:
                  - name: raw
                    tables:
                      - name: orders
            """,
            "models/staging/stg_orders.sql": "select * from {{ source('raw', 'orders') }}",
        }
    )
    result = run_cli(root, "ls", "--select", "+stg_orders")
    assert result.output == "orders\nraw.orders\nstg_orders\n"
    assert run_cli(root, "build").exit_code == 0


def test_unknown_source_suggests_the_closest(make_project, run_cli):
    root = make_project(
        {
            "models/staging/sources.yml": "sources:\n  - name: raw\n    tables:\n      - name: orders\n",
            "models/staging/stg_orders.sql": "select 1\nfrom {{ source('raw', 'order') }}",
        }
    )
    result = run_cli(root, "build")
    assert result.exit_code == 2
    assert result.output == (
        "Error: models/staging/stg_orders.sql:2: source('raw', 'order') is not declared in any sources: YAML. "
        "Did you mean 'raw.orders'? Declare it under `sources:` in a .yml file next to your models.\n"
    )
