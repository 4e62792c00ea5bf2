-- What paid media really cost: platform spend plus VAT plus the agency's commission of the channel.
select
    spend.spend_date,
    spend.channel,
    spend.campaign_id,
    spend.spend_net,
    coalesce(fees.agency_fee_rate, 0) as agency_fee_rate,
    {{ gross_spend('spend.spend_net', 'fees.agency_fee_rate') }} as spend_gross,
    spend.clicks,
    spend.impressions
from {{ ref('stg_ad_spend') }} as spend
left join {{ ref('stg_channel_fees') }} as fees
    on fees.channel = spend.channel
