-- CPC divides spend by paid sessions, so the clicks the platforms bill must be exactly the paid sessions of
-- that day, channel and campaign: every paid session is counted, and no click is missing a session.
with paid_sessions as (
    select session_date as spend_date, channel, campaign_id, count(*) as sessions
    from {{ ref('fct_sessions') }}
    where is_paid
    group by session_date, channel, campaign_id
)

select
    coalesce(spend.spend_date, paid_sessions.spend_date) as spend_date,
    coalesce(spend.channel, paid_sessions.channel) as channel,
    coalesce(spend.campaign_id, paid_sessions.campaign_id) as campaign_id,
    spend.clicks,
    paid_sessions.sessions
from {{ ref('fct_ad_spend') }} as spend
full outer join paid_sessions
    on paid_sessions.spend_date = spend.spend_date
    and paid_sessions.channel = spend.channel
    and paid_sessions.campaign_id = spend.campaign_id
where coalesce(spend.clicks, 0) <> coalesce(paid_sessions.sessions, 0)
