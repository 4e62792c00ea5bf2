WITH communications AS (
  /* communications: message_cost = sum of cost; messages_sent = count of message_id, per metric_time__month, channel */
  SELECT
    CAST(DATE_TRUNC('MONTH', communications.sent_at) AS DATE) AS metric_time__month,
    communications.channel AS channel,
    SUM(communications.cost) AS message_cost,
    COUNT(communications.message_id) AS messages_sent
  FROM marts.fct_communications AS communications
  GROUP BY
    1,
    2
)
SELECT
  metric_time__month,
  channel,
  CAST(message_cost AS DOUBLE) / NULLIF(messages_sent, 0) AS cost_per_message
FROM communications
ORDER BY
  metric_time__month ASC,
  channel ASC
