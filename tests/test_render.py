"""Every Jinja helper of a model, checked through `metrics compile` (the exact SQL) and `metrics build` (the data)."""

import re

from conftest import query


def compiled(run_cli, root, node, *args):
    result = run_cli(root, "compile", node, *args)
    assert result.exit_code == 0, result.output
    return result.output


def test_ref_renders_the_final_relation_of_models_and_seeds(make_project, run_cli):
    root = make_project()
    assert compiled(run_cli, root, "customers") == (
        "select customer_id, count(*) as orders, sum(amount) as revenue\n"
        "from staging.stg_orders\ngroup by customer_id\n"
    )
    assert compiled(run_cli, root, "stg_orders") == "select order_id, customer_id, amount from raw.orders\n"


def test_ref_with_a_package_name_and_this(make_project, run_cli):
    root = make_project(
        {"models/marts/me.sql": "select '{{ this }}' as me, '{{ this.name }}' as n from {{ ref('shop', 'orders') }}"}
    )
    assert compiled(run_cli, root, "me") == "select 'marts.me' as me, 'me' as n from raw.orders\n"


def test_source_renders_the_declared_schema_and_identifier(make_project, run_cli):
    root = make_project(
        {
            "models/staging/sources.yml": """
                version: 2
                sources:
                  - name: shop_raw
                    schema: raw
                    tables:
                      - name: orders_table
                        identifier: orders
            """,
            "models/staging/from_source.sql": "select * from {{ source('shop_raw', 'orders_table') }}",
        }
    )
    assert compiled(run_cli, root, "from_source") == "select * from raw.orders\n"
    assert run_cli(root, "build").exit_code == 0
    assert query(root / "warehouse.duckdb", "select count(*) from staging.from_source") == [(3,)]


def test_var_from_project_default_and_cli(make_project, run_cli):
    root = make_project(
        {
            "project.yml": """
                name: shop
                vars:
                  min_amount: 10
            """,
            "models/v.sql": (
                "select {{ var('min_amount') }} as a, {{ var('missing', 42) }} as b, '{{ var('s', 'x') }}' as c"
            ),
        }
    )
    assert compiled(run_cli, root, "v") == "select 10 as a, 42 as b, 'x' as c\n"
    assert compiled(run_cli, root, "v", "--vars", "{min_amount: 3, s: y}") == "select 3 as a, 42 as b, 'y' as c\n"


def test_var_without_value_or_default_is_an_error_naming_the_line(make_project, run_cli):
    root = make_project({"models/v.sql": "select 1\n, {{ var('nope') }} as x"})
    result = run_cli(root, "compile", "v")
    assert result.exit_code == 2
    assert result.output == (
        "Error: models/v.sql:2: var('nope') is not defined. Set it under `vars:` in the project file, "
        "pass --vars '{nope: ...}', or give a default: var('nope', ...).\n"
    )


def test_config_sets_materialization_schema_tags_and_alias(make_project, run_cli):
    root = make_project(
        {
            "models/marts/special.sql": (
                "{{ config(materialized='view', schema='reporting', tags=['daily', 'finance'], alias='special_v') }}\n"
                "select * from {{ ref('customers') }}\n"
            ),
            "models/marts/uses_special.sql": "select * from {{ ref('special') }}",
        }
    )
    assert compiled(run_cli, root, "uses_special") == "select * from reporting.special_v\n"
    result = run_cli(root, "ls", "--select", "tag:finance")
    assert result.output == "special\n"
    assert run_cli(root, "build").exit_code == 0
    assert query(
        root / "warehouse.duckdb",
        "select table_schema, table_name, table_type from information_schema.tables where table_name like 'special%'",
    ) == [("reporting", "special_v", "VIEW")]


def test_is_incremental_is_false_for_tables_and_views(make_project, run_cli):
    root = make_project({"models/i.sql": "select {{ is_incremental() }} as inc"})
    assert compiled(run_cli, root, "i") == "select False as inc\n"


def test_env_var_with_value_default_and_missing(make_project, run_cli, monkeypatch):
    monkeypatch.setenv("NS_TEST_REGION", "emea")
    monkeypatch.delenv("NS_TEST_MISSING", raising=False)
    root = make_project(
        {
            "models/e.sql": (
                "select '{{ env_var('NS_TEST_REGION') }}' as r, '{{ env_var('NS_TEST_MISSING', 'none') }}' as d"
            )
        }
    )
    assert compiled(run_cli, root, "e") == "select 'emea' as r, 'none' as d\n"
    (root / "models/e.sql").write_text("select\n  '{{ env_var('NS_TEST_MISSING') }}' as m\n")
    result = run_cli(root, "compile", "e")
    assert result.exit_code == 2
    assert result.output == (
        "Error: models/e.sql:2: env_var('NS_TEST_MISSING') is not set in the environment and has no default. "
        "Export NS_TEST_MISSING=... or use env_var('NS_TEST_MISSING', 'default').\n"
    )


