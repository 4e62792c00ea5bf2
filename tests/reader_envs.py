"""Virtual environments with other releases of the tools that read the warehouse (an older DuckDB, the DuckDB CLI,
SQLAlchemy drivers), created by pip from PyPI once and cached, so a repeated run of the suite starts at once.

The cache lives in ``$NORTHSTAR_TEST_CACHE`` (default ``~/.cache/northstar-tests``), one folder per set of
requirements. A test that needs one skips, saying why, only when PyPI cannot be reached; any other pip failure fails.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

# What pip prints when the registry cannot be reached (no network, proxy down, DNS).
_OFFLINE = (
    "Could not find a version that satisfies",
    "No matching distribution found",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Read timed out",
    "ProxyError",
)


def cache_root() -> Path:
    return Path(os.environ.get("NORTHSTAR_TEST_CACHE") or Path.home() / ".cache" / "northstar-tests")


def reader_env(*requirements: str) -> Path:
    """The folder of a virtual environment holding exactly ``requirements`` (pinned), made on first use."""
    key = hashlib.sha256("\n".join([sys.version, *requirements]).encode()).hexdigest()[:12]
    folder = cache_root() / f"{'-'.join(r.split('==')[0] for r in requirements)}-{key}"
    if (folder / "ready").exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Scripts in a venv name its Python by absolute path, so it is made where it stays; a lock keeps two runs of
    # the suite from making it at once.
    with open(folder.with_name(folder.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "ready").exists():
            _create(folder, requirements)
    return folder


def _create(folder: Path, requirements: tuple[str, ...]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    venv.EnvBuilder(with_pip=True).create(folder)
    pip = subprocess.run(
        [str(folder / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements],
        capture_output=True,
        text=True,
    )
    if pip.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        output = pip.stdout + pip.stderr
        if any(sign in output for sign in _OFFLINE):
            reason = output.strip().splitlines()[-1]
            pytest.skip(f"PyPI cannot be reached to install {' '.join(requirements)}: {reason}")
        raise AssertionError(f"pip install {' '.join(requirements)} failed:\n{output}")
    (folder / "ready").write_text("\n".join(requirements) + "\n")


def run_python(env: Path, script: str, *args: str) -> str:
    """Run ``script`` with the environment's Python; its stdout, or an AssertionError with its stderr."""
    done = subprocess.run([str(env / "bin" / "python"), "-c", script, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout
