-- Who a CRM campaign targeted, in which group, and when. The control group gets no message, so both groups
-- are measured from the campaign's send time (started_at); for always-on campaigns (triggers, transactional)
-- that have no single send, from the member's first message.
with first_message as (
    select
        campaign_id,
        user_id,
        min(sent_at) as first_sent_at,
        arg_min(message_id, sent_at) as first_message_id,
        count(*) as messages,
        bool_or(is_delivered) as is_delivered,
        bool_or(is_opened) as is_opened,
        bool_or(is_clicked) as is_clicked
    from {{ ref('stg_communications') }}
    group by campaign_id, user_id
)

select
    members.campaign_id,
    members.user_id,
    members.group_name,
    members.group_name = 'treatment' as is_treatment,
    campaigns.campaign_kind,
    campaigns.channel,
    case
        when campaigns.campaign_kind in ('promo', 'reactivation') then campaigns.started_at
        else coalesce(first_message.first_sent_at, campaigns.started_at)
    end as exposed_at,
    first_message.first_message_id,
    first_message.first_sent_at,
    coalesce(first_message.messages, 0) as messages,
    coalesce(first_message.is_delivered, false) as is_delivered,
    coalesce(first_message.is_opened, false) as is_opened,
    coalesce(first_message.is_clicked, false) as is_clicked
from {{ ref('stg_campaign_members') }} as members
inner join {{ ref('stg_campaigns') }} as campaigns
    on campaigns.campaign_id = members.campaign_id
left join first_message
    on first_message.campaign_id = members.campaign_id
    and first_message.user_id = members.user_id
