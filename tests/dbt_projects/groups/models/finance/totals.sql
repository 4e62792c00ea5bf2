select sum(cents) as total from {{ ref('ledger') }}
