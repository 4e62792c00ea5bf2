"""Render Jinja SQL with dbt's context: ``ref``, ``source``, ``var``, ``config``, ``this``, macros and friends.

Each model renders once: ``ref()`` and ``source()`` record the dependency and return the final relation in the same
pass. Relation names depend on other models' ``config(schema=..., alias=..., materialized=...)``, so those are read
beforehand from the Jinja AST (:func:`static_config`), which is why they must be literal values.

>>> env = make_environment()
>>> static_config(env, "{{ config(materialized='table', tags=['daily']) }} select 1", "m.sql")
{'materialized': 'table', 'tags': ['daily']}
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import itertools
import json
import re
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import CodeType
from typing import Any, Protocol

import jinja2
import jinja2.ext
import jinja2.nodes
import jinja2.parser
import yaml

from northstar.errors import CompileError, NorthstarError, did_you_mean
from northstar.project.config import refreshes
from northstar.render.dbt_builtins import BUILTIN_MACROS, BUILTIN_MACROS_PATH
from northstar.render.introspect import Column, Introspector, Introspects, ParseUndefined, Refused
from northstar.render.relations import (
    EPHEMERAL_PREFIX,
    Ephemeral,
    External,
    Relation,
    quote,
    quote_always,
    sql_string,
)

__all__ = ["EPHEMERAL_PREFIX", "Ephemeral", "External", "Relation", "quote", "quote_always", "sql_string"]


@dataclass(frozen=True)
class Rendered:
    """The output of rendering one template."""

    sql: str
    refs: tuple[str, ...]
    sources: tuple[tuple[str, str], ...]
    config: Mapping[str, Any] = field(default_factory=dict)


# dbt's var('x', none) returns None: a default of None is still a default, so "no default" needs its own marker.
_NO_DEFAULT: Any = object()


def render_property(text: str, vars: Mapping[str, Any], env_vars: Mapping[str, str], path: str | Path) -> str:
    """Render Jinja in a YAML property value (as dbt does), with only ``var()`` and ``env_var()`` available.

    >>> render_property("{{ var('dir', '') }}/{name}.parquet", {"dir": "data"}, {}, "sources.yml")
    'data/{name}.parquet'
    """
    if "{{" not in text and "{%" not in text:
        return text

    def var(name: str, default: Any = _NO_DEFAULT) -> Any:
        if name in vars:
            return vars[name]
        if default is _NO_DEFAULT:
            raise CompileError(f"var('{name}') is not defined. Set it under `vars:` or pass --vars.", path)
        return default

    def env_var(name: str, default: Any = _NO_DEFAULT) -> Any:
        if name in env_vars:
            return env_vars[name]
        if default is _NO_DEFAULT:
            raise CompileError(
                f"env_var('{name}') is not set in the environment and has no default. "
                f"Export {name}=... or use env_var('{name}', 'default').",
                path,
            )
        return default

    try:
        return jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(text).render(var=var, env_var=env_var)
    except jinja2.TemplateError as error:
        raise CompileError(f"Cannot render {text!r}: {error}.", path) from None


class _MacroReturn(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


def _return(value: Any = None) -> None:
    raise _MacroReturn(value)


def _wrap_macro(macro: Callable[..., Any]) -> Callable[..., Any]:
    """Make dbt's ``{{ return(x) }}`` work: the macro call evaluates to ``x``."""

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return macro(*args, **kwargs)
        except _MacroReturn as result:
            return result.value

    return call


class TestBlock(jinja2.ext.Extension):
    """dbt's ``{% test name(model, column_name, ...) %} ... {% endtest %}``: a macro called ``test_<name>``."""

    __test__ = False  # not a pytest class
    tags = {"test"}

    def parse(self, parser: jinja2.parser.Parser) -> jinja2.nodes.Macro:
        node = jinja2.nodes.Macro(lineno=next(parser.stream).lineno)
        node.name = "test_" + parser.parse_assign_target(name_only=True).name
        parser.parse_signature(node)
        node.body = parser.parse_statements(("name:endtest",), drop_needle=True)
        return node


