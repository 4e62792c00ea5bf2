-- One row per user: how they arrived (first touch, cohort), how they buy (lifetime orders and revenue) and a
-- segment. "As of" is the last order in the data, so the segment is the same on every rebuild.
-- CRM contacts who never visited (no session) are users too, with no first touch: is_visitor tells them apart.
with orders as (
    select
        user_id,
        count(*) as completed_orders,
        sum(payment_total) as lifetime_revenue,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from {{ ref('stg_orders') }}
    where is_completed
    group by user_id
),

as_of as (
    select max(ordered_at) as as_of_at from {{ ref('stg_orders') }}
),

customers as (
    select
        user_id,
        percent_rank() over (order by lifetime_revenue, user_id) as revenue_percentile
    from orders
)

select
    users.user_id,
    users.first_seen_at,
    users.registered_at,
    users.is_registered,
    users.city,
    first_touch.cohort_month,
    first_touch.first_touch_at,
    first_touch.first_touch_channel,
    first_touch.first_touch_campaign_id,
    first_touch.is_paid_acquisition,
    first_touch.first_session_id,
    first_touch.user_id is not null as is_visitor,
    coalesce(visits.sessions, 0) as sessions,
    coalesce(visits.paid_sessions, 0) as paid_sessions,
    orders.first_order_at,
    orders.last_order_at,
    {{ month_start('orders.first_order_at') }} as first_order_month,
    coalesce(orders.completed_orders, 0) as completed_orders,
    coalesce(orders.lifetime_revenue, 0) as lifetime_revenue,
    orders.user_id is not null as is_customer,
    case
        when orders.user_id is null then 'prospect'
        when customers.revenue_percentile >= 0.99 then 'vip'
        when orders.completed_orders >= 2 then 'repeat'
        else 'one_time'
    end as segment,
    case
        when orders.user_id is null then 'never_bought'
        when orders.last_order_at >= as_of.as_of_at - interval '90 days' then 'active'
        when orders.last_order_at >= as_of.as_of_at - interval '365 days' then 'lapsed'
        else 'churned'
    end as lifecycle_stage
from {{ ref('stg_users') }} as users
left join {{ ref('int_user_first_touch') }} as first_touch
    on first_touch.user_id = users.user_id
left join {{ ref('int_sessions_per_user') }} as visits
    on visits.user_id = users.user_id
left join orders
    on orders.user_id = users.user_id
left join customers
    on customers.user_id = users.user_id
cross join as_of
