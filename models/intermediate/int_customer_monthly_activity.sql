-- Completed orders per customer and calendar month, only for months with at least one completed order.
select
    user_id,
    {{ month_start('ordered_at') }} as activity_month,
    count(*) as orders,
    sum(payment_total) as revenue,
    sum(discount) as discount,
    min(ordered_at) as first_order_at,
    max(ordered_at) as last_order_at
from {{ ref('stg_orders') }}
where is_completed
group by user_id, {{ month_start('ordered_at') }}
