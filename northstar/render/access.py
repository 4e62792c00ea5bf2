"""Groups and access between models, as dbt checks them when it parses a project; deprecated models warned about.

A model refs a ``private`` model only from the same group (a model in no group may ref a private model in no
group, as in dbt); ``protected`` and ``public`` models may be ref'd from anywhere in the project. Across projects
(the root project and its installed packages) dbt checks access only for a project whose dbt_project.yml sets
``restrict-access: true``: then only its ``public`` models may be ref'd from another project. A model whose
``deprecation_date`` has passed is warned about, and so is every model that refs it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping

from northstar.errors import CompileError, did_you_mean
from northstar.nodes import ModelNode, Node, NodeId, SeedNode
from northstar.project.groups import Group, check_access
from northstar.project.settings import ProjectConfig


def restricted_projects(config: ProjectConfig) -> frozenset[str]:
    """The names of the root project and installed packages whose dbt_project.yml sets ``restrict-access: true``."""
    return frozenset(project.name for project in (config, *config.packages) if project.restrict_access)


def check_governance(
    nodes: Mapping[NodeId, Node],
    groups: tuple[Group, ...],
    restricted: frozenset[str],
    warn: Callable[[str], None],
    now: datetime.datetime,
) -> None:
    """Raise :class:`CompileError` for an unknown group, an unknown access level or a ref to another group's
    private model (or, from another project, to a non-public model of a project in ``restricted``, the names of
    the projects with ``restrict-access: true``); warn about refs to models past their deprecation date."""
    known = [group.name for group in groups]
    for node in nodes.values():
        if not isinstance(node, ModelNode | SeedNode):
            continue
        group = node.config.extra.get("group")
        where = f"{node.kind.capitalize()} '{node.name}'"
        if group is not None and group not in known:
            raise CompileError(
                f"{where} is in group '{group}', which no `groups:` entry declares.{did_you_mean(str(group), known)}"
                " Declare it in a property file (`groups: [{name: ..., owner: {name: ...}}]`).",
                node.yaml_path or node.path,
            )
        if isinstance(node, ModelNode):
            check_access(node.config.extra.get("access"), where, node.yaml_path or node.path, None)
    for node in nodes.values():
        if isinstance(node, ModelNode) and node.deprecation_date and node.deprecation_date < now:
            warn(
                f"Warning: {node.yaml_path or node.path}: Model '{node.name}' passed its deprecation date "
                f"({node.deprecation_date.isoformat()}). Disable or remove it."
            )
    for node in nodes.values():
        if isinstance(node, ModelNode):
            for parent in node.depends_on:
                target = nodes.get(parent)
                if isinstance(target, ModelNode):
                    _check_ref(node, target, restricted, warn, now)


def _check_ref(
    node: ModelNode,
    target: ModelNode,
    restricted: frozenset[str],
    warn: Callable[[str], None],
    now: datetime.datetime,
) -> None:
    group = target.config.extra.get("group")
    access = target.config.extra.get("access") or "protected"
    package = target.unique_id.package
    same_project = node.unique_id.package == package
    if access != "public" and not same_project and package in restricted:
        raise CompileError(
            f"Model '{node.name}' ({node.path}) refs '{target.name}' ({target.path}), which is {access} to project "
            f"'{package}': its dbt_project.yml sets restrict-access: true. Give '{target.name}' access: public, or "
            "set restrict-access: false.",
            node.path,
        )
    if access == "private" and node.config.extra.get("group") != group and same_project:
        owner = f"group '{group}'" if group else "models in no group"
        raise CompileError(
            f"Model '{node.name}' ({node.path}) refs '{target.name}' ({target.path}), which is private to {owner}. "
            f"Put '{node.name}' in that group, or give '{target.name}' access: protected or public.",
            node.path,
        )
    if target.deprecation_date and target.deprecation_date < now:
        warn(
            f"Warning: {node.path}: Model '{node.name}' refs '{target.name}', which was deprecated on "
            f"{target.deprecation_date.isoformat()}. Move to its replacement."
        )
