-- One row per order with its money, its place in the customer's history and its CRM attribution.
with orders as (
    select * from {{ ref('stg_orders') }}
),

items as (
    select order_id, count(*) as item_lines, sum(quantity) as units
    from {{ ref('stg_order_items') }}
    group by order_id
),

completed_rank as (
    select
        order_id,
        row_number() over (partition by user_id order by ordered_at, order_id) as customer_order_number
    from orders
    where is_completed
)

select
    orders.order_id,
    orders.user_id,
    orders.session_id,
    orders.ordered_at,
    cast(orders.ordered_at as date) as order_date,
    {{ month_start('orders.ordered_at') }} as order_month,
    orders.status,
    orders.is_completed,
    orders.items_total,
    orders.discount,
    orders.payment_total,
    orders.promo_code,
    orders.promo_code is not null as has_promo_code,
    coalesce(items.item_lines, 0) as item_lines,
    coalesce(items.units, 0) as units,
    completed_rank.customer_order_number,
    coalesce(completed_rank.customer_order_number = 1, false) as is_first_order,
    sessions.channel as session_channel,
    first_touch.first_touch_channel,
    first_touch.cohort_month,
    attribution.is_crm_attributed,
    attribution.attributed_message_id,
    attribution.attributed_campaign_id,
    attribution.attributed_channel,
    attribution.attributed_click_at
from orders
left join items
    on items.order_id = orders.order_id
left join completed_rank
    on completed_rank.order_id = orders.order_id
left join {{ ref('stg_sessions') }} as sessions
    on sessions.session_id = orders.session_id
left join {{ ref('int_user_first_touch') }} as first_touch
    on first_touch.user_id = orders.user_id
inner join {{ ref('int_order_crm_attribution') }} as attribution
    on attribution.order_id = orders.order_id
