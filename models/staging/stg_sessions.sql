select
    cast(session_id as bigint) as session_id,
    cast(user_id as bigint) as user_id,
    cast(started_at as timestamp) as started_at,
    lower(channel) as channel,
    cast(campaign_id as bigint) as campaign_id,
    cast(is_paid as boolean) as is_paid,
    {{ in_list('lower(channel)', var('crm_channels')) }} as is_crm,
    lower(device) as device
from {{ source('raw', 'sessions') }}
