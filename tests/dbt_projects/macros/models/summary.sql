select
    {{ dbt.split_part('kind', "'-'", 1) }} as kind_group,
    {{ dbt.listagg('name', "', '", 'order by name') }} as names,
    {{ dbt.listagg('name', "'|'", 'order by name desc', 1) }} as last_name,
    {{ dbt.any_value('kind') }} is not null as has_group,
    {{ dbt.bool_or('flag') }} as any_flag,
    count(*) as events
from {{ ref('events') }}
group by 1
{{ dbt.except() }}
select 'none', null, null, null, null, 0
