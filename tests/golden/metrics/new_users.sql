WITH users AS (
  /* users: new_users = count of user_id, per metric_time__month, channel */
  SELECT
    CAST(DATE_TRUNC('MONTH', users.first_seen_at) AS DATE) AS metric_time__month,
    users.first_touch_channel AS channel,
    COUNT(users.user_id) AS new_users
  FROM marts.dim_users AS users
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
