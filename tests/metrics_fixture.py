"""A tiny shop with semantic models, shared by the metric tests: small enough to check every number by hand."""

SHOP = {
    "project.yml": """
        name: shop
        warehouse: warehouse.duckdb
        models:
          +materialized: table
        seeds:
          +schema: raw
    """,
    "seeds/users.csv": (
        "user_id,first_seen_at,channel\n"
        "1,2025-01-03 10:00:00,seo\n"
        "2,2025-01-20 11:00:00,paid_search\n"
        "3,2025-02-02 09:00:00,paid_search\n"
        "4,2025-02-15 12:00:00,seo\n"
        "5,2025-03-01 08:00:00,paid_search\n"
    ),
    "seeds/orders.csv": (
        "order_id,user_id,ordered_at,status,amount\n"
        "10,1,2025-01-05 10:00:00,completed,100.50\n"
        "11,2,2025-01-25 10:00:00,completed,40.00\n"
        "12,1,2025-02-03 10:00:00,completed,60.25\n"
        "13,3,2025-02-10 10:00:00,cancelled,0.00\n"
        "14,3,2025-02-11 10:00:00,completed,80.00\n"
        "15,4,2025-03-20 10:00:00,completed,20.00\n"
        "16,1,2025-03-21 10:00:00,completed,30.00\n"
        "17,2,2025-05-02 10:00:00,completed,10.00\n"
    ),
    "seeds/spend.csv": (
        "spend_date,channel,spend\n"
        "2025-01-10,paid_search,50.00\n"
        "2025-02-10,paid_search,90.00\n"
        "2025-03-10,paid_search,30.00\n"
        "2025-03-11,paid_social,12.00\n"
    ),
    "models/marts/fct_orders.sql": "select * from {{ ref('orders') }}\n",
    "models/marts/dim_users.sql": "select * from {{ ref('users') }}\n",
    "models/marts/fct_spend.sql": "select * from {{ ref('spend') }}\n",
    "metrics/shop.yml": """
        semantic_models:
          - name: orders
            model: ref('fct_orders')
            defaults: {agg_time_dimension: ordered_at}
            entities:
              - {name: order, type: primary, expr: order_id}
              - {name: user, type: foreign, expr: user_id}
            dimensions:
              - {name: ordered_at, type: time, type_params: {time_granularity: day}}
              - {name: status, type: categorical}
            measures:
              - {name: revenue, agg: sum, expr: "case when status = 'completed' then amount end"}
              - {name: order_count, agg: count, expr: order_id}
              - {name: buyers, agg: count_distinct, expr: user_id}
          - name: users
            model: ref('dim_users')
            defaults: {agg_time_dimension: first_seen_at}
            entities:
              - {name: user, type: primary, expr: user_id}
            dimensions:
              - {name: first_seen_at, type: time, type_params: {time_granularity: day}}
              - {name: channel, type: categorical}
            measures:
              - {name: new_users, agg: count, expr: user_id}
          - name: spend
            model: ref('fct_spend')
            defaults: {agg_time_dimension: spend_date}
            dimensions:
              - {name: spend_date, type: time, type_params: {time_granularity: day}}
              - {name: channel, type: categorical}
            measures:
              - {name: spend, agg: sum, expr: spend}
        metrics:
          - name: revenue
            description: Completed revenue.
            owner: finance
            type: simple
            type_params: {measure: revenue}
            defaults: {grain: month}
          - name: completed_orders
            description: Completed orders.
            owner: growth
            type: simple
            type_params: {measure: order_count}
            filter: "{{ Dimension('order__status') }} = 'completed'"
          - name: new_users
            description: Users by first visit.
            owner: growth
            type: simple
            type_params: {measure: new_users}
          - name: spend
            description: Ad spend.
            type: simple
            type_params: {measure: spend}
          - name: cpu
            description: Spend per new user.
            owner: performance
            type: ratio
            type_params: {numerator: spend, denominator: new_users}
            defaults: {grain: month, by: [channel]}
          - name: revenue_growth
            description: Month over month revenue growth.
            type: derived
            type_params:
              expr: revenue - last_month
              metrics:
                - revenue
                - {name: revenue, alias: last_month, offset_window: 1 month}
          - name: revenue_to_date
            description: Revenue since the start of the year.
            type: cumulative
            type_params: {measure: revenue, grain_to_date: year}
          - name: revenue_2m
            description: Revenue over a rolling 2-month window.
            type: cumulative
            type_params: {measure: revenue, window: 2 months}
    """,
}
