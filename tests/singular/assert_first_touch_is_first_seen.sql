-- The acquisition cohort is defined by the first session, which must be when the user was first seen.
select
    user_id,
    first_seen_at,
    first_touch_at
from {{ ref('dim_users') }}
where first_touch_at is null
   or first_touch_at <> first_seen_at
