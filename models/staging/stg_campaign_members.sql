select
    cast(campaign_id as bigint) as campaign_id,
    cast(user_id as bigint) as user_id,
    lower(group_name) as group_name,
    lower(group_name) = 'control' as is_control
from {{ source('raw', 'campaign_members') }}
