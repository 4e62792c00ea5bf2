"""Every user mistake: an error naming the file and line, no traceback, the right exit code, the warehouse untouched."""

import pytest
from conftest import query

from northstar.errors import CompileError, ProjectError


def built(make_project, run_cli, files=None):
    root = make_project(files)
    assert run_cli(root, "build", "-q").exit_code == 0
    return root


def error_of(run_cli, root, *args, code=2):
    result = run_cli(root, *(args or ("build",)))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


def test_bad_yaml_names_file_and_line(make_project, run_cli):
    root = make_project({"models/marts/schema.yml": "models:\n  - name: customers\n    description: [unclosed\n"})
    assert error_of(run_cli, root) == (
        "Error: models/marts/schema.yml:4: Invalid YAML: did not find expected ',' or ']'. "
        "Check indentation and quoting.\n"
    )


def test_bad_project_yaml(make_project, run_cli):
    root = make_project({"project.yml": "name: shop\nmodels:\n  staging:\n  +materialized: view\n   bad: 1\n"})
    assert error_of(run_cli, root).startswith("Error: project.yml:5: Invalid YAML: ")


def test_unknown_key_in_project_yml(make_project, run_cli):
    root = make_project({"project.yml": "name: shop\nmodel-path: [models]\n"})
    assert error_of(run_cli, root) == (
        "Error: project.yml:2: Unknown key 'model-path' in project.yml. Did you mean 'model-paths'? "
        "Allowed keys: config-version, data_tests, "
        "macro-paths, metric-paths, model-paths, models, name, schema, seed-paths, seeds, snapshot-paths, snapshots, "
        "storage_version, "
        "target, target-path, targets, test-paths, tests, threads, vars, version, warehouse.\n"
    )


def test_unknown_key_in_a_property_file(make_project, run_cli):
    root = make_project({"models/marts/schema.yml": "models:\n  - name: customers\n    descripton: typo\n"})
    assert error_of(run_cli, root).startswith(
        "Error: models/marts/schema.yml:3: Unknown key 'descripton' in model 'customers'. "
        "Did you mean 'description'? Allowed keys: "
    )


def test_properties_for_a_missing_model(make_project, run_cli):
    root = make_project({"models/marts/schema.yml": "models:\n  - name: customer\n"})
    assert error_of(run_cli, root) == (
        "Error: models/marts/schema.yml:2: Properties are given for 'customer', but no model or seed has that name. "
        "Fix the name or remove the entry.\n"
    )


def test_jinja_syntax_error_names_the_line(make_project, run_cli):
    root = make_project({"models/marts/bad.sql": "select 1 as a,\n  2 as b\n{% if true %}\nfrom x\n"})
    assert error_of(run_cli, root) == (
        "Error: models/marts/bad.sql:3: Jinja syntax error: Unexpected end of template. Jinja was looking for the "
        "following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.\n"
    )


def test_jinja_runtime_error_names_the_line(make_project, run_cli):
    root = make_project({"models/marts/bad.sql": "select 1 as a,\n  {{ undefined_thing }} as b\n"})
    assert error_of(run_cli, root) == "Error: models/marts/bad.sql:2: Jinja error: 'undefined_thing' is undefined.\n"
    (root / "models/marts/bad.sql").write_text("select\n\n {{ 1 / 0 }} as x\n")
    assert error_of(run_cli, root) == (
        "Error: models/marts/bad.sql:3: ZeroDivisionError while rendering: division by zero\n"
    )


def test_error_inside_a_macro_names_the_macro_file(make_project, run_cli):
    root = make_project(
        {
            "macros/broken.sql": "{% macro broken() %}\n  {{ exceptions.raise_compiler_error('always broken') }}\n"
            "{% endmacro %}\n",
            "models/marts/uses.sql": "select {{ broken() }}",
        }
    )
    # Like dbt, a compiler error raised by a macro is reported against the model being rendered.
    assert error_of(run_cli, root) == "Error: models/marts/uses.sql:1: always broken\n"
    (root / "macros/broken.sql").write_text("{% macro broken() %}\n{% if %}\n{% endmacro %}\n")
    assert error_of(run_cli, root) == (
        "Error: macros/broken.sql:2: Jinja syntax error: Expected an expression, got 'end of statement block'.\n"
    )


