{{ config(materialized='table') }}

-- The first session of each user and the channel that brought them (the acquisition channel).
-- Two sessions can start in the same second (an app deep link and a browser tab): the lowest session_id wins,
-- so the answer never depends on scan order.
with ranked as (
    select
        user_id,
        session_id,
        started_at,
        channel,
        campaign_id,
        is_paid,
        row_number() over (partition by user_id order by started_at, session_id) as touch_number
    from {{ ref('stg_sessions') }}
)

select
    user_id,
    session_id as first_session_id,
    started_at as first_touch_at,
    {{ month_start('started_at') }} as cohort_month,
    channel as first_touch_channel,
    campaign_id as first_touch_campaign_id,
    is_paid as is_paid_acquisition
from ranked
where touch_number = 1