def make_environment() -> jinja2.Environment:
    return jinja2.Environment(
        # TestBlock reads dbt's {% test %} blocks (custom generic tests) in macro files.
        extensions=[jinja2.ext.do, jinja2.ext.loopcontrols, TestBlock],
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def syntax_error(error: jinja2.TemplateSyntaxError, path: str) -> CompileError:
    """A Jinja syntax error against the user's file and line (Jinja's messages may or may not end with a period)."""
    return CompileError(f"Jinja syntax error: {(error.message or 'invalid syntax').rstrip('.')}.", path, error.lineno)


def compile_template(
    env: jinja2.Environment, source: str, path: str, store: CodeStore | None = None
) -> jinja2.Template:
    """Compile once; syntax errors name the file and line. ``store`` keeps the code of a named template between
    runs (the built-in tests' template: ~40 ms to compile)."""
    try:
        return env.from_string(source) if not path else _compile_named(env, source, path, store)
    except jinja2.TemplateSyntaxError as error:
        raise syntax_error(error, path) from None


def _compile_named(env: jinja2.Environment, source: str, path: str, store: CodeStore | None) -> jinja2.Template:
    codes = store.codes(env, source, path, "template") if store is not None else None
    if codes is None:
        codes = (env.compile(source, name=path, filename=path),)
        if store is not None:
            store.keep_codes(env, source, path, "template", codes)
    return env.template_class.from_code(env, codes[0], env.make_globals(None))


class CodeStore(Protocol):
    """Compiled Jinja code kept between runs (``render/parse_cache.py``), by the file's path and text and how it was
    compiled (``kind``: one template per macro, or the whole template)."""

    def codes(self, env: jinja2.Environment, source: str, path: str, kind: str) -> tuple[CodeType, ...] | None: ...

    def keep_codes(
        self, env: jinja2.Environment, source: str, path: str, kind: str, codes: tuple[CodeType, ...]
    ) -> None: ...

    def save(self) -> None: ...


def compile_macros(
    env: jinja2.Environment, source: str, path: str, store: CodeStore | None = None
) -> tuple[jinja2.Template, ...]:
    """One template per ``{% macro %}`` of a macro file, as dbt stores them.

    Compiled apart, a macro that calls another one finds it by name in the render context (where it is wrapped to
    honour ``{{ return(...) }}``) instead of the unwrapped sibling Jinja would bind within the same file. Jinja's
    parser and code generator cost ~1 ms a macro; ``store`` keeps the code of a file seen before (a file that does not
    compile is never kept, so its error is raised again).
    """
    codes = macro_codes(env, source, path, store)
    return tuple(env.template_class.from_code(env, code, env.make_globals(None)) for code in codes)


def macro_codes(
    env: jinja2.Environment, source: str, path: str, store: CodeStore | None = None
) -> tuple[CodeType, ...]:
    """The Python code of each macro of a macro file, from ``store`` when it has them."""
    codes = store.codes(env, source, path, "macros") if store is not None else None
    if codes is None:
        codes = _compile_each_macro(env, source, path)
        if store is not None:
            store.keep_codes(env, source, path, "macros", codes)
    return codes


def _compile_each_macro(env: jinja2.Environment, source: str, path: str) -> tuple[CodeType, ...]:
    try:
        tree = env.parse(source, name=path, filename=path)
    except jinja2.TemplateSyntaxError as error:
        raise syntax_error(error, path) from None
    codes = []
    for node in tree.body:
        if isinstance(node, jinja2.nodes.Macro):
            single = jinja2.nodes.Template([node], lineno=node.lineno)
            codes.append(env.compile(single, name=path, filename=path))
    return tuple(codes)


@dataclass(frozen=True)
class Call:
    """``{{ name(constant, ...) }}`` or ``{{ name }}``: the only expressions most models use."""

    name: str
    args: tuple[Any, ...] | None  # None: a bare name, not a call
    kwargs: tuple[tuple[str, Any], ...]
    line: int


@dataclass(frozen=True)
class SimpleTemplate:
    """A template made only of text and ``{{ ref('x') }}``-like calls with literal arguments.

    Jinja spends most of its time generating and compiling Python code for a template; for these templates,
    evaluating the parsed parts directly gives the same text in a fraction of the time (:func:`prepare_template`).
    """

    parts: tuple[str | Call, ...]


def prepare_template(
    env: jinja2.Environment, tree: jinja2.nodes.Template, path: str
) -> jinja2.Template | SimpleTemplate:
    """A parsed model, ready to render: a :class:`SimpleTemplate` when possible, else a compiled Jinja template.

    >>> env = make_environment()
    >>> prepare_template(env, env.parse("select * from {{ ref('a') }}"), "m.sql").parts[0]
    'select * from '
    """
    parts = _simple_parts(tree)
    if parts is not None:
        return SimpleTemplate(parts)
    code = env.compile(tree, name=path, filename=path)
    return env.template_class.from_code(env, code, env.make_globals(None))


def _simple_parts(tree: jinja2.nodes.Template) -> tuple[str | Call, ...] | None:
    parts: list[str | Call] = []
    for statement in tree.body:
        if not isinstance(statement, jinja2.nodes.Output):
            return None
        for node in statement.nodes:
            if isinstance(node, jinja2.nodes.TemplateData):
                parts.append(node.data)
            elif isinstance(node, jinja2.nodes.Const):
                parts.append(str(node.value))
            elif isinstance(node, jinja2.nodes.Name):
                parts.append(Call(node.name, None, (), node.lineno))
            elif (
                isinstance(node, jinja2.nodes.Call)
                and isinstance(node.node, jinja2.nodes.Name)
                and node.dyn_args is None
                and node.dyn_kwargs is None
            ):
                try:
                    args = tuple(arg.as_const() for arg in node.args)
                    kwargs = tuple((kw.key, kw.value.as_const()) for kw in node.kwargs)
                except jinja2.nodes.Impossible:
                    return None
                parts.append(Call(node.node.name, args, kwargs, node.lineno))
            else:
                return None
    return tuple(parts)


def _render_simple(template: SimpleTemplate, context: Mapping[str, Any], env: jinja2.Environment, at: list[int]) -> str:
    """Evaluate a :class:`SimpleTemplate` as Jinja would; ``at`` receives the line being evaluated, for errors."""
    out = []
    for part in template.parts:
        if isinstance(part, str):
            out.append(part)
            continue
        at[0] = part.line
        if part.name in context:
            value = context[part.name]
        elif part.name in env.globals:
            value = env.globals[part.name]
        else:
            raise jinja2.UndefinedError(f"'{part.name}' is undefined")
        if part.args is not None:
            value = value(*part.args, **dict(part.kwargs))
        out.append(str(value))
    return "".join(out)


def static_config(env: jinja2.Environment, source: str, path: str) -> dict[str, Any]:
    """The literal keyword arguments of every ``config(...)`` call in a template."""
    return config_literals(parse_template(env, source, path))[0]


def parse_template(env: jinja2.Environment, source: str, path: str) -> jinja2.nodes.Template:
    """The Jinja AST of a template; a syntax error names the file and line."""
    try:
        return env.parse(source, name=path, filename=path)
    except jinja2.TemplateSyntaxError as error:
        raise syntax_error(error, path) from None


def config_literals(tree: jinja2.nodes.Template) -> tuple[dict[str, Any], dict[str, int]]:
    """The literal keyword arguments of every ``config(...)`` call in a parsed template, and the keys given any other
    expression (known only once rendered) with the line of their first such call."""
    found: dict[str, Any] = {}
    dynamic: dict[str, int] = {}
    for call in tree.find_all(jinja2.nodes.Call):
        if isinstance(call.node, jinja2.nodes.Name) and call.node.name == "config":
            for keyword in call.kwargs:
                try:
                    found[keyword.key] = keyword.value.as_const()
                except jinja2.nodes.Impossible:
                    dynamic.setdefault(keyword.key, call.lineno)
    return found, dynamic


def line_of(source: str, pattern: str) -> int | None:
    """The 1-based line of the first regex match in ``source``, used to place errors raised mid-render."""
    match = re.search(pattern, source)
    return source.count("\n", 0, match.start()) + 1 if match else None


def template_line(error: BaseException, path: str) -> int | None:
    """The template line an exception was raised from (Jinja rewrites tracebacks to template lines)."""
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == path:
            line = frame.lineno
    return line


class _Exceptions:
    """dbt's ``exceptions`` namespace."""

    def __init__(self, path: str, warn: Callable[[str], None]) -> None:
        self._path = path
        self._warn = warn

    def raise_compiler_error(self, message: str) -> None:
        raise CompileError(str(message), self._path)

    def warn(self, message: str) -> str:
        self._warn(f"{self._path}: {message}")
        return ""


@dataclass(frozen=True)
class RenderEnv:
    """What every render needs: the compiled macros, the relations of all nodes, vars, target and env vars."""

    env: jinja2.Environment
    macros: tuple[jinja2.Template, ...]  # the root project's
    relations: Mapping[str, Relation | Ephemeral]
    sources: Mapping[tuple[str, str], Relation | External]
    vars: Mapping[str, Any]
    target: Mapping[str, Any]
    project_name: str
    env_vars: Mapping[str, str]
    existing_relations: frozenset[tuple[str, str]] = frozenset()
    full_refresh: bool = False
    warn: Callable[[str], None] = print
    run_started_at: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))
    invocation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # Installed packages' macros by package name (dbt_packages/<name>/macros), and the project's `dispatch:` config:
    # macro namespace -> the packages adapter.dispatch searches, in order.
    package_macros: Mapping[str, tuple[jinja2.Template, ...]] = field(default_factory=dict)
    dispatch: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    package_vars: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # a package's nodes see these
    code_store: CodeStore | None = field(default=None, compare=False, repr=False)  # macro code kept between runs
    node_packages: Mapping[str, str] = field(default_factory=dict)  # model or seed name -> its package's name
    # A versioned model's name -> each version (as text) -> that version's model (<model>_v<v>); the model's name
    # alone is in `relations` as its latest version.
    versions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @cached_property
    def macro_scope(self) -> MacroScope:
        """The macros, instantiated once: making a Jinja module per macro per model cost ~0.5 ms a model at 30."""
        builtins = builtin_macros(self.env, self.code_store)
        namespaces = {"dbt": builtins, **self.package_macros, self.project_name: self.macros}
        return MacroScope(self.project_name, namespaces, self.dispatch)


