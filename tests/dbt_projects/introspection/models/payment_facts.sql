-- depends_on: {{ ref('payments') }}
{# What run_query, statement/load_result, get_relation and the column objects give, written into a table. #}
{% call statement('totals', fetch_result=True) %}
    select count(*) as n, sum(amount) as total, max(paid_on) as last_day, max(method) as last_method,
           avg(amount)::double as mean, bool_or(amount > 10) as big
    from {{ ref('payments') }}
{% endcall %}
{% if execute %}
{% set totals = load_result('totals') %}
{% set row = totals['table'].rows[0] %}
{% set seeded = adapter.get_relation(database=this.database, schema=ref('payments').schema, identifier='payments') %}
{% set missing = adapter.get_relation(database=none, schema=ref('payments').schema, identifier='no_such_table') %}
{% set by_api = api.Relation.create(schema=ref('payments').schema, identifier='payments') %}
{% set columns = adapter.get_columns_in_relation(by_api) %}
{% set first = run_query("select 1 as one, 'a' as letter union all select 2, 'b' order by 1") %}
{% endif %}
select
    {{ row['n'] }} as n,
    {{ row['total'] }} as total,
    '{{ row['last_day'] }}' as last_day,
    '{{ row[3] }}' as last_method,
    {{ row['mean'] }} as mean,
    {{ row['big'] }} as big,
    {{ totals['data'] | length }} as data_rows,
    '{{ totals['data'][0][0] }}' as data_first,
    '{{ totals.table.column_names | join(",") }}' as column_names,
    {{ seeded is not none }} as seeded_exists,
    {{ missing is none }} as missing_is_none,
    '{{ seeded.identifier }}' as seeded_identifier,
    '{{ columns | map(attribute='name') | join(',') }}' as column_list,
    '{{ columns | map(attribute='column') | join(',') }}' as column_attr,
    '{{ columns | map(attribute='data_type') | join(',') }}' as data_types,
    '{{ columns | map(attribute='dtype') | join(',') }}' as dtypes,
    {{ first | length }} as query_rows,
    '{{ first.columns['letter'].values() | join('') }}' as letters,
    {{ first.rows[1]['one'] }} as second_one,
    {{ execute }} as executed
