select
    cast(contact_id as bigint) as contact_id,
    cast(user_id as bigint) as user_id,
    cast(order_id as bigint) as order_id,
    cast(opened_at as timestamp) as opened_at,
    lower(channel) as channel,
    lower(scenario) as scenario,
    cast(cost as decimal(12, 2)) as cost
from {{ source('raw', 'support_contacts') }}
