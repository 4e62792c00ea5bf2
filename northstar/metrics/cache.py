"""A cache of compiled metric queries, so a repeated ``metrics query`` skips YAML, Jinja and sqlglot entirely.

An entry is keyed by the request, the command-line settings, ``project.yml`` and the code of this package; it
remembers the size and modification time of every file that could change the SQL (the model, seed and metric
folders' ``.sql``/``.yml`` files) and the listing of those folders. Any difference is a miss, and a miss compiles
as usual and stores the result. Only successful compilations are stored, so errors are always reported fresh.

Entries live in ``target/metric_cache/``; projects with another ``target-path`` (or dbt projects) are not cached.

>>> hit = lookup(root, request, settings)        # doctest: +SKIP
>>> hit.sql if hit else None                     # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from northstar.metrics.request import Request

CACHE_DIR = ("target", "metric_cache")
_SUFFIXES = (".sql", ".yml", ".yaml")


@dataclass(frozen=True)
class Hit:
    sql: str
    warehouse: Path


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` with a ``project.yml`` (dbt projects are not cached)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "project.yml").is_file():
            return folder
        if (folder / "dbt_project.yml").is_file():
            return None
    return None


def _code_identity() -> list[Any]:
    """The files of this package: editing the compiler must not serve SQL it compiled before."""
    here = Path(__file__).parent
    return sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in here.glob("*.py"))


def _key(root: Path, request: Request, settings: dict[str, Any]) -> str:
    data = {
        "request": asdict(request),
        "settings": settings,
        "project": (root / "project.yml").read_bytes().decode("utf-8", "replace"),
        "code": _code_identity(),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _snapshot(root: Path, folders: list[str]) -> tuple[dict[str, list[int]], dict[str, list[str]]]:
    files: dict[str, list[int]] = {}
    dirs: dict[str, list[str]] = {}
    for base in dict.fromkeys(folders):
        top = root / base
        if not top.is_dir():
            dirs[base] = []
            continue
        for folder, subdirs, names in os.walk(top):
            subdirs.sort()
            rel = Path(folder).relative_to(root).as_posix()
            dirs[rel] = sorted(names + subdirs)
            for name in names:
                if name.endswith(_SUFFIXES):
                    stat = os.stat(os.path.join(folder, name))
                    files[f"{rel}/{name}"] = [stat.st_size, stat.st_mtime_ns]
    return files, dirs


def _unchanged(root: Path, entry: dict[str, Any]) -> bool:
    for rel, names in entry["dirs"].items():
        path = root / rel
        current = sorted(os.listdir(path)) if path.is_dir() else []
        if current != names:
            return False
    for rel, (size, mtime) in entry["files"].items():
        try:
            stat = os.stat(root / rel)
        except OSError:
            return False
        if stat.st_size != size or stat.st_mtime_ns != mtime:
            return False
    return True


def lookup(root: Path, request: Request, settings: dict[str, Any]) -> Hit | None:
    """The cached SQL of ``request`` if nothing it depends on changed since it was stored."""
    path = root.joinpath(*CACHE_DIR) / f"{_key(root, request, settings)}.json"
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not _unchanged(root, entry):
        return None
    return Hit(entry["sql"], Path(entry["warehouse"]))


def store(project: Any, request: Request, settings: dict[str, Any], sql: str) -> None:
    """Remember the SQL compiled for ``request`` (best effort: a read-only project just is not cached)."""
    config = project.config
    root = config.root
    if config.config_file.name != "project.yml" or config.target_path != CACHE_DIR[0]:
        return
    folders = [*config.model_paths, *config.seed_paths, *config.metric_paths]
    files, dirs = _snapshot(root, folders)
    entry = {"sql": sql, "warehouse": str(config.warehouse), "files": files, "dirs": dirs}
    folder = root.joinpath(*CACHE_DIR)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{_key(root, request, settings)}.json"
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(entry), encoding="utf-8")
        os.replace(temporary, target)  # atomic: a concurrent reader sees the old entry or the new one
    except OSError:
        return
