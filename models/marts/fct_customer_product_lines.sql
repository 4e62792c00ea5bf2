-- What each active customer bought, per product line, in the 12 months up to each month's end: one row per
-- (month, customer active in those 12 months, product line), so the white space (is_bought false) is a row too.
-- A customer is active as of a month's end with a completed order in the 12 months before it.
with lines as (
    select
        user_id,
        order_id,
        ordered_at,
        product_line,
        line_total
    from {{ ref('fct_order_items') }}
    where is_completed
),

months as (
    select cast(unnest(generate_series(min(order_month), max(order_month), interval '1 month')) as date)
        as snapshot_month
    from {{ ref('fct_order_items') }}
),

windows as (
    select
        snapshot_month,
        cast(snapshot_month + interval '1 month' as timestamp) as snapshot_at
    from months
),

active as (
    select distinct windows.snapshot_month, windows.snapshot_at, lines.user_id
    from windows
    inner join lines
        on lines.ordered_at < windows.snapshot_at
        and lines.ordered_at >= windows.snapshot_at - interval '12 months'
),

bought as (
    select
        windows.snapshot_month,
        lines.user_id,
        lines.product_line,
        count(distinct lines.order_id) as line_orders,
        sum(lines.line_total) as line_revenue
    from windows
    inner join lines
        on lines.ordered_at < windows.snapshot_at
        and lines.ordered_at >= windows.snapshot_at - interval '12 months'
    group by all
),

product_lines as (
    select distinct product_line from {{ ref('dim_products') }}
)

select
    cast(active.snapshot_month as varchar) || ':' || cast(active.user_id as varchar) || ':'
    || product_lines.product_line as customer_product_line_key,
    active.snapshot_month,
    active.snapshot_at,
    active.user_id,
    product_lines.product_line,
    bought.user_id is not null as is_bought,
    coalesce(bought.line_orders, 0) as line_orders,
    coalesce(bought.line_revenue, 0) as line_revenue
from active
cross join product_lines
left join bought
    on bought.snapshot_month = active.snapshot_month
    and bought.user_id = active.user_id
    and bought.product_line = product_lines.product_line
