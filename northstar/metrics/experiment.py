"""An uplift over several outcomes at once: did the campaign change behaviour, beyond one number?

A reactivation campaign is judged on more than orders in a short window: over 90 days, treatment minus control of
orders, revenue, average order value and the share of orders with a promo code. An ``uplift`` metric with
``outcomes:`` answers that in one query, one row per period of exposure, with the group sizes and, per outcome, the
treatment and control values, their difference and its confidence interval:

- ``{name, measure}``: the measure per member (orders, revenue), compared as means; the interval is Welch's normal
  interval, as for a single-outcome uplift.
- ``{name, numerator, denominator}``: a ratio of two sums over the group's members (revenue / orders is the average
  order value); its variance comes from the delta method, ``var(y - R x) / (n * mean(x)^2)`` per group, the
  standard error of a ratio estimator.

Each measure is aggregated per member in a CTE of its own and joined back one row per member, so two measures of
the same rows never multiply each other.
"""

from __future__ import annotations

from collections.abc import Callable
from statistics import NormalDist

from sqlglot import exp

from northstar.errors import ProjectError
from northstar.metrics.builders import (
    Rows,
    aggregate,
    and_all,
    date_range,
    interval,
    order_limit,
    qualify,
    row_ids,
    truncate,
)
from northstar.metrics.growth import COHORT_AGE, Cte, event_rows
from northstar.metrics.plan import Compiled, Group
from northstar.metrics.spec import MeasureInput, Metric, UpliftOutcome, UpliftParams

DOUBLE = exp.DataType.Type.DOUBLE


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table)


def _numbered(count: int) -> list[exp.Expr]:
    return [exp.Literal.number(i + 1) for i in range(count)]


def _double(value: exp.Expr) -> exp.Expr:
    return exp.Cast(this=value, to=exp.DataType(this=DOUBLE))


def _when(arm: str, value: exp.Expr) -> exp.Case:
    return exp.Case(ifs=[exp.If(this=exp.EQ(this=_col("arm"), expression=exp.Literal.string(arm)), true=value)])


def outcomes_query(c: Compiled, metric: Metric, p: UpliftParams) -> exp.Select:
    """The query of an uplift metric with several outcomes."""
    if any(g.name == COHORT_AGE for g in c.groups):
        raise ProjectError(f"--by {COHORT_AGE} only applies to cohort metrics; '{metric.name}' is an uplift.")
    name = metric.name
    time = next((g for g in c.groups if g.is_time), None)
    dims = [g for g in c.groups if not g.is_time]
    ctes: list[Cte] = [
        (f"{name}_members", _members(c, metric, p, dims), f"{name}: one row per member ({p.treatment} or {p.control})")
    ]
    measures = _outcome_measures(p)
    ctes += _per_member(c, metric, p, measures, dims)

    def column_of(item: MeasureInput) -> str:
        return next(k for k, v in measures.items() if v == item)

    keys: list[exp.Expr] = []
    if time:
        keys.append(exp.alias_(truncate(_col("exposed_at"), time.grain or "month"), time.column, copy=False))
    keys += [_col(g.column) for g in dims]
    partition: list[exp.Expr] = [_col("arm")]
    if time:
        partition.append(truncate(_col("exposed_at"), time.grain or "month"))
    partition += [_col(g.column) for g in dims]
    residuals = _residuals(name, p, partition, column_of)
    ctes.append((f"{name}_residuals", residuals, f"{name}: for ratio outcomes, y - R x of each member"))
    arms: list[exp.Expr] = [
        *keys,
        exp.alias_(exp.Count(this=_when(p.treatment, exp.Literal.number(1))), "treatment_members", copy=False),
        exp.alias_(exp.Count(this=_when(p.control, exp.Literal.number(1))), "control_members", copy=False),
    ]
    for outcome in p.outcomes:
        for group, prefix in ((p.treatment, "t"), (p.control, "c")):
            value, variance = _arm_estimate(outcome, group, column_of)
            arms.append(exp.alias_(value, f"{prefix}__{outcome.name}", copy=False))
            arms.append(exp.alias_(variance, f"{prefix}__{outcome.name}__var", copy=False))
    arms_query = exp.select(*arms, copy=False).from_(f"{name}_residuals", copy=False)
    if keys:
        arms_query = arms_query.group_by(*_numbered(len(keys)), copy=False)
    ctes.append((f"{name}_arms", arms_query, f"{name}: size, value and variance of each group"))
    out: list[exp.Expr] = [exp.column(g.column) for g in ([time] if time else []) + dims]
    out += [_col("treatment_members"), _col("control_members")]
    out += _uplift_columns(p)
    query = exp.select(*out, copy=False).from_(f"{name}_arms", copy=False)
    for cte_name, body, comment in ctes:
        body.add_comments([comment])
        query = query.with_(cte_name, as_=body, copy=False)
    return order_limit(query, c)


