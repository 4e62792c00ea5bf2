"""What ``metrics build`` compiled for its metric nodes, kept in ``target/`` for the next run.

Compiling each metric at its defaults and parsing the SQL (the metric's and its tests') to find the tables it reads
were most of the cost of adding the metrics to a build's DAG (~1.3 s each for the example project's 47 metrics). The
SQL of every metric is a function of the semantic YAML, the relations of the models it names and this package's code,
so it is kept under a fingerprint of those; the tables a query reads are a function of its text alone, kept by its
hash. Only successful compilations are kept: errors are always reported fresh.

>>> cache = MetricBuildCache(None, "key")
>>> cache.sql("revenue", lambda: "select 1")
'select 1'
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

CACHE_FILE = "metric_build_cache.json"
_VERSION = 1


def semantic_key(docs: list[tuple[str, Any]], relations: dict[str, str]) -> str:
    """The fingerprint of everything a metric's SQL is compiled from: the semantic YAML as read, the relations of
    the models the semantic models name, and the code of this package."""
    here = Path(__file__).parent
    code = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in here.glob("*.py"))
    text = json.dumps([_VERSION, docs, relations, code], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _sql_key(sql: str) -> str:
    return hashlib.blake2b(sql.encode(), digest_size=16).hexdigest()


class MetricBuildCache:
    """Compiled metric SQL (valid for one :func:`semantic_key`) and the tables each query reads."""

    def __init__(self, path: Path | None, key: str) -> None:
        self.path = path
        self.key = key
        data = _read(path) if path is not None else {}
        self.previous_sql: dict[str, str] = data.get("sql", {}) if data.get("key") == key else {}
        self.previous_tables: dict[str, list[list[str]]] = data.get("tables", {})
        self.used_sql: dict[str, str] = {}
        self.used_tables: dict[str, list[list[str]]] = {}

    @classmethod
    def tables_only(cls, path: Path) -> MetricBuildCache:
        """The tables each query read, as the last build kept them, to look up only (never saved): the artifacts
        name a metric's parents from them instead of parsing its SQL again (~8 ms a metric)."""
        return cls(path, "")

    def sql(self, metric: str, compile_: Callable[[], str]) -> str:
        found = self.previous_sql.get(metric)
        if not isinstance(found, str):
            found = compile_()
        self.used_sql[metric] = found
        return found

    def tables(self, sql: str, parse: Callable[[], list[tuple[str, str]]]) -> list[tuple[str, str]]:
        key = _sql_key(sql)
        found = self.previous_tables.get(key)
        if not isinstance(found, list):
            found = [[db, name] for db, name in parse()]
        self.used_tables[key] = found
        return [(db, name) for db, name in found]

    def save(self) -> None:
        """Write what this run used back, if it differs from the file and ``target/`` exists."""
        if self.path is None or not self.path.parent.is_dir():
            return
        if self.used_sql == self.previous_sql and self.used_tables == self.previous_tables:
            return
        data = {"version": _VERSION, "key": self.key, "sql": self.used_sql, "tables": self.used_tables}
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("version") == _VERSION else {}
