-- Headline figures per account over the run's window, read from the marts BI tools use.
with growth as (
    select
        account_id,
        sum(net_growth) as net_growth,
        max(cumulative_followers) filter (where date_day = :last) as followers
    from analytics.fct_follower_growth_daily
    where date_day between :first and :last
    group by account_id
),

latency as (
    -- A ratio of sums over the window, never a mean of daily means.
    select
        account_id,
        sum(total_latency_ms)::double precision / nullif(sum(callback_count), 0) as avg_latency_ms,
        sum(callback_count) as callbacks
    from analytics.fct_callback_latency_daily
    where date_day between :first and :last
    group by account_id
),

articles as (
    select account_id, count(*) as articles
    from analytics.fct_article_performance
    where send_date between :first and :last
    group by account_id
)

select
    account_id,
    growth.followers,
    growth.net_growth,
    latency.callbacks,
    latency.avg_latency_ms,
    coalesce(articles.articles, 0) as articles
from growth
full join latency using (account_id)
left join articles using (account_id)
order by account_id