def _members(c: Compiled, metric: Metric, p: UpliftParams, dims: list[Group]) -> exp.Select:
    """One row per exposed member of either group: a member id, the entity, when, which group, the --by columns."""
    sem = c.sem
    filters = (metric.filter,) if metric.filter else ()
    model = sem.model_of(p.exposure.name, metric)
    rows = Rows(sem, model, metric, measure=p.exposure.name)
    entity = model.entity(p.entity)
    assert entity is not None
    arm = rows.dimension(p.group, f"Uplift metric '{metric.name}' (group)")
    exposed_at = rows.time(p.exposure.name)
    conditions = rows.filters((*filters, p.exposure.filter) if p.exposure.filter else filters, p.exposure.name)
    if c.where is not None:
        conditions.append(rows.condition(c.where, p.exposure.name, "--where"))
    conditions.append(
        exp.In(this=arm.copy(), expressions=[exp.Literal.string(p.treatment), exp.Literal.string(p.control)])
    )
    conditions += date_range(exposed_at.copy(), c.request.start, c.request.end)
    return (
        rows.source()
        .select(
            exp.alias_(row_ids([qualify(entity.sql, rows.alias), exposed_at, arm]), "member_id", copy=False),
            exp.alias_(qualify(entity.sql, rows.alias), "entity", copy=False),
            exp.alias_(exposed_at, "exposed_at", copy=False),
            exp.alias_(arm, "arm", copy=False),
            *[exp.alias_(rows.dimension(g.dimension, "--by"), g.column, copy=False) for g in dims],
            copy=False,
        )
        .where(and_all(conditions), copy=False)
    )


def _outcome_measures(p: UpliftParams) -> dict[str, MeasureInput]:
    """Every measure the outcomes read, once, by the column it gets per member."""
    measures: dict[str, MeasureInput] = {}
    for outcome in p.outcomes:
        for item in outcome.measures:
            if item not in measures.values():
                measures[item.name if item.name not in measures else f"{item.name}_{len(measures) + 1}"] = item
    return measures


def _per_member(
    c: Compiled, metric: Metric, p: UpliftParams, measures: dict[str, MeasureInput], dims: list[Group]
) -> list[Cte]:
    """One CTE per measure (its value per member within the window after exposure), then every value per member."""
    sem, name = c.sem, metric.name
    ctes: list[Cte] = []
    per_member = exp.select(
        _col("member_id", "members"),
        _col("arm", "members"),
        _col("exposed_at", "members"),
        *[_col(g.column, "members") for g in dims],
        copy=False,
    ).from_(exp.table_(f"{name}_members").as_("members"), copy=False)
    for column, item in measures.items():
        measure = sem.model_of(item.name, metric).measure(item.name)
        assert measure is not None
        on = [
            exp.EQ(this=_col("entity", "outcomes"), expression=_col("entity", "members")),
            exp.GTE(this=_col("event_at", "outcomes"), expression=_col("exposed_at", "members")),
            exp.LT(
                this=_col("event_at", "outcomes"),
                expression=exp.Add(this=_col("exposed_at", "members"), expression=interval(p.window)),
            ),
        ]
        value: exp.Expr = exp.func("coalesce", aggregate(measure, _col("value", "outcomes")), exp.Literal.number(0))
        body = (
            exp.select(_col("member_id", "members"), exp.alias_(value, "value", copy=False), copy=False)
            .from_(exp.table_(f"{name}_members").as_("members"), copy=False)
            .join(event_rows(c, metric, item, p.entity).subquery("outcomes"), on=and_all(on), join_type="left")
            .group_by(exp.Literal.number(1), copy=False)
        )
        ctes.append((f"{name}_{column}", body, f"{name}: {measure.agg} of {measure.expr} per member within {p.window}"))
        per_member = per_member.select(exp.alias_(_col("value", column), column, copy=False), copy=False).join(
            exp.table_(f"{name}_{column}").as_(column),
            on=exp.EQ(this=_col("member_id", column), expression=_col("member_id", "members")),
            join_type="inner",
            copy=False,
        )
    ctes.append((f"{name}_per_member", per_member, f"{name}: every outcome measure per member"))
    return ctes


