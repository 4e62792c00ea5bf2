select * from ({{ dbt.generate_series(4) }}) as s
