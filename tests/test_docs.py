"""Run the examples in the core modules' docstrings, so the documentation stays true."""

import doctest
import importlib

import pytest

MODULES = [
    "northstar.config",
    "northstar.dag",
    "northstar.errors",
    "northstar.execute",
    "northstar.manifest",
    "northstar.materialize",
    "northstar.project",
    "northstar.render",
    "northstar.selection",
    "northstar.yamlfile",
    "northstar.build",
    "northstar.warehouse",
    "northstar.state",
    "northstar.datatests",
    "northstar.testconfig",
    "northstar.testrun",
    "northstar.metrics.reader",
    "northstar.metrics.filters",
    "northstar.metrics.plan",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