def test_sql_error_names_model_file_line_and_duckdb_message_and_skips_downstream(make_project, run_cli):
    root = built(make_project, run_cli)
    before = query(root / "warehouse.duckdb", "select * from marts.customers order by 1")
    (root / "models/staging/stg_orders.sql").write_text(
        "{{ config(materialized='table') }}\n"
        "\n"
        "select\n"
        "    order_id,\n"
        "    customer_idd,\n"
        "    amount\n"
        "from {{ ref('orders') }}\n"
    )
    output = error_of(run_cli, root, "build", "--threads", "1", code=1)
    lines = output.splitlines()
    assert lines[-4:] == [
        "ERROR models/staging/stg_orders.sql:5: Model 'stg_orders' failed in DuckDB: Binder Error: Referenced column "
        '"customer_idd" not found in FROM clause!',
        '  Candidate bindings: "customer_id", "order_id", "amount"',
        "  LINE 5:     customer_idd,",
        "              ^^^^^^^^^^^^",
    ]
    assert any(" SKIP  customers " in line for line in lines)
    assert "Finished 3 nodes in" in output and ": 1 OK, 1 ERROR, 1 SKIP. Nothing published: " in output
    # The published warehouse is exactly as it was.
    assert query(root / "warehouse.duckdb", "select * from marts.customers order by 1") == before
    assert query(
        root / "warehouse.duckdb", "select table_type from information_schema.tables where table_name = 'stg_orders'"
    ) == [("VIEW",)]


def test_sql_error_line_after_a_multiline_jinja_block(make_project, run_cli):
    root = make_project(
        {
            "models/marts/bad.sql": (
                "{% set columns = [\n    'order_id',\n    'amount',\n] %}\n"
                "select\n    {{ columns | join(', ') }},\n    1 +\nfrom {{ ref('orders') }}\n"
            )
        }
    )
    output = error_of(run_cli, root, code=1)
    assert "ERROR models/marts/bad.sql:8: Model 'bad' failed in DuckDB: Parser Error: syntax error at or near" in output


@pytest.mark.parametrize("threads", ["1", "4"])  # one thread runs the nodes itself; more hand them to workers
def test_run_results_record_errors_and_skips(make_project, run_cli, threads):
    import json

    root = make_project({"models/staging/stg_orders.sql": "select nope from {{ ref('orders') }}"})
    output = error_of(run_cli, root, "build", "--threads", threads, code=1)
    assert "ERROR models/staging/stg_orders.sql:1: Model 'stg_orders' failed in DuckDB" in output
    results = json.loads((root / "target/run_results.json").read_text())["results"]
    assert [(r["unique_id"], r["status"]) for r in results] == [
        ("seed.shop.orders", "success"),
        ("model.shop.stg_orders", "error"),
        ("model.shop.customers", "skipped"),
    ]
    assert results[2]["message"] == "skipped because model.shop.stg_orders did not succeed"


def test_bad_vars_and_project_dir(make_project, run_cli, tmp_path):
    root = make_project()
    assert error_of(run_cli, root, "build", "--vars", "{a: [1}") == (
        "Error: --vars:1: Invalid YAML: did not find expected ',' or ']'. Check indentation and quoting.\n"
    )
    assert (
        error_of(run_cli, tmp_path / "missing", "build")
        == f"Error: --project-dir {tmp_path / 'missing'} is not a folder.\n"
    )


def test_non_literal_structural_config(make_project, run_cli):
    root = make_project({"models/marts/x.sql": "{{ config(materialized=var('m', 'table')) }}\nselect 1"})
    assert error_of(run_cli, root) == (
        "Error: models/marts/x.sql:1: config(materialized=...) must be a literal value (e.g. 'materialized': "
        "'table'), because other models need this model's relation before it renders.\n"
    )


def test_debug_shows_the_traceback(make_project):
    from click.testing import CliRunner

    from northstar.cli import main

    root = make_project({"models/marts/x.sql": "select {{ ref('nope') }}"})
    result = CliRunner().invoke(main, ["--debug", "build", "--project-dir", str(root)])
    assert isinstance(result.exception, CompileError)


