select
    cast(campaign_id as bigint) as campaign_id,
    name as campaign_name,
    lower(kind) as campaign_kind,
    lower(channel) as channel,
    {{ in_list('lower(channel)', var('crm_channels')) }} as is_crm,
    cast(started_at as timestamp) as started_at,
    cast(discount_rate as decimal(4, 2)) as discount_rate,
    cast(control_share as decimal(4, 2)) as control_share,
    nullif(trim(promo_code), '') as promo_code
from {{ source('raw', 'campaigns') }}
