"""The node model: every kind of node of the build DAG, one typed family, and the id they are known by.

A manifest maps :class:`NodeId` to :class:`Node`. Each kind declares what the pipeline needs to know about it, so no
stage asks a node for its kind by name or probes it for attributes:

======================  ==========  ==============  =======  ===============  ============
kind                    ``kind``    ``built``       is_test  reads_warehouse  keepable
======================  ==========  ==============  =======  ===============  ============
:class:`SeedNode`       seed        its table       no       yes              yes
:class:`SourceNode`     source      (none)          no       yes              no
:class:`ModelNode`      model       table or view   no       yes              yes
:class:`SnapshotNode`   snapshot    its table       no       yes              yes
:class:`DataTestNode`   test        (none)          yes      yes [1]_         no
:class:`UnitTestNode`   test        (none)          yes      no               no
:class:`MetricNode`     metric      its table       no       yes              yes
:class:`ExposureNode`   exposure    (none)          no       no (never runs)  no
:class:`AnalysisNode`   analysis    (none)          no       no (never runs)  no
======================  ==========  ==============  =======  ===============  ============

.. [1] except a metric's unit test (:class:`MetricUnitTestNode`), which runs on literal rows.

>>> uid = NodeId("model", "growth", "fct_orders")
>>> uid, uid.resource_type, uid.package, uid.name
('model.growth.fct_orders', 'model', 'growth', 'fct_orders')
>>> uid == "model.growth.fct_orders", NodeId.parse("source.growth.raw.orders").name
(True, 'raw.orders')
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from northstar.checks.config import TestConfig
from northstar.project.config import NodeConfig
from northstar.project.loader import Column
from northstar.project.snapshots import SnapshotConfig
from northstar.project.versions import ModelVersion
from northstar.render.introspect import IntrospectingCall
from northstar.render.jinja import Ephemeral, External, Relation


class NodeId(str):
    """A node's unique id, ``resource_type.package.name`` as dbt writes it, with its parts at hand.

    It is its text for hashing and comparison, so ids read back from ``manifest.json``, ``run_results.json`` or the
    warehouse's state table find their node, and JSON writes it as it is. Immutable, as a ``str`` is.
    """

    __slots__ = ()

    def __new__(cls, resource_type: str, package: str, name: str) -> NodeId:
        return super().__new__(cls, f"{resource_type}.{package}.{name}")

    def __getnewargs__(self) -> tuple[str, str, str]:  # type: ignore[override]  # copy and pickle rebuild from parts
        return (self.resource_type, self.package, self.name)

    @classmethod
    def parse(cls, text: str) -> NodeId:
        """An id read back as text, e.g. from a previous run's ``manifest.json``."""
        resource_type, _, rest = text.partition(".")
        package, _, name = rest.partition(".")
        return cls(resource_type, package, name)

    @property
    def resource_type(self) -> str:
        return self.partition(".")[0]

    @property
    def package(self) -> str:
        return self.split(".", 2)[1]

    @property
    def name(self) -> str:
        """The node's name; a source's is ``source_name.table`` (package names have no dots)."""
        return self.split(".", 2)[2]


