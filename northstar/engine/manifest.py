"""The whole manifest of a project, as every command sees it: models, seeds and sources (rendered), their data and
unit tests, and the metrics with their tests.

>>> manifest = load_manifest(load_project(Path(".")))   # doctest: +SKIP
>>> manifest.node("north_star").built                    # doctest: +SKIP
Relation(schema='metrics', identifier='north_star')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import click

from northstar.checks.datatests import add_tests
from northstar.engine.analyses import add_analyses
from northstar.engine.exposures import add_exposures
from northstar.metrics.nodes import add_metrics
from northstar.project.loader import Project
from northstar.render.manifest import Manifest, compile_project
from northstar.warehouse import working_copy


def _to_stderr(text: str) -> None:
    click.echo(text, err=True)  # stderr: `metrics compile m > m.sql` gets SQL alone


def load_manifest(
    project: Project,
    *,
    existing: Mapping[tuple[str, str], str] | None = None,
    full_refresh: bool = False,
    metrics: bool = True,
    warn: Callable[[str], None] = _to_stderr,
) -> Manifest:
    """Compile ``project`` into its manifest. ``is_incremental()`` is true for the models whose relation is in
    ``existing`` (by default, those of the published warehouse, which a build passes as its working copy holds them).

    Without ``metrics``, the metric nodes are left out: commands about models (compile, lineage, docs, ls) then
    work while a metric's YAML is broken, and do not pay for the metric compiler.
    """
    if existing is None:
        existing = working_copy.existing_relations(project.config.warehouse)
    models = compile_project(project, existing_relations=frozenset(existing), full_refresh=full_refresh, warn=warn)
    manifest = add_tests(models)
    if models.render_env.code_store is not None:  # with the tests' compiled templates
        models.render_env.code_store.save()
    manifest = add_exposures(add_metrics(manifest, warn) if metrics else manifest, metrics_loaded=metrics)
    return add_analyses(manifest)
