"""Data tests: queries that select the rows breaking a rule. No rows means the test passes.

:func:`add_tests` turns every test a project declares into a ``test`` node of the manifest, depending on the nodes
it reads:

- generic tests listed under ``data_tests:`` (or ``tests:``) of a model, seed, source or column. The built-ins are
  the tiny ``{% test %}`` templates of :data:`BUILTIN_TESTS`; a project adds its own in ``macros/`` or
  ``tests/generic/``, and they are used from YAML exactly like the built-ins;
- singular tests: the other ``.sql`` files under the test paths;
- unit tests (``unit_tests:`` in YAML), read by :mod:`northstar.checks.unittests`.

:mod:`northstar.checks.run` runs the nodes; :func:`build_dag` makes ``build`` run each model's tests right after it and
hold the model's children until its error-severity tests pass.

>>> generic_test_name("accepted_values", "stg_orders", {"column_name": "status", "values": ["done", "open"]})
'accepted_values_stg_orders_status__done__open'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.nodes

from northstar.checks.config import CONFIG_KEYS, IGNORED_CONFIG_KEYS, read_test_config
from northstar.checks.unittests import unit_test_nodes
from northstar.dag import DAG
from northstar.errors import CompileError, ProjectError, did_you_mean
from northstar.nodes import (
    DataTestNode,
    GenericTestNode,
    ModelNode,
    NodeId,
    SeedNode,
    SingularTestNode,
    SnapshotNode,
    SourceNode,
    TestNode,
    UnitTestNode,
)
from northstar.project.config import resolve_folder_config
from northstar.project.loader import Column, ModelFile, Seed
from northstar.project.yamlfile import expect_mapping
from northstar.render.jinja import Ephemeral, External, Relation, compile_template, render
from northstar.render.manifest import Manifest
from northstar.render.refs import resolve_relation_call
from northstar.render.relations import sql_string

if TYPE_CHECKING:
    import sqlglot
    from sqlglot import exp
else:
    from northstar.lazy import exp, sqlglot

FAILURES_SCHEMA = "test_failures"

# The built-in generic tests. Each selects the failing rows of ``model`` (a relation, or a filtered subquery when
# the test has ``where:``). They follow dbt's and dbt_utils' definitions: NULLs never fail a test other than
# not_null, and accepted_range/expression_is_true take raw SQL values.
BUILTIN_TESTS = """
{% test not_null(model, column_name) %}
select * from {{ model }} where {{ column_name }} is null
{% endtest %}

{% test unique(model, column_name) %}
select {{ column_name }} as unique_field, count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
group by {{ column_name }}
having count(*) > 1
{% endtest %}

{% test accepted_values(model, column_name, values, quote=true) %}
select {{ column_name }} as value_field, count(*) as n_records
from {{ model }}
where {{ column_name }} not in (
  {%- for value in values %}{{ ns_literal(value) if quote else value }}{{ ", " if not loop.last }}{% endfor -%}
)
group by {{ column_name }}
{% endtest %}

{% test relationships(model, column_name, to, field) %}
select ns_child.* from {{ model }} as ns_child
left join (select {{ field }} as ns_to_field from {{ to }} where {{ field }} is not null) as ns_parent
  on ns_child.{{ column_name }} = ns_parent.ns_to_field
where ns_child.{{ column_name }} is not null and ns_parent.ns_to_field is null
{% endtest %}

{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true, min=none, max=none) %}
{%- set low = min_value if min_value is not none else min -%}
{%- set high = max_value if max_value is not none else max -%}
select * from {{ model }}
where not (true
  {%- if low is not none %} and {{ column_name }} {{ ">=" if inclusive else ">" }} {{ low }}{% endif %}
  {%- if high is not none %} and {{ column_name }} {{ "<=" if inclusive else "<" }} {{ high }}{% endif %})
{% endtest %}

{% test expression_is_true(model, expression, column_name=none) %}
select * from {{ model }}
where not ({{ column_name ~ " " if column_name is not none }}{{ expression }})
{% endtest %}

