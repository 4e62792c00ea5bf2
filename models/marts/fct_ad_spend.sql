-- Daily paid media per ad campaign: net spend as reported, gross spend as paid, clicks and impressions.
select
    cast(spend.spend_date as varchar) || ':' || cast(spend.campaign_id as varchar) as ad_spend_key,
    spend.spend_date,
    {{ month_start('spend.spend_date') }} as spend_month,
    spend.channel,
    spend.campaign_id,
    campaigns.campaign_name,
    spend.spend_net,
    spend.agency_fee_rate,
    spend.spend_gross,
    spend.clicks,
    spend.impressions
from {{ ref('int_ad_spend_gross') }} as spend
left join {{ ref('stg_campaigns') }} as campaigns
    on campaigns.campaign_id = spend.campaign_id
