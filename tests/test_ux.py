"""A first user's mistakes, through the CLI: each gives an error that says what is wrong and how to fix it."""

from click.testing import CliRunner
from metrics_fixture import SHOP

from northstar.cli import main


def test_top_level_help_lists_every_command_without_truncating_its_summary():
    result = CliRunner().invoke(main, ["--help"], terminal_width=80)
    assert result.exit_code == 0
    commands = result.output.split("Commands:\n")[1]
    assert "..." not in commands
    assert "  ls        List the project's nodes, or with --metrics its metrics.\n" in result.output
    assert "    metrics compile stg_orders    print a model's rendered SQL\n" in result.output


def test_compile_of_an_unknown_node_suggests_a_metric_and_says_how_to_list_names(make_project, run_cli):
    root = make_project(SHOP, base={})
    result = run_cli(root, "compile", "revenu")
    assert result.exit_code == 2
    assert result.output == (
        "Error: No model, seed, test or metric named 'revenu'. Did you mean 'revenue'? "
        "Run 'metrics ls' (or 'metrics ls --metrics') to list them.\n"
    )


def test_query_with_start_after_end_is_a_usage_error(make_project, run_cli):
    root = make_project(SHOP, base={})
    result = run_cli(root, "query", "revenue", "--start", "2026-01-01", "--end", "2025-01-01")
    assert result.exit_code == 2
    assert result.output.endswith("Error: --start 2026-01-01 is after --end 2025-01-01: no day can match. Swap them.\n")


def test_where_with_an_unclosed_quote_or_a_dangling_operator_says_so_without_sqlglot_internals(make_project, run_cli):
    root = make_project(SHOP, base={})
    assert run_cli(root, "build", "--quiet").exit_code == 0
    result = run_cli(root, "query", "revenue", "--where", "status = 'completed")
    assert result.exit_code == 2
    assert result.output == 'Error: --where "status = \'completed" is not valid SQL: a quote is not closed.\n'
    result = run_cli(root, "query", "revenue", "--where", "order_id >")
    assert result.exit_code == 2
    assert result.output == (
        "Error: --where 'order_id >' is not valid SQL: an operator has nothing on one side. "
        "Write a condition such as channel = 'email'.\n"
    )


def test_a_selection_matching_nothing_says_so_and_one_row_is_singular(make_project, run_cli):
    root = make_project({"seeds/orders.csv": "order_id,customer_id,amount\n1,1,10.5\n"})
    result = run_cli(root, "build", "-s", "tag:nightly", "--exclude", "orders")
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == (
        "Nothing to do: no node matches --select tag:nightly --exclude orders. `metrics ls` lists the nodes."
    )
    result = run_cli(root, "seed")
    assert "  1 of 1 OK    loaded seed raw.orders ..." in result.output
    assert "[OK 1 row in " in result.output
    assert "Finished 1 node in " in result.output


def test_an_empty_model_file_is_named_before_anything_runs(make_project, run_cli):
    root = make_project({"models/marts/todo.sql": "\n"})
    result = run_cli(root, "build")
    assert result.exit_code == 2
    assert result.output == (
        "Error: models/marts/todo.sql: Model 'todo' is empty: a model is one select statement. "
        "Write it, or delete the file.\n"
    )
    assert not (root / "warehouse.duckdb").exists()


def test_dbt_style_select_of_two_names_says_how_to_write_it(make_project, run_cli):
    root = make_project()
    result = run_cli(root, "ls", "-s", "stg_orders", "customers")
    assert result.exit_code == 2
    assert result.output.endswith(
        "Error: Got unexpected extra argument (customers). "
        "To select several nodes, quote them (-s 'a b') or repeat -s (-s a -s b).\n"
    )
    assert run_cli(root, "ls", "-s", "stg_orders customers").output == "stg_orders\ncustomers\n"


def test_build_help_says_full_refresh_rebuilds_everything():
    result = CliRunner().invoke(main, ["build", "--help"], terminal_width=100)
    assert "  --full-refresh           Rebuild every node (incremental models from scratch); keep nothing" in (
        result.output
    )


def test_a_misspelt_folder_in_project_yml_is_a_warning_naming_the_line(make_project, run_cli):
    project_yml = """
        name: shop
        models:
          +materialized: table
          stagin:
            +materialized: view
        seeds:
          +schema: raw
    """
    root = make_project({"project.yml": project_yml})
    result = run_cli(root, "compile", "stg_orders")
    assert result.exit_code == 0
    assert result.output == (
        "Warning: project.yml:4: models: 'stagin' matches no folder or file under models/, so its config applies to "
        "nothing. Folders: marts, staging.\n"
        "select order_id, customer_id, amount from raw.orders\n"
    )


