select
    cast(spend_date as date) as spend_date,
    lower(channel) as channel,
    cast(campaign_id as bigint) as campaign_id,
    cast(spend as decimal(12, 2)) as spend_net,
    cast(clicks as bigint) as clicks,
    cast(impressions as bigint) as impressions
from {{ source('raw', 'ad_spend') }}