def test_target_describes_the_warehouse(make_project, run_cli):
    root = make_project(
        {"models/t.sql": "select '{{ target.name }}' as n, '{{ target.schema }}' as s, '{{ target.type }}' as t"}
    )
    assert compiled(run_cli, root, "t") == "select 'dev' as n, 'main' as s, 'duckdb' as t\n"


def test_macros_call_each_other_and_return_values(make_project, run_cli):
    root = make_project(
        {
            "macros/math.sql": """
                {% macro double(expr) %}{{ return('(' ~ expr ~ ' * 2)') }}{% endmacro %}
                {% macro quadruple(expr) -%}
                  {{ double(double(expr)) }}
                {%- endmacro %}
            """,
            "macros/lists.sql": """
                {% macro columns() %}{{ return(['order_id', 'amount']) }}{% endmacro %}
                {% macro cents(col) -%}
                  {{ col }} * 100
                {%- endmacro %}
            """,
            "models/m.sql": (
                "select {{ columns() | join(', ') }}, {{ quadruple('amount') }} as q, {{ cents('amount') }} as c\n"
                "from {{ ref('orders') }}\n"
            ),
        }
    )
    assert compiled(run_cli, root, "m") == (
        "select order_id, amount, ((amount * 2) * 2) as q, amount * 100 as c\nfrom raw.orders\n"
    )
    assert run_cli(root, "build").exit_code == 0
    assert query(root / "warehouse.duckdb", "select order_id, q, c from main.m order by 1") == [
        (1, 42.0, 1050.0),
        (2, 80.0, 2000.0),
        (3, 29.0, 725.0),
    ]


def test_jinja_control_flow_and_filters(make_project, run_cli):
    root = make_project(
        {
            "models/loop.sql": """
                select
                {%- for n in range(3) %}
                  {{ n }} as c{{ n }}{{ ',' if not loop.last }}
                {%- endfor %}
            """
        }
    )
    assert compiled(run_cli, root, "loop") == "select\n  0 as c0,\n  1 as c1,\n  2 as c2\n"


def test_python_api_renders_the_same_sql(make_project):
    from northstar.project.loader import load_project
    from northstar.render.manifest import compile_project

    root = make_project()
    manifest = compile_project(load_project(root), env_vars={})
    assert manifest.node("customers").sql == (
        "select customer_id, count(*) as orders, sum(amount) as revenue\nfrom staging.stg_orders\ngroup by customer_id"
    )
    assert manifest.node("customers").depends_on == ("model.shop.stg_orders",)


def test_simple_templates_render_exactly_like_jinja(make_project):
    """Most models skip Jinja's code generator (render.SimpleTemplate); the text must be identical either way."""
    from northstar.project.loader import load_project
    from northstar.render.jinja import SimpleTemplate, prepare_template, render
    from northstar.render.manifest import compile_project

    root = make_project(
        {
            "macros/m.sql": "{% macro money(c) -%}\n  round({{ c }}, 2)\n{%- endmacro %}\n",
            "models/a.sql": "{{ config(materialized='view', tags=['x']) }}\nselect {{ money('amount') }} as m,"
            " '{{ this }}' as t, {{ var('n', 3) }} as n, '{{ none }}' as z\nfrom {{ ref('orders') }}  \n\n",
        }
    )
    manifest = compile_project(load_project(root), env_vars={})
    renv = manifest.render_env
    source = (root / "models/a.sql").read_text()
    tree = renv.env.parse(source)
    simple = prepare_template(renv.env, tree, "models/a.sql")
    assert isinstance(simple, SimpleTemplate)
    compiled = renv.env.from_string(source)
    this = manifest.node("a").relation
    fast = render(renv, simple, source, "models/a.sql", this=this)
    slow = render(renv, compiled, source, "models/a.sql", this=this)
    assert fast == slow
    assert fast.sql == "\nselect round(amount, 2) as m, 'main.a' as t, 3 as n, 'None' as z\nfrom raw.orders  \n\n"


def test_undefined_name_in_a_simple_template_names_the_line(make_project, run_cli):
    root = make_project({"models/u.sql": "select\n  {{ nope('x') }} as a"})
    result = run_cli(root, "compile", "u")
    assert result.exit_code == 2
    assert result.output == "Error: models/u.sql:2: Jinja error: 'nope' is undefined.\n"


def test_is_incremental_is_true_once_an_incremental_model_exists(make_project, run_cli):
    root = make_project(
        {
            "models/marts/events.sql": (
                "{{ config(materialized='incremental', unique_key='order_id') }}\n"
                "select order_id, amount from {{ ref('orders') }}\n"
                "{% if is_incremental() %}where order_id > (select max(order_id) from {{ this }}){% endif %}\n"
            )
        }
    )
    assert run_cli(root, "compile", "events").output == "select order_id, amount from raw.orders\n"
    assert run_cli(root, "build", "-q").exit_code == 0
    assert run_cli(root, "compile", "events").output == (
        "select order_id, amount from raw.orders\nwhere order_id > (select max(order_id) from marts.events)\n"
    )