def test_query_in_a_project_without_metrics_says_where_they_go(make_project, run_cli):
    root = make_project()
    assert run_cli(root, "build", "--quiet").exit_code == 0
    result = run_cli(root, "query", "revenue")
    assert result.exit_code == 2
    assert result.output == (
        "Error: No metric named 'revenue'. The project defines no metrics yet: declare them in YAML under metrics/ "
        "(see README, Metrics).\n"
    )


def test_init_of_the_current_folder_does_not_suggest_cd_dot(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["init", "."])
    assert result.exit_code == 0
    assert result.output == (
        "Created 11 files in the current folder. Next:\n  metrics build\n  metrics query revenue orders --by month\n"
    )


def test_found_line_counts_kinds_in_a_stable_order(make_project, run_cli):
    root = make_project({"models/marts/a_constant.sql": "select 1 as x\n"})
    result = run_cli(root, "build")
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "Found 1 seed, 3 models."


def test_a_misspelt_config_key_in_project_yml_is_a_warning_with_the_right_spelling(make_project, run_cli):
    project_yml = """
        name: shop
        models:
          +materialized: table
          staging:
            +materialised: view
        seeds:
          +schema: raw
    """
    root = make_project({"project.yml": project_yml})
    result = run_cli(root, "ls", "-s", "stg_orders")
    assert result.exit_code == 0
    assert result.output == (
        "Warning: project.yml:5: models: '+materialised' is no config Northstar knows. Did you mean '+materialized'?\n"
        "stg_orders\n"
    )


def test_dotted_names_select_by_fqn_as_in_dbt_and_an_empty_method_value_is_an_error(make_project, run_cli):
    root = make_project()
    for selector in ("marts.customers", "fqn:marts", "fqn:shop.marts.cust*"):
        result = run_cli(root, "ls", "-s", selector)
        assert (result.exit_code, result.output) == (0, "customers\n"), selector
    assert run_cli(root, "ls", "-s", "fqn:staging.customers").output == ""
    result = run_cli(root, "ls", "-s", "tag:")
    assert result.exit_code == 2
    assert result.output == (
        "Error: Selector 'tag:' needs a value after the colon, e.g. tag:daily or path:models/marts.\n"
    )


def test_a_misspelt_grain_in_by_suggests_the_grain(make_project, run_cli):
    root = make_project(SHOP, base={})
    assert run_cli(root, "build", "--quiet").exit_code == 0
    result = run_cli(root, "query", "revenue", "--by", "monthh")
    assert result.exit_code == 2
    assert result.output.startswith("Error: --by uses 'monthh', which is not a dimension or entity reachable from ")
    assert "Did you mean 'month'? Valid choices: " in result.output
    assert result.output.endswith(" Or a time grain: second, minute, hour, day, week, month, quarter, year.\n")


def test_ls_resource_type_metric_lists_metrics_like_dbt(make_project, run_cli):
    root = make_project(SHOP, base={})
    result = run_cli(root, "ls", "--resource-type", "metric", "-s", "revenue_growth", "-s", "spend")
    assert result.exit_code == 0, result.output
    assert result.output == "revenue_growth\nspend\n"


def test_a_misspelt_seed_column_type_points_at_column_types_not_at_a_create_statement(make_project, run_cli):
    seeds_yml = """
        seeds:
          - name: orders
            config:
              column_types:
                amount: decimall(10,2)
    """
    root = make_project({"seeds/seeds.yml": seeds_yml})
    result = run_cli(root, "seed")
    assert result.exit_code == 1
    assert result.output.split("Nothing published: warehouse.duckdb is unchanged.\n\n")[1] == (
        "ERROR seeds/orders.csv: Seed 'orders' failed in DuckDB: "
        "Catalog Error: Type with name decimall does not exist!\n"
        '  Did you mean "decimal"?\n'
        "  Check the seed's column_types (amount: decimall(10,2)), set in seeds/seeds.yml.\n"
    )


def test_a_measure_expr_that_is_not_sql_is_named_at_its_line_not_a_traceback(make_project, run_cli):
    broken = SHOP["metrics/shop.yml"].replace(
        "{name: order_count, agg: count, expr: order_id}", "{name: order_count, agg: count, expr: order_id +}"
    )
    root = make_project({**SHOP, "metrics/shop.yml": broken}, base={})
    # The semantic model is set aside: the build warns, builds the rest, and its metrics are refused by name.
    build = run_cli(root, "build")
    assert build.exit_code == 0, build.output
    assert build.output.startswith(
        "1 semantic model with a mistake (the metrics reading it are skipped):\n"
        "  metrics/shop.yml:13: The expr of the measure 'order_count' of the semantic model 'orders' is not "
        "valid SQL: 'order_id +'. Write a column or an expression on the model's columns, "
        "e.g. expr: amount * quantity.\n"
    )
    result = run_cli(root, "query", "revenue")
    assert result.exit_code == 2
    assert result.output == (
        "Error: metrics/shop.yml:13: Metric 'revenue' reads measure 'revenue' of semantic model 'orders', which has "
        "a mistake: The expr of the measure 'order_count' of the semantic model 'orders' is not valid SQL: "
        "'order_id +'. Write a column or an expression on the model's columns, e.g. expr: amount * quantity. Other "
        "metrics are not affected.\n"
    )