_BUILTIN_CODE: list[tuple[CodeType, ...]] = []


def builtin_macros(env: jinja2.Environment, store: CodeStore | None = None) -> tuple[jinja2.Template, ...]:
    """dbt's built-in macros for ``env``; their Python code is generated once per process (~85 macros, ~60 ms), or
    read from ``store``."""
    if not _BUILTIN_CODE:
        _BUILTIN_CODE.append(macro_codes(env, BUILTIN_MACROS, BUILTIN_MACROS_PATH, store))
    return tuple(env.template_class.from_code(env, code, env.make_globals(None)) for code in _BUILTIN_CODE[0])


class Namespace:
    """A package's macros as ``{{ package.macro(...) }}`` reaches them (``dbt.dateadd``, ``my_utils.star``)."""

    def __init__(self, name: str, functions: Mapping[str, Callable[..., Any]]) -> None:
        self._name = name
        self._functions = functions

    def __getattr__(self, macro: str) -> Callable[..., Any]:
        if macro.startswith("__"):
            raise AttributeError(macro)
        if macro not in self._functions:
            public = [name for name in self._functions if not name.startswith(("default__", "duckdb__"))]
            raise CompileError(f"Macro '{self._name}.{macro}' does not exist.{did_you_mean(macro, public)}")
        return self._functions[macro]

    __getitem__ = __getattr__

    def __contains__(self, macro: str) -> bool:
        return macro in self._functions


