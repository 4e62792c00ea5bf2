"""dbt's hooks, rendered when they run, as dbt renders them, inside the build's working copy (so a failed build
publishes none of their effects).

- A model's ``pre_hook``/``post_hook`` (the project's ``+pre-hook`` first, then the folders', the YAML's and the
  model's ``config()``): rendered with the model's context (``this``, ``var``, ``run_query``...), run around it.
- ``on-run-start``/``on-run-end`` of ``dbt_project.yml``: rendered with the project's context; ``on-run-end`` also
  sees ``results``, ``schemas`` and ``database_schemas``. They run before the first node and after the last, also
  after a failure (as in dbt), and a failing run hook fails the build.

>>> node = render_model_hooks(manifest, node, cursor)   # doctest: +SKIP
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import duckdb
import jinja2

from northstar.engine.execute import NodeResult
from northstar.errors import ExecutionError, NorthstarError
from northstar.nodes import ModelNode, SeedNode
from northstar.project.config import Hook, NodeConfig
from northstar.project.settings import RunHook
from northstar.render.introspect import Live
from northstar.render.jinja import Relation, RenderEnv, compile_template, render
from northstar.render.manifest import Manifest

N = TypeVar("N", ModelNode, SeedNode)


def _has_jinja(text: str) -> bool:
    return "{{" in text or "{%" in text


@functools.lru_cache(maxsize=256)
def _template(env: jinja2.Environment, text: str, path: str) -> jinja2.Template:
    return compile_template(env, text, path)


def render_model_hooks(manifest: Manifest, node: N, cursor: duckdb.DuckDBPyConnection) -> N:
    """A model or seed with its hooks' Jinja rendered (``{{ this }}``, ``var()``, ...), ready to run."""
    config: NodeConfig = node.config
    if not any(_has_jinja(hook.sql) for hook in (*config.pre_hook, *config.post_hook)):
        return node
    renv = manifest.render_env
    this = node.relation if isinstance(node.relation, Relation) else None
    introspector = Live(cursor, node.path, read_only=False, database=str(renv.target["database"]))
    package = node.unique_id.package if node.unique_id.package != renv.project_name else None

    def rendered(hooks: tuple[Hook, ...], kind: str) -> tuple[Hook, ...]:
        out = []
        for index, hook in enumerate(hooks, start=1):
            if not _has_jinja(hook.sql):
                out.append(hook)
                continue
            try:
                template = _template(renv.env, hook.sql, node.path)
                result = render(
                    renv,
                    template,
                    hook.sql,
                    node.path,
                    this=this,
                    materialized=node.config.materialized,
                    package=package,
                    full_refresh=node.config.full_refresh,
                    introspector=introspector,
                )
            except NorthstarError as error:  # its line is the hook's own, not the model file's
                error.message = f"{kind} {index} of {node.kind} '{node.name}' ({hook.sql.strip()!r}): {error.message}"
                error.path, error.line = node.path, None
                raise
            out.append(Hook(_unwrapped(result.sql), hook.transaction))
        return tuple(out)

    pre, post = rendered(config.pre_hook, "pre_hook"), rendered(config.post_hook, "post_hook")
    return replace(node, config=replace(config, pre_hook=pre, post_hook=post))


def _unwrapped(text: str) -> str:
    """A hook that rendered ``{{ after_commit('...') }}`` is the JSON dbt's macro writes: its ``sql``."""
    if not (text.lstrip().startswith("{") and '"sql"' in text):
        return text
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    return value["sql"] if isinstance(value, dict) and isinstance(value.get("sql"), str) else text


@dataclass(frozen=True)
class ResultNode:
    """``result.node`` in ``on-run-end``: what dbt's node objects answer most often."""

    unique_id: str
    name: str
    resource_type: str
    package_name: str
    schema: str | None
    alias: str | None
    database: str | None
    original_file_path: str
    config: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()

    @property
    def identifier(self) -> str | None:
        return self.alias


@dataclass(frozen=True)
class RunResult:
    """One entry of ``results`` in ``on-run-end``: ``node``, ``status`` ('success', 'error', 'skipped', 'pass',
    'fail', 'warn'), ``message``, ``execution_time``, ``failures``, ``adapter_response``."""

    node: ResultNode
    status: str
    message: str
    execution_time: float
    failures: int | None
    adapter_response: Mapping[str, Any]
    thread_id: str = "Thread-1"
    timing: tuple[Any, ...] = ()


def run_results(manifest: Manifest, results: Iterable[NodeResult]) -> list[RunResult]:
    """The build's results as ``on-run-end`` sees them (sources, which dbt does not run, left out)."""
    database = str(manifest.render_env.target["database"])
    found = []
    for result in results:
        node = manifest.nodes[result.unique_id]
        if node.kind == "source":
            continue
        built = node.built
        entry = ResultNode(
            unique_id=str(node.unique_id),
            name=node.name,
            resource_type=node.kind,
            package_name=node.unique_id.package,
            schema=built.schema if built else None,
            alias=built.identifier if built else None,
            database=database if built else None,
            original_file_path=node.path,
            config=dict(node.config_values),
            tags=node.tags,
        )
        response = {"_message": result.message, "rows_affected": result.rows if result.rows is not None else -1}
        found.append(RunResult(entry, result.status, result.message, result.elapsed, result.failures, response))
    return found


def run_hooks(
    manifest: Manifest,
    connection: duckdb.DuckDBPyConnection,
    which: str,
    results: Iterable[NodeResult] | None = None,
) -> None:
    """Run the project's ``on-run-start`` (``which``) or ``on-run-end`` hooks, in order; the first that fails raises
    an :class:`ExecutionError` naming it, which fails the build and publishes nothing."""
    config = manifest.project.config
    hooks = config.on_run_start if which == "on-run-start" else config.on_run_end
    if not hooks:
        return
    renv = manifest.render_env
    path = config.config_file.name
    extra: dict[str, Any] = {}
    if results is not None:
        listed = run_results(manifest, results)
        database = str(renv.target["database"])
        ok = [r for r in listed if r.node.schema is not None and r.status not in ("error", "fail", "skipped")]
        extra["results"] = listed
        extra["schemas"] = sorted({r.node.schema for r in ok if r.node.schema})
        extra["database_schemas"] = sorted({(database, r.node.schema) for r in ok if r.node.schema})
    cursor = connection.cursor()
    try:
        for index, hook in enumerate(hooks):
            introspector = Live(cursor, path, read_only=False, database=str(renv.target["database"]))
            sql = _render_run_hook(renv, hook, path, introspector, extra)
            _execute(cursor, sql, which, index, hook, path)
    finally:
        cursor.close()


def _render_run_hook(renv: RenderEnv, hook: RunHook, path: str, introspector: Live, extra: Mapping[str, Any]) -> str:
    if not _has_jinja(hook.sql):
        return hook.sql
    try:
        template = _template(renv.env, hook.sql, path)
        return render(renv, template, hook.sql, path, extra=extra, introspector=introspector).sql
    except NorthstarError as error:
        error.line = error.line if error.path != path else (hook.line or error.line)
        raise


def _execute(cursor: duckdb.DuckDBPyConnection, sql: str, which: str, index: int, hook: RunHook, path: str) -> None:
    if not sql.strip():
        return
    try:
        cursor.execute(sql)
    except duckdb.Error as error:
        first = str(error).splitlines()[0]
        raise ExecutionError(
            f"{which} hook {index + 1} failed: {first}\nThe statement, as rendered:\n{sql.strip()}\nNothing was "
            "published.",
            path,
            hook.line,
        ) from None