@dataclass(frozen=True, kw_only=True)
class Node:
    """What every node has: an id, a name, the file it is declared in and the nodes it reads."""

    kind: ClassVar[str]  # dbt's resource_type, as written in manifest.json, `ls` and messages
    # Declared by each kind, so the pipeline never asks a node what it is by name:
    is_test: ClassVar[bool] = False  # judges rows rather than building anything
    keepable: ClassVar[bool] = False  # builds a relation a later build may keep when its fingerprint is unchanged
    reads_warehouse: ClassVar[bool] = True  # needs the warehouse to run (unit tests run on fixtures alone)
    feeds_fingerprints: ClassVar[bool] = False  # its fingerprint is part of its children's (it is read, not judged)

    unique_id: NodeId
    name: str
    path: str
    depends_on: tuple[NodeId, ...] = ()
    description: str = ""
    columns: tuple[Column, ...] = ()  # documented columns
    line: int | None = None  # where in ``path`` it is declared, when that file holds several

    @property
    def built(self) -> Relation | None:
        """The table or view this node writes into the warehouse, if any."""
        return None

    @property
    def reads_as(self) -> Relation | External | Ephemeral | None:
        """What a child (or a test) reads for this node: its relation, files read in place, or an inlined CTE."""
        return self.built

    @property
    def display_name(self) -> str:
        """The name ``ls`` prints and a bare ``--select`` matches."""
        return self.name

    @property
    def tags(self) -> tuple[str, ...]:
        return ()

    @property
    def config_values(self) -> Mapping[str, Any]:
        """The node's config as ``config.KEY:value`` selectors and manifest.json see it."""
        return {}

    @property
    def location(self) -> str:
        """``path:line`` for messages."""
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True, kw_only=True)
class SeedNode(Node):
    """A CSV file loaded into a table."""

    kind: ClassVar[str] = "seed"
    keepable: ClassVar[bool] = True
    feeds_fingerprints: ClassVar[bool] = True

    abs_path: Path
    config: NodeConfig
    relation: Relation
    tests: tuple[Any, ...] = ()  # as written in YAML; checks.datatests makes them nodes
    yaml_path: str | None = None
    # A dbt project's seed: whole-number columns are INTEGER, as dbt-duckdb types them (engine/seedtypes.py).
    dbt_types: bool = False

    @property
    def built(self) -> Relation:
        return self.relation

    @property
    def tags(self) -> tuple[str, ...]:
        return self.config.tags

    @property
    def config_values(self) -> Mapping[str, Any]:
        return self.config.as_dict()

    @cached_property
    def checksum(self) -> str:
        return hashlib.sha256(self.abs_path.read_bytes()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class SourceNode(Node):
    """A table another tool loads, or files read in place; built by nobody (a seed's table: after that seed)."""

    kind: ClassVar[str] = "source"
    feeds_fingerprints: ClassVar[bool] = True

    source_name: str
    relation: Relation | External
    tests: tuple[Any, ...] = ()

    @property
    def reads_as(self) -> Relation | External:
        return self.relation

    @property
    def display_name(self) -> str:
        return f"{self.source_name}.{self.name}"


@dataclass(frozen=True, kw_only=True)
class ModelNode(Node):
    """A SELECT rendered from Jinja, materialized as a view, table or incremental table, or inlined (ephemeral)."""

    kind: ClassVar[str] = "model"
    keepable: ClassVar[bool] = True
    feeds_fingerprints: ClassVar[bool] = True

    raw_sql: str
    sql: str  # the rendered SELECT, with ephemeral models inlined as CTEs
    config: NodeConfig
    relation: Relation | Ephemeral
    tests: tuple[Any, ...] = ()
    yaml_path: str | None = None
    # Its Jinja queries the warehouse (run_query, adapter.get_columns_in_relation...): ``sql`` is rendered when its
    # parents are built; until then it is the render dbt's parse gives (``execute`` false).
    introspects: IntrospectingCall | None = None
    constraints: tuple[Mapping[str, Any], ...] = ()  # model-level, as written in YAML
    version: ModelVersion | None = None  # a version of a versioned model (`name` is then <model>_v<v>)
    deprecation_date: datetime.datetime | None = None

    @property
    def materialized(self) -> str:
        return self.config.materialized

    @property
    def display_name(self) -> str:
        """A version shows as dbt shows it: ``dim_customers.v2``."""
        return f"{self.version.model}.{self.version.suffix}" if self.version else self.name

    @property
    def built(self) -> Relation | None:
        return self.relation if isinstance(self.relation, Relation) else None

    @property
    def reads_as(self) -> Relation | Ephemeral:
        return self.relation

    @property
    def tags(self) -> tuple[str, ...]:
        return self.config.tags

    @property
    def config_values(self) -> Mapping[str, Any]:
        return self.config.as_dict()

    @cached_property
    def checksum(self) -> str:
        return hashlib.sha256(self.raw_sql.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class SnapshotNode(Node):
    """dbt's snapshot: a table recording how a query's rows change over time (type 2 slowly changing dimension).

    Kept when its fingerprint (its SQL, config and inputs) is unchanged: the same rows give no new history.
    """

    kind: ClassVar[str] = "snapshot"
    keepable: ClassVar[bool] = True
    feeds_fingerprints: ClassVar[bool] = True

    raw_sql: str
    sql: str  # the rendered SELECT whose rows it records
    config: NodeConfig
    snapshot: SnapshotConfig
    relation: Relation
    tests: tuple[Any, ...] = ()
    yaml_path: str | None = None
    yaml_line: int | None = None  # its entry in ``yaml_path``

    @cached_property
    def checksum(self) -> str:
        return hashlib.sha256(self.raw_sql.encode()).hexdigest()

    @property
    def built(self) -> Relation:
        return self.relation

    @property
    def tags(self) -> tuple[str, ...]:
        return self.config.tags

    @property
    def config_values(self) -> Mapping[str, Any]:
        return self.config.as_dict()


@dataclass(frozen=True, kw_only=True)
class ExposureNode(Node):
    """A dbt exposure: what reads the project (a dashboard, a notebook...). Never built; it joins the DAG so that
    ``-s +exposure:name`` selects everything it depends on, and manifest.json lists it."""

    kind: ClassVar[str] = "exposure"

    exposure_type: str  # dashboard, notebook, analysis, ml, application
    owner: Mapping[str, Any]
    label: str | None = None
    maturity: str | None = None
    url: str | None = None
    exposure_tags: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tags(self) -> tuple[str, ...]:
        return self.exposure_tags


@dataclass(frozen=True, kw_only=True)
class AnalysisNode(Node):
    """A dbt analysis: a SELECT under ``analysis-paths`` that ``metrics compile`` renders (ref and source resolved)
    into ``target/compiled/``, and nothing ever runs."""

    kind: ClassVar[str] = "analysis"

    raw_sql: str
    sql: str
    config: NodeConfig
    package: str | None = None
    yaml_path: str | None = None  # the property file describing it

    @property
    def tags(self) -> tuple[str, ...]:
        return self.config.tags

    @property
    def config_values(self) -> Mapping[str, Any]:
        return self.config.as_dict()


@dataclass(frozen=True, kw_only=True)
class TestNode(Node):
    """Any test: it judges rows and blocks what it guards when it fails."""

    __test__ = False  # not a pytest class
    kind: ClassVar[str] = "test"
    is_test: ClassVar[bool] = True
    test_type: ClassVar[str]  # what ``-s test_type:...`` selects

    sql: str
    config: TestConfig = field(default_factory=TestConfig)
    model_name: str | None = None  # what the test is on, for messages
    attached_node: NodeId | None = None  # the model, seed, source or metric the test is declared on

    @property
    def tags(self) -> tuple[str, ...]:
        return self.config.tags

    @property
    def config_values(self) -> Mapping[str, Any]:
        return self.config.as_dict()


@dataclass(frozen=True, kw_only=True)
class DataTestNode(TestNode):
    """A query selecting the rows that break a rule: no rows, the test passes."""

    test_type: ClassVar[str] = "data"

    test_name: str  # the generic test (not_null, ...), the singular test's file name, or a metric test's kind
    column_name: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)  # a generic test's arguments, as written in YAML
    raw_sql: str | None = None  # singular tests: the file, so DuckDB errors map back to its lines


@dataclass(frozen=True, kw_only=True)
class GenericTestNode(DataTestNode):
    """A ``{% test %}`` template (built-in or the project's) applied to a node or column in YAML."""

    test_type: ClassVar[str] = "generic"


@dataclass(frozen=True, kw_only=True)
class SingularTestNode(DataTestNode):
    """A ``.sql`` file under the test paths."""

    test_type: ClassVar[str] = "singular"


@dataclass(frozen=True, kw_only=True)
class MetricTestNode(DataTestNode):
    """An expectation on a metric's built table (range, not_null, equals)."""

    test_type: ClassVar[str] = "metric"


@dataclass(frozen=True, kw_only=True)
class MetricUnitTestNode(DataTestNode):
    """A metric's query run on literal rows: needs no warehouse."""

    test_type: ClassVar[str] = "metric_unit"
    reads_warehouse: ClassVar[bool] = False


@dataclass(frozen=True)
class Fixture:
    """Rows as written in YAML or CSV: column names and one tuple per row (CSV values are strings), or a query."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    sql: str | None = None  # format: sql, a SELECT of literal rows, run in the sandbox


@dataclass(frozen=True)
class Given:
    input: str  # as written: ref('stg_orders'), source('raw', 'users') or this
    node_id: NodeId
    relation: Relation
    fixture: Fixture


@dataclass(frozen=True, kw_only=True)
class UnitTestNode(TestNode):
    """A model's unit test: the model's SQL on fixture rows in memory, compared with the expected rows."""

    test_type: ClassVar[str] = "unit"
    reads_warehouse: ClassVar[bool] = False

    model_name: str
    given: tuple[Given, ...]
    expect: Fixture


@dataclass(frozen=True, kw_only=True)
class MetricNode(Node):
    """A metric materialized at its default grain and dimensions into a table BI tools read."""

    kind: ClassVar[str] = "metric"
    keepable: ClassVar[bool] = True
    feeds_fingerprints: ClassVar[bool] = True

    metric_type: str
    sql: str
    relation: Relation
    materialized: str = "table"  # a saved query's export may be a view

    @property
    def built(self) -> Relation:
        return self.relation