class MacroScope:
    """Macro functions bound to one namespace dict that :func:`render` refills for each model, under a lock.

    Jinja macros look names up (``ref``, ``this``, other macros) in the mapping given to ``make_module`` when they
    run, not when they are made, so one set of modules serves every model. As in dbt, a macro finds a bare name where
    the node being rendered would: its package's macros, the root project's, dbt's (so a package's macro calls its
    siblings as ``my_utils.x``, not ``x``, when a root model calls it).
    """

    def __init__(
        self,
        root: str,
        namespaces: Mapping[str, tuple[jinja2.Template, ...]],
        dispatch: Mapping[str, tuple[str, ...]],
    ) -> None:
        self.root = root
        self.names: dict[str, Any] = {}
        self.lock = threading.RLock()
        self.dispatch_orders = dispatch
        self.namespaces: dict[str, dict[str, Callable[..., Any]]] = {name: {} for name in namespaces}
        self._bare: dict[str, dict[str, Callable[..., Any]]] = {}
        for name, templates in namespaces.items():
            for macro_template in templates:
                module = macro_template.make_module(vars=self.names, shared=True)
                for macro, value in vars(module).items():
                    if not macro.startswith("_") and callable(value):
                        self.namespaces[name][macro] = _wrap_macro(value)

    def bare(self, package: str) -> dict[str, Callable[..., Any]]:
        """The macros a node of ``package`` calls by bare name: its package's, the root project's, dbt's."""
        if package not in self._bare:
            found: dict[str, Callable[..., Any]] = {}
            for name in reversed(list(dict.fromkeys((package, self.root, "dbt")))):
                found.update(self.namespaces.get(name, {}))
            self._bare[package] = found
        return self._bare[package]

    @cached_property
    def objects(self) -> dict[str, Namespace]:
        """Each package's macros under its name: ``dbt``, the project's own name, installed packages."""
        return {name: Namespace(name, functions) for name, functions in self.namespaces.items()}

    def search_order(self, namespace: str | None) -> tuple[str, ...]:
        """Where ``adapter.dispatch(name, namespace)`` looks, as dbt: the project's ``dispatch:`` order for the
        namespace; the root project then dbt for dbt's own macros (or no namespace); else the namespace alone."""
        if namespace is None:
            return (self.root, "dbt")
        if namespace in self.dispatch_orders:
            return self.dispatch_orders[namespace]
        if namespace == "dbt":
            return (self.root, "dbt")
        return (namespace,)

    def dispatch(self, macro_name: str, namespace: str | None) -> Callable[..., Any]:
        if not isinstance(macro_name, str) or "." in macro_name:
            raise CompileError(
                f"adapter.dispatch({macro_name!r}): give the macro name and its package apart, "
                "e.g. adapter.dispatch('star', 'my_utils')."
            )
        order = self.search_order(namespace)
        for package in order:
            if package not in self.namespaces:
                raise CompileError(
                    f"adapter.dispatch('{macro_name}', '{namespace}') searches package '{package}', which is not "
                    f"installed.{did_you_mean(package, self.namespaces)} Run `dbt deps`, or fix the `dispatch:` "
                    "search_order in dbt_project.yml."
                )
            for prefix in ("duckdb__", "default__"):
                found = self.namespaces[package].get(prefix + macro_name)
                if found is not None:
                    return found
        prefixes = ("duckdb__", "default__")
        searched = ", ".join(f"'{package}.{prefix}{macro_name}'" for package in order for prefix in prefixes)
        raise CompileError(
            f"adapter.dispatch('{macro_name}', '{namespace}') found no implementation. Searched for: {searched}."
        )


