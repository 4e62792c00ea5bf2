WITH users AS (
  /* users: new_users = count of case when is_visitor then user_id end, per metric_time__month, channel; rows where user__is_visitor */
  SELECT
    CAST(DATE_TRUNC('MONTH', users.first_seen_at) AS DATE) AS metric_time__month,
    users.first_touch_channel AS channel,
    COUNT(CASE WHEN users.is_visitor THEN users.user_id END) AS new_users
  FROM marts.dim_users AS users
  WHERE
    users.is_visitor
  GROUP BY
    1,
    2
)
SELECT
  metric_time__month,
  channel,
  new_users
FROM users
ORDER BY
  metric_time__month ASC,
  channel ASC
