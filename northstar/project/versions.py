"""dbt's model versions: one model entry with ``versions:`` becomes one model per version.

Each version is a model of its own, named ``<model>_v<v>`` inside Northstar (its relation's default name, as dbt
names it) and known to dbt as ``model.<project>.<model>.v<v>``. Its properties are the model's, overridden by the
version's own (``description``, ``config``, ``columns`` with ``include``/``exclude`` of the model's columns, data
tests added). ``ref('model')`` reads the latest version, ``ref('model', v=1)`` (or ``version=1``) a given one.

>>> from northstar.project.yamlfile import loads
>>> entry = loads("name: m\\ncolumns: [{name: a}, {name: b}]\\nversions: [{v: 1, columns: [{include: all, "
...               "exclude: [b]}]}, {v: 2}]", "m.yml")
>>> [(v.name, v.file, v.version.kind, [c["name"] for c in v.entry["columns"]]) for v in model_versions(entry, "m.yml")]
[('m_v1', 'm_v1', 'old', ['a']), ('m_v2', 'm_v2', 'latest', ['a', 'b'])]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from northstar.errors import ProjectError
from northstar.project.yamlfile import YamlDict, check_keys, expect_list, expect_mapping

# The keys a version may set; the others (name, latest_version, versions) belong to the model.
VERSION_KEYS = {
    "v",
    "defined_in",
    "description",
    "config",
    "columns",
    "data_tests",
    "tests",
    "docs",
    "constraints",
    "access",
    "deprecation_date",
    "meta",
    "tags",
}
_MODEL_ONLY = ("versions", "latest_version", "name")


@dataclass(frozen=True)
class ModelVersion:
    """Which version of which model a model file is."""

    model: str  # the model's name, shared by its versions
    v: int | float | str  # as written
    latest: int | float | str

    @property
    def kind(self) -> str:
        """dbt's ``version:`` selector values: ``latest``, ``prerelease`` (newer than the latest) or ``old``."""
        if self.v == self.latest:
            return "latest"
        return "prerelease" if _order(self.v, self.latest) > 0 else "old"

    @property
    def suffix(self) -> str:
        return f"v{self.v}"


@dataclass(frozen=True)
class VersionEntry:
    """A version of a model as the loader reads it: its name, the file it is defined in, its merged YAML entry."""

    name: str  # <model>_v<v>, dots in the version as underscores (dbt's default alias)
    file: str  # the file's name without .sql: `defined_in`, else <model>_v<v>
    fallback: str | None  # the latest version may also be defined in <model>.sql, as dbt allows
    entry: YamlDict
    version: ModelVersion
    line: int | None  # the version's own line


def _order(a: int | float | str, b: int | float | str) -> int:
    """Compare two version identifiers as dbt does: as numbers when both are, else as text."""
    if isinstance(a, int | float) and isinstance(b, int | float):
        return (a > b) - (a < b)
    return (str(a) > str(b)) - (str(a) < str(b))


def model_versions(entry: YamlDict, path: str) -> list[VersionEntry]:
    """The versions of a model entry that has ``versions:``; [] for one that has none."""
    if "versions" not in entry:
        if "latest_version" in entry:
            raise ProjectError(
                f"Model '{entry['name']}' has a latest_version but no versions. Add `versions: [{{v: 1}}]` or "
                "remove latest_version.",
                path,
                entry.line_of("latest_version"),
            )
        return []
    name = str(entry["name"])
    items = expect_list(entry["versions"], "versions", path, entry.line_of("versions"))
    if not items:
        raise ProjectError(f"Model '{name}' has an empty list of versions.", path, entry.line_of("versions"))
    found: dict[str, YamlDict] = {}
    for item in items:
        item = expect_mapping(item, "A version", path, entry.line_of("versions"))
        check_keys(item, VERSION_KEYS, f"a version of model '{name}'")
        v = item.get("v")
        if not isinstance(v, int | float | str) or isinstance(v, bool) or v == "":
            raise ProjectError(
                f"A version of model '{name}' needs `v:`, a number or a name (e.g. v: 2).", path, item.line
            )
        if str(v) in found:
            raise ProjectError(f"Model '{name}' has version {v} twice.", path, item.line)
        found[str(v)] = item
    latest = _latest(entry, found, name, path)
    versions = []
    for item in found.values():
        version = ModelVersion(name, item["v"], latest)
        own = f"{name}_v{str(item['v']).replace('.', '_')}"
        versions.append(
            VersionEntry(
                name=own,
                file=str(item.get("defined_in") or f"{name}_v{item['v']}"),
                fallback=name if version.kind == "latest" and "defined_in" not in item else None,
                entry=_merged(entry, item, own, path),
                version=version,
                line=item.line,
            )
        )
    return versions