def render(
    renv: RenderEnv,
    template: jinja2.Template | SimpleTemplate,
    source: str,
    path: str,
    this: Relation | None = None,
    materialized: str | None = None,
    extra: Mapping[str, Any] | None = None,
    package: str | None = None,
    introspector: Introspector | None = None,
    edges: Edges | None = None,
    full_refresh: bool | None = None,
) -> Rendered:
    """Render one compiled template; every failure becomes a :class:`CompileError` naming ``path`` and a line.

    ``introspector`` answers ``run_query``, ``statement`` and the adapter's questions (:mod:`introspect`); by
    default they are refused. A :class:`Introspects` raised by a probe passes through. ``edges``: the only
    ``ref()``/``source()`` calls allowed, when the DAG was made before this render (a model rendered during the build).
    ``full_refresh``: the model's own ``full_refresh`` config, which ``is_incremental()`` obeys over the flag.
    """
    calls = _ModelCalls(renv, source, path, this, materialized, package, edges, full_refresh)
    scope = renv.macro_scope
    context: dict[str, Any] = {
        **base_context(renv, path, introspector),
        "ref": calls.ref,
        "source": calls.source,
        "var": calls.var,
        "env_var": calls.env_var,
        "config": calls.config,
        "this": this,
        "is_incremental": calls.is_incremental,
        "model": {"name": this.identifier if this else None, "path": path},
        **(extra or {}),
    }
    context["builtins"] = {"ref": calls.ref, "source": calls.source, "config": calls.config}
    context.update(scope.bare(package or renv.project_name))
    at = [0]  # the line a SimpleTemplate is evaluating; compiled templates report theirs through the traceback
    try:
        with scope.lock, _parse_undefined(renv.env, introspector is not None and not introspector.execute):
            scope.names.clear()
            scope.names.update(context)
            if isinstance(template, SimpleTemplate):
                sql = _render_simple(template, context, renv.env, at)
            else:
                sql = template.render(context)
    except Introspects as signal:
        signal.line = template_line(signal, path) or at[0] or None
        raise
    except NorthstarError as error:
        if error.path is None:
            error.path = path
        if error.line is None and error.path == path:
            error.line = template_line(error, path) or at[0] or None
        raise
    except jinja2.TemplateError as error:
        raise CompileError(f"Jinja error: {error}.", path, template_line(error, path) or at[0] or None) from None
    except Exception as error:  # an error in user Jinja code: report it against the user's file
        message = f"{type(error).__name__} while rendering: {error}"
        raise CompileError(message, path, template_line(error, path) or at[0] or None) from None
    return Rendered(
        sql=sql,
        refs=tuple(dict.fromkeys(calls.refs)),
        sources=tuple(dict.fromkeys(calls.sources)),
        config=calls.configured,
    )


