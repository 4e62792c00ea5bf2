WITH promo_uplift_members AS (
  /* promo_uplift: one row per exposure (treatment or control) with its time */
  SELECT
    ROW_NUMBER() OVER (ORDER BY exposures.user_id, exposures.exposed_at, exposures.arm) AS member_id,
    exposures.user_id AS entity,
    exposures.exposed_at AS exposed_at,
    exposures.arm AS arm
  FROM marts.fct_exposures AS exposures
  WHERE
    exposures.arm IN ('treatment', 'control')
), promo_uplift_outcomes AS (
  /* promo_uplift: the order_count rows */
  SELECT
    orders.user_id AS entity,
    orders.ordered_at AS event_at,
    orders.order_id AS value
  FROM marts.fct_orders AS orders
  WHERE
    orders.status = 'completed' AND NOT orders.order_id IS NULL
), promo_uplift_per_member AS (
  /* promo_uplift: count of order_id per member within 45 days after exposure */
  SELECT
    members.member_id,
    members.arm,
    members.exposed_at,
    COALESCE(COUNT(outcomes.value), 0) AS outcome
  FROM promo_uplift_members AS members
  LEFT JOIN promo_uplift_outcomes AS outcomes
    ON outcomes.entity = members.entity
    AND outcomes.event_at >= members.exposed_at
    AND outcomes.event_at < members.exposed_at + INTERVAL '45' DAY
  GROUP BY
    1,
    2,
    3
), promo_uplift_arms AS (
  /* promo_uplift: size, mean and variance of each group */
  SELECT
    CAST(DATE_TRUNC('MONTH', exposed_at) AS DATE) AS metric_time__month,
    COUNT(CASE WHEN arm = 'treatment' THEN 1 END) AS treatment_members,
    COUNT(CASE WHEN arm = 'control' THEN 1 END) AS control_members,
    AVG(CASE WHEN arm = 'treatment' THEN outcome END) AS treatment_per_member,
    AVG(CASE WHEN arm = 'control' THEN outcome END) AS control_per_member,
    VARIANCE(CASE WHEN arm = 'treatment' THEN outcome END) AS treatment_variance,
    VARIANCE(CASE WHEN arm = 'control' THEN outcome END) AS control_variance
  FROM promo_uplift_per_member
  GROUP BY
    1
)
SELECT
  metric_time__month,
  treatment_members,
  control_members,
  treatment_per_member,
  control_per_member,
  (
    treatment_per_member - control_per_member
  ) AS promo_uplift,
  (
    treatment_per_member - control_per_member
  ) / NULLIF(control_per_member, 0) AS promo_uplift_relative,
  (
    treatment_per_member - control_per_member
  ) - 1.959964 * SQRT(treatment_variance / treatment_members + control_variance / control_members) AS promo_uplift_ci95_low,
  (
    treatment_per_member - control_per_member
  ) + 1.959964 * SQRT(treatment_variance / treatment_members + control_variance / control_members) AS promo_uplift_ci95_high
FROM promo_uplift_arms
ORDER BY
  metric_time__month ASC