{% test unique_combination(model, combination_of_columns=none, columns=none) %}
{%- set keys = (combination_of_columns or columns) | join(", ") -%}
select {{ keys }}, count(*) as n_records
from {{ model }}
group by {{ keys }}
having count(*) > 1
{% endtest %}

{% test row_count(model, min_value=none, max_value=none, compare_model=none, min=none, max=none) %}
{%- set low = min_value if min_value is not none else min -%}
{%- set high = max_value if max_value is not none else max -%}
{%- if compare_model is not none %}
select counted.row_count, compared.compare_row_count
from (select count(*) as row_count from {{ model }}) as counted
cross join (select count(*) as compare_row_count from {{ compare_model }}) as compared
where counted.row_count <> compared.compare_row_count
{%- else %}
select count(*) as row_count from {{ model }}
having not (true
  {%- if low is not none %} and count(*) >= {{ low }}{% endif %}
  {%- if high is not none %} and count(*) <= {{ high }}{% endif %})
{%- endif %}
{% endtest %}
"""

# dbt_utils names for the same tests, so existing dbt projects keep working (``dbt_utils.`` is stripped too).
ALIASES = {"unique_combination_of_columns": "unique_combination", "equal_rowcount": "row_count"}

# Arguments of the built-ins that take a list; a single string would be read letter by letter.
LIST_ARGUMENTS = {"accepted_values": ("values",), "unique_combination": ("combination_of_columns", "columns")}


def generic_test_name(test_name: str, target: str, args: Mapping[str, Any]) -> str:
    """dbt's name for a generic test: test, model and the flattened arguments.

    >>> generic_test_name("not_null", "fct_orders", {"column_name": "order_id"})
    'not_null_fct_orders_order_id'
    >>> generic_test_name("relationships", "fct_orders", {"column_name": "user_id", "to": "ref('dim_users')",
    ...                   "field": "user_id"})
    'relationships_fct_orders_user_id__user_id__ref_dim_users_'
    """
    flat: list[str] = []
    for key in sorted(args):
        value = args[key]
        if isinstance(value, Mapping):
            parts = list(value.values())
        elif isinstance(value, list | tuple):
            parts = list(value)
        else:
            parts = [value]
        flat.extend(re.sub(r"[^0-9a-zA-Z_]+", "_", str(part)) for part in parts)
    # A package's test (my_utils.is_positive) is named my_utils_is_positive_..., as dbt names it.
    return "_".join(part for part in (test_name.replace(".", "_"), target, "__".join(flat)) if part)


def sql_literal(value: Any) -> str:
    """A Python value as a SQL literal, for accepted_values.

    >>> sql_literal("it's"), sql_literal(3), sql_literal(True)
    ("'it''s'", '3', 'true')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return sql_string(str(value))


# --- reading tests ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Declared:
    """One entry of a ``data_tests:`` list, as written."""

    test_name: str
    args: dict[str, Any]
    config: dict[str, Any]
    name: str | None
    description: str
    line: int | None
    written: str = ""  # as written, with a package's namespace (my_utils.is_positive)


def _declared(entry: Any, path: str, line: int | None) -> _Declared:
    if isinstance(entry, str):
        return _Declared(_canonical(entry), {}, {}, None, "", line, entry.strip())
    if not isinstance(entry, dict) or not entry:
        raise ProjectError(
            f"A test must be a name (`- not_null`) or a mapping (`- accepted_values: {{values: [a, b]}}`), "
            f"got {entry!r}.",
            path,
            line,
        )
    line = getattr(entry, "line", None) or line
    if "test_name" in entry:  # dbt's long form: - name: x, test_name: accepted_values, values: [...]
        body = {k: v for k, v in entry.items() if k != "test_name"}
        test = str(entry["test_name"])
    elif len(entry) == 1:
        test, body = next(iter(entry.items()))
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise ProjectError(
                f"Test '{test}' must be followed by a mapping of its arguments, e.g. `- {test}: {{severity: warn}}`.",
                path,
                line,
            )
    else:
        raise ProjectError(
            f"A test entry has several keys ({', '.join(map(str, entry))}); write one test per list item, "
            "e.g. `- accepted_values: {values: [a, b], severity: warn}`.",
            path,
            line,
        )
    config = dict(expect_mapping(body.get("config"), f"config of test '{test}'", path, line))
    args: dict[str, Any] = {}
    for key, value in body.items():
        if key in ("config", "name", "description"):
            continue
        if key == "arguments":  # dbt 1.10: arguments nested under their own key
            args.update(expect_mapping(value, f"arguments of test '{test}'", path, line))
        elif key in CONFIG_KEYS or key in IGNORED_CONFIG_KEYS:
            config.setdefault(key, value)
        else:
            args[key] = value
    name = body.get("name")
    return _Declared(
        _canonical(str(test)), args, config, str(name) if name else None, body.get("description", ""), line, str(test)
    )