@contextlib.contextmanager
def _parse_undefined(env: jinja2.Environment, lenient: bool) -> Iterator[None]:
    """Render as dbt parses (``execute`` false): a name that is not set (one set only when ``execute`` is true)
    is an empty value, not an error. Renders hold the macro scope's lock, so no other render sees the environment
    meanwhile."""
    if not lenient:
        yield
        return
    strict = env.undefined
    env.undefined = ParseUndefined
    try:
        yield
    finally:
        env.undefined = strict


@dataclass(frozen=True)
class Edges:
    """The ``ref()``/``source()`` calls a model made when the DAG was built (as dbt parses it, ``execute`` false).
    A call made only later (inside ``{% if execute %}``, in a ``statement`` block) came too late for the DAG: the
    node it names may not be built yet. dbt refuses it the same way and asks for a ``-- depends_on:`` comment."""

    model: str
    refs: frozenset[str]
    sources: frozenset[tuple[str, str]]

    def late(self, call: str, name: str) -> CompileError:
        return CompileError(
            f"Model '{self.model}' calls {call} only while it runs (inside {{% if execute %}} or a statement "
            f"block), so the build did not know it reads '{name}' and may not have built it first. Add "
            f"`-- depends_on: {{{{ {call} }}}}` at the top of the model."
        )


