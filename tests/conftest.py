"""Shared fixtures: a project is a dict of files written to a temporary folder; the CLI runs in-process."""

from __future__ import annotations

import re
import shutil
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner, Result

from northstar.cli import main

REPO_ROOT = Path(__file__).resolve().parent.parent

MINIMAL_PROJECT = {
    "project.yml": """
        name: shop
        warehouse: warehouse.duckdb
        models:
          +materialized: table
          staging:
            +materialized: view
        seeds:
          +schema: raw
    """,
    "seeds/orders.csv": "order_id,customer_id,amount\n1,1,10.5\n2,1,20\n3,2,7.25\n",
    "models/staging/stg_orders.sql": "select order_id, customer_id, amount from {{ ref('orders') }}\n",
    "models/marts/customers.sql": (
        "select customer_id, count(*) as orders, sum(amount) as revenue\n"
        "from {{ ref('stg_orders') }}\ngroup by customer_id\n"
    ),
}


def write_project(root: Path, files: Mapping[str, str]) -> Path:
    """Write ``files`` (path -> text, dedented) under ``root``; returns ``root``."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """``make_project(files, base=MINIMAL_PROJECT)`` writes a project and returns its folder."""

    def make(files: Mapping[str, str | None] | None = None, base: Mapping[str, str] = MINIMAL_PROJECT) -> Path:
        merged = {**base, **(files or {})}
        root = tmp_path / "project"
        return write_project(root, {k: v for k, v in merged.items() if v is not None})

    return make


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    """Run ``metrics ARGS`` in-process against a project folder; returns click's Result (exit_code, output)."""

    def run(project_dir: Path, *args: str, catch: bool = True) -> Result:
        runner = CliRunner()
        return runner.invoke(main, [*args, "--project-dir", str(project_dir)] if args else [], catch_exceptions=catch)

    return run


def query(warehouse: Path, sql: str) -> list[tuple]:
    """Rows of ``sql`` against a warehouse file, opened read-only like a BI tool would."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def timeless(output: str) -> str:
    """Progress lines carry timings (and dots padding them); replace them so whole outputs can be compared."""
    return re.sub(r"\.{3,}", "...", re.sub(r"\d+\.\d\ds", "T", output))


@pytest.fixture(scope="session")
def example_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository's example project (without target/ and warehouse), for end-to-end tests."""
    root = tmp_path_factory.mktemp("example") / "growth"
    ignore = shutil.ignore_patterns(".venv", ".git", "target", "*.duckdb*", "__pycache__", "northstar", "bench", "data")
    shutil.copytree(REPO_ROOT, root, ignore=ignore)
    return root


@pytest.fixture(scope="session")
def example_warehouse(example_project: Path) -> Path:
    """The example project built once (``metrics build``) for the suites that read its warehouse or artifacts."""
    result = CliRunner().invoke(main, ["build", "-q", "--project-dir", str(example_project)])
    assert result.exit_code == 0, result.output
    return example_project


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="Rewrite the tests/golden/ snapshots instead of comparing them."
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True under ``pytest --update-golden``: golden-file tests rewrite their snapshot (review it in the diff)."""
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One local Spark for the whole run (a JVM takes seconds to start), configured as a Spark target configures it.

    Skips when PySpark or Java is missing; the README's test command installs PySpark (the `spark` extra).
    """
    pytest.importorskip("pyspark", reason="PySpark is not installed: pip install -e '.[spark]'")
    if shutil.which("java") is None:
        pytest.skip("Java is not installed: Spark needs Java 17+")
    from northstar.project.settings import SparkSettings, Target
    from northstar.spark.session import start

    location = tmp_path_factory.mktemp("spark")
    target = Target("spark", "main", location, 2, type="spark", spark=SparkSettings(location, master="local[2]"))
    return start(target, "northstar tests")
