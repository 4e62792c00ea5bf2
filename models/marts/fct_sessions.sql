-- One row per session with its funnel events: attempts and failures of login, signup, password reset and
-- checkout, and whether it ended in an order.
with events as (
    select
        session_id,
        count(*) filter (where event_type = 'login') as login_attempts,
        count(*) filter (where event_type = 'login' and not is_success) as login_failures,
        count(*) filter (where event_type = 'signup') as signup_attempts,
        count(*) filter (where event_type = 'signup' and not is_success) as signup_failures,
        count(*) filter (where event_type = 'password_reset') as password_reset_attempts,
        count(*) filter (where event_type = 'password_reset' and not is_success) as password_reset_failures,
        count(*) filter (where event_type = 'checkout') as checkout_attempts,
        count(*) filter (where event_type = 'checkout' and not is_success) as checkout_failures
    from {{ ref('stg_session_events') }}
    group by session_id
),

orders as (
    select session_id, count(*) as orders
    from {{ ref('stg_orders') }}
    where session_id is not null
    group by session_id
)

select
    sessions.session_id,
    sessions.user_id,
    sessions.started_at,
    cast(sessions.started_at as date) as session_date,
    {{ month_start('sessions.started_at') }} as session_month,
    sessions.channel,
    sessions.campaign_id,
    sessions.is_paid,
    sessions.is_crm,
    sessions.device,
    sessions.session_id = first_touch.first_session_id as is_first_session,
    row_number() over (
        partition by sessions.user_id order by sessions.started_at, sessions.session_id
    ) as user_session_number,
    coalesce(orders.orders, 0) > 0 as has_order,
    coalesce(events.login_attempts, 0) as login_attempts,
    coalesce(events.login_failures, 0) as login_failures,
    coalesce(events.signup_attempts, 0) as signup_attempts,
    coalesce(events.signup_failures, 0) as signup_failures,
    coalesce(events.password_reset_attempts, 0) as password_reset_attempts,
    coalesce(events.password_reset_failures, 0) as password_reset_failures,
    coalesce(events.checkout_attempts, 0) as checkout_attempts,
    coalesce(events.checkout_failures, 0) as checkout_failures
from {{ ref('stg_sessions') }} as sessions
inner join {{ ref('int_user_first_touch') }} as first_touch
    on first_touch.user_id = sessions.user_id
left join events
    on events.session_id = sessions.session_id
left join orders
    on orders.session_id = sessions.session_id
