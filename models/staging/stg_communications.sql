select
    cast(message_id as bigint) as message_id,
    cast(campaign_id as bigint) as campaign_id,
    cast(user_id as bigint) as user_id,
    lower(channel) as channel,
    cast(sent_at as timestamp) as sent_at,
    cast(delivered as boolean) as is_delivered,
    cast(opened_at as timestamp) as opened_at,
    cast(clicked_at as timestamp) as clicked_at,
    opened_at is not null as is_opened,
    clicked_at is not null as is_clicked,
    cast(cost as decimal(12, 2)) as cost
from {{ source('raw', 'communications') }}
