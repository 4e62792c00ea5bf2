"""A data test's configuration: severity, ``where``, ``warn_if``/``error_if``, ``limit``, ``store_failures``...

Read from YAML ``config:`` (or a test's inline keys), ``config()`` in a singular test's SQL and the project's
``data_tests:`` defaults, validated once here; :mod:`northstar.checks.datatests` declares tests with it and
:mod:`northstar.checks.run` judges their failing rows by it.

>>> read_test_config({"severity": "warn", "error_if": ">10"}, {}, "Test 't'", "models/schema.yml", 3).error_if
'>10'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from northstar.errors import ProjectError, did_you_mean

CONFIG_KEYS = {"severity", "where", "store_failures", "warn_if", "error_if", "limit", "tags", "enabled", "meta"}
# dbt config keys that change nothing here; accepted so dbt projects load.
IGNORED_CONFIG_KEYS = {"store_failures_as", "fail_calc", "database", "schema", "alias", "group", "docs"}


@dataclass(frozen=True)
class TestConfig:
    """A test's configuration: YAML ``config:``/inline keys, ``config()`` in SQL, project ``data_tests:``."""

    __test__ = False
    severity: str = "error"
    where: str | None = None
    store_failures: bool = False
    warn_if: str = "!= 0"
    error_if: str = "!= 0"
    limit: int | None = None
    tags: tuple[str, ...] = ()
    enabled: bool = True
    meta: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "where": self.where,
            "store_failures": self.store_failures,
            "warn_if": self.warn_if,
            "error_if": self.error_if,
            "limit": self.limit,
            "tags": list(self.tags),
            "enabled": self.enabled,
            "meta": dict(self.meta),
        }


THRESHOLD = re.compile(r"^\s*(>=|<=|!=|<>|==|=|>|<)\s*(\d+)\s*$")


def read_test_config(
    raw: Mapping[str, Any], defaults: Mapping[str, Any], where: str, path: str, line: int | None
) -> TestConfig:
    """A test's config from what it declares (``raw``: YAML ``config:`` or ``config()`` in SQL) over the project's
    ``data_tests:`` defaults; ``where`` names the test in errors, e.g. ``"Test 'not_null_orders_id'"``."""
    merged = {**defaults, **{k.lstrip("+"): v for k, v in raw.items()}}
    unknown = set(merged) - CONFIG_KEYS - IGNORED_CONFIG_KEYS
    if unknown:
        first = sorted(unknown)[0]
        hint = did_you_mean(first, CONFIG_KEYS) if len(unknown) == 1 else ""
        allowed = ", ".join(sorted(CONFIG_KEYS))
        raise ProjectError(
            f"{where} has unknown config {', '.join(sorted(unknown))}.{hint} Allowed: {allowed}.",
            path,
            line,
        )
    severity = str(merged.get("severity", "error")).lower()
    if severity not in ("error", "warn"):
        raise ProjectError(f"{where} has severity '{severity}'. Use error or warn.", path, line)
    for key in ("warn_if", "error_if"):
        if key in merged and not THRESHOLD.match(str(merged[key])):
            raise ProjectError(
                f"{where}: {key} '{merged[key]}' must be a comparison such as '>0' or '>=10'.", path, line
            )
    limit = merged.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise ProjectError(f"{where}: limit must be a whole number of rows, got {limit!r}.", path, line)
    tags = merged.get("tags") or ()
    return TestConfig(
        severity=severity,
        where=str(merged["where"]) if merged.get("where") else None,
        store_failures=bool(merged.get("store_failures", False)),
        warn_if=str(merged.get("warn_if", "!= 0")),
        error_if=str(merged.get("error_if", "!= 0")),
        limit=limit,
        tags=(tags,) if isinstance(tags, str) else tuple(str(t) for t in tags),
        enabled=bool(merged.get("enabled", True)),
        meta=dict(merged.get("meta") or {}),
    )