@dataclass
class _ModelCalls:
    """``ref()``, ``source()``, ``var()``, ``env_var()``, ``config()`` and ``is_incremental()`` as one model's
    template calls them: each records what it was asked (the edges, the config) or refuses it naming the line."""

    renv: RenderEnv
    source_text: str
    path: str
    this: Relation | None
    materialized: str | None
    package: str | None = None  # a package's model sees the package's vars
    edges: Edges | None = None
    full_refresh: bool | None = None  # the model's own config, over the --full-refresh flag
    refs: list[str] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    configured: dict[str, Any] = field(default_factory=dict)

    def ref(self, *args: str, **kwargs: Any) -> Relation | Ephemeral:
        renv, path = self.renv, self.path
        if not args or len(args) > 2 or not all(isinstance(arg, str) for arg in args):
            raise CompileError(
                f"ref({', '.join(map(repr, args))}) is not valid: ref() takes a model name, e.g. ref('orders').", path
            )
        name = args[-1]
        if kwargs:
            name = self._version(args, kwargs, self._ref_line(args[-1]))
        if name not in renv.relations:
            known = did_you_mean(name, renv.relations)
            raise CompileError(f"ref('{name}') names no model or seed.{known}", path, self._ref_line(args[-1]))
        package = renv.node_packages.get(name, renv.project_name)
        if len(args) == 2 and args[0] != package:
            raise CompileError(
                f"ref('{args[0]}', '{name}'): '{name}' is in package '{package}', not '{args[0]}'. Write "
                f"ref('{package}', '{name}') or ref('{name}').",
                path,
                self._ref_line(args[-1]),
            )
        if self.edges is not None and name not in self.edges.refs:
            raise self.edges.late(f"ref('{name}')", name)
        self.refs.append(name)
        return renv.relations[name]

    def _ref_line(self, name: str) -> int | None:
        """The line of the first ``ref(...'name')`` in the template: found only for an error (a regex per call
        cost 0.1 s per 1,000 models)."""
        return line_of(self.source_text, r"ref\(\s*(['\"][^'\"]*['\"]\s*,\s*)?['\"]" + re.escape(name) + r"['\"]")

    def _version(self, args: tuple[str, ...], kwargs: Mapping[str, Any], line: int | None) -> str:
        """``ref('m', v=2)`` / ``version=2``: the name of that version's model."""
        written = ", ".join([*map(repr, args), *(f"{key}={value!r}" for key, value in kwargs.items())])
        if len(kwargs) > 1 or next(iter(kwargs)) not in ("v", "version"):
            raise CompileError(
                f"ref({written}) is not valid: ref() takes a version as v= or version=.", self.path, line
            )
        wanted = str(next(iter(kwargs.values())))
        name = args[-1]
        versions = self.renv.versions.get(name)
        if versions is None:
            raise CompileError(
                f"ref({written}): model '{name}' has no versions. Ref it by its name alone, or declare its "
                "`versions:` in YAML.",
                self.path,
                line,
            )
        if wanted not in versions:
            raise CompileError(
                f"ref({written}): model '{name}' has no version {wanted} (it has {', '.join(sorted(versions))}).",
                self.path,
                line,
            )
        return versions[wanted]

    def source(self, *args: str) -> Relation | External:
        renv, path = self.renv, self.path
        if len(args) != 2 or not all(isinstance(arg, str) for arg in args):
            raise CompileError(
                f"source({', '.join(map(repr, args))}) is not valid: "
                "source() takes a source and a table name, e.g. source('raw', 'orders').",
                path,
            )
        source_name, table_name = args
        key = (source_name, table_name)
        if key not in renv.sources:
            line = line_of(
                self.source_text,
                r"source\(\s*['\"]" + re.escape(source_name) + r"['\"]\s*,\s*['\"]" + re.escape(table_name),
            )
            known = [f"{s}.{t}" for s, t in renv.sources]
            raise CompileError(
                f"source('{source_name}', '{table_name}') is not declared in any sources: YAML."
                f"{did_you_mean(f'{source_name}.{table_name}', known)} "
                "Declare it under `sources:` in a .yml file next to your models.",
                path,
                line,
            )
        if self.edges is not None and key not in self.edges.sources:
            raise self.edges.late(f"source('{source_name}', '{table_name}')", f"{source_name}.{table_name}")
        self.sources.append(key)
        return renv.sources[key]

    def var(self, name: str = "", default: Any = _NO_DEFAULT) -> Any:
        if not name or not isinstance(name, str):
            raise CompileError(
                "var() takes the name of a var, e.g. var('vat_rate') or var('vat_rate', 0.2).", self.path
            )
        known = self.renv.package_vars.get(self.package, self.renv.vars) if self.package else self.renv.vars
        if name in known:
            return known[name]
        if default is not _NO_DEFAULT:
            return default
        line = line_of(self.source_text, r"var\(\s*['\"]" + re.escape(name))
        raise CompileError(
            f"var('{name}') is not defined. Set it under `vars:` in the project file, "
            f"pass --vars '{{{name}: ...}}', or give a default: var('{name}', ...).",
            self.path,
            line,
        )

    def env_var(self, name: str, default: Any = _NO_DEFAULT) -> Any:
        if name in self.renv.env_vars:
            return self.renv.env_vars[name]
        if default is not _NO_DEFAULT:
            return default
        raise CompileError(
            f"env_var('{name}') is not set in the environment and has no default. "
            f"Export {name}=... or use env_var('{name}', 'default').",
            self.path,
            line_of(self.source_text, r"env_var\(\s*['\"]" + re.escape(name)),
        )

    def config(self, *args: Any, **kwargs: Any) -> str:
        if args and isinstance(args[0], dict):
            kwargs = {**args[0], **kwargs}
        self.configured.update(kwargs)
        return ""

    def is_incremental(self) -> bool:
        this = self.this
        return (
            self.materialized == "incremental"
            and this is not None
            and (this.schema, this.identifier) in self.renv.existing_relations
            and not refreshes(self.full_refresh, self.renv.full_refresh)
        )


def base_context(renv: RenderEnv, path: str, introspector: Introspector | None = None) -> dict[str, Any]:
    """The names every render sees, whatever it renders: dbt's globals, the target, the package namespaces, and
    the introspection calls as ``introspector`` answers them (refused by default)."""
    scope = renv.macro_scope
    ask = introspector or Refused("this render")
    return {
        "target": renv.target,
        "project_name": renv.project_name,
        "return": _return,
        "log": lambda message, info=False: "",
        "print": lambda message: "",
        "exceptions": _Exceptions(path, renv.warn),
        "execute": ask.execute,
        "run_query": ask.run_query,
        "statement": ask.statement,
        "load_result": ask.load_result,
        "api": {"Relation": _RelationApi(renv.target), "Column": Column},
        "before_begin": lambda sql: json.dumps({"sql": sql, "transaction": False}),
        "after_commit": lambda sql: json.dumps({"sql": sql, "transaction": False}),
        "in_transaction": lambda sql: json.dumps({"sql": sql, "transaction": True}),
        "flags": {"FULL_REFRESH": renv.full_refresh},
        "modules": {"datetime": datetime, "re": re, "itertools": itertools},
        "run_started_at": renv.run_started_at,
        "invocation_id": renv.invocation_id,
        "adapter": _Adapter(scope, ask),
        "dbt_version": DBT_VERSION,
        "tojson": lambda value, sort_keys=False: json.dumps(value, sort_keys=sort_keys, default=str),
        "fromjson": lambda text, default=None: _or_default(json.loads, text, default),
        "toyaml": lambda value, sort_keys=False: yaml.safe_dump(value, sort_keys=sort_keys),
        "fromyaml": lambda text, default=None: _or_default(yaml.safe_load, text, default),
        "local_md5": lambda text: hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
        "set": lambda value, default=None: _or_default(set, value, default),
        "zip": lambda *args, default=None: _or_default(lambda a: list(zip(*a, strict=False)), args, default),
        **scope.objects,
    }


