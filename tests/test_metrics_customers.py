"""The second half of the metric dictionary (product lines, customer base, support, reactivation beyond the window)
on the example warehouse, each equal to a computation written by hand over the raw seeds (schema raw); and the
figures the stories need (README, table of figures).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_metrics_dictionary import hand_rows, metric_rows, same

from northstar.cli import main


@pytest.fixture(scope="module")
def warehouse(example_project: Path) -> Path:
    result = CliRunner().invoke(main, ["build", "-q", "--project-dir", str(example_project)])
    assert result.exit_code == 0, result.output
    return example_project


LINES = """
    select o.user_id, o.order_id, o.ordered_at, p.product_line, i.quantity * i.unit_price as line_total
    from raw.order_items i
    join raw.orders o on o.order_id = i.order_id
    join raw.products p on p.sku = i.sku
    where o.status = 'completed'
"""


def test_product_line_revenue_by_month_and_line(warehouse):
    expected = hand_rows(
        warehouse,
        f"""
        select cast(date_trunc('month', ordered_at) as date), product_line, sum(line_total)
        from ({LINES}) group by 1, 2 order by 1, 2
        """,
    )
    same(metric_rows(warehouse, "product_line_revenue", "--by", "month,product_line"), expected)


@pytest.mark.parametrize(("metric", "months"), [("product_line_revenue_mom", 1), ("product_line_revenue_yoy", 12)])
def test_product_line_revenue_growth(warehouse, metric, months):
    # A line's growth of month M over month M - n; months without the earlier month, or without revenue of their
    # own (reached by the earlier month only, as MetricFlow's full outer join), have no growth (NULL).
    expected = hand_rows(
        warehouse,
        f"""
        with monthly as (
            select cast(date_trunc('month', ordered_at) as date) as m, product_line, sum(line_total) as revenue
            from ({LINES}) group by 1, 2
        )
        select
            coalesce(cur.m, cast(prev.m + interval {months} month as date)) as m,
            coalesce(cur.product_line, prev.product_line) as product_line,
            (cur.revenue - prev.revenue) / prev.revenue
        from monthly cur
        full outer join monthly prev
          on prev.product_line = cur.product_line and prev.m = cur.m - interval {months} month
        order by 1, 2
        """,
    )
    actual = metric_rows(warehouse, metric, "--by", "month,product_line")
    same([row for row in actual if row[2] is not None], [row for row in expected if row[2] is not None])
    assert [row[:2] for row in actual if row[2] is None] == [row[:2] for row in expected if row[2] is None]


def test_support_contacts_per_week_and_scenario(warehouse):
    expected = hand_rows(
        warehouse,
        """
        select cast(date_trunc('week', opened_at) as date), scenario, count(*)
        from raw.support_contacts group by 1, 2 order by 1, 2
        """,
    )
    same(metric_rows(warehouse, "support_contacts", "--by", "week,scenario"), expected)


def test_support_cost_per_month_and_channel(warehouse):
    expected = hand_rows(
        warehouse,
        """
        select cast(date_trunc('month', opened_at) as date), channel, sum(cost)
        from raw.support_contacts group by 1, 2 order by 1, 2
        """,
    )
    same(metric_rows(warehouse, "support_cost", "--by", "month,channel"), expected)


def test_support_contacts_per_1000_completed_orders_per_week(warehouse):
    expected = hand_rows(
        warehouse,
        """
        with contacts as (
            select cast(date_trunc('week', opened_at) as date) as w, count(*) as n from raw.support_contacts group by 1
        ), orders as (
            select cast(date_trunc('week', ordered_at) as date) as w, count(*) as n
            from raw.orders where status = 'completed' group by 1
        )
        select w, 1000.0 * contacts.n / orders.n
        from contacts full outer join orders using (w) order by 1
        """,
    )
    same(metric_rows(warehouse, "support_contacts_per_1000_orders", "--by", "week"), expected)


def test_discount_on_returners_is_treatment_discount_times_control_return_rate(warehouse):
    expected = hand_rows(
        warehouse,
        """
        with members as (
            select m.user_id, m.group_name, c.started_at as sent_at
            from raw.campaign_members m join raw.campaigns c on c.campaign_id = m.campaign_id
            where c.kind = 'reactivation'
        ), outcome as (
            select members.*,
                   (select count(*) from raw.orders o
                    where o.user_id = members.user_id and o.status = 'completed'
                      and o.ordered_at >= members.sent_at and o.ordered_at < members.sent_at + interval 14 day
                   ) as orders,
                   (select coalesce(sum(o.discount), 0) from raw.orders o
                    where o.user_id = members.user_id and o.status = 'completed'
                      and o.ordered_at >= members.sent_at and o.ordered_at < members.sent_at + interval 14 day
                   ) as discount
            from members
        )
        select cast(date_trunc('month', sent_at) as date),
               sum(discount) filter (where group_name = 'treatment')
               * count(*) filter (where group_name = 'control' and orders > 0)
               / count(*) filter (where group_name = 'control')
        from outcome group by 1 order by 1
        """,
    )
    same(metric_rows(warehouse, "discount_on_returners", "--by", "month"), expected)


def test_white_space_share_per_product_line_as_of_each_month_end(warehouse):
    # Active as of a month's end: a completed order in the 12 months before it; every (active customer, line) pair
    # without a completed order of that line in those 12 months is white space.
    expected = hand_rows(
        warehouse,
        f"""
        with months as (
            select distinct cast(date_trunc('month', ordered_at) as date) as m
            from raw.orders where status = 'completed'
        ), active as (
            select distinct months.m, o.user_id from months join raw.orders o
              on o.status = 'completed' and o.ordered_at < months.m + interval 1 month
             and o.ordered_at >= months.m + interval 1 month - interval 12 month
        ), bought as (
            select distinct months.m, l.user_id, l.product_line from months join ({LINES}) l
              on l.ordered_at < months.m + interval 1 month
             and l.ordered_at >= months.m + interval 1 month - interval 12 month
        ), lines as (select distinct product_line from ({LINES}))
        select active.m, lines.product_line, 1 - count(bought.user_id) / count(*)
        from active cross join lines
        left join bought on bought.m = active.m and bought.user_id = active.user_id
         and bought.product_line = lines.product_line
        group by 1, 2 order by 1, 2
        """,
    )
    same(metric_rows(warehouse, "white_space_share", "--by", "month,product_line"), expected)


def test_customer_base_five_levels_as_of_each_month_end(warehouse):
    expected = hand_rows(
        warehouse,
        """
        with months as (
            select cast(unnest(generate_series(date '2024-11-01', date '2026-10-01', interval 1 month)) as date) as m
        ), ends as (select m, m + interval 1 month as e from months),
        completed as (select * from raw.orders where status = 'completed'),
        revenue as (
            select ends.m, o.user_id, sum(o.payment_total) as v from ends join completed o
              on o.ordered_at < ends.e and o.ordered_at >= ends.e - interval 12 month group by 1, 2
        ), ranked as (
            select m, v, sum(v) over (partition by m order by v desc, user_id) - v as before,
                   sum(v) over (partition by m) as total
            from revenue
        )
        select ends.m,
               (select count(distinct user_id) from raw.communications c where c.sent_at < ends.e),
               (select count(distinct user_id) from raw.communications c
                 where c.delivered and c.sent_at < ends.e and c.sent_at >= ends.e - interval 90 day),
               (select count(distinct user_id) from completed o
                 where o.ordered_at < ends.e and o.ordered_at >= ends.e - interval 2 year),
               (select count(*) from (select user_id from completed o
                 where o.ordered_at < ends.e and o.ordered_at >= ends.e - interval 12 month
                 group by 1 having count(*) >= 2)),
               (select count(*) from ranked r where r.m = ends.m and r.v > 0 and r.before < 0.7 * r.total)
        from ends order by 1
        """,
    )
    same(metric_rows(warehouse, "customer_base", "--by", "month"), expected)


def test_reactivation_longterm_four_outcomes_with_intervals(warehouse):
    # Per member within 90 days of the send: orders, revenue and promo-code orders; AOV and promo share are ratios
    # of the group's sums, their variance by the delta method: var(y - R x) / (n * mean(x)^2).
    z = 1.959964
    columns = []
    for outcome in ("orders", "revenue"):
        columns.append(
            f"""t_{outcome}, c_{outcome}, t_{outcome} - c_{outcome},
            t_{outcome} - c_{outcome} - {z} * sqrt(vt_{outcome} / nt + vc_{outcome} / nc),
            t_{outcome} - c_{outcome} + {z} * sqrt(vt_{outcome} / nt + vc_{outcome} / nc)"""
        )
    for outcome in ("aov", "promo"):
        columns.append(
            f"""t_{outcome}, c_{outcome}, t_{outcome} - c_{outcome},
            t_{outcome} - c_{outcome} - {z} * sqrt(rt_{outcome} / (nt * xt * xt) + rc_{outcome} / (nc * xc * xc)),
            t_{outcome} - c_{outcome} + {z} * sqrt(rt_{outcome} / (nt * xt * xt) + rc_{outcome} / (nc * xc * xc))"""
        )
    expected = hand_rows(
        warehouse,
        f"""
        with members as (
            select m.user_id, m.group_name as g, c.started_at as sent_at
            from raw.campaign_members m join raw.campaigns c on c.campaign_id = m.campaign_id
            where c.kind = 'reactivation'
        ), outcome as (
            select members.g,
                   count(o.order_id) as orders, coalesce(sum(o.payment_total), 0) as revenue,
                   count(o.order_id) filter (where o.promo_code is not null) as promo
            from members left join raw.orders o
              on o.user_id = members.user_id and o.status = 'completed'
             and o.ordered_at >= members.sent_at and o.ordered_at < members.sent_at + interval 90 day
            group by members.user_id, members.sent_at, members.g
        ), ratios as (
            select g, sum(revenue) / sum(orders) as r_aov, sum(promo) / sum(orders) as r_promo from outcome group by g
        ), arms as (
            select o.g, count(*) as n, avg(orders) as orders, var_samp(orders) as v_orders, avg(revenue) as revenue,
                   var_samp(revenue) as v_revenue, sum(revenue) / sum(orders) as aov,
                   sum(promo) / sum(orders) as promo, avg(orders) as x,
                   var_samp(revenue - r.r_aov * orders) as r_aov, var_samp(promo - r.r_promo * orders) as r_promo
            from outcome o join ratios r using (g) group by o.g
        ), t as (select * from arms where g = 'treatment'), c as (select * from arms where g = 'control'),
        flat as (
            select t.n as nt, c.n as nc, t.x as xt, c.x as xc,
                   t.orders as t_orders, c.orders as c_orders, t.v_orders as vt_orders, c.v_orders as vc_orders,
                   t.revenue as t_revenue, c.revenue as c_revenue, t.v_revenue as vt_revenue, c.v_revenue as vc_revenue,
                   t.aov as t_aov, c.aov as c_aov, t.r_aov as rt_aov, c.r_aov as rc_aov,
                   t.promo as t_promo, c.promo as c_promo, t.r_promo as rt_promo, c.r_promo as rc_promo
            from t, c
        )
        select nt, nc, {", ".join(columns)} from flat
        """,
    )
    same(metric_rows(warehouse, "reactivation_longterm"), expected)


def test_the_customer_stories_show(warehouse):
    """The README's figures: each level of the customer base far smaller than the one above (at least 2x, the domain's
    food manufacturer: 15,000 / 600 / 250 / 100 / 18), the top level a small share of the year's buyers; white space
    largest in gifts, the line bought least, by a clear margin."""
    levels = metric_rows(warehouse, "customer_base", "--by", "month", "--start", "2026-10-01")[0][1:]
    assert all(above >= 2 * below > 0 for above, below in zip(levels[:-1], levels[1:], strict=True)), levels
    ((buyers,),) = hand_rows(
        warehouse,
        "select count(distinct user_id) from raw.orders where status = 'completed' and ordered_at >= '2025-11-01'",
    )
    assert levels[-1] < 0.05 * buyers, (levels, buyers)
    shares = sorted(
        (share, line)
        for _month, line, share in metric_rows(
            warehouse, "white_space_share", "--by", "month,product_line", "--start", "2026-10-01"
        )
    )
    (top, line), (second, _line) = shares[-1], shares[-2]
    assert line == "gifts" and top - second >= 0.03, shares
