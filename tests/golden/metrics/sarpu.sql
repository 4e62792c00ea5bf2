WITH sarpu_members AS (
  /* sarpu: each user's first sessions (the cohort) and cohort size */
  SELECT
    events.entity,
    MIN(events.event_at) AS first_at,
    COUNT(*) OVER (PARTITION BY CAST(DATE_TRUNC('MONTH', MIN(events.event_at)) AS DATE)) AS cohort_size
  FROM (
    SELECT
      sessions.user_id AS entity,
      sessions.started_at AS event_at,
      sessions.session_id AS value
    FROM marts.fct_sessions AS sessions
    WHERE
      NOT sessions.session_id IS NULL
  ) AS events
  GROUP BY
    events.entity
), sarpu_outcomes AS (
  /* sarpu: the revenue rows of every user */
  SELECT
    orders.user_id AS entity,
    orders.ordered_at AS event_at,
    CASE WHEN orders.is_completed THEN orders.payment_total END AS value
  FROM marts.fct_orders AS orders
  WHERE
    NOT CASE WHEN orders.is_completed THEN orders.payment_total END IS NULL
), sarpu AS (
  /* sarpu: sum of case when is_completed then payment_total end within 3 months of the first sessions, per member, by cohort month */
  SELECT
    CAST(DATE_TRUNC('MONTH', members.first_at) AS DATE) AS metric_time__month,
    CAST(COALESCE(SUM(outcomes.value), 0) AS DOUBLE) / NULLIF(MAX(members.cohort_size), 0) AS sarpu
  FROM sarpu_members AS members
  LEFT JOIN sarpu_outcomes AS outcomes
    ON outcomes.entity = members.entity
    AND outcomes.event_at >= members.first_at
    AND outcomes.event_at < members.first_at + INTERVAL '3' MONTH
  GROUP BY
    1
)
SELECT
  metric_time__month,
  sarpu
FROM sarpu
ORDER BY
  metric_time__month ASC
