select id::integer as id, name, age::smallint as age from {{ ref('people') }}
