"""Loading a project: settings, paths, folder -> schema mapping and its overrides, vars, finding the root."""

from pathlib import Path

from conftest import query

from northstar.project.loader import find_project_root, load_project

RELATIONS = "select table_schema, table_name, table_type from information_schema.tables order by 1, 2"


def test_each_folder_builds_into_its_own_schema_and_overrides_win(make_project, run_cli):
    root = make_project(
        {
            "project.yml": """
                name: shop
                schema: analytics
                models:
                  +materialized: table
                  staging:
                    +materialized: view
                  marts:
                    finance:
                      +schema: finance
                seeds:
                  +schema: landing
            """,
            "models/top.sql": "select 1 as x",
            "models/marts/finance/revenue.sql": "select sum(amount) as revenue from {{ ref('stg_orders') }}",
            "models/marts/finance/schema.yml": """
                models:
                  - name: revenue
                    config:
                      alias: revenue_total
            """,
            "models/marts/deep/nested/n.sql": "{{ config(schema='custom') }}\nselect 1 as n",
        }
    )
    result = run_cli(root, "build", "-q")
    assert result.exit_code == 0, result.output
    assert query(root / "warehouse.duckdb", RELATIONS) == [
        ("analytics", "top", "BASE TABLE"),
        ("custom", "n", "BASE TABLE"),
        ("finance", "revenue_total", "BASE TABLE"),
        ("landing", "orders", "BASE TABLE"),
        ("marts", "customers", "BASE TABLE"),
        ("staging", "stg_orders", "VIEW"),
    ]


def test_config_precedence_model_beats_yaml_beats_folder(make_project):
    from northstar.render.manifest import compile_project

    root = make_project(
        {
            "models/staging/schema.yml": """
                models:
                  - name: stg_orders
                    config:
                      materialized: table
                      tags: [from_yaml]
            """,
            "models/staging/stg_orders.sql": "{{ config(tags=['from_model']) }}\nselect * from {{ ref('orders') }}",
            "models/staging/other.sql": "{{ config(materialized='ephemeral') }}\nselect 1",
        }
    )
    manifest = compile_project(load_project(root), env_vars={})
    assert manifest.node("stg_orders").config.materialized == "table"
    assert manifest.node("stg_orders").config.tags == ("from_yaml", "from_model")
    assert manifest.node("other").config.materialized == "ephemeral"
    assert manifest.node("customers").config.materialized == "table"


def test_custom_paths_and_warehouse(make_project, run_cli):
    root = make_project(
        {
            "project.yml": """
                name: shop
                model-paths: [sql]
                seed-paths: [data]
                warehouse: build/shop.duckdb
                target-path: out
            """,
            "sql/staging/stg.sql": "select * from {{ ref('orders2') }}",
            "data/orders2.csv": "a\n1\n",
        },
        base={},
    )
    result = run_cli(root, "build", "-q")
    assert result.exit_code == 0, result.output
    assert query(root / "build/shop.duckdb", "select * from staging.stg") == [(1,)]
    assert (root / "out/run_results.json").exists()


def test_warehouse_from_environment(make_project, run_cli, monkeypatch, tmp_path):
    root = make_project()
    monkeypatch.setenv("NORTHSTAR_WAREHOUSE", str(tmp_path / "elsewhere.duckdb"))
    assert run_cli(root, "build", "-q").exit_code == 0
    assert query(tmp_path / "elsewhere.duckdb", "select count(*) from marts.customers") == [(2,)]
    assert not (root / "warehouse.duckdb").exists()


def test_disabled_model_is_left_out(make_project, run_cli):
    root = make_project({"models/marts/off.sql": "{{ config(enabled=false) }}\nselect 1"})
    assert run_cli(root, "ls").output == "orders\nstg_orders\ncustomers\n"


def test_find_project_root_from_a_subfolder(make_project):
    root = make_project()
    assert find_project_root(root / "models" / "staging") == root
    project = load_project(root)
    assert [m.name for m in project.models] == ["customers", "stg_orders"]
    assert [(m.path, m.folders) for m in project.models] == [
        ("models/marts/customers.sql", ("marts",)),
        ("models/staging/stg_orders.sql", ("staging",)),
    ]
    assert project.config.warehouse == root / "warehouse.duckdb"
    assert project.config.target.threads >= 1


def test_project_without_name(make_project, run_cli):
    root = make_project({"project.yml": "version: '1'\n"})
    result = run_cli(root, "build")
    assert result.exit_code == 2
    assert result.output == "Error: project.yml:1: project.yml has no 'name'. Add e.g. `name: my_project`.\n"


def test_repository_example_project_loads(example_project):
    project = load_project(Path(example_project))
    assert project.config.name
    assert project.models


def test_python_api_builds_and_reports_each_node(make_project):
    from northstar.engine.pipeline import BuildOptions, build

    root = make_project({"models/marts/broken.sql": "select nope from {{ ref('stg_orders') }}"})
    result = build(load_project(root, threads=1), BuildOptions(exclude=("broken",)))
    assert result.success and result.published
    assert [(r.unique_id, r.status, r.rows) for r in result.results] == [
        ("seed.shop.orders", "success", 3),
        ("model.shop.stg_orders", "success", None),
        ("model.shop.customers", "success", 2),
    ]
    assert query(root / "warehouse.duckdb", "select count(*) from marts.customers") == [(2,)]
    failed = build(load_project(root, threads=1), BuildOptions(select=("broken",)))
    assert not failed.success and not failed.published
    assert failed.result("broken").status == "error"
    assert failed.result("broken").message.startswith(
        "models/marts/broken.sql:1: Model 'broken' failed in DuckDB: Binder Error: Referenced column \"nope\" not found"
    )
