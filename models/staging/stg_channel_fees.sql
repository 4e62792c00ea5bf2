select
    lower(channel) as channel,
    cast(agency_fee_rate as decimal(4, 2)) as agency_fee_rate
from {{ source('raw', 'channel_fees') }}
