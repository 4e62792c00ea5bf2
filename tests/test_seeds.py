"""Seeds: CSV files loaded with DuckDB's inferred types, overridable per column in YAML."""

from conftest import query

COLUMNS = (
    "select table_schema, table_name, column_name, data_type from information_schema.columns "
    "where table_name = 'events' order by ordinal_position"
)
EVENTS = "id,happened_on,amount,code,flag\n1,2025-01-02,10.5,007,true\n2,2025-01-03,3,010,false\n"


def test_seed_types_are_inferred(make_project, run_cli):
    root = make_project({"seeds/events.csv": EVENTS})
    result = run_cli(root, "seed")
    assert result.exit_code == 0, result.output
    assert query(root / "warehouse.duckdb", COLUMNS) == [
        ("raw", "events", "id", "BIGINT"),
        ("raw", "events", "happened_on", "DATE"),
        ("raw", "events", "amount", "DOUBLE"),
        ("raw", "events", "code", "VARCHAR"),
        ("raw", "events", "flag", "BOOLEAN"),
    ]
    assert query(root / "warehouse.duckdb", "select code from raw.events order by id") == [("007",), ("010",)]


def test_seed_column_types_from_yaml(make_project, run_cli):
    root = make_project(
        {
            "seeds/events.csv": EVENTS,
            "seeds/seeds.yml": """
                version: 2
                seeds:
                  - name: events
                    description: Raw events.
                    config:
                      column_types:
                        amount: decimal(10, 2)
                        code: integer
                        happened_on: varchar
            """,
        }
    )
    result = run_cli(root, "seed")
    assert result.exit_code == 0, result.output
    assert query(root / "warehouse.duckdb", COLUMNS) == [
        ("raw", "events", "id", "BIGINT"),
        ("raw", "events", "happened_on", "VARCHAR"),
        ("raw", "events", "amount", "DECIMAL(10,2)"),
        ("raw", "events", "code", "INTEGER"),
        ("raw", "events", "flag", "BOOLEAN"),
    ]
    assert query(root / "warehouse.duckdb", "select code from raw.events order by id") == [(7,), (10,)]
    assert query(root / "warehouse.duckdb", "select comment from duckdb_tables() where table_name = 'events'") == [
        ("Raw events.",)
    ]


def test_seed_column_types_from_project_folder_config_and_schema_override(make_project, run_cli):
    root = make_project(
        {
            "project.yml": """
                name: shop
                seeds:
                  +schema: landing
                  events:
                    +column_types:
                      id: varchar
            """,
            "seeds/events.csv": EVENTS,
        }
    )
    assert run_cli(root, "seed").exit_code == 0
    assert query(root / "warehouse.duckdb", COLUMNS)[0] == ("landing", "events", "id", "VARCHAR")


def test_seed_command_loads_only_seeds_and_ref_reads_them(make_project, run_cli):
    root = make_project()
    result = run_cli(root, "seed")
    assert result.exit_code == 0
    assert query(root / "warehouse.duckdb", "select table_schema, table_name from information_schema.tables") == [
        ("raw", "orders")
    ]
    assert run_cli(root, "run").exit_code == 0
    assert query(root / "warehouse.duckdb", "select * from staging.stg_orders order by 1") == [
        (1, 1, 10.5),
        (2, 1, 20.0),
        (3, 2, 7.25),
    ]


def test_bad_column_type_fails_the_seed_with_its_file(make_project, run_cli):
    root = make_project(
        {
            "seeds/seeds.yml": """
                seeds:
                  - name: orders
                    config:
                      column_types: {amount: not_a_type}
            """
        }
    )
    result = run_cli(root, "seed")
    assert result.exit_code == 1
    assert "ERROR seeds/orders.csv: Seed 'orders' failed in DuckDB:" in result.output
    assert "Traceback" not in result.output
    assert not (root / "warehouse.duckdb").exists()
