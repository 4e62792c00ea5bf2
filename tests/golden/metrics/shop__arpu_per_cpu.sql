WITH arpu_1m_members AS (
  /* arpu_1m: each user's first new_users (the cohort) and cohort size */
  SELECT
    events.entity,
    MIN(events.event_at) AS first_at,
    COUNT(*) OVER (PARTITION BY CAST(DATE_TRUNC('MONTH', MIN(events.event_at)) AS DATE)) AS cohort_size
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
    events.entity
), arpu_1m_outcomes AS (
  /* arpu_1m: the revenue rows of every user */
  SELECT
    orders.user_id AS entity,
    orders.ordered_at AS event_at,
    CASE WHEN orders.status = 'completed' THEN orders.amount END AS value
  FROM marts.fct_orders AS orders
  WHERE
    NOT CASE WHEN orders.status = 'completed' THEN orders.amount END IS NULL
), arpu_1m AS (
  /* arpu_1m: sum of case when status = 'completed' then amount end within 1 month of the first new_users, per member, by cohort month */
  SELECT
    CAST(DATE_TRUNC('MONTH', members.first_at) AS DATE) AS metric_time__month,
    CAST(COALESCE(SUM(outcomes.value), 0) AS DOUBLE) / NULLIF(MAX(members.cohort_size), 0) AS arpu_1m
  FROM arpu_1m_members AS members
  LEFT JOIN arpu_1m_outcomes AS outcomes
    ON outcomes.entity = members.entity
    AND outcomes.event_at >= members.first_at
    AND outcomes.event_at < members.first_at + INTERVAL '1' MONTH
  GROUP BY
    1
), spend AS (
  /* spend: spend = sum of spend, per metric_time__month */
  SELECT
    CAST(DATE_TRUNC('MONTH', spend.spend_date) AS DATE) AS metric_time__month,
    SUM(spend.spend) AS spend
  FROM marts.fct_spend AS spend
  GROUP BY
    1
), users AS (
  /* users: new_users = count of user_id, per metric_time__month */
  SELECT
    CAST(DATE_TRUNC('MONTH', users.first_seen_at) AS DATE) AS metric_time__month,
    COUNT(users.user_id) AS new_users
  FROM marts.dim_users AS users
  GROUP BY
    1
)
SELECT
  metric_time__month,
  arpu_1m / (
    CAST(spend AS DOUBLE) / NULLIF(new_users, 0)
  ) AS arpu_per_cpu
FROM arpu_1m
FULL OUTER JOIN spend
  USING (metric_time__month)
FULL OUTER JOIN users
  USING (metric_time__month)
ORDER BY
  metric_time__month ASC
