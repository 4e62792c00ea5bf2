{{ dbt.date_spine('day', "cast('2024-01-30' as date)", "cast('2024-02-02' as date)") }}