def _latest(entry: YamlDict, found: dict[str, YamlDict], name: str, path: str) -> int | float | str:
    """``latest_version``, which must be one of the versions; by default the greatest."""
    if "latest_version" not in entry:
        greatest = next(iter(found.values()))["v"]
        for item in found.values():
            if _order(item["v"], greatest) > 0:
                greatest = item["v"]
        return greatest  # type: ignore[no-any-return]  # a YAML scalar, checked above
    latest = entry["latest_version"]
    if str(latest) not in found:
        raise ProjectError(
            f"Model '{name}' has latest_version {latest}, which is none of its versions ({', '.join(found)}).",
            path,
            entry.line_of("latest_version"),
        )
    return found[str(latest)]["v"]  # type: ignore[no-any-return]  # as the version writes it


def _merged(entry: YamlDict, item: YamlDict, own: str, path: str) -> YamlDict:
    """The model's entry as one version sees it: the version's keys win, config merges, tests add up."""
    merged = YamlDict((k, v) for k, v in entry.items() if k not in _MODEL_ONLY)
    merged.line, merged.path, merged.key_lines = entry.line, entry.path, dict(entry.key_lines)
    merged["name"] = own
    for key, value in item.items():
        if key in ("v", "defined_in", "columns"):
            continue
        if key == "config":
            value = {**expect_mapping(entry.get("config"), "config", path), **expect_mapping(value, "config", path)}
        elif key in ("data_tests", "tests"):
            value = [*expect_list(entry.get(key), key, path), *expect_list(value, key, path)]
        merged[key] = value
        merged.key_lines[key] = item.line_of(key) or 0
    merged["columns"] = _columns(entry, item, path)
    return merged


def _columns(entry: YamlDict, item: YamlDict, path: str) -> list[Any]:
    """The version's columns: those of the model it includes (all by default) less those it excludes, then its
    own, which replace a model column of the same name."""
    model_columns = expect_list(entry.get("columns"), "columns", path, entry.line_of("columns"))
    if "columns" not in item:
        return model_columns
    include: Any = "all"
    exclude: list[Any] = []
    own: list[YamlDict] = []
    for column in expect_list(item["columns"], "columns", path, item.line_of("columns")):
        column = expect_mapping(column, "A column", path, item.line_of("columns"))
        if "include" in column or "exclude" in column:
            check_keys(column, {"include", "exclude"}, "a version's include/exclude entry")
            include = column.get("include", "all")
            exclude = expect_list(column.get("exclude"), "exclude", path, column.line)
        else:
            own.append(column)
    names = {str(c.get("name")) for c in model_columns if isinstance(c, dict)}
    wanted = names if include in ("all", "*") else {str(n) for n in expect_list(include, "include", path)}
    for listed in (*(() if include in ("all", "*") else wanted), *map(str, exclude)):
        if listed not in names:
            raise ProjectError(
                f"A version of model '{entry['name']}' includes or excludes column '{listed}', which the model does "
                "not list under its columns.",
                path,
                item.line_of("columns"),
            )
    replaced = {str(c.get("name")) for c in own}
    kept = [
        c for c in model_columns if isinstance(c, dict) and c.get("name") in wanted - set(map(str, exclude)) - replaced
    ]
    return [*kept, *own]
