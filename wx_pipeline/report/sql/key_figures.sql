-- Headline figures per requested account over [:first, :last]; an account without rows in a
-- mart keeps NULL sums (no data), never 0, so "nothing happened" and "nothing loaded" differ.
-- The sums and ratios shared with the dashboards are the dbt semantic layer's metrics, each
-- rendered into its placeholder by wx_pipeline/metrics.py.
with requested as (
    select unnest(cast(:accounts as text[])) as account_id
),

growth as (
    select
        account_id,
        {{ metric('new_followers') }}::bigint as new_followers,
        {{ metric('cancelled_followers') }}::bigint as cancelled_followers,
        {{ metric('net_growth') }}::bigint as net_growth
    from analytics.fct_follower_growth_daily
    where account_id = any(cast(:accounts as text[])) and date_day between :first and :last
    group by account_id
),

followers_end as (
    -- The newest total inside the period: the last day may not be loaded yet.
    select distinct on (account_id)
        account_id,
        cumulative_followers as followers_end,
        date_day as followers_end_date
    from analytics.fct_follower_growth_daily
    where
        account_id = any(cast(:accounts as text[]))
        and date_day between :first and :last
        and cumulative_followers is not null
    order by account_id, date_day desc
),

articles as (
    select
        account_id,
        {{ metric('articles_sent') }} as articles_sent,
        {{ metric('article_readers') }}::bigint as article_readers
    from analytics.fct_article_performance
    where account_id = any(cast(:accounts as text[])) and send_date between :first and :last
    group by account_id
),

reads as (
    select
        account_id,
        {{ metric('reads') }}::bigint as reads,
        {{ metric('shares') }}::bigint as shares
    from analytics.fct_reads_hourly
    where account_id = any(cast(:accounts as text[])) and date_day between :first and :last
    group by account_id
),

messages as (
    select account_id, {{ metric('messages') }}::bigint as messages
    from analytics.fct_message_activity_daily
    where
        account_id = any(cast(:accounts as text[]))
        and date_day between :first and :last
        and breakdown = 'msg_type'
    group by account_id
),

callbacks as (
    -- Ratios of sums over the period, never means of the daily ratios.
    select
        account_id,
        {{ metric('callbacks') }}::bigint as callbacks,
        {{ metric('callback_failures') }}::bigint as callback_failures,
        {{ metric('callback_failure_rate') }} as failure_rate,
        {{ metric('callback_avg_latency_ms') }} as avg_latency_ms,
        {{ metric('callback_max_latency_ms') }} as max_latency_ms,
        count(*) filter (where avg_latency_ms > :threshold) as latency_breach_days
    from analytics.fct_callback_latency_daily
    where account_id = any(cast(:accounts as text[])) and date_day between :first and :last
    group by account_id
)

select
    r.account_id,
    f.followers_end,
    f.followers_end_date,
    g.new_followers,
    g.cancelled_followers,
    g.net_growth,
    coalesce(a.articles_sent, 0) as articles_sent,
    a.article_readers,
    rd.reads,
    rd.shares,
    m.messages,
    c.callbacks,
    c.callback_failures,
    c.failure_rate,
    c.avg_latency_ms,
    c.max_latency_ms,
    c.latency_breach_days
from requested as r
left join followers_end as f on f.account_id = r.account_id
left join growth as g on g.account_id = r.account_id
left join articles as a on a.account_id = r.account_id
left join reads as rd on rd.account_id = r.account_id
left join messages as m on m.account_id = r.account_id
left join callbacks as c on c.account_id = r.account_id
order by r.account_id
