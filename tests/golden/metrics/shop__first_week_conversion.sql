WITH first_week_conversion_base AS (
  /* first_week_conversion: the new_users rows (base events) */
  SELECT
    users.user_id AS entity,
    users.first_seen_at AS event_at,
    users.user_id AS value
  FROM marts.dim_users AS users
), first_week_conversion_events AS (
  /* first_week_conversion: the buyers rows (conversion events) */
  SELECT
    *,
    ROW_NUMBER() OVER (ORDER BY entity, event_at) AS conversion_id
  FROM (
    SELECT
      orders.user_id AS entity,
      orders.ordered_at AS event_at,
      orders.user_id AS value
    FROM marts.fct_orders AS orders
  ) AS events
), first_week_conversion_matched AS (
  /* first_week_conversion: each conversion with the closest base event before it within 7 days */
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
    FROM first_week_conversion_base AS base
    INNER JOIN first_week_conversion_events AS conversions
      ON base.entity = conversions.entity
      AND CAST(DATE_TRUNC('DAY', base.event_at) AS DATE) <= CAST(DATE_TRUNC('DAY', conversions.event_at) AS DATE)
      AND CAST(DATE_TRUNC('DAY', base.event_at) AS DATE) > CAST(DATE_TRUNC('DAY', conversions.event_at) AS DATE) - INTERVAL '7' DAY
  ) AS pairs
  WHERE
    closest = 1
), first_week_conversion AS (
  /* first_week_conversion: conversion rate */
  SELECT
    COALESCE(base.metric_time__month, conversions.metric_time__month) AS metric_time__month,
    CAST(conversions.value AS DOUBLE) / NULLIF(base.value, 0) AS first_week_conversion
  FROM (
    SELECT
      CAST(DATE_TRUNC('MONTH', event_at) AS DATE) AS metric_time__month,
      COUNT(value) AS value
    FROM first_week_conversion_base
    GROUP BY
      1
  ) AS base
  FULL OUTER JOIN (
    SELECT
      metric_time__month,
      COUNT(DISTINCT value) AS value
    FROM first_week_conversion_matched
    GROUP BY
      1
  ) AS conversions
    ON base.metric_time__month IS NOT DISTINCT FROM conversions.metric_time__month
)
SELECT
  metric_time__month,
  first_week_conversion
FROM first_week_conversion
ORDER BY
  metric_time__month ASC
