WITH first_week_conversion_base AS (
  /* first_week_conversion: each user's first new_users per month */
  SELECT
    events.entity,
    CAST(DATE_TRUNC('MONTH', events.event_at) AS DATE) AS metric_time__month,
    MIN(events.event_at) AS event_at
  FROM (
    SELECT
      users.user_id AS entity,
      users.first_seen_at AS event_at,
      users.user_id AS value
    FROM marts.dim_users AS users
    WHERE
      NOT users.user_id IS NULL
  ) AS events
  GROUP BY
    1,
    2
), first_week_conversion_conversions AS (
  /* first_week_conversion: the revenue rows */
  SELECT
    orders.user_id AS entity,
    orders.ordered_at AS event_at,
    CASE WHEN orders.status = 'completed' THEN orders.amount END AS value
  FROM marts.fct_orders AS orders
  WHERE
    NOT CASE WHEN orders.status = 'completed' THEN orders.amount END IS NULL
), first_week_conversion AS (
  /* first_week_conversion: conversion rate of revenue within 7 days after it */
  SELECT
    base.metric_time__month AS metric_time__month,
    CAST(COUNT(DISTINCT CASE WHEN NOT conversions.entity IS NULL THEN base.entity END) AS DOUBLE) / NULLIF(COUNT(DISTINCT base.entity), 0) AS first_week_conversion
  FROM first_week_conversion_base AS base
  LEFT JOIN first_week_conversion_conversions AS conversions
    ON conversions.entity = base.entity
    AND conversions.event_at >= base.event_at
    AND conversions.event_at <= base.event_at + INTERVAL '7' DAY
  GROUP BY
    1
)
SELECT
  metric_time__month,
  first_week_conversion
FROM first_week_conversion
ORDER BY
  metric_time__month ASC
