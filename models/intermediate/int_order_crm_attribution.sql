{{ config(materialized='table') }}

-- Last-click CRM attribution: an order belongs to the latest click on a CRM message (email, sms, push,
-- whatsapp) by the same user in the window [ordered_at - attribution_window_days, ordered_at], both ends
-- included. One row per order; orders without such a click have NULL attribution.
with orders as (
    select order_id, user_id, ordered_at
    from {{ ref('stg_orders') }}
),

clicks as (
    select message_id, campaign_id, user_id, channel, clicked_at
    from {{ ref('stg_communications') }}
    where clicked_at is not null
      and {{ in_list('channel', var('crm_channels')) }}
),

last_click as (
    select
        orders.order_id,
        clicks.message_id,
        clicks.campaign_id,
        clicks.channel,
        clicks.clicked_at,
        row_number() over (
            partition by orders.order_id order by clicks.clicked_at desc, clicks.message_id desc
        ) as click_rank
    from orders
    inner join clicks
        on clicks.user_id = orders.user_id
        and clicks.clicked_at <= orders.ordered_at
        and clicks.clicked_at >= orders.ordered_at - interval '{{ var("attribution_window_days") }} days'
)

select
    orders.order_id,
    orders.user_id,
    orders.ordered_at,
    last_click.message_id is not null as is_crm_attributed,
    last_click.message_id as attributed_message_id,
    last_click.campaign_id as attributed_campaign_id,
    last_click.channel as attributed_channel,
    last_click.clicked_at as attributed_click_at
from orders
left join last_click
    on last_click.order_id = orders.order_id
    and last_click.click_rank = 1
