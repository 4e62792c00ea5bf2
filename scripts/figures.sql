-- The figures the example data is calibrated to (see scripts/generate_data.py), measured on the built marts.
-- Run after `metrics build`, e.g.: duckdb -readonly warehouse.duckdb < scripts/figures.sql

-- 1. CPUser vs CPC per paid channel (gross spend = net x 1.2 x (1 + agency fee))
with spend as (
    select spend_month, channel, sum(spend_gross) as gross, sum(clicks) as clicks
    from marts.fct_ad_spend group by all
),
new_users as (
    select cohort_month as spend_month, first_touch_channel as channel, count(*) as new_users
    from marts.dim_users where is_paid_acquisition group by all
),
monthly as (
    select *, gross / clicks as cpc, gross / new_users as cpuser
    from spend join new_users using (spend_month, channel)
)
select channel,
       round(sum(gross) / sum(clicks), 2) as cpc,
       round(sum(gross) / sum(new_users), 2) as cpuser,
       round(sum(clicks) / sum(new_users), 2) as cpuser_over_cpc,
       round(min(cpuser / cpc), 2) as monthly_min,
       round(max(cpuser / cpc), 2) as monthly_max,
       round(median(cpuser / cpc), 2) as monthly_median
from monthly group by channel order by channel;

-- 2. Open rate, click rate and cost per message per CRM channel
select channel, count(*) as messages,
       round(avg(is_opened::int), 3) as open_rate,
       round(avg(is_clicked::int), 3) as click_rate,
       round(avg(cost), 2) as cost_per_message
from marts.fct_communications group by channel order by cost_per_message;

-- 3. Top customer revenue share
with customers as (
    select lifetime_revenue, row_number() over (order by lifetime_revenue desc) as rank_,
           count(*) over () as customers, sum(lifetime_revenue) over () as total
    from marts.dim_users where is_customer
)
select max(customers) as customers,
       round(sum(lifetime_revenue) filter (where rank_ <= 18) / max(total), 3) as top_18_share,
       round(sum(lifetime_revenue) filter (where rank_ <= ceil(customers * 0.01)) / max(total), 3) as top_1pct_share,
       round(sum(lifetime_revenue) filter (where rank_ <= ceil(customers * 0.02)) / max(total), 3) as top_2pct_share,
       round(sum(lifetime_revenue) filter (where rank_ <= ceil(customers * 0.10)) / max(total), 3) as top_10pct_share
from customers;

-- 4. Monthly churn rate (of customers active in M-1, share not active in M), 2025-01..2026-10
with churn as (
    select activity_month, sum(was_active_prev_month::int) as base, sum(is_churned::int) as churned,
           sum(is_reactivated::int) as reactivated
    from marts.fct_customer_months group by activity_month
)
select min(churned / base) as min_churn, max(churned / base) as max_churn, median(churned / base) as median_churn,
       sum(reactivated) as reactivations
from churn where activity_month >= date '2025-01-01';

-- 5. Reactivation uplift: completed orders per member within 14 days of the send, treatment vs control
select group_name, count(*) as members, sum(orders_in_window) as orders,
       round(avg(orders_in_window), 4) as orders_per_member
from marts.fct_campaign_members where campaign_kind = 'reactivation'
group by group_name order by group_name;

-- 6. North Star: completed CRM-attributed orders per quarter and QoQ growth
with q as (
    select year(order_month) || '-Q' || quarter(order_month) as quarter_, count(*) as crm_orders
    from marts.fct_orders where is_completed and is_crm_attributed group by 1
)
select quarter_, crm_orders, round(100.0 * (crm_orders / lag(crm_orders) over (order by quarter_) - 1), 1) as qoq_pct
from q order by quarter_;

-- 7. Failure funnels per week around the incident, and overall
select date_trunc('week', session_date)::date as week,
       sum(checkout_attempts) as checkout_attempts,
       round(sum(checkout_failures) / sum(checkout_attempts), 3) as checkout_failure_rate,
       round(sum(login_failures) / sum(login_attempts), 3) as login_failure_rate
from marts.fct_sessions
where session_date between date '2026-02-16' and date '2026-04-12'
group by 1 order by 1;
select round(sum(checkout_failures) / sum(checkout_attempts), 3) as checkout,
       round(sum(login_failures) / sum(login_attempts), 3) as login,
       round(sum(signup_failures) / sum(signup_attempts), 3) as signup,
       round(sum(password_reset_failures) / sum(password_reset_attempts), 3) as password_reset
from marts.fct_sessions;

-- 8. The incident found blind: the weeks with the highest checkout failure rate over the whole period
select date_trunc('week', session_date)::date as week, sum(checkout_attempts) as attempts,
       round(sum(checkout_failures) / sum(checkout_attempts), 3) as checkout_failure_rate
from marts.fct_sessions group by 1 order by checkout_failure_rate desc limit 4;
