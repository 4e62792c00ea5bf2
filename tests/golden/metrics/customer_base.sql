WITH customer_base_contacted_rows AS (
  /* customer_base: the messages_sent rows of level contacted */
  SELECT
    communications.user_id AS entity,
    communications.sent_at AS event_at,
    communications.message_id AS value
  FROM marts.fct_communications AS communications
  WHERE
    NOT communications.message_id IS NULL
), customer_base_in_communication_rows AS (
  /* customer_base: the messages_delivered rows of level in_communication */
  SELECT
    communications.user_id AS entity,
    communications.sent_at AS event_at,
    communications.is_delivered AS value
  FROM marts.fct_communications AS communications
  WHERE
    communications.is_delivered
), customer_base_bought_2y_rows AS (
  /* customer_base: the completed_orders rows of level bought_2y */
  SELECT
    orders.user_id AS entity,
    orders.ordered_at AS event_at,
    CASE WHEN orders.is_completed THEN orders.order_id END AS value
  FROM marts.fct_orders AS orders
  WHERE
    NOT CASE WHEN orders.is_completed THEN orders.order_id END IS NULL
), customer_base_bought_twice_12m_rows AS (
  /* customer_base: the completed_orders rows of level bought_twice_12m */
  SELECT
    orders.user_id AS entity,
    orders.ordered_at AS event_at,
    CASE WHEN orders.is_completed THEN orders.order_id END AS value
  FROM marts.fct_orders AS orders
  WHERE
    NOT CASE WHEN orders.is_completed THEN orders.order_id END IS NULL
), customer_base_top_revenue_70pct_rows AS (
  /* customer_base: the revenue rows of level top_revenue_70pct */
  SELECT
    orders.user_id AS entity,
    orders.ordered_at AS event_at,
    CASE WHEN orders.is_completed THEN orders.payment_total END AS value
  FROM marts.fct_orders AS orders
  WHERE
    NOT CASE WHEN orders.is_completed THEN orders.payment_total END IS NULL
), customer_base_periods AS (
  /* customer_base: every month from the first row on */
  SELECT
    period
  FROM (
    SELECT
      CAST(UNNEST(GENERATE_SERIES(
        MIN(CAST(DATE_TRUNC('MONTH', event_at) AS DATE)),
        MAX(CAST(DATE_TRUNC('MONTH', event_at) AS DATE)),
        INTERVAL '1' MONTH
      )) AS DATE) AS period
    FROM (
      SELECT
        event_at
      FROM customer_base_contacted_rows
      UNION ALL
      SELECT
        event_at
      FROM customer_base_in_communication_rows
      UNION ALL
      SELECT
        event_at
      FROM customer_base_bought_2y_rows
      UNION ALL
      SELECT
        event_at
      FROM customer_base_bought_twice_12m_rows
      UNION ALL
      SELECT
        event_at
      FROM customer_base_top_revenue_70pct_rows
    ) AS events
  ) AS spine
), customer_base_contacted_entities AS (
  /* customer_base: count of message_id per user in all time up to the end of each month */
  SELECT
    periods.period,
    events.entity,
    COUNT(events.value) AS value
  FROM customer_base_periods AS periods
  INNER JOIN customer_base_contacted_rows AS events
    ON events.event_at < periods.period + INTERVAL '1' MONTH
  WHERE
    NOT events.entity IS NULL
  GROUP BY
    1,
    2
), customer_base_contacted AS (
  /* customer_base: level contacted, the users with messages_sent */
  SELECT
    period,
    COUNT(*) AS entities
  FROM customer_base_contacted_entities
  GROUP BY
    1
), customer_base_in_communication_entities AS (
  /* customer_base: sum_boolean of is_delivered per user in the 90 days up to the end of each month */
  SELECT
    periods.period,
    events.entity,
    SUM(CASE WHEN events.value THEN 1 ELSE 0 END) AS value
  FROM customer_base_periods AS periods
  INNER JOIN customer_base_in_communication_rows AS events
    ON events.event_at < periods.period + INTERVAL '1' MONTH
    AND events.event_at >= periods.period + INTERVAL '1' MONTH - INTERVAL '90' DAY
  WHERE
    NOT events.entity IS NULL
  GROUP BY
    1,
    2
), customer_base_in_communication AS (
  /* customer_base: level in_communication, the users with messages_delivered */
  SELECT
    period,
    COUNT(*) AS entities
  FROM customer_base_in_communication_entities
  GROUP BY
    1
), customer_base_bought_2y_entities AS (
  /* customer_base: count of case when is_completed then order_id end per user in the 2 years up to the end of each month */
  SELECT
    periods.period,
    events.entity,
    COUNT(events.value) AS value
  FROM customer_base_periods AS periods
  INNER JOIN customer_base_bought_2y_rows AS events
    ON events.event_at < periods.period + INTERVAL '1' MONTH
    AND events.event_at >= periods.period + INTERVAL '1' MONTH - INTERVAL '2' YEAR
  WHERE
    NOT events.entity IS NULL
  GROUP BY
    1,
    2
), customer_base_bought_2y AS (
  /* customer_base: level bought_2y, the users with completed_orders */
  SELECT
    period,
    COUNT(*) AS entities
  FROM customer_base_bought_2y_entities
  GROUP BY
    1
), customer_base_bought_twice_12m_entities AS (
  /* customer_base: count of case when is_completed then order_id end per user in the 12 months up to the end of each month */
  SELECT
    periods.period,
    events.entity,
    COUNT(events.value) AS value
  FROM customer_base_periods AS periods
  INNER JOIN customer_base_bought_twice_12m_rows AS events
    ON events.event_at < periods.period + INTERVAL '1' MONTH
    AND events.event_at >= periods.period + INTERVAL '1' MONTH - INTERVAL '12' MONTH
  WHERE
    NOT events.entity IS NULL
  GROUP BY
    1,
    2
), customer_base_bought_twice_12m AS (
  /* customer_base: level bought_twice_12m, the users with completed_orders of at least 2 */
  SELECT
    period,
    COUNT(*) AS entities
  FROM customer_base_bought_twice_12m_entities
  WHERE
    value >= 2.0
  GROUP BY
    1
), customer_base_top_revenue_70pct_entities AS (
  /* customer_base: sum of case when is_completed then payment_total end per user in the 12 months up to the end of each month */
  SELECT
    periods.period,
    events.entity,
    SUM(events.value) AS value
  FROM customer_base_periods AS periods
  INNER JOIN customer_base_top_revenue_70pct_rows AS events
    ON events.event_at < periods.period + INTERVAL '1' MONTH
    AND events.event_at >= periods.period + INTERVAL '1' MONTH - INTERVAL '12' MONTH
  WHERE
    NOT events.entity IS NULL
  GROUP BY
    1,
    2
), customer_base_top_revenue_70pct AS (
  /* customer_base: level top_revenue_70pct, the users the fewest bringing 0.7 of the total revenue */
  SELECT
    period,
    COUNT(*) AS entities
  FROM (
    SELECT
      period,
      SUM(value) OVER (PARTITION BY period ORDER BY value DESC, entity ASC) - value AS before,
      SUM(value) OVER (PARTITION BY period) AS total
    FROM customer_base_top_revenue_70pct_entities
    WHERE
      value > 0
  ) AS ranked
  WHERE
    before < 0.7 * total
  GROUP BY
    1
)
SELECT
  periods.period AS metric_time__month,
  COALESCE(contacted.entities, 0) AS contacted,
  COALESCE(in_communication.entities, 0) AS in_communication,
  COALESCE(bought_2y.entities, 0) AS bought_2y,
  COALESCE(bought_twice_12m.entities, 0) AS bought_twice_12m,
  COALESCE(top_revenue_70pct.entities, 0) AS top_revenue_70pct
FROM customer_base_periods AS periods
LEFT JOIN customer_base_contacted AS contacted
  ON contacted.period = periods.period
LEFT JOIN customer_base_in_communication AS in_communication
  ON in_communication.period = periods.period
LEFT JOIN customer_base_bought_2y AS bought_2y
  ON bought_2y.period = periods.period
LEFT JOIN customer_base_bought_twice_12m AS bought_twice_12m
  ON bought_twice_12m.period = periods.period
LEFT JOIN customer_base_top_revenue_70pct AS top_revenue_70pct
  ON top_revenue_70pct.period = periods.period
ORDER BY
  metric_time__month ASC