def _residuals(
    name: str, p: UpliftParams, partition: list[exp.Expr], column_of: Callable[[MeasureInput], str]
) -> exp.Select:
    """Ratio outcomes need each group's ratio before the variance of their residuals y - R x: a window per group."""
    residuals = exp.select("*", copy=False).from_(f"{name}_per_member", copy=False)
    for outcome in p.outcomes:
        if outcome.measure is None:
            assert outcome.numerator is not None and outcome.denominator is not None
            y, x = _col(column_of(outcome.numerator)), _col(column_of(outcome.denominator))
            ratio = exp.Div(
                this=_double(exp.Window(this=exp.Sum(this=y.copy()), partition_by=[e.copy() for e in partition])),
                expression=exp.func(
                    "nullif",
                    exp.Window(this=exp.Sum(this=x.copy()), partition_by=[e.copy() for e in partition]),
                    exp.Literal.number(0),
                ),
            )
            residual = exp.Sub(this=y.copy(), expression=exp.Mul(this=ratio, expression=x.copy()))
            residuals = residuals.select(exp.alias_(residual, f"{outcome.name}__residual", copy=False), copy=False)
    return residuals


def _arm_estimate(
    outcome: UpliftOutcome, group: str, column_of: Callable[[MeasureInput], str]
) -> tuple[exp.Expr, exp.Expr]:
    """One group's value of an outcome and the variance of that value (delta method for a ratio)."""
    if outcome.measure is not None:
        y = _col(column_of(outcome.measure))
        value: exp.Expr = exp.Avg(this=_when(group, y.copy()))
        variance: exp.Expr = exp.Div(
            this=exp.func("var_samp", _when(group, y.copy())),
            expression=exp.Count(this=_when(group, exp.Literal.number(1))),
        )
        return value, variance
    assert outcome.numerator is not None and outcome.denominator is not None
    y, x = _col(column_of(outcome.numerator)), _col(column_of(outcome.denominator))
    value = exp.Div(
        this=_double(exp.Sum(this=_when(group, y.copy()))),
        expression=exp.func("nullif", exp.Sum(this=_when(group, x.copy())), exp.Literal.number(0)),
    )
    mean_x = exp.Avg(this=_when(group, x.copy()))
    variance = exp.Div(
        this=exp.func("var_samp", _when(group, _col(f"{outcome.name}__residual"))),
        expression=exp.Paren(
            this=exp.Mul(
                this=exp.Count(this=_when(group, exp.Literal.number(1))),
                expression=exp.Pow(this=mean_x, expression=exp.Literal.number(2)),
            )
        ),
    )
    return value, variance


def _uplift_columns(p: UpliftParams) -> list[exp.Expr]:
    """Per outcome: both groups' values, their difference and its confidence interval."""
    z = round(NormalDist().inv_cdf((1 + p.confidence) / 2), 6)
    level = round(p.confidence * 100)
    out: list[exp.Expr] = []
    for outcome in p.outcomes:
        treated, control = _col(f"t__{outcome.name}"), _col(f"c__{outcome.name}")
        diff = exp.Paren(this=exp.Sub(this=treated.copy(), expression=control.copy()))
        margin = exp.Mul(
            this=exp.Literal.number(z),
            expression=exp.func(
                "sqrt", exp.Add(this=_col(f"t__{outcome.name}__var"), expression=_col(f"c__{outcome.name}__var"))
            ),
        )
        out += [
            exp.alias_(treated, f"{outcome.name}_treatment", copy=False),
            exp.alias_(control, f"{outcome.name}_control", copy=False),
            exp.alias_(diff, f"{outcome.name}_uplift", copy=False),
            exp.alias_(exp.Sub(this=diff.copy(), expression=margin.copy()), f"{outcome.name}_ci{level}_low"),
            exp.alias_(exp.Add(this=diff.copy(), expression=margin.copy()), f"{outcome.name}_ci{level}_high"),
        ]
    return out
