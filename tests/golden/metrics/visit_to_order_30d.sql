WITH visit_to_order_30d_base AS (
  /* visit_to_order_30d: each user's first new_users per month */
  SELECT
    events.entity,
    CAST(DATE_TRUNC('MONTH', events.event_at) AS DATE) AS metric_time__month,
    MIN(events.event_at) AS event_at
  FROM (
    SELECT
      users.user_id AS entity,
      users.first_seen_at AS event_at,
      CASE WHEN users.is_visitor THEN users.user_id END AS value
    FROM marts.dim_users AS users
    WHERE
      NOT CASE WHEN users.is_visitor THEN users.user_id END IS NULL
  ) AS events
  GROUP BY
    1,
    2
), visit_to_order_30d_conversions AS (
  /* visit_to_order_30d: the completed_orders rows */
  SELECT
    orders.user_id AS entity,
    orders.ordered_at AS event_at,
    CASE WHEN orders.is_completed THEN orders.order_id END AS value
  FROM marts.fct_orders AS orders
  WHERE
    NOT CASE WHEN orders.is_completed THEN orders.order_id END IS NULL
), visit_to_order_30d AS (
  /* visit_to_order_30d: conversion rate of completed_orders within 30 days after it */
  SELECT
    base.metric_time__month AS metric_time__month,
    CAST(COUNT(DISTINCT CASE WHEN NOT conversions.entity IS NULL THEN base.entity END) AS DOUBLE) / NULLIF(COUNT(DISTINCT base.entity), 0) AS visit_to_order_30d
  FROM visit_to_order_30d_base AS base
  LEFT JOIN visit_to_order_30d_conversions AS conversions
    ON conversions.entity = base.entity
    AND conversions.event_at >= base.event_at
    AND conversions.event_at <= base.event_at + INTERVAL '30' DAY
  GROUP BY
    1
)
SELECT
  metric_time__month,
  visit_to_order_30d
FROM visit_to_order_30d
ORDER BY
  metric_time__month ASC
