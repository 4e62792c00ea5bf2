"""Run the examples in every module's docstrings, so the documentation stays true.

The modules are found by walking the package, so a new module's examples run without being listed here. Examples
run from the repository root, whose example project they may load (``load_project(Path("."))``).
"""

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import northstar

REPO_ROOT = Path(__file__).resolve().parent.parent
# Importing northstar.__main__ runs the CLI (it is `python -m northstar`); it has no docstrings to run.
MODULES = sorted(
    name
    for name in ["northstar", *(info.name for info in pkgutil.walk_packages(northstar.__path__, "northstar."))]
    if name != "northstar.__main__"
)


def test_every_module_is_found():
    """The walk reaches modules in sub-packages, not only the top level."""
    assert {"northstar.dag", "northstar.metrics", "northstar.metrics.filters", "northstar.checks.run"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