def _canonical(test: str) -> str:
    test = test.strip().rsplit(".", 1)[-1]  # dbt_utils.accepted_range -> accepted_range
    return ALIASES.get(test, test)


def _target_sql(
    node: ModelNode | SeedNode | SnapshotNode | SourceNode, where: str | None, path: str, line: int | None
) -> str:
    """What a generic test reads as ``model``: the relation, or a filtered subquery for ``where:``."""
    relation = node.reads_as
    if where is None and not isinstance(relation, Ephemeral):
        return str(relation)
    if isinstance(relation, Relation):
        source: exp.Expr = exp.Table(this=exp.to_identifier(relation.identifier), db=exp.to_identifier(relation.schema))
    elif isinstance(relation, External):
        source = sqlglot.parse_one(relation.render(), dialect="duckdb")
    else:  # an ephemeral model has no relation: test its SQL
        assert isinstance(node, ModelNode), node
        parsed = sqlglot.parse_one(node.sql, dialect="duckdb")
        assert isinstance(parsed, exp.Query), node  # a model is one query (checked when it was compiled)
        source = parsed.subquery()
    query = exp.select("*").from_(source)
    if where is not None:
        try:
            query = query.where(sqlglot.condition(where, dialect="duckdb"))
        except sqlglot.errors.SqlglotError as error:  # ParseError, or TokenError: an unclosed quote
            detail = ": a quote is not closed" if isinstance(error, sqlglot.errors.TokenError) else ""
            raise ProjectError(
                f"where: {where!r} is not a SQL condition{detail}. Write one such as status = 'completed'.", path, line
            ) from None
    return query.subquery().sql(dialect="duckdb")


@dataclass(frozen=True)
class _Target:
    """A node tests are declared on: its id, the name used in test names, and its columns and tests."""

    node: ModelNode | SeedNode | SnapshotNode | SourceNode
    prefix: str  # "" for models and seeds, "source_" for sources (dbt's source_not_null_...)
    label: str  # stg_orders, or raw_orders for source raw.orders
    display: str
    yaml_path: str
    line: int | None
    columns: tuple[Column, ...]
    tests: tuple[Any, ...]


def _targets(manifest: Manifest) -> list[_Target]:
    project = manifest.project
    files: tuple[ModelFile | Seed, ...] = (*project.models, *project.seeds)
    lines = {f.name: f.properties.line for f in files if f.properties is not None}
    targets = []
    for node in manifest.nodes.values():
        if isinstance(node, SnapshotNode) and node.yaml_path is not None:
            targets.append(
                _Target(node, "", node.name, node.name, node.yaml_path, node.yaml_line, node.columns, node.tests)
            )
        elif isinstance(node, ModelNode | SeedNode):
            if node.yaml_path is None:
                continue
            line = lines.get(node.name)
            targets.append(_Target(node, "", node.name, node.name, node.yaml_path, line, node.columns, node.tests))
        elif isinstance(node, SourceNode):
            label = f"{node.source_name}_{node.name}"
            display = f"{node.source_name}.{node.name}"
            targets.append(_Target(node, "source_", label, display, node.path, node.line, node.columns, node.tests))
    return targets


