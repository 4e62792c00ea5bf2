{{ config(
    pre_hook=[
        "insert into main.hook_log select coalesce(max(seq), 0) + 1, 'model pre {{ this.schema }} {{ this.identifier }}' from main.hook_log",
        before_begin("insert into main.hook_log select coalesce(max(seq), 0) + 1, 'before begin' from main.hook_log"),
    ],
    post_hook=[
        after_commit("insert into main.hook_log select coalesce(max(seq), 0) + 1, 'after commit' from main.hook_log"),
        "update {{ this }} set revenue = revenue * {{ var('scale', 2) }}",
        "insert into main.hook_log select coalesce(max(seq), 0) + 1, 'model post ' || (select sum(revenue) from {{ this }}) from main.hook_log",
    ],
) }}
select customer_id, count(*) as orders, sum(amount) as revenue
from {{ ref('orders') }}
group by 1
