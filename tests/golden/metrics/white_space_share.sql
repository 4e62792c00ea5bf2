WITH white_space_share_base AS (
  /* white_space_share: the completed_orders rows, which make a user active */
  SELECT
    orders.user_id AS entity,
    orders.ordered_at AS event_at,
    CASE WHEN orders.is_completed THEN orders.order_id END AS value
  FROM marts.fct_orders AS orders
  WHERE
    NOT CASE WHEN orders.is_completed THEN orders.order_id END IS NULL
), white_space_share_activity AS (
  /* white_space_share: the completed_order_lines rows */
  SELECT
    order_items.user_id AS entity,
    order_items.ordered_at AS event_at,
    CASE WHEN order_items.is_completed THEN order_items.order_item_key END AS value,
    order_items.product_line AS product_line
  FROM marts.fct_order_items AS order_items
  WHERE
    NOT CASE WHEN order_items.is_completed THEN order_items.order_item_key END IS NULL
), white_space_share_periods AS (
  /* white_space_share: every month from the first to the last completed_orders row */
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
      FROM white_space_share_base
    ) AS events
  ) AS spine
), white_space_share_active AS (
  /* white_space_share: the users active in the 12 months up to the end of each month */
  SELECT DISTINCT
    periods.period,
    base.entity
  FROM white_space_share_periods AS periods
  INNER JOIN white_space_share_base AS base
    ON base.event_at < periods.period + INTERVAL '1' MONTH
    AND base.event_at >= periods.period + INTERVAL '1' MONTH - INTERVAL '12' MONTH
  WHERE
    NOT base.entity IS NULL
), white_space_share_covered AS (
  /* white_space_share: the users with completed_order_lines in the 12 months up to the end of each month, per product_line */
  SELECT DISTINCT
    periods.period,
    activity.entity,
    activity.product_line
  FROM white_space_share_periods AS periods
  INNER JOIN white_space_share_activity AS activity
    ON activity.event_at < periods.period + INTERVAL '1' MONTH
    AND activity.event_at >= periods.period + INTERVAL '1' MONTH - INTERVAL '12' MONTH
), white_space_share_categories AS (
  /* white_space_share: every product_line */
  SELECT DISTINCT
    product_line
  FROM white_space_share_activity
), white_space_share AS (
  /* white_space_share: share of active users without completed_order_lines, per month and product_line */
  SELECT
    active.period AS metric_time__month,
    categories.product_line AS product_line,
    1 - CAST(COUNT(covered.entity) AS DOUBLE) / COUNT(*) AS white_space_share
  FROM white_space_share_active AS active
  CROSS JOIN white_space_share_categories AS categories
  LEFT JOIN white_space_share_covered AS covered
    ON covered.period = active.period
    AND covered.entity = active.entity
    AND covered.product_line IS NOT DISTINCT FROM categories.product_line
  GROUP BY
    1,
    2
)
SELECT
  metric_time__month,
  product_line,
  white_space_share
FROM white_space_share
ORDER BY
  metric_time__month ASC,
  product_line ASC