class _Compiler:
    """Renders test templates with the project's macros, its generic tests and the built-ins."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        project = manifest.project
        base = manifest.render_env
        env = base.env
        generic_files = [path for path in project.test_files if _is_generic_file(project.config.test_paths, path)]
        builtin = compile_template(env, BUILTIN_TESTS, "<northstar built-in tests>", base.code_store)
        extra = tuple(
            compile_template(env, (project.root / path).read_text(encoding="utf-8"), path) for path in generic_files
        )
        # Project macros come after the built-ins, so a project may redefine a built-in test, as in dbt.
        self.renv = replace(base, macros=(builtin, *base.macros, *extra))
        self.known = _test_macros(env, BUILTIN_TESTS, "<built-in>")
        for path in (*project.macro_files, *generic_files):
            self.known.update(_test_macros(env, (project.root / path).read_text(encoding="utf-8"), path))
        # A package's generic test is named `package.test` under data_tests: (bare, dbt does not find it either).
        for package, files in project.package_macro_files.items():
            for path in files:
                for name, signature in _test_macros(env, (project.root / path).read_text("utf-8"), path).items():
                    self.known[f"{package}.{name}"] = signature
        self.generic_files = set(generic_files)
        self._templates: dict[str, jinja2.Template] = {}

    def call_template(self, test_name: str) -> jinja2.Template:
        if test_name not in self._templates:
            package, _, name = test_name.rpartition(".")
            source = "{{ " + (package + "." if package else "") + "test_" + name + "(**__ns_args) }}"
            self._templates[test_name] = compile_template(self.renv.env, source, "")
        return self._templates[test_name]

    def render(self, template: jinja2.Template, source: str, path: str, args: Mapping[str, Any] | None = None) -> Any:
        return render(
            self.renv, template, source, path, extra={"__ns_args": dict(args or {}), "ns_literal": sql_literal}
        )


def _is_generic_file(test_paths: Iterable[str], path: str) -> bool:
    parts = PurePosixPath(path).parts
    for base in test_paths:
        base_parts = PurePosixPath(base).parts
        if parts[: len(base_parts)] == base_parts and len(parts) > len(base_parts) + 1:
            return parts[len(base_parts)] == "generic"
    return False


@dataclass(frozen=True)
class _Signature:
    """A generic test's parameters, to check YAML arguments before rendering."""

    params: tuple[str, ...]
    required: tuple[str, ...]
    open: bool  # the macro reads ``kwargs``: any argument goes


# Only a file with a `{% test %}` block or a `test_` macro defines generic tests. Most macro files (a package's
# hundred) have neither, and parsing each of them again here cost 0.2 s of every command of a project using one.
# (A syntax error in such a file is still reported, by the macros' own compilation.)
_DEFINES_TESTS = re.compile(r"\{%[-+]?\s*(?:test\s|macro\s+test_)")


def _test_macros(env: jinja2.Environment, source: str, path: str) -> dict[str, _Signature]:
    if not _DEFINES_TESTS.search(source):
        return {}
    try:
        tree = env.parse(source, name=path, filename=path)
    except jinja2.TemplateSyntaxError as error:
        raise CompileError(f"Jinja syntax error: {error.message}.", path, error.lineno) from None
    found = {}
    for macro in tree.find_all(jinja2.nodes.Macro):
        if macro.name.startswith("test_"):
            params = tuple(arg.name for arg in macro.args)
            required = params[: len(params) - len(macro.defaults)]
            reads_kwargs = any(name.name == "kwargs" for name in macro.find_all(jinja2.nodes.Name))
            found[macro.name[len("test_") :]] = _Signature(params, required, reads_kwargs)
    return found


def _check_arguments(signature: _Signature, args: Mapping[str, Any], where: str, path: str, line: int | None) -> None:
    given = {"model", *args}
    for arg in args:
        if arg not in signature.params and not signature.open:
            choices = [p for p in signature.params if p not in ("model", "column_name")]
            raise ProjectError(
                f"{where}: unknown argument '{arg}'.{did_you_mean(arg, choices)} "
                f"Its arguments: {', '.join(choices) or 'none'}.",
                path,
                line,
            )
    missing = [p for p in signature.required if p not in given]
    if missing:
        what = "a column (declare it under a column's data_tests)" if missing == ["column_name"] else None
        raise ProjectError(
            f"{where}: needs {what or 'argument ' + ', '.join(repr(m) for m in missing)}.",
            path,
            line,
        )


