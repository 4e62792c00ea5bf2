"""dbt's groups, model access and deprecation dates, as property files declare them.

A group (``groups:``) names an owner; a model joins one with ``group:`` (YAML or config) and says who may ``ref()``
it with ``access:``: ``private`` (its group only), ``protected`` (the default: this project) or ``public``. A model
may carry a ``deprecation_date``; once it has passed, dbt warns about the model and about every ref to it.

>>> deprecation_date("2020-01-01", "m.yml", 3).isoformat()
'2020-01-01T00:00:00+00:00'
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from northstar.errors import ProjectError
from northstar.project.yamlfile import YamlDict, check_keys, expect_mapping

GROUP_KEYS = {"name", "owner", "description", "config"}
ACCESS = ("private", "protected", "public")


@dataclass(frozen=True)
class Group:
    name: str
    path: str
    line: int | None
    owner: Mapping[str, Any] = field(default_factory=dict)
    description: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    package: str | None = None


def read_group(entry: YamlDict, path: str) -> Group:
    """One entry of ``groups:``, checked as dbt parses it: a name and an owner with a name or an email."""
    check_keys(entry, GROUP_KEYS, f"group '{entry.get('name', '?')}'")
    if not isinstance(entry.get("name"), str):
        raise ProjectError("A group needs a `name:`.", path, entry.line)
    owner = expect_mapping(entry.get("owner"), f"The owner of group '{entry['name']}'", path, entry.line_of("owner"))
    if not owner.get("name") and not owner.get("email"):
        raise ProjectError(
            f"Group '{entry['name']}' needs an owner with a name or an email, e.g. `owner: {{name: Finance, email: "
            "finance@example.com}`.",
            path,
            entry.line_of("owner"),
        )
    config = expect_mapping(entry.get("config"), f"The config of group '{entry['name']}'", path)
    check_keys(config, {"meta"}, f"the config of group '{entry['name']}'")
    return Group(
        name=entry["name"],
        path=path,
        line=entry.line,
        owner={"email": owner.get("email"), "name": owner.get("name"), **owner},
        description=entry.get("description"),
        meta=dict(config.get("meta") or {}),
    )


def deprecation_date(value: Any, path: str, line: int | None) -> datetime.datetime:
    """A model's ``deprecation_date``: a date or a date and time (UTC unless it says otherwise)."""
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.datetime.fromisoformat(str(value))
        except ValueError:
            raise ProjectError(
                f"deprecation_date {value!r} is not a date. Write it as YYYY-MM-DD (or with a time, "
                "2025-06-30T12:00:00).",
                path,
                line,
            ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def restrict_access(project: Mapping[str, Any], path: str, line: int | None) -> bool:
    """A dbt_project.yml's ``restrict-access`` (false when not set): must be true or false."""
    value = project.get("restrict-access", False)
    if not isinstance(value, bool):
        raise ProjectError(f"restrict-access is {value!r}; write true or false.", path, line)
    return value


def check_access(value: Any, where: str, path: str | None, line: int | None) -> str:
    """A model's ``access``, ``protected`` when not set."""
    if value is None:
        return "protected"
    if value not in ACCESS:
        raise ProjectError(f"{where} has access '{value}'. Use one of: {', '.join(ACCESS)}.", path, line)
    return str(value)