def test_macros_see_the_calling_models_context(make_project, run_cli):
    root = make_project(
        {
            "macros/ctx.sql": (
                "{% macro me() %}'{{ this }}'{% endmacro %}\n"
                "{% macro from_orders() %}{{ ref('orders') }}{% endmacro %}\n"
            ),
            "models/marts/one.sql": "select {{ me() }} as me from {{ from_orders() }}",
            "models/staging/two.sql": "select {{ me() }} as me from {{ from_orders() }}",
        }
    )
    assert compiled(run_cli, root, "one") == "select 'marts.one' as me from raw.orders\n"
    assert compiled(run_cli, root, "two") == "select 'staging.two' as me from raw.orders\n"
    # A ref() inside a macro is an edge of the model that called it.
    assert run_cli(root, "ls", "-s", "+two").output == "orders\ntwo\n"


def test_parsed_models_are_kept_in_target_and_follow_their_text(make_project, run_cli):
    files = {
        "models/marts/big.sql": (
            "{{ config(materialized='table', tags=('finance', 'daily'), schema='reports') }}\n"
            "select * from {{ ref('customers') }} where revenue > {{ var('floor', 10) }}\n"
        )
    }
    root = make_project(files)
    first = run_cli(root, "compile", "big")
    assert first.exit_code == 0, first.output
    assert not (root / "target/template_cache.bin").exists()  # target/ did not exist: made by this compile
    assert run_cli(root, "compile", "big").output == first.output
    assert (root / "target/template_cache.bin").exists()
    again = run_cli(root, "compile", "big")  # from the kept parse
    assert again.output == first.output
    listed = run_cli(root, "ls", "-s", "tag:daily", "--output", "name")
    assert listed.output.split() == ["big"], listed.output
    built = run_cli(root, "build")
    assert built.exit_code == 0, built.output
    assert query(root / "warehouse.duckdb", "select * from reports.big") == [(1, 2, 30.5)]

    (root / "models/marts/big.sql").write_text("select 1 as one from {{ ref('customers') }}\n")
    changed = run_cli(root, "compile", "big")
    assert "select 1 as one from" in changed.output
    assert run_cli(root, "ls", "-s", "tag:daily", "--output", "name").output.split() != ["big"]

    (root / "target/template_cache.bin").write_bytes(b"not a cache")
    assert run_cli(root, "compile", "big").output == changed.output


def test_compiled_macros_are_kept_in_target_and_follow_their_text(make_project, run_cli):
    root = make_project(
        {
            "macros/cents.sql": "{% macro cents(column) %}round({{ column }} * 100){% endmacro %}\n",
            "models/marts/priced.sql": "select {{ cents('revenue') }} as cents from {{ ref('customers') }}",
        }
    )
    assert run_cli(root, "build").exit_code == 0
    first = compiled(run_cli, root, "priced")
    assert first == "select round(revenue * 100) as cents from marts.customers\n"
    assert compiled(run_cli, root, "priced") == first  # from the kept code

    macro = root / "macros/cents.sql"
    macro.write_text("{% macro cents(column) %}({{ column }} * 100)::bigint{% endmacro %}\n")
    assert compiled(run_cli, root, "priced") == "select (revenue * 100)::bigint as cents from marts.customers\n"

    macro.write_text("{% macro cents(column) %}{{ column }{% endmacro %}\n")
    for _ in range(2):  # a file that does not compile is never kept: the same error every time
        broken = run_cli(root, "compile", "priced")
        assert broken.exit_code != 0
        assert "macros/cents.sql:1" in broken.output, broken.output


def test_identifiers_and_strings_are_quoted_as_sqlglot_quotes_them():
    """quote() writes plain names itself, quote_always() every name and sql_string() every string literal: as
    sqlglot's DuckDB dialect does, reserved words included (a new sqlglot reserving another word fails here)."""
    from sqlglot import exp
    from sqlglot.dialects.duckdb import DuckDB

    from northstar.render.relations import quote, quote_always, sql_string

    for text in ["it's", "a\\b", "a\nb", "tab\tx", "/tmp/x y/ü.duckdb", "$$", "{x}", "''", ""]:
        assert sql_string(text) == exp.Literal.string(text).sql(dialect="duckdb"), text

    reserved = sorted(DuckDB().generator().RESERVED_KEYWORDS)
    names = [*reserved, "orders", "fct_orders_2", "_x", "Orders", "2x", "order items", 'say "hi"', "ünï", "a\nb", ""]
    for name in names:
        bare = exp.Identifier(this=name, quoted=not re.match(r"^[a-z_][a-z0-9_]*$", name)).sql(dialect="duckdb")
        assert quote(name) == bare, name
        assert quote_always(name) == exp.Identifier(this=name, quoted=True).sql(dialect="duckdb"), name
