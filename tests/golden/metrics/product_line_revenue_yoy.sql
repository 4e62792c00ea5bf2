WITH order_items AS (
  /* order_items: product_line_revenue = sum of case when is_completed then line_total end, per metric_time__month, product_line */
  SELECT
    CAST(DATE_TRUNC('MONTH', order_items.ordered_at) AS DATE) AS metric_time__month,
    order_items.product_line AS product_line,
    SUM(CASE WHEN order_items.is_completed THEN order_items.line_total END) AS product_line_revenue
  FROM marts.fct_order_items AS order_items
  GROUP BY
    1,
    2
), order_items_offset AS (
  /* order_items: product_line_revenue__offset_1_year = sum of case when is_completed then line_total end, per metric_time__month, product_line, shifted 1 year later */
  SELECT
    CAST(DATE_TRUNC('MONTH', order_items.ordered_at + INTERVAL '1' YEAR) AS DATE) AS metric_time__month,
    order_items.product_line AS product_line,
    SUM(CASE WHEN order_items.is_completed THEN order_items.line_total END) AS product_line_revenue__offset_1_year
  FROM marts.fct_order_items AS order_items
  GROUP BY
    1,
    2
)
SELECT
  COALESCE(order_items.metric_time__month, order_items_offset.metric_time__month) AS metric_time__month,
  COALESCE(order_items.product_line, order_items_offset.product_line) AS product_line,
  (
    product_line_revenue - product_line_revenue__offset_1_year
  ) / NULLIF(product_line_revenue__offset_1_year, 0) AS product_line_revenue_yoy
FROM order_items
FULL OUTER JOIN order_items_offset
  ON order_items.metric_time__month IS NOT DISTINCT FROM order_items_offset.metric_time__month
  AND order_items.product_line IS NOT DISTINCT FROM order_items_offset.product_line
ORDER BY
  metric_time__month ASC,
  product_line ASC