def _generic_tests(manifest: Manifest, compiler: _Compiler, defaults: Mapping[str, Any]) -> list[GenericTestNode]:
    project_name = manifest.project.config.name
    tests = []
    for target in _targets(manifest):
        entries: list[tuple[Column | None, Any, int | None]] = [(None, test, target.line) for test in target.tests]
        entries += [(column, test, column.line) for column in target.columns for test in column.tests]
        for column, entry, line in entries:
            declared = _declared(entry, target.yaml_path, line)
            tests.append(_generic_test(manifest, compiler, defaults, project_name, target, column, declared))
    return [test for test in tests if test.config.enabled]


def _generic_test(
    manifest: Manifest,
    compiler: _Compiler,
    defaults: Mapping[str, Any],
    project_name: str,
    target: _Target,
    column: Column | None,
    declared: _Declared,
) -> GenericTestNode:
    path, line = target.yaml_path, declared.line
    if declared.written in compiler.known:  # an installed package's test, rather than Northstar's stand-in
        declared = replace(declared, test_name=declared.written)
    where = f"Test '{declared.test_name}' on {target.display}" + (f".{column.name}" if column else "")
    if declared.test_name not in compiler.known:
        raise ProjectError(
            f"{where}: there is no generic test '{declared.test_name}'."
            f"{did_you_mean(declared.test_name, compiler.known)} Built-in tests: "
            "not_null, unique, accepted_values, relationships, accepted_range, expression_is_true, "
            "unique_combination, row_count; define your own with {% test name(model, column_name) %} in macros/ "
            "or tests/generic/.",
            path,
            line,
        )
    config = read_test_config(declared.config, defaults, where, path, line)
    if column is not None and column.tags:  # a column's tags are its tests', as in dbt
        config = replace(config, tags=tuple(dict.fromkeys((*config.tags, *column.tags))))
    args = dict(declared.args)
    if column is not None:
        args.setdefault("column_name", column.name)
    _check_arguments(compiler.known[declared.test_name], args, where, path, line)
    for key in LIST_ARGUMENTS.get(declared.test_name, ()):
        if key in args and not isinstance(args[key], list):
            raise ProjectError(f"{where}: {key} must be a list, e.g. `{key}: [a, b]`.", path, line)
    name = declared.name or generic_test_name(target.prefix + declared.test_name, target.label, args)
    depends = [target.node.unique_id]
    call_args: dict[str, Any] = {"model": _target_sql(target.node, config.where, path, line)}
    for key, value in args.items():
        resolved = resolve_relation_call(manifest.render_env, manifest.by_name, value, path, line)
        if resolved is not None:
            call_args[key] = resolved[0]
            depends.append(resolved[1])
        else:
            call_args[key] = value
    template = compiler.call_template(declared.test_name)
    try:
        rendered = compiler.render(template, "", path, call_args)
    except CompileError as error:
        raise CompileError(f"{where} cannot be rendered: {error.message}", path, line) from None
    depends += [manifest.by_name[r] for r in rendered.refs]
    depends += [manifest.by_name[f"{s}.{t}"] for s, t in rendered.sources]
    return GenericTestNode(
        unique_id=NodeId("test", project_name, name),
        name=name,
        path=path,
        line=line,
        test_name=declared.test_name,
        sql=rendered.sql.strip().rstrip(";").strip(),
        depends_on=tuple(dict.fromkeys(depends)),
        config=config,
        attached_node=target.node.unique_id,
        args=args,
        model_name=target.display,
        column_name=column.name if column else args.get("column_name"),
        description=str(declared.description or ""),
    )


