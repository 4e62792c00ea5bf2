-- One row per CRM campaign member (treatment and held-out control) with what they did in the uplift window
-- after exposure: the grain of test-vs-control reactivation analysis.
with exposure as (
    select * from {{ ref('int_campaign_exposure') }}
),

orders as (
    select user_id, ordered_at, payment_total, discount
    from {{ ref('stg_orders') }}
    where is_completed
),

window_orders as (
    select
        exposure.campaign_id,
        exposure.user_id,
        count(*) as orders_in_window,
        sum(orders.payment_total) as revenue_in_window,
        sum(orders.discount) as discount_in_window
    from exposure
    inner join orders
        on orders.user_id = exposure.user_id
        and orders.ordered_at >= exposure.exposed_at
        and orders.ordered_at < exposure.exposed_at + interval '{{ var("uplift_window_days") }} days'
    group by exposure.campaign_id, exposure.user_id
)

select
    cast(exposure.campaign_id as varchar) || ':' || cast(exposure.user_id as varchar) as campaign_member_key,
    exposure.campaign_id,
    campaigns.campaign_name,
    exposure.campaign_kind,
    exposure.channel,
    exposure.user_id,
    exposure.group_name,
    exposure.is_treatment,
    exposure.exposed_at,
    {{ month_start('exposure.exposed_at') }} as exposed_month,
    exposure.first_message_id,
    exposure.messages,
    exposure.is_delivered,
    exposure.is_opened,
    exposure.is_clicked,
    coalesce(window_orders.orders_in_window, 0) as orders_in_window,
    coalesce(window_orders.revenue_in_window, 0) as revenue_in_window,
    coalesce(window_orders.orders_in_window, 0) > 0 as returned_in_window,
    coalesce(window_orders.discount_in_window, 0) as discount_in_window
from exposure
inner join {{ ref('stg_campaigns') }} as campaigns
    on campaigns.campaign_id = exposure.campaign_id
left join window_orders
    on window_orders.campaign_id = exposure.campaign_id
    and window_orders.user_id = exposure.user_id
