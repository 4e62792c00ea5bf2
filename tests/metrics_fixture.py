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
            defaults: {grain: month}
          - name: revenue_to_date
            description: Revenue since the start of the year.
            type: cumulative
            type_params: {measure: revenue, cumulative_type_params: {grain_to_date: year, period_agg: last}}
          - name: revenue_2m
            description: Revenue over a rolling 2-month window.
            type: cumulative
            type_params: {measure: revenue, window: 2 months}
    """,
}


# Events and an experiment on the same shop, for the growth metric types.
GROWTH = {
    **SHOP,
    "seeds/events.csv": (
        "user_id,event_at,kind\n"
        "1,2025-01-01 10:00:00,visit\n"
        "1,2025-01-01 12:00:00,cart\n"
        "1,2025-01-01 13:00:00,purchase\n"
        "2,2025-01-01 11:00:00,visit\n"
        "2,2025-01-03 11:00:00,cart\n"
        "3,2025-01-01 09:00:00,visit\n"
        "3,2025-01-01 09:30:00,cart\n"
        "3,2025-01-01 15:00:00,purchase\n"
        "4,2025-01-02 08:00:00,visit\n"
        "4,2025-01-02 08:10:00,cart\n"
        "4,2025-01-02 08:20:00,purchase\n"
        "5,2025-01-02 09:00:00,cart\n"
    ),
    "seeds/exposures.csv": (
        "user_id,exposed_at,arm\n"
        "1,2025-01-01 00:00:00,treatment\n"
        "2,2025-01-01 00:00:00,treatment\n"
        "3,2025-01-01 00:00:00,control\n"
        "4,2025-01-01 00:00:00,control\n"
        "5,2025-01-01 00:00:00,control\n"
    ),
    "models/marts/fct_events.sql": "select row_number() over () as event_id, * from {{ ref('events') }}\n",
    "models/marts/fct_exposures.sql": "select * from {{ ref('exposures') }}\n",
    "metrics/growth.yml": """
        semantic_models:
          - name: events
            model: ref('fct_events')
            defaults: {agg_time_dimension: event_at}
            entities:
              - {name: event, type: primary, expr: event_id}
              - {name: user, type: foreign, expr: user_id}
            dimensions:
              - {name: event_at, type: time, type_params: {time_granularity: day}}
              - {name: kind, type: categorical}
            measures:
              - {name: events, agg: count, expr: event_id}
          - name: exposures
            model: ref('fct_exposures')
            defaults: {agg_time_dimension: exposed_at}
            entities:
              - {name: user, type: primary, expr: user_id}
            dimensions:
              - {name: exposed_at, type: time, type_params: {time_granularity: day}}
              - {name: arm, type: categorical}
            measures:
              - {name: exposed, agg: count, expr: user_id}
        metrics:
          - name: purchase_funnel
            description: Visit, then cart within a day, then purchase within two hours.
            type: funnel
            type_params:
              entity: user
              steps:
                - {name: visited, measure: events, filter: "{{ Dimension('event__kind') }} = 'visit'"}
                - {name: carted, measure: events, filter: "{{ Dimension('event__kind') }} = 'cart'", window: 1 day}
                - name: purchased
                  measure: events
                  filter: "{{ Dimension('event__kind') }} = 'purchase'"
                  window: 2 hours
          - name: arpu_1m
            description: Revenue within a month of the first visit, per user of the cohort.
            type: cohort
            type_params: {entity: user, first_event: new_users, measure: revenue, horizon: 1 month}
          - name: customer_retention
            description: Share of last month's customers who ordered again this month.
            type: retention
            type_params:
              entity: user
              activity: {name: order_count, filter: "{{ Dimension('order__status') }} = 'completed'"}
          - name: first_week_conversion
            description: Share of new users who complete an order within 7 days of their first visit.
            type: conversion
            type_params:
              conversion_type_params:
                entity: user
                base_measure: new_users
                conversion_measure: buyers
                window: 7 days
          - name: promo_uplift
            description: Completed orders per member within 45 days of exposure, treatment minus control.
            type: uplift
            type_params:
              entity: user
              exposure: exposed
              group: arm
              outcome: {name: order_count, filter: "{{ Dimension('order__status') }} = 'completed'"}
              window: 45 days
          - name: arpu_per_cpu
            description: A cohort metric combined with a ratio in a derived metric.
            type: derived
            type_params:
              expr: arpu_1m / cpu
              metrics: [arpu_1m, cpu]
    """,
}


# The shop with metric tests in the YAML: expectations on the built tables and unit tests on fixture rows.
CHECKS = """
          - name: checked_revenue
            description: Completed revenue, with tests.
            type: simple
            type_params: {measure: revenue}
            defaults: {grain: month}
            tests:
              - range: {min: 0}
              - not_null: {per_period: true}
                severity: warn
              - equals:
                  sql: >
                    select cast(date_trunc('month', ordered_at) as date) as metric_time__month, sum(amount) as value
                    from raw.orders where status = 'completed' group by 1
              - equals: {metric: revenue}
              - unit:
                  given:
                    - input: ref('fct_orders')
                      rows:
                        - {order_id: 1, user_id: 1, ordered_at: 2025-01-05 10:00:00, status: completed, amount: 10.5}
                        - {order_id: 2, user_id: 1, ordered_at: 2025-01-06 10:00:00, status: cancelled, amount: 99}
                        - {order_id: 3, user_id: 2, ordered_at: 2025-02-01 00:00:00, status: completed, amount: 1.25}
                  expect:
                    rows:
                      - {metric_time__month: 2025-01-01, checked_revenue: 10.5}
                      - {metric_time__month: 2025-02-01, checked_revenue: 1.25}
          - name: checked_cpu
            description: Spend per new user, unit tested over two inputs.
            type: ratio
            type_params: {numerator: spend, denominator: new_users}
            tests:
              - unit:
                  by: [month, channel]
                  given:
                    - input: spend
                      rows:
                        - {spend_date: 2025-01-10, channel: seo, spend: 30}
                    - input: ref('dim_users')
                      rows:
                        - {user_id: 1, first_seen_at: 2025-01-01 10:00:00, channel: seo}
                        - {user_id: 2, first_seen_at: 2025-01-02 10:00:00, channel: seo}
                        - {user_id: 3, first_seen_at: 2025-01-03 10:00:00, channel: seo}
                  expect:
                    rows:
                      - {metric_time__month: 2025-01-01, channel: seo, checked_cpu: 10.0}
"""
CHECKED = {**SHOP, "metrics/shop.yml": SHOP["metrics/shop.yml"].rstrip(" ") + CHECKS}
