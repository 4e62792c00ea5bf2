-- One row per customer per calendar month, from the month of their first completed order to the last month
-- with data (including months without orders): what churn, retention and cohort metrics read.
-- A customer churned in month M when they ordered in M-1 but not in M; reactivated when they order again after
-- at least one empty month.
with activity as (
    select * from {{ ref('int_customer_monthly_activity') }}
),

customers as (
    select user_id, min(activity_month) as first_month
    from activity
    group by user_id
),

last_month as (
    select max(activity_month) as last_month from activity
),

spine as (
    select
        customers.user_id,
        customers.first_month,
        cast(month_series.month_start as date) as activity_month
    from customers
    cross join last_month
    cross join unnest(
        generate_series(
            cast(customers.first_month as timestamp),
            cast(last_month.last_month as timestamp),
            interval '1 month'
        )
    ) as month_series(month_start)
),

filled as (
    select
        spine.user_id,
        spine.activity_month,
        spine.first_month,
        coalesce(activity.orders, 0) as orders,
        coalesce(activity.revenue, 0) as revenue,
        activity.orders is not null as is_active
    from spine
    left join activity
        on activity.user_id = spine.user_id
        and activity.activity_month = spine.activity_month
),

with_history as (
    select
        *,
        lag(is_active) over (partition by user_id order by activity_month) as was_active_prev_month
    from filled
)

select
    cast(user_id as varchar) || ':' || strftime(activity_month, '%Y-%m') as customer_month_key,
    user_id,
    activity_month,
    first_month,
    cast(datediff('month', first_month, activity_month) as integer) as months_since_first_order,
    orders,
    revenue,
    is_active,
    coalesce(was_active_prev_month, false) as was_active_prev_month,
    activity_month = first_month as is_new,
    coalesce(was_active_prev_month, false) and not is_active as is_churned,
    is_active and activity_month > first_month and not coalesce(was_active_prev_month, false) as is_reactivated
from with_history