def _singular_tests(manifest: Manifest, compiler: _Compiler, defaults: Mapping[str, Any]) -> list[SingularTestNode]:
    project = manifest.project
    tests = []
    for path in project.test_files:
        if path in compiler.generic_files:
            continue
        source = (project.root / path).read_text(encoding="utf-8")
        template = compile_template(compiler.renv.env, source, path)
        rendered = compiler.render(template, source, path)
        name = PurePosixPath(path).stem
        config = read_test_config(rendered.config, defaults, f"Test '{name}'", path, None)
        depends = [manifest.by_name[r] for r in rendered.refs]
        depends += [manifest.by_name[f"{s}.{t}"] for s, t in rendered.sources]
        if not config.enabled:
            continue
        tests.append(
            SingularTestNode(
                unique_id=NodeId("test", project.config.name, name),
                name=name,
                path=path,
                line=None,
                test_name=name,
                sql=rendered.sql.strip().rstrip(";").strip(),
                depends_on=tuple(dict.fromkeys(depends)),
                config=config,
                model_name=", ".join(manifest.nodes[d].name for d in dict.fromkeys(depends)) or None,
                raw_sql=source,
            )
        )
    return tests


def add_tests(manifest: Manifest) -> Manifest:
    """The manifest with every data test and unit test of the project added as a test node.

    Test names are unique within the project; a duplicate is an error that asks for ``name:``.
    """
    # dbt nests project-wide test config under the project name; both spellings work.
    config = manifest.project.config
    defaults = resolve_folder_config(config.data_tests, (config.name,))
    compiler = _Compiler(manifest)
    tests: list[TestNode] = [
        *_generic_tests(manifest, compiler, defaults),
        *_singular_tests(manifest, compiler, defaults),
        *unit_test_nodes(manifest),
    ]
    if not tests:
        return manifest
    nodes = dict(manifest.nodes)
    by_name = dict(manifest.by_name)
    for test in tests:
        if test.unique_id in nodes or test.name in by_name:
            other = nodes.get(test.unique_id) or manifest.node(test.name)
            raise ProjectError(
                f"Two tests (or a test and a node) are named '{test.name}' (the other is in {other.location}). "
                "Give one of them a unique `name:`.",
                test.path,
                test.line,
            )
        nodes[test.unique_id] = test
        by_name[test.name] = test.unique_id
    parents = {**manifest.dag.parents, **{test.unique_id: test.depends_on for test in tests}}
    return replace(manifest, nodes=nodes, dag=DAG(parents), by_name=by_name)


def with_tests(manifest: Manifest, chosen: set[NodeId], excluded: set[NodeId]) -> set[NodeId]:
    """dbt's eager indirect selection: add the tests reading any chosen node, drop those reading any excluded one."""
    result = set(chosen)
    for uid, node in manifest.nodes.items():
        if not node.is_test:
            continue
        reads = set(node.depends_on)
        if uid in excluded or reads & excluded:
            result.discard(uid)
        elif reads & chosen:
            result.add(uid)
    return result


def failure_relations(manifest: Manifest) -> frozenset[tuple[str, str]]:
    """The tables ``--store-failures`` may write: the build owns them."""
    return frozenset((FAILURES_SCHEMA, node.name) for node in manifest.nodes.values() if isinstance(node, DataTestNode))


def build_dag(manifest: Manifest, selected: Iterable[NodeId]) -> DAG[NodeId]:
    """The DAG ``build`` runs: a model waits for its unit tests, and a node waits for the error-severity tests of
    its ancestors.

    As in dbt, a test blocks every descendant that reads all the nodes the test reads, so a relationships test
    between two models holds only the nodes built from both. A failing test then skips everything downstream.
    """
    dag = manifest.dag
    parents = {uid: set(deps) for uid, deps in dag.parents.items()}
    ancestors: dict[NodeId, set[NodeId]] = {}
    descendants: dict[NodeId, set[NodeId]] = {}
    for uid in selected:
        node = manifest.nodes[uid]
        if isinstance(node, UnitTestNode):  # checks its model's SQL before the model is built
            parents[uid] = set()
            parents[node.depends_on[0]].add(uid)
            continue
        if not isinstance(node, TestNode) or node.config.severity != "error":
            continue
        deps = set(node.depends_on)
        for dep in deps:
            if dep not in descendants:
                descendants[dep] = dag.downstream(dep)
            for child in descendants[dep]:
                if child in deps or manifest.nodes[child].is_test:
                    continue
                if child not in ancestors:
                    ancestors[child] = dag.upstream(child)
                if deps <= ancestors[child]:
                    parents[child].add(uid)
    return DAG(parents)
