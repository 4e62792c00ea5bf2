"""What the docs site draws for a metric, shaped from its rows in the warehouse.

Each metric type gets the chart that says what it means: a funnel is one bar per step and period with the
conversion rate beside it; an uplift is the treatment and the control group per member with the uplift's
confidence interval; a metric without a time column is its value; the rest are lines per group. Values are
rounded here (no 16-digit floats reach the page), rates are flagged as percentages, and a last period the data
does not cover to its end is marked partial, so a month of data in a quarter does not read as a fall.

>>> next_period(datetime.date(2026, 10, 1), "quarter")
datetime.date(2027, 1, 1)
>>> round_value(0.333333333333, True), round_value(1505.10000001, False), round_value(None, False)
(0.3333, 1505.1, None)
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

MAX_SERIES = 8  # lines per metric chart; the largest series are kept
GRAINS = ("day", "week", "month", "quarter", "year")
RATE_TYPES = ("ratio", "conversion", "retention")


def next_period(start: datetime.date, grain: str) -> datetime.date:
    """The first day of the period after the one starting at ``start``."""
    if grain == "day":
        return start + datetime.timedelta(days=1)
    if grain == "week":
        return start + datetime.timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    index = start.year * 12 + start.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def round_value(value: Any, small: bool) -> float | None:
    """A number as the page shows it: 4 significant decimals for rates and small values, 2 for the rest."""
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        return None
    return round(number, 4 if small or abs(number) < 10 else 2)


def epoch(value: Any) -> float:
    if isinstance(value, datetime.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        return moment.timestamp()
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.UTC).timestamp()
    return float(value)


def _is_number(rows: Sequence[tuple[Any, ...]], index: int) -> bool:
    values = [row[index] for row in rows if row[index] is not None]
    return bool(values) and all(isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in values)


def _grain(time_column: str) -> str | None:
    tail = time_column.rpartition("__")[2]
    return tail if tail in GRAINS else None


def _after(time: Any, data_end: datetime.date | None) -> bool:
    day = time.date() if isinstance(time, datetime.datetime) else time
    return data_end is not None and isinstance(day, datetime.date) and day > data_end


def partial_period(times: Sequence[Any], time_column: str, data_end: datetime.date | None) -> float | None:
    """The start (epoch seconds) of the last period when the data ends before that period does, else None."""
    grain = _grain(time_column)
    if not times or grain is None or data_end is None:
        return None
    last = max(times)
    last_day = last.date() if isinstance(last, datetime.datetime) else last
    if not isinstance(last_day, datetime.date):
        return None
    return epoch(last_day) if data_end < next_period(last_day, grain) - datetime.timedelta(days=1) else None


def chart(
    metric: Any,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    data_end: datetime.date | None,
) -> tuple[dict[str, Any] | None, str | None]:
    """The chart of ``metric`` (a ``metrics.spec.Metric``) from its rows, or why there is none."""
    if not rows:
        return None, "The metric has no rows yet."
    name = metric.name
    time_index = next((i for i, _ in enumerate(columns) if any(isinstance(r[i], datetime.date) for r in rows)), None)
    numeric = [i for i in range(len(columns)) if i != time_index and _is_number(rows, i)]
    if not numeric:
        return None, "This metric has no numeric column to chart."
    percent = metric.type in RATE_TYPES and all(
        0 <= float(r[i]) <= 1 for r in rows for i in numeric if r[i] is not None and columns[i] == name
    )
    unit = "%" if percent else str((metric.meta or {}).get("unit") or "")
    if time_index is None:
        if len(rows) != 1:
            return None, "This metric has no time column to chart."
        pairs = [[columns[i], round_value(rows[0][i], percent)] for i in numeric]
        return {"kind": "value", "values": pairs, "value": name, "percent": percent, "unit": unit}, None
    time_column = columns[time_index]
    # A period starting after the data ends holds only a shifted input (the quarter after the last, reached by an
    # `offset_window: 1 quarter` input, whose value is NULL): not a period to draw or to mark partial.
    dated = sorted(
        (r for r in rows if r[time_index] is not None and not _after(r[time_index], data_end)),
        key=lambda r: r[time_index],
    )
    base = {
        "time": time_column,
        "grain": _grain(time_column),
        "partial_from": partial_period([r[time_index] for r in dated], time_column, data_end),
        "data_end": data_end.isoformat() if data_end else None,
        "unit": unit,
    }
    others = [c for i, c in enumerate(columns) if i != time_index]
    index = {c: i for i, c in enumerate(columns)}
    x = [epoch(r[time_index]) for r in dated]

    def column(col: str, small: bool = False) -> list[float | None]:
        return [round_value(r[index[col]], small) for r in dated]

    if metric.type == "funnel":
        steps = [step.name for step in metric.params.steps]
        if set(others) == {*steps, *(f"{s}_rate" for s in steps[1:]), name}:
            bars = [[step, column(step)] for step in steps]
            return {**base, "kind": "funnel", "x": x, "steps": bars, "rate": [name, column(name, True)]}, None
    if metric.type == "uplift":
        low = next((c for c in others if c.startswith(f"{name}_ci") and c.endswith("_low")), None)
        high = low[: -len("_low")] + "_high" if low else None
        wanted = {"treatment_per_member", "control_per_member", "treatment_members", "control_members", name}
        if low and high in others and wanted <= set(others) and len(others) == len(wanted) + 3:
            return {
                **base,
                "kind": "uplift",
                "x": x,
                "treatment": column("treatment_per_member", True),
                "control": column("control_per_member", True),
                "uplift": column(name, True),
                "low": column(low, True),
                "high": column(high, True),
                "relative": column(f"{name}_relative", True),
                "treatment_members": column("treatment_members"),
                "control_members": column("control_members"),
                "confidence": low[len(name) + 3 : -len("_low")],
            }, None
    value_index = index[name] if name in index and index[name] in numeric else numeric[-1]
    groups = [i for i in range(len(columns)) if i not in (time_index, value_index)]
    position = {t: i for i, t in enumerate(sorted(set(x)))}
    lines: dict[str, list[float | None]] = {}
    for row in dated:
        label = ", ".join(f"{columns[i]}={row[i]}" for i in groups) or name
        values = lines.setdefault(label, [None] * len(position))
        values[position[epoch(row[time_index])]] = round_value(row[value_index], percent)
    ranked = sorted(lines.items(), key=lambda item: -sum(abs(v) for v in item[1] if v is not None))
    return {
        **base,
        "kind": "lines",
        "x": sorted(position),
        "lines": [[label, values] for label, values in ranked[:MAX_SERIES]],
        "value": columns[value_index],
        "percent": percent,
    }, None


def data_end(connection: Any, relations: Mapping[str, str]) -> datetime.date | None:
    """The last day every one of ``relations`` (relation -> time expression) has data for: the earliest of their
    latest days, since a metric reading two of them is complete only where both are."""
    import duckdb
    import sqlglot
    from sqlglot import exp

    ends = []
    for relation, expression in relations.items():
        query = exp.select(exp.Max(this=sqlglot.parse_one(expression, dialect="duckdb"))).from_(relation)
        try:
            found = connection.execute(query.sql(dialect="duckdb")).fetchall()[0][0]
        except (duckdb.Error, sqlglot.errors.SqlglotError):
            return None
        if isinstance(found, datetime.datetime):
            found = found.date()
        if isinstance(found, datetime.date):
            ends.append(found)
    return min(ends) if ends else None
