-- The hourly callback figures add up to the daily ones (max: the maximum), on days with both.
-- Shown in Dagster as a check on fct_callback_latency_daily.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'fct_callback_latency_daily'}}}) }}

with hours as (
    select
        account_id,
        date_day,
        sum(callback_count) as callback_count,
        sum(fail_count) as fail_count,
        sum(total_latency_ms) as total_latency_ms,
        max(max_latency_ms) as max_latency_ms
    from {{ ref('fct_callback_latency_hourly') }}
    where {{ in_test_window('date_day') }}
    group by account_id, date_day
)

select d.account_id, d.date_day
from {{ ref('fct_callback_latency_daily') }} as d
inner join hours as h on h.account_id = d.account_id and h.date_day = d.date_day
where
    h.callback_count <> d.callback_count
    or h.fail_count <> d.fail_count
    or h.total_latency_ms <> d.total_latency_ms
    or h.max_latency_ms <> d.max_latency_ms
