-- One row per CRM message: delivery, opens, clicks, cost, and the completed orders its click won under
-- last-click attribution.
with attributed as (
    select
        attribution.attributed_message_id as message_id,
        count(*) as attributed_orders,
        sum(orders.payment_total) as attributed_revenue
    from {{ ref('int_order_crm_attribution') }} as attribution
    inner join {{ ref('stg_orders') }} as orders
        on orders.order_id = attribution.order_id
    where attribution.is_crm_attributed
      and orders.is_completed
    group by attribution.attributed_message_id
)

select
    messages.message_id,
    messages.campaign_id,
    campaigns.campaign_name,
    campaigns.campaign_kind,
    messages.user_id,
    messages.channel,
    messages.sent_at,
    cast(messages.sent_at as date) as sent_date,
    {{ month_start('messages.sent_at') }} as sent_month,
    messages.is_delivered,
    messages.is_opened,
    messages.is_clicked,
    messages.opened_at,
    messages.clicked_at,
    messages.cost,
    coalesce(attributed.attributed_orders, 0) as attributed_orders,
    coalesce(attributed.attributed_revenue, 0) as attributed_revenue
from {{ ref('stg_communications') }} as messages
inner join {{ ref('stg_campaigns') }} as campaigns
    on campaigns.campaign_id = messages.campaign_id
left join attributed
    on attributed.message_id = messages.message_id