def test_a_derived_expr_with_an_unclosed_quote_is_an_error_at_the_metric(make_project, run_cli):
    broken = SHOP["metrics/shop.yml"].replace("expr: revenue - last_month", 'expr: "revenue - \'x"')
    assert broken != SHOP["metrics/shop.yml"]
    root = make_project({**SHOP, "metrics/shop.yml": broken}, base={})
    result = run_cli(root, "build")
    assert result.exit_code == 2
    assert result.output == (
        "Error: metrics/shop.yml:61: The expr of derived metric 'revenue_growth' is not valid SQL: \"revenue - 'x\".\n"
    )


def test_a_data_test_where_that_is_not_sql_is_an_error_at_its_line(make_project, run_cli):
    schema = """
        models:
          - name: customers
            columns:
              - name: revenue
                data_tests:
                  - not_null:
                      config:
                        where: "orders = 'x"
    """
    root = make_project({"models/marts/schema.yml": schema})
    result = run_cli(root, "build")
    assert result.exit_code == 2
    assert result.output == (
        'Error: models/marts/schema.yml:6: where: "orders = \'x" is not a SQL condition: a quote is not closed. '
        "Write one such as status = 'completed'.\n"
    )
    root = make_project({"models/marts/schema.yml": schema.replace('"orders = \'x"', "'orders ='")})
    result = run_cli(root, "build")
    assert result.output == (
        "Error: models/marts/schema.yml:6: where: 'orders =' is not a SQL condition. "
        "Write one such as status = 'completed'.\n"
    )


def test_compile_output_creates_its_folder_and_an_unwritable_path_is_an_error(make_project, run_cli, tmp_path):
    root = make_project()
    result = run_cli(root, "compile", "stg_orders", "-o", str(tmp_path / "new" / "stg.sql"))
    assert (result.exit_code, result.output) == (0, "")
    assert (tmp_path / "new" / "stg.sql").read_text() == "select order_id, customer_id, amount from raw.orders\n"
    (tmp_path / "afile").write_text("")
    result = run_cli(root, "compile", "stg_orders", "-o", str(tmp_path / "afile" / "stg.sql"))
    assert result.exit_code == 2
    assert result.output == (
        f"Error: Cannot write {tmp_path / 'afile' / 'stg.sql'}: {tmp_path / 'afile'} is a file, not a folder. "
        "Choose another path for --output.\n"
    )


def test_a_path_blocked_by_a_file_is_an_error_not_a_traceback(tmp_path):
    (tmp_path / "afile").write_text("")
    result = CliRunner().invoke(main, ["init", str(tmp_path / "afile" / "shop")])
    assert result.exit_code == 2
    assert result.output == (
        f"Error: {tmp_path / 'afile' / 'shop'}: a file is in the way where a folder is needed. "
        "Check the path and its permissions.\n"
    )


def test_test_in_a_project_without_tests_says_there_are_none(make_project, run_cli):
    root = make_project()
    assert run_cli(root, "build", "--quiet").exit_code == 0
    result = run_cli(root, "test")
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "Nothing to do: the project has no tests."


def test_run_of_a_seed_says_run_builds_models_only(make_project, run_cli):
    root = make_project()
    result = run_cli(root, "run", "-s", "orders")
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == (
        "Nothing to do: no model matches --select orders (`metrics run` runs models only). "
        "`metrics ls` lists the nodes."
    )


def test_ctrl_c_outside_a_build_does_not_claim_nothing_was_published(make_project, run_cli, monkeypatch):
    import northstar.scaffold

    def interrupted(directory):
        raise KeyboardInterrupt

    monkeypatch.setattr(northstar.scaffold, "init_project", interrupted)
    result = CliRunner().invoke(main, ["init", "shop"])
    assert (result.exit_code, result.output) == (130, "Interrupted.\n")


def test_ls_metrics_with_a_selection_says_how_to_select_metrics(make_project, run_cli):
    root = make_project(SHOP, base={})
    result = run_cli(root, "ls", "--metrics", "-s", "revenue")
    assert result.exit_code == 2
    assert result.output.endswith(
        "Error: --metrics lists every metric; to select some, use --resource-type metric with -s/--exclude.\n"
    )


def test_a_model_path_that_does_not_exist_is_a_warning(make_project, run_cli):
    project_yml = """
        name: shop
        model-paths: [modls]
        seeds:
          +schema: raw
    """
    root = make_project({"project.yml": project_yml})
    result = run_cli(root, "ls")
    assert result.exit_code == 0
    assert result.output == "Warning: project.yml: model-paths: no folder modls, so there are no models.\norders\n"
