select {{ toolkit.columns_except(ref('payments'), except=['AMOUNT', 'paid_on']) }}
from {{ ref('payments') }}
