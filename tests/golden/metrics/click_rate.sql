WITH communications AS (
  /* communications: messages_clicked = sum boolean of is_clicked; messages_sent = count of message_id, per metric_time__month, channel */
  SELECT
    CAST(DATE_TRUNC('MONTH', communications.sent_at) AS DATE) AS metric_time__month,
    communications.channel AS channel,
    SUM(CASE WHEN communications.is_clicked THEN 1 ELSE 0 END) AS messages_clicked,
    COUNT(communications.message_id) AS messages_sent
  FROM marts.fct_communications AS communications
  GROUP BY
    1,
    2
)
SELECT
  metric_time__month,
  channel,
  CAST(messages_clicked AS DOUBLE) / NULLIF(messages_sent, 0) AS click_rate
FROM communications
ORDER BY
  metric_time__month ASC,
  channel ASC
