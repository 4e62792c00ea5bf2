-- Session counts per user: how often users come back, and through which kind of channel.
select
    user_id,
    count(*) as sessions,
    count(*) filter (where is_paid) as paid_sessions,
    count(*) filter (where is_crm) as crm_sessions,
    count(distinct channel) as distinct_channels,
    min(started_at) as first_session_at,
    max(started_at) as last_session_at
from {{ ref('stg_sessions') }}
group by user_id
