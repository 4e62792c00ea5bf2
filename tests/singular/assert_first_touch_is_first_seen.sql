-- The acquisition cohort is defined by the first session, which must be when the user was first seen; a user never
-- seen (a CRM contact who never visited) has no session.
select
    user_id,
    first_seen_at,
    first_touch_at
from {{ ref('dim_users') }}
where first_touch_at is distinct from first_seen_at
