"""Run the examples in the core modules' docstrings, so the documentation stays true."""

import doctest
import importlib

import pytest

MODULES = [
    "northstar.project.config",
    "northstar.dag",
    "northstar.errors",
    "northstar.engine.execute",
    "northstar.render.manifest",
    "northstar.engine.materialize",
    "northstar.project.loader",
    "northstar.render.jinja",
    "northstar.engine.selection",
    "northstar.project.yamlfile",
    "northstar.engine.pipeline",
    "northstar.warehouse.working_copy",
    "northstar.warehouse.state",
    "northstar.checks.datatests",
    "northstar.checks.config",
    "northstar.checks.run",
    "northstar.metrics.reader",
    "northstar.metrics.filters",
    "northstar.metrics.plan",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
