select id::integer as id, name, age::integer as age from {{ ref('people') }}
