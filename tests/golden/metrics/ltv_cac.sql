WITH ltv_members AS (
  /* ltv: each user's first completed_orders (the cohort) and cohort size */
  SELECT
    events.entity,
    MIN(events.event_at) AS first_at,
    COUNT(*) OVER (PARTITION BY CAST(DATE_TRUNC('MONTH', MIN(events.event_at)) AS DATE)) AS cohort_size
  FROM (
    SELECT
      orders.user_id AS entity,
      orders.ordered_at AS event_at,
      CASE WHEN orders.is_completed THEN orders.order_id END AS value
    FROM marts.fct_orders AS orders
    WHERE
      NOT CASE WHEN orders.is_completed THEN orders.order_id END IS NULL
  ) AS events
  GROUP BY
    events.entity
), ltv_outcomes AS (
  /* ltv: the revenue rows of every user */
  SELECT
    orders.user_id AS entity,
    orders.ordered_at AS event_at,
    CASE WHEN orders.is_completed THEN orders.payment_total END AS value
  FROM marts.fct_orders AS orders
  WHERE
    NOT CASE WHEN orders.is_completed THEN orders.payment_total END IS NULL
), ltv AS (
  /* ltv: sum of case when is_completed then payment_total end within 3 months of the first completed_orders, per member, by cohort month */
  SELECT
    CAST(DATE_TRUNC('MONTH', members.first_at) AS DATE) AS metric_time__month,
    CAST(COALESCE(SUM(outcomes.value), 0) AS DOUBLE) / NULLIF(MAX(members.cohort_size), 0) AS ltv
  FROM ltv_members AS members
  LEFT JOIN ltv_outcomes AS outcomes
    ON outcomes.entity = members.entity
    AND outcomes.event_at >= members.first_at
    AND outcomes.event_at < members.first_at + INTERVAL '3' MONTH
  GROUP BY
    1
), ad_spend AS (
  /* ad_spend: ad_spend_gross = sum of spend_gross, per metric_time__month */
  SELECT
    CAST(DATE_TRUNC('MONTH', ad_spend.spend_date) AS DATE) AS metric_time__month,
    SUM(ad_spend.spend_gross) AS ad_spend_gross
  FROM marts.fct_ad_spend AS ad_spend
  GROUP BY
    1
), orders AS (
  /* orders: new_customers = count of case when is_completed and is_first_order then order_id end, per metric_time__month */
  SELECT
    CAST(DATE_TRUNC('MONTH', orders.ordered_at) AS DATE) AS metric_time__month,
    COUNT(CASE WHEN orders.is_completed AND orders.is_first_order THEN orders.order_id END) AS new_customers
  FROM marts.fct_orders AS orders
  GROUP BY
    1
)
SELECT
  metric_time__month,
  ltv / (
    CAST(ad_spend_gross AS DOUBLE) / NULLIF(new_customers, 0)
  ) AS ltv_cac
FROM ltv
FULL OUTER JOIN ad_spend
  USING (metric_time__month)
FULL OUTER JOIN orders
  USING (metric_time__month)
ORDER BY
  metric_time__month ASC
