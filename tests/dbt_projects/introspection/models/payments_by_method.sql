-- One column per payment method: which methods exist is read from the seed while rendering.
{% set methods = toolkit.distinct_values(ref('payments'), 'method') %}
select
    customer_id,
    {{ toolkit.spread('method', methods, 'amount', prefix='paid_') }}
from {{ ref('payments') }}
group by customer_id
