WITH reactivation_longterm_members AS (
  /* reactivation_longterm: one row per member (treatment or control) */
  SELECT
    ROW_NUMBER() OVER (
      ORDER BY campaign_members.user_id, campaign_members.exposed_at, campaign_members.group_name
    ) AS member_id,
    campaign_members.user_id AS entity,
    campaign_members.exposed_at AS exposed_at,
    campaign_members.group_name AS arm
  FROM marts.fct_campaign_members AS campaign_members
  WHERE
    campaign_members.campaign_kind = 'reactivation'
    AND campaign_members.group_name IN ('treatment', 'control')
), reactivation_longterm_completed_orders AS (
  /* reactivation_longterm: count of case when is_completed then order_id end per member within 90 days */
  SELECT
    members.member_id,
    COALESCE(COUNT(outcomes.value), 0) AS value
  FROM reactivation_longterm_members AS members
  LEFT JOIN (
    SELECT
      orders.user_id AS entity,
      orders.ordered_at AS event_at,
      CASE WHEN orders.is_completed THEN orders.order_id END AS value
    FROM marts.fct_orders AS orders
    WHERE
      NOT CASE WHEN orders.is_completed THEN orders.order_id END IS NULL
  ) AS outcomes
    ON outcomes.entity = members.entity
    AND outcomes.event_at >= members.exposed_at
    AND outcomes.event_at < members.exposed_at + INTERVAL '90' DAY
  GROUP BY
    1
), reactivation_longterm_revenue AS (
  /* reactivation_longterm: sum of case when is_completed then payment_total end per member within 90 days */
  SELECT
    members.member_id,
    COALESCE(SUM(outcomes.value), 0) AS value
  FROM reactivation_longterm_members AS members
  LEFT JOIN (
    SELECT
      orders.user_id AS entity,
      orders.ordered_at AS event_at,
      CASE WHEN orders.is_completed THEN orders.payment_total END AS value
    FROM marts.fct_orders AS orders
    WHERE
      NOT CASE WHEN orders.is_completed THEN orders.payment_total END IS NULL
  ) AS outcomes
    ON outcomes.entity = members.entity
    AND outcomes.event_at >= members.exposed_at
    AND outcomes.event_at < members.exposed_at + INTERVAL '90' DAY
  GROUP BY
    1
), reactivation_longterm_promo_orders AS (
  /* reactivation_longterm: count of case when is_completed and has_promo_code then order_id end per member within 90 days */
  SELECT
    members.member_id,
    COALESCE(COUNT(outcomes.value), 0) AS value
  FROM reactivation_longterm_members AS members
  LEFT JOIN (
    SELECT
      orders.user_id AS entity,
      orders.ordered_at AS event_at,
      CASE WHEN orders.is_completed AND orders.has_promo_code THEN orders.order_id END AS value
    FROM marts.fct_orders AS orders
    WHERE
      NOT CASE WHEN orders.is_completed AND orders.has_promo_code THEN orders.order_id END IS NULL
  ) AS outcomes
    ON outcomes.entity = members.entity
    AND outcomes.event_at >= members.exposed_at
    AND outcomes.event_at < members.exposed_at + INTERVAL '90' DAY
  GROUP BY
    1
), reactivation_longterm_per_member AS (
  /* reactivation_longterm: every outcome measure per member */
  SELECT
    members.member_id,
    members.arm,
    members.exposed_at,
    completed_orders.value AS completed_orders,
    revenue.value AS revenue,
    promo_orders.value AS promo_orders
  FROM reactivation_longterm_members AS members
  INNER JOIN reactivation_longterm_completed_orders AS completed_orders
    ON completed_orders.member_id = members.member_id
  INNER JOIN reactivation_longterm_revenue AS revenue
    ON revenue.member_id = members.member_id
  INNER JOIN reactivation_longterm_promo_orders AS promo_orders
    ON promo_orders.member_id = members.member_id
), reactivation_longterm_residuals AS (
  /* reactivation_longterm: for ratio outcomes, y - R x of each member */
  SELECT
    *,
    revenue - CAST(SUM(revenue) OVER (PARTITION BY arm, CAST(DATE_TRUNC('MONTH', exposed_at) AS DATE)) AS DOUBLE) / NULLIF(
      SUM(completed_orders) OVER (PARTITION BY arm, CAST(DATE_TRUNC('MONTH', exposed_at) AS DATE)),
      0
    ) * completed_orders AS average_order_value__residual,
    promo_orders - CAST(SUM(promo_orders) OVER (PARTITION BY arm, CAST(DATE_TRUNC('MONTH', exposed_at) AS DATE)) AS DOUBLE) / NULLIF(
      SUM(completed_orders) OVER (PARTITION BY arm, CAST(DATE_TRUNC('MONTH', exposed_at) AS DATE)),
      0
    ) * completed_orders AS promo_share__residual
  FROM reactivation_longterm_per_member
), reactivation_longterm_arms AS (
  /* reactivation_longterm: size, value and variance of each group */
  SELECT
    CAST(DATE_TRUNC('MONTH', exposed_at) AS DATE) AS metric_time__month,
    COUNT(CASE WHEN arm = 'treatment' THEN 1 END) AS treatment_members,
    COUNT(CASE WHEN arm = 'control' THEN 1 END) AS control_members,
    AVG(CASE WHEN arm = 'treatment' THEN completed_orders END) AS t__orders,
    VARIANCE(CASE WHEN arm = 'treatment' THEN completed_orders END) / COUNT(CASE WHEN arm = 'treatment' THEN 1 END) AS t__orders__var,
    AVG(CASE WHEN arm = 'control' THEN completed_orders END) AS c__orders,
    VARIANCE(CASE WHEN arm = 'control' THEN completed_orders END) / COUNT(CASE WHEN arm = 'control' THEN 1 END) AS c__orders__var,
    AVG(CASE WHEN arm = 'treatment' THEN revenue END) AS t__revenue,
    VARIANCE(CASE WHEN arm = 'treatment' THEN revenue END) / COUNT(CASE WHEN arm = 'treatment' THEN 1 END) AS t__revenue__var,
    AVG(CASE WHEN arm = 'control' THEN revenue END) AS c__revenue,
    VARIANCE(CASE WHEN arm = 'control' THEN revenue END) / COUNT(CASE WHEN arm = 'control' THEN 1 END) AS c__revenue__var,
    CAST(SUM(CASE WHEN arm = 'treatment' THEN revenue END) AS DOUBLE) / NULLIF(SUM(CASE WHEN arm = 'treatment' THEN completed_orders END), 0) AS t__average_order_value,
    VARIANCE(CASE WHEN arm = 'treatment' THEN average_order_value__residual END) / (
      COUNT(CASE WHEN arm = 'treatment' THEN 1 END) * POWER(AVG(CASE WHEN arm = 'treatment' THEN completed_orders END), 2)
    ) AS t__average_order_value__var,
    CAST(SUM(CASE WHEN arm = 'control' THEN revenue END) AS DOUBLE) / NULLIF(SUM(CASE WHEN arm = 'control' THEN completed_orders END), 0) AS c__average_order_value,
    VARIANCE(CASE WHEN arm = 'control' THEN average_order_value__residual END) / (
      COUNT(CASE WHEN arm = 'control' THEN 1 END) * POWER(AVG(CASE WHEN arm = 'control' THEN completed_orders END), 2)
    ) AS c__average_order_value__var,
    CAST(SUM(CASE WHEN arm = 'treatment' THEN promo_orders END) AS DOUBLE) / NULLIF(SUM(CASE WHEN arm = 'treatment' THEN completed_orders END), 0) AS t__promo_share,
    VARIANCE(CASE WHEN arm = 'treatment' THEN promo_share__residual END) / (
      COUNT(CASE WHEN arm = 'treatment' THEN 1 END) * POWER(AVG(CASE WHEN arm = 'treatment' THEN completed_orders END), 2)
    ) AS t__promo_share__var,
    CAST(SUM(CASE WHEN arm = 'control' THEN promo_orders END) AS DOUBLE) / NULLIF(SUM(CASE WHEN arm = 'control' THEN completed_orders END), 0) AS c__promo_share,
    VARIANCE(CASE WHEN arm = 'control' THEN promo_share__residual END) / (
      COUNT(CASE WHEN arm = 'control' THEN 1 END) * POWER(AVG(CASE WHEN arm = 'control' THEN completed_orders END), 2)
    ) AS c__promo_share__var
  FROM reactivation_longterm_residuals
  GROUP BY
    1
)
SELECT
  metric_time__month,
  treatment_members,
  control_members,
  t__orders AS orders_treatment,
  c__orders AS orders_control,
  (
    t__orders - c__orders
  ) AS orders_uplift,
  (
    t__orders - c__orders
  ) - 1.959964 * SQRT(t__orders__var + c__orders__var) AS orders_ci95_low,
  (
    t__orders - c__orders
  ) + 1.959964 * SQRT(t__orders__var + c__orders__var) AS orders_ci95_high,
  t__revenue AS revenue_treatment,
  c__revenue AS revenue_control,
  (
    t__revenue - c__revenue
  ) AS revenue_uplift,
  (
    t__revenue - c__revenue
  ) - 1.959964 * SQRT(t__revenue__var + c__revenue__var) AS revenue_ci95_low,
  (
    t__revenue - c__revenue
  ) + 1.959964 * SQRT(t__revenue__var + c__revenue__var) AS revenue_ci95_high,
  t__average_order_value AS average_order_value_treatment,
  c__average_order_value AS average_order_value_control,
  (
    t__average_order_value - c__average_order_value
  ) AS average_order_value_uplift,
  (
    t__average_order_value - c__average_order_value
  ) - 1.959964 * SQRT(t__average_order_value__var + c__average_order_value__var) AS average_order_value_ci95_low,
  (
    t__average_order_value - c__average_order_value
  ) + 1.959964 * SQRT(t__average_order_value__var + c__average_order_value__var) AS average_order_value_ci95_high,
  t__promo_share AS promo_share_treatment,
  c__promo_share AS promo_share_control,
  (
    t__promo_share - c__promo_share
  ) AS promo_share_uplift,
  (
    t__promo_share - c__promo_share
  ) - 1.959964 * SQRT(t__promo_share__var + c__promo_share__var) AS promo_share_ci95_low,
  (
    t__promo_share - c__promo_share
  ) + 1.959964 * SQRT(t__promo_share__var + c__promo_share__var) AS promo_share_ci95_high
FROM reactivation_longterm_arms
ORDER BY
  metric_time__month ASC
