select
    cast(user_id as bigint) as user_id,
    cast(first_seen_at as timestamp) as first_seen_at,
    cast(registered_at as timestamp) as registered_at,
    registered_at is not null as is_registered,
    coalesce(nullif(trim(city), ''), 'Unknown') as city
from {{ source('raw', 'users') }}
