select
    cast(event_id as bigint) as event_id,
    cast(session_id as bigint) as session_id,
    cast(event_at as timestamp) as event_at,
    lower(event_type) as event_type,
    cast(success as boolean) as is_success
from {{ source('raw', 'session_events') }}
