from conftest import query


def test_build_creates_warehouse_with_layered_schemas(make_project, run_cli):
    root = make_project()
    result = run_cli(root, "build")
    assert result.exit_code == 0, result.output
    assert query(root / "warehouse.duckdb", "select * from marts.customers order by customer_id") == [
        (1, 2, 30.5),
        (2, 1, 7.25),
    ]
    kinds = query(
        root / "warehouse.duckdb",
        "select table_schema, table_name, table_type from information_schema.tables order by 1, 2",
    )
    assert kinds == [
        ("marts", "customers", "BASE TABLE"),
        ("raw", "orders", "BASE TABLE"),
        ("staging", "stg_orders", "VIEW"),
    ]
