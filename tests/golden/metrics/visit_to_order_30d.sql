WITH visit_to_order_30d_base AS (
  /* visit_to_order_30d: the new_users rows (base events) */
  SELECT
    users.user_id AS entity,
    users.first_seen_at AS event_at,
    CASE WHEN users.is_visitor THEN users.user_id END AS value
  FROM marts.dim_users AS users
), visit_to_order_30d_events AS (
  /* visit_to_order_30d: the paying_customers rows (conversion events) */
  SELECT
    *,
    ROW_NUMBER() OVER (ORDER BY entity, event_at) AS conversion_id
  FROM (
    SELECT
      orders.user_id AS entity,
      orders.ordered_at AS event_at,
      CASE WHEN orders.is_completed THEN orders.user_id END AS value
    FROM marts.fct_orders AS orders
  ) AS events
), visit_to_order_30d_matched AS (
  /* visit_to_order_30d: each conversion with the closest base event before it within 30 days */
  SELECT
    metric_time__month,
    value
  FROM (
    SELECT
      CAST(DATE_TRUNC('MONTH', base.event_at) AS DATE) AS metric_time__month,
      conversions.value AS value,
      ROW_NUMBER() OVER (
        PARTITION BY conversions.conversion_id
        ORDER BY CAST(DATE_TRUNC('DAY', base.event_at) AS DATE) DESC
      ) AS closest
    FROM visit_to_order_30d_base AS base
    INNER JOIN visit_to_order_30d_events AS conversions
      ON base.entity = conversions.entity
      AND CAST(DATE_TRUNC('DAY', base.event_at) AS DATE) <= CAST(DATE_TRUNC('DAY', conversions.event_at) AS DATE)
      AND CAST(DATE_TRUNC('DAY', base.event_at) AS DATE) > CAST(DATE_TRUNC('DAY', conversions.event_at) AS DATE) - INTERVAL '30' DAY
  ) AS pairs
  WHERE
    closest = 1
), visit_to_order_30d AS (
  /* visit_to_order_30d: conversion rate */
  SELECT
    COALESCE(base.metric_time__month, conversions.metric_time__month) AS metric_time__month,
    CAST(conversions.value AS DOUBLE) / NULLIF(base.value, 0) AS visit_to_order_30d
  FROM (
    SELECT
      CAST(DATE_TRUNC('MONTH', event_at) AS DATE) AS metric_time__month,
      COUNT(value) AS value
    FROM visit_to_order_30d_base
    GROUP BY
      1
  ) AS base
  FULL OUTER JOIN (
    SELECT
      metric_time__month,
      COUNT(DISTINCT value) AS value
    FROM visit_to_order_30d_matched
    GROUP BY
      1
  ) AS conversions
    ON base.metric_time__month IS NOT DISTINCT FROM conversions.metric_time__month
)
SELECT
  metric_time__month,
  visit_to_order_30d
FROM visit_to_order_30d
ORDER BY
  metric_time__month ASC
