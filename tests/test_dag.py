"""The DAG: order, unknown references (file, line, closest name) and cycles (the cycle printed)."""

import pytest

from northstar.dag import DAG
from northstar.errors import CompileError


def test_sorted_upstream_downstream_and_subdag():
    dag = DAG({"a": set(), "b": {"a"}, "c": {"b"}, "d": {"a"}})
    assert dag.sorted() == ["a", "b", "d", "c"]
    assert dag.upstream("c") == {"a", "b"}
    assert dag.upstream("c", depth=1) == {"b"}
    assert dag.downstream("a") == {"b", "c", "d"}
    assert dag.downstream("a", depth=1) == {"b", "d"}
    sub = dag.subdag(["a", "c", "d"])
    assert dict(sub.parents) == {"a": frozenset(), "c": frozenset({"a"}), "d": frozenset({"a"})}


def test_cycle_error_prints_the_cycle():
    dag = DAG({"a": {"c"}, "b": {"a"}, "c": {"b"}, "x": set()})
    with pytest.raises(CompileError) as info:
        dag.sorted()
    # Nodes are visited in sorted order, so the same cycle always prints from the same node.
    assert str(info.value) == "The DAG has a cycle: a -> b -> c -> a. Remove one of these references."


def test_unknown_ref_names_file_line_and_closest_name(make_project, run_cli):
    root = make_project({"models/marts/report.sql": "select *\nfrom {{ ref('customer') }}\n"})
    result = run_cli(root, "build")
    assert result.exit_code == 2
    assert result.output == (
        "Error: models/marts/report.sql:2: ref('customer') names no model or seed. Did you mean 'customers'?\n"
    )
    assert not (root / "warehouse.duckdb").exists()


def test_unknown_ref_without_a_close_name(make_project, run_cli):
    root = make_project({"models/marts/report.sql": "select 1 from {{ ref('zzzz') }}"})
    result = run_cli(root, "run")
    assert result.exit_code == 2
    assert result.output == "Error: models/marts/report.sql:1: ref('zzzz') names no model or seed.\n"


def test_cycle_between_models_prints_the_cycle_with_files(make_project, run_cli):
    root = make_project(
        {
            "models/marts/a.sql": "select * from {{ ref('b') }}",
            "models/marts/b.sql": "select * from {{ ref('c') }}",
            "models/marts/c.sql": "select * from {{ ref('a') }}",
        }
    )
    result = run_cli(root, "build")
    assert result.exit_code == 2
    assert result.output == (
        "Error: Models reference each other in a cycle: a (models/marts/a.sql) -> c (models/marts/c.sql) -> "
        "b (models/marts/b.sql) -> a (models/marts/a.sql). Break the cycle by removing one of these ref() calls.\n"
    )


def test_self_reference_is_a_cycle(make_project, run_cli):
    root = make_project({"models/marts/a.sql": "select * from {{ ref('a') }}"})
    result = run_cli(root, "ls")
    assert result.exit_code == 2
    assert result.output == (
        "Error: Models reference each other in a cycle: a (models/marts/a.sql) -> a (models/marts/a.sql). "
        "Break the cycle by removing one of these ref() calls.\n"
    )


def test_duplicate_model_names_are_an_error(make_project, run_cli):
    root = make_project({"models/other/customers.sql": "select 1"})
    result = run_cli(root, "build")
    assert result.exit_code == 2
    assert result.output == (
        "Error: models/other/customers.sql: Two nodes are named 'customers': models/marts/customers.sql and "
        "models/other/customers.sql. Model, seed and snapshot names must be unique; rename one of the files.\n"
    )
