WITH churn_rate_active AS (
  /* churn_rate: which user had completed_orders in which month */
  SELECT DISTINCT
    events.entity,
    CAST(DATE_TRUNC('MONTH', events.event_at) AS DATE) AS period
  FROM (
    SELECT
      orders.user_id AS entity,
      orders.ordered_at AS event_at,
      CASE WHEN orders.is_completed THEN orders.order_id END AS value
    FROM marts.fct_orders AS orders
    WHERE
      NOT CASE WHEN orders.is_completed THEN orders.order_id END IS NULL
  ) AS events
), churn_rate AS (
  /* churn_rate: of the users active in a month, the share no longer active in the next (reported against the next) */
  SELECT
    CAST(prev.period + INTERVAL '1' MONTH AS DATE) AS metric_time__month,
    1 - CAST(COUNT(curr.entity) AS DOUBLE) / COUNT(*) AS churn_rate
  FROM churn_rate_active AS prev
  LEFT JOIN churn_rate_active AS curr
    ON curr.entity = prev.entity
    AND curr.period = CAST(prev.period + INTERVAL '1' MONTH AS DATE)
  WHERE
    prev.period < (
      SELECT
        MAX(period)
      FROM churn_rate_active
    )
  GROUP BY
    1
)
SELECT
  metric_time__month,
  churn_rate
FROM churn_rate
ORDER BY
  metric_time__month ASC
