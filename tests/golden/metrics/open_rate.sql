WITH communications AS (
  /* communications: messages_opened = sum boolean of is_opened; messages_sent = count of message_id, per metric_time__month, channel */
  SELECT
    CAST(DATE_TRUNC('MONTH', communications.sent_at) AS DATE) AS metric_time__month,
    communications.channel AS channel,
    SUM(CASE WHEN communications.is_opened THEN 1 ELSE 0 END) AS messages_opened,
    COUNT(communications.message_id) AS messages_sent
  FROM marts.fct_communications AS communications
  GROUP BY
    1,
    2
)
SELECT
  metric_time__month,
  channel,
  CAST(messages_opened AS DOUBLE) / NULLIF(messages_sent, 0) AS open_rate
FROM communications
ORDER BY
  metric_time__month ASC,
  channel ASC