def test_python_api_raises_typed_errors(make_project):
    from northstar.project.loader import load_project
    from northstar.render.manifest import compile_project

    root = make_project({"project.yml": "nam: shop\n"})
    with pytest.raises(ProjectError) as info:
        load_project(root)
    assert (info.value.path, info.value.line) == ("project.yml", 1)
    root = make_project({"project.yml": "name: shop\n", "models/x.sql": "select {{ ref('custmers') }}"})
    with pytest.raises(CompileError) as info:
        compile_project(load_project(root))
    assert str(info.value) == "models/x.sql:1: ref('custmers') names no model or seed. Did you mean 'customers'?"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"project.yml": "name: shop\nthreads: many\n"},
            "Error: project.yml:2: threads must be a positive whole number, got 'many'.\n",
        ),
        (
            {"models/marts/bad.sql": b"select '\xff'".decode("latin-1")},
            None,
        ),
        (
            {"models/marts/bad.sql": "select\n  {{ ref() }}"},
            "Error: models/marts/bad.sql:2: ref() is not valid: ref() takes a model name, e.g. ref('orders').\n",
        ),
        (
            {"models/marts/bad.sql": "select {{ ref(1) }}"},
            "Error: models/marts/bad.sql:1: ref(1) is not valid: ref() takes a model name, e.g. ref('orders').\n",
        ),
        (
            {"models/marts/bad.sql": "select {{ source('raw') }}"},
            "Error: models/marts/bad.sql:1: source('raw') is not valid: source() takes a source and a table name, "
            "e.g. source('raw', 'orders').\n",
        ),
        (
            {"models/marts/bad.sql": "{% set x = 1 %}\nselect {{ var() }}"},
            "Error: models/marts/bad.sql:2: var() takes the name of a var, e.g. var('vat_rate') or "
            "var('vat_rate', 0.2).\n",
        ),
    ],
)
def test_more_user_mistakes_without_traceback(make_project, run_cli, files, expected):
    root = make_project(files)
    if expected is None:  # a file that is not UTF-8
        (root / "models/marts/bad.sql").write_bytes(b"select '\xff'")
        expected = (
            "Error: models/marts/bad.sql: The file is not UTF-8 text (byte 8: invalid start byte). Save it as UTF-8.\n"
        )
    assert error_of(run_cli, root) == expected


def test_single_tag_and_unique_key_may_be_plain_values(make_project, run_cli):
    root = make_project({"models/marts/t.sql": "{{ config(tags='daily', unique_key=3) }}\nselect 1 as x"})
    assert run_cli(root, "ls", "-s", "tag:daily").output == "t\n"


def test_warehouse_that_is_not_a_duckdb_file(make_project, run_cli, monkeypatch, tmp_path):
    root = make_project()
    (root / "warehouse.duckdb").write_text("not a database")
    assert error_of(run_cli, root) == (
        f'Error: Cannot build into warehouse.duckdb: IO Error: The file "{root / "warehouse.duckdb"}" exists, but it '
        "is not a valid DuckDB database file! Move the file away, or set `warehouse:` to another path, "
        "and build again.\n"
    )
    assert (root / "warehouse.duckdb").read_text() == "not a database"
    monkeypatch.setenv("NORTHSTAR_WAREHOUSE", str(tmp_path))
    assert error_of(run_cli, root) == (
        f"Error: The warehouse {tmp_path} is a folder; NORTHSTAR_WAREHOUSE must name a DuckDB file, "
        "e.g. warehouse.duckdb.\n"
    )


def test_two_nodes_building_the_same_relation(make_project, run_cli):
    root = make_project({"models/marts/other.sql": "{{ config(alias='Customers') }}\nselect 1 as x"})
    assert error_of(run_cli, root) == (
        "Error: models/marts/other.sql: Both models/marts/customers.sql and models/marts/other.sql build "
        "marts.Customers. Give one of them another name, alias or schema.\n"
    )


def test_ephemeral_sql_that_cannot_be_inlined(make_project, run_cli):
    root = make_project(
        {
            "models/staging/eph.sql": "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('orders') }} (",
            "models/marts/uses.sql": "select * from {{ ref('eph') }}",
        }
    )
    # sqlglot's own wording varies between its versions: compare up to it.
    assert error_of(run_cli, root).startswith(
        "Error: models/staging/eph.sql: Model 'eph' must be a single SELECT that sqlglot can parse, because it is "
        "ephemeral and uses reads it. sqlglot says (lines of the compiled SQL, see `metrics compile eph`): "
    )


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("alias=3", "Model 'm' has alias=3; it must be a name, e.g. alias='orders'."),
        ("schema=''", "Model 'm' has schema=''; it must be a name, e.g. schema='marts'."),
        ("enabled='no'", "Model 'm' has enabled='no'; use true or false."),
        ("meta=3", "Model 'm' has meta=3; meta must be a mapping of key: value."),
    ],
)
def test_config_values_of_the_wrong_type(make_project, run_cli, config, expected):
    root = make_project({"models/marts/m.sql": f"{{{{ config({config}) }}}}\nselect 1 as x"})
    assert error_of(run_cli, root) == f"Error: models/marts/m.sql: {expected}\n"
