"""Metric tests declared in the metric's YAML, as ``test`` nodes that select failing rows (no rows: pass).

Expectations read the built table ``metrics.<metric>``; unit tests run the metric's query on fixture rows in memory.

.. code-block:: yaml

    tests:
      - range: {min: 0, max: 1}                 # every value within [min, max] (column: defaults to the metric)
      - not_null: {per_period: true}            # every period from the first to the last has a value
      - equals: {metric: other, tolerance: 0.01}   # same keys, same values as another metric at this grain
      - equals: {sql: "select ... as metric_time__month, ... as value from marts.x", tolerance: 0}
      - unit:
          by: [month]                           # default: the metric's defaults
          given:
            - input: ref('fct_orders')          # or a semantic model's name
              rows: [{order_id: 1, ordered_at: 2025-01-05 10:00:00, ...}]
          expect:
            rows: [{metric_time__month: 2025-01-01, revenue: 100.5}]

Each entry may also have ``name:`` and ``severity: warn``. Select them with ``-s test_type:metric`` (expectations)
or ``-s test_type:metric_unit`` (unit tests, which need no warehouse).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlglot import exp

from northstar.checks.config import TestConfig
from northstar.errors import CompileError, did_you_mean
from northstar.metrics.builders import period_series, relation_table
from northstar.metrics.compile import compile_expression, default_request, render
from northstar.metrics.plan import parse_by
from northstar.metrics.request import Request
from northstar.metrics.resolve import Semantics
from northstar.metrics.spec import Metric
from northstar.nodes import DataTestNode, MetricNode, MetricTestNode, MetricUnitTestNode, NodeId
from northstar.project.yamlfile import YamlDict
from northstar.render.jinja import Relation
from northstar.render.refs import parse_relation_call

KINDS = ("range", "not_null", "equals", "unit")
_At = tuple[str, int | None]  # where a test was written: path, line
_COMMON = {"name", "severity", "description"}


def metric_tests(sem: Semantics, metric_nodes: Mapping[str, MetricNode], prefix: str) -> list[DataTestNode]:
    """A test node for every test of every metric."""
    tests: list[DataTestNode] = []
    for metric in sem.spec.metrics:
        if metric.name not in metric_nodes:  # refused: reported once by add_metrics
            continue
        counts: dict[str, int] = {}
        for entry in metric.tests:
            line = entry.line if isinstance(entry, YamlDict) else metric.where.line
            where = (metric.where.path, line)
            if not isinstance(entry, dict):
                raise CompileError(
                    f"A test of metric '{metric.name}' must be a mapping, e.g. `- range: {{min: 0}}`.", *where
                )
            kinds = [k for k in entry if k in KINDS]
            unknown = [k for k in entry if k not in KINDS and k not in _COMMON]
            if unknown or len(kinds) != 1:
                raise CompileError(
                    f"Each test of metric '{metric.name}' has exactly one of {', '.join(KINDS)} (and optionally "
                    f"{', '.join(sorted(_COMMON))}); got {', '.join(entry) or 'nothing'}.",
                    *where,
                )
            kind = kinds[0]
            severity = entry.get("severity", "error")
            if severity not in ("error", "warn"):
                raise CompileError(f"severity of a test of metric '{metric.name}' must be error or warn.", *where)
            counts[kind] = counts.get(kind, 0) + 1
            name = entry.get("name") or f"metric_{metric.name}_{kind}" + (
                f"_{counts[kind]}" if counts[kind] > 1 else ""
            )
            args = entry[kind] if entry[kind] is not None else {}
            if not isinstance(args, dict):
                raise CompileError(f"'{kind}' of a test of metric '{metric.name}' must be a mapping.", *where)
            node = metric_nodes[metric.name]
            sql = _SQL[kind](sem, metric, node.relation, args, where)
            test_class = MetricUnitTestNode if kind == "unit" else MetricTestNode
            tests.append(
                test_class(
                    unique_id=NodeId("test", prefix, name),
                    name=name,
                    path=metric.where.path,
                    line=line,
                    test_name=kind,
                    sql=sql,
                    depends_on=(node.unique_id,),
                    config=TestConfig(severity=severity),
                    attached_node=node.unique_id,
                    model_name=metric.name,
                    description=str(entry.get("description") or ""),
                )
            )
    return tests


def _keys(sem: Semantics, metric: Metric) -> list[str]:
    return [
        g.column for g in parse_by(default_request(metric, sem).by, metric.default_grain or "day", sem.custom_grains)
    ]


def _check_args(args: Mapping[str, Any], allowed: set[str], what: str, where: _At) -> None:
    unknown = sorted(set(args) - allowed)
    if unknown:
        hint = did_you_mean(unknown[0], allowed)
        choices = ", ".join(sorted(allowed))
        raise CompileError(f"Unknown key '{unknown[0]}' in {what}.{hint} Allowed keys: {choices}.", *where)


def _number(value: Any, what: str, where: _At) -> exp.Expr:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CompileError(f"{what} must be a number, got {value!r}.", *where)
    return exp.Literal.number(value)


def _range(sem: Semantics, metric: Metric, relation: Relation, args: Mapping[str, Any], where: _At) -> str:
    _check_args(args, {"min", "max", "column"}, f"the range test of metric '{metric.name}'", where)
    if "min" not in args and "max" not in args:
        raise CompileError(f"The range test of metric '{metric.name}' needs min, max or both.", *where)
    column = exp.column(str(args.get("column", metric.name)))
    outside: list[exp.Expr] = []
    if "min" in args:
        outside.append(exp.LT(this=column.copy(), expression=_number(args["min"], "min", where)))
    if "max" in args:
        outside.append(exp.GT(this=column.copy(), expression=_number(args["max"], "max", where)))
    query = (
        exp.select("*", copy=False)
        .from_(relation_table(relation), copy=False)
        .where(exp.or_(*outside, copy=False), copy=False)
    )
    return render(query)


def _not_null(sem: Semantics, metric: Metric, relation: Relation, args: Mapping[str, Any], where: _At) -> str:
    _check_args(args, {"per_period", "column"}, f"the not_null test of metric '{metric.name}'", where)
    column = str(args.get("column", metric.name))
    table = relation_table(relation)
    if not args.get("per_period"):
        return render(
            exp.select("*", copy=False).from_(table, copy=False).where(exp.column(column).is_(exp.null()), copy=False)
        )
    time = next(
        (
            g
            for g in parse_by(default_request(metric, sem).by, metric.default_grain or "day", sem.custom_grains)
            if g.grain
        ),
        None,
    )
    if time is None or time.grain is None:
        raise CompileError(
            f"not_null per_period needs a time grain: metric '{metric.name}' has no `defaults: {{grain: ...}}`.",
            *where,
        )
    periods = exp.select(period_series(exp.column(time.column), time.grain, "period"), copy=False).from_(
        table.copy(), copy=False
    )
    query = (
        exp.select(exp.alias_(exp.column("period", "periods"), time.column, copy=False), copy=False)
        .from_(periods.subquery("periods"), copy=False)
        .join(
            table.copy().as_("m"),
            on=exp.EQ(this=exp.column(time.column, "m"), expression=exp.column("period", "periods")),
            join_type="left",
            copy=False,
        )
        .group_by(exp.Literal.number(1), copy=False)
        .having(exp.EQ(this=exp.Count(this=exp.column(column, "m")), expression=exp.Literal.number(0)), copy=False)
    )
    return render(query)


def _equals(sem: Semantics, metric: Metric, relation: Relation, args: Mapping[str, Any], where: _At) -> str:
    import sqlglot

    _check_args(args, {"metric", "sql", "tolerance"}, f"the equals test of metric '{metric.name}'", where)
    if ("metric" in args) == ("sql" in args):
        raise CompileError(
            f"The equals test of metric '{metric.name}' compares with either `metric: name` or `sql: query`.", *where
        )
    keys = _keys(sem, metric)
    # By default equal up to float rounding (a ratio computed two ways differs in the last bits).
    tolerance = _number(args.get("tolerance", 1e-9), "tolerance", where)
    expected: exp.Expr
    if "metric" in args:
        other = sem.metric(str(args["metric"]), metric)
        expected = compile_expression(sem, Request((other.name,), by=default_request(metric, sem).by))
        value = exp.column(other.name)
    else:
        try:
            expected = sqlglot.parse_one(str(args["sql"]), dialect="duckdb")
        except sqlglot.errors.SqlglotError as error:  # ParseError, or TokenError: an unclosed quote
            raise CompileError(
                f"The sql of the equals test of '{metric.name}' does not parse: {error}", *where
            ) from None
        if not isinstance(expected, exp.Query):
            raise CompileError(
                f"The sql of the equals test of '{metric.name}' must be a query (select ... as value), "
                f"got {args['sql']!r}.",
                *where,
            )
        value = exp.column("value")
    expected_cols = [exp.column(k) for k in keys] + [exp.alias_(value, "expected", copy=False)]
    expected_q = exp.select(*expected_cols, copy=False).from_(expected.subquery("query"), copy=False)
    actual_q = exp.select(
        *[exp.column(k) for k in keys], exp.alias_(exp.column(metric.name), "actual", copy=False), copy=False
    ).from_(relation_table(relation), copy=False)
    diff = exp.Abs(this=exp.Sub(this=exp.column("actual"), expression=exp.column("expected")))
    differs = exp.and_(
        exp.NullSafeNEQ(this=exp.column("actual"), expression=exp.column("expected")),
        exp.func("coalesce", exp.GT(this=diff, expression=tolerance), exp.true()),
        copy=False,
    )
    query = exp.select(*[exp.column(k) for k in keys], "actual", "expected", copy=False).from_("actual", copy=False)
    if keys:
        query = query.join("expected", using=tuple(keys), join_type="full outer", copy=False)
    else:
        query = query.join("expected", join_type="cross", copy=False)
    query = (
        query.where(differs, copy=False)
        .with_("actual", as_=actual_q, copy=False)
        .with_("expected", as_=expected_q, copy=False)
    )
    return render(query)


def _literal(value: Any) -> exp.Expr:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float | Decimal):
        return exp.Literal.number(value)
    if isinstance(value, datetime):
        return exp.Cast(
            this=exp.Literal.string(value.isoformat(sep=" ")), to=exp.DataType(this=exp.DataType.Type.TIMESTAMP)
        )
    if isinstance(value, date):
        return exp.Cast(this=exp.Literal.string(value.isoformat()), to=exp.DataType(this=exp.DataType.Type.DATE))
    return exp.Literal.string(str(value))


def _rows(rows: Any, what: str, where: _At) -> exp.Select:
    """Fixture rows (a list of mappings) as SELECT * FROM (VALUES ...) with every column any row names."""
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise CompileError(f"{what} needs `rows:`, a non-empty list of mappings (column: value).", *where)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    values = exp.Values(
        expressions=[exp.Tuple(expressions=[_literal(row.get(c)) for c in columns]) for row in rows],
        alias=exp.TableAlias(this=exp.to_identifier("t"), columns=[exp.to_identifier(c) for c in columns]),
    )
    return exp.select(*[exp.column(c) for c in columns], copy=False).from_(values, copy=False)


def _unit(sem: Semantics, metric: Metric, relation: Relation, args: Mapping[str, Any], where: _At) -> str:
    _check_args(args, {"by", "given", "expect", "where"}, f"the unit test of metric '{metric.name}'", where)
    by = args.get("by")
    request = (
        default_request(metric, sem)
        if by is None
        else Request((metric.name,), by=tuple([by] if isinstance(by, str) else by))
    )
    if args.get("where"):
        request = Request(request.metrics, request.by, where=str(args["where"]))
    given = args.get("given")
    if not isinstance(given, list) or not given:
        raise CompileError(f"The unit test of metric '{metric.name}' needs `given:` inputs with rows.", *where)
    fixtures: dict[tuple[str, str], str] = {}
    ctes: list[tuple[str, exp.Select]] = []
    by_model = {sm.name: sm.model for sm in sem.spec.semantic_models}
    for item in given:
        if not isinstance(item, dict) or "input" not in item:
            raise CompileError(f"Each given of metric '{metric.name}''s unit test needs `input: ref('model')`.", *where)
        text = str(item["input"]).strip()
        call = parse_relation_call(text, *where)
        model = call.name if call is not None and call.function == "ref" else by_model.get(text, text)
        target = sem.relations.get(model)
        if target is None:
            raise CompileError(
                f"The unit test of metric '{metric.name}' gives rows for '{text}', which is not a model.",
                *where,
            )
        name = f"__fixture_{model}"
        fixtures[(target.schema, target.identifier)] = name
        ctes.append((name, _rows(item.get("rows"), f"The input {text} of metric '{metric.name}''s unit test", where)))
    query = compile_expression(sem, request)
    missing = sorted(f"{t.db}.{t.name}" for t in query.find_all(exp.Table) if t.db and (t.db, t.name) not in fixtures)
    if missing:
        raise CompileError(
            f"The unit test of metric '{metric.name}' needs rows for every input it reads; missing: "
            f"{', '.join(missing)} (give them under `given:` as `input: ref('...')`).",
            *where,
        )

    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and node.db and (node.db, node.name) in fixtures:
            alias = node.alias or node.name
            return exp.table_(fixtures[(node.db, node.name)]).as_(alias)
        return node

    actual = query.transform(swap)
    expect = args.get("expect")
    if not isinstance(expect, dict):
        raise CompileError(f"The unit test of metric '{metric.name}' needs `expect: {{rows: [...]}}`.", *where)
    expected = _rows(expect.get("rows"), f"The expect of metric '{metric.name}''s unit test", where)
    rows = expect["rows"]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    floats = {c for c in columns if any(isinstance(row.get(c), float) for row in rows)}

    def side(table: str) -> exp.Select:
        cols = [
            exp.alias_(
                exp.func(
                    "round",
                    exp.Cast(this=exp.column(c), to=exp.DataType(this=exp.DataType.Type.DOUBLE)),
                    exp.Literal.number(6),
                ),
                c,
                copy=False,
            )
            if c in floats
            else exp.column(c)
            for c in columns
        ]
        return exp.select(*cols, copy=False).from_(table, copy=False)

    unexpected = exp.select(exp.alias_(exp.Literal.string("unexpected"), "problem", copy=False), "*", copy=False).from_(
        exp.Except(this=side("actual"), expression=side("expected"), distinct=False).subquery("rows"), copy=False
    )
    missing_rows = exp.select(exp.alias_(exp.Literal.string("missing"), "problem", copy=False), "*", copy=False).from_(
        exp.Except(this=side("expected"), expression=side("actual"), distinct=False).subquery("rows"), copy=False
    )
    report = exp.union(unexpected, missing_rows, distinct=False, copy=False)
    for name, body in ctes:
        report = report.with_(name, as_=body, copy=False)
    report = report.with_("actual", as_=actual, copy=False).with_("expected", as_=expected, copy=False)
    return render(report)


_SQL: dict[str, Callable[[Semantics, Metric, Relation, Mapping[str, Any], _At], str]] = {
    "range": _range,
    "not_null": _not_null,
    "equals": _equals,
    "unit": _unit,
}

__all__ = ["metric_tests"]