# The dbt version Jinja sees as `dbt_version`: the one whose behaviour Northstar follows.
DBT_VERSION = "1.11.0"


def _or_default(function: Callable[[Any], Any], value: Any, default: Any) -> Any:
    try:
        return function(value)
    except (ValueError, TypeError, yaml.YAMLError):
        return default


def call_macro(renv: RenderEnv, name: str, args: Mapping[str, Any], path: str, line: int | None = None) -> str:
    """Call one of the root project's (or dbt's) macros outside any template, e.g. ``generate_schema_name``; the
    result as text, stripped."""
    scope = renv.macro_scope
    context = {**base_context(renv, path), "var": _plain_var(renv, path), "env_var": _plain_env_var(renv, path)}
    context.update(scope.bare(renv.project_name))
    try:
        with scope.lock:
            scope.names.clear()
            scope.names.update(context)
            return str(context[name](**args)).strip()
    except NorthstarError as error:
        if error.path is None:
            error.path, error.line = path, line
        raise
    except Exception as error:  # an error in user Jinja code
        raise CompileError(f"{type(error).__name__} in macro {name}: {error}", path, line) from None


def _plain_var(renv: RenderEnv, path: str) -> Callable[..., Any]:
    def var(name: str, default: Any = _NO_DEFAULT) -> Any:
        if name in renv.vars:
            return renv.vars[name]
        if default is _NO_DEFAULT:
            raise CompileError(f"var('{name}') is not defined. Set it under `vars:` or pass --vars.", path)
        return default

    return var


def _plain_env_var(renv: RenderEnv, path: str) -> Callable[..., Any]:
    def env_var(name: str, default: Any = _NO_DEFAULT) -> Any:
        if name in renv.env_vars:
            return renv.env_vars[name]
        if default is _NO_DEFAULT:
            raise CompileError(f"env_var('{name}') is not set in the environment and has no default.", path)
        return default

    return env_var


class _Adapter:
    """dbt's ``adapter``: quoting and dispatch, and the questions about the warehouse (``get_relation``,
    ``get_columns_in_relation``) that the render's introspector answers."""

    def __init__(self, scope: MacroScope, introspector: Introspector) -> None:
        self._scope = scope
        self._introspector = introspector

    def get_relation(self, database: str | None, schema: str, identifier: str) -> Relation | None:
        return self._introspector.get_relation(database, schema, identifier)

    def get_columns_in_relation(self, relation: Any) -> list[Column]:
        return self._introspector.get_columns_in_relation(relation)

    def quote(self, identifier: str) -> str:
        return quote_always(identifier)

    def dispatch(self, macro_name: str, macro_namespace: str | None = None) -> Callable[..., Any]:
        return self._scope.dispatch(macro_name, macro_namespace)


class _RelationApi:
    """``api.Relation.create(database=, schema=, identifier=, type=)``: a relation of the one database Northstar
    builds into (the target's); another database is an error rather than a relation that reads the wrong one."""

    def __init__(self, target: Mapping[str, Any]) -> None:
        self._target = target

    def create(
        self,
        database: str | None = None,
        schema: str | None = None,
        identifier: str | None = None,
        type: str | None = None,
    ) -> Relation:
        if database and str(database).lower() != str(self._target["database"]).lower():
            raise CompileError(
                f"api.Relation.create(database='{database}', ...): Northstar builds into one database, the "
                f"target's ('{self._target['database']}'). Leave database out, or use target.database."
            )
        if not identifier:
            raise CompileError("api.Relation.create(...) needs an identifier, e.g. identifier='orders'.")
        return Relation(str(schema or self._target["schema"]), str(identifier), type=type)
