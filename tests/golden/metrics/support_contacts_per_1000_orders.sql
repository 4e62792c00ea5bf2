WITH support_contacts AS (
  /* support_contacts: support_contacts = count of contact_id, per metric_time__week */
  SELECT
    CAST(DATE_TRUNC('WEEK', support_contacts.opened_at) AS DATE) AS metric_time__week,
    COUNT(support_contacts.contact_id) AS support_contacts
  FROM marts.fct_support_contacts AS support_contacts
  GROUP BY
    1
), orders AS (
  /* orders: completed_orders = count of case when is_completed then order_id end, per metric_time__week */
  SELECT
    CAST(DATE_TRUNC('WEEK', orders.ordered_at) AS DATE) AS metric_time__week,
    COUNT(CASE WHEN orders.is_completed THEN orders.order_id END) AS completed_orders
  FROM marts.fct_orders AS orders
  GROUP BY
    1
)
SELECT
  metric_time__week,
  1000.0 * support_contacts / NULLIF(completed_orders, 0) AS support_contacts_per_1000_orders
FROM support_contacts
FULL OUTER JOIN orders
  USING (metric_time__week)
ORDER BY
  metric_time__week ASC
