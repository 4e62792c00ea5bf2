WITH reactivation_uplift_members AS (
  /* reactivation_uplift: one row per exposure (treatment or control) with its time */
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
), reactivation_uplift_outcomes AS (
  /* reactivation_uplift: the completed_orders rows */
  SELECT
    orders.user_id AS entity,
    orders.ordered_at AS event_at,
    CASE WHEN orders.is_completed THEN orders.order_id END AS value
  FROM marts.fct_orders AS orders
  WHERE
    NOT CASE WHEN orders.is_completed THEN orders.order_id END IS NULL
), reactivation_uplift_per_member AS (
  /* reactivation_uplift: count of case when is_completed then order_id end per member within 14 days after exposure */
  SELECT
    members.member_id,
    members.arm,
    members.exposed_at,
    COALESCE(COUNT(outcomes.value), 0) AS outcome
  FROM reactivation_uplift_members AS members
  LEFT JOIN reactivation_uplift_outcomes AS outcomes
    ON outcomes.entity = members.entity
    AND outcomes.event_at >= members.exposed_at
    AND outcomes.event_at < members.exposed_at + INTERVAL '14' DAY
  GROUP BY
    1,
    2,
    3
), reactivation_uplift_arms AS (
  /* reactivation_uplift: size, mean and variance of each group */
  SELECT
    CAST(DATE_TRUNC('MONTH', exposed_at) AS DATE) AS metric_time__month,
    COUNT(CASE WHEN arm = 'treatment' THEN 1 END) AS treatment_members,
    COUNT(CASE WHEN arm = 'control' THEN 1 END) AS control_members,
    AVG(CASE WHEN arm = 'treatment' THEN outcome END) AS treatment_per_member,
    AVG(CASE WHEN arm = 'control' THEN outcome END) AS control_per_member,
    VARIANCE(CASE WHEN arm = 'treatment' THEN outcome END) AS treatment_variance,
    VARIANCE(CASE WHEN arm = 'control' THEN outcome END) AS control_variance
  FROM reactivation_uplift_per_member
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
  ) AS reactivation_uplift,
  (
    treatment_per_member - control_per_member
  ) / NULLIF(control_per_member, 0) AS reactivation_uplift_relative,
  (
    treatment_per_member - control_per_member
  ) - 1.959964 * SQRT(treatment_variance / treatment_members + control_variance / control_members) AS reactivation_uplift_ci95_low,
  (
    treatment_per_member - control_per_member
  ) + 1.959964 * SQRT(treatment_variance / treatment_members + control_variance / control_members) AS reactivation_uplift_ci95_high
FROM reactivation_uplift_arms
ORDER BY
  metric_time__month ASC
