{{ config(
    materialized='incremental',
    incremental_strategy='replace_window',
    window_column='week_start',
    window_unit='week',
    on_schema_change='fail',
    indexes=[{'columns': ['account_id', 'week_start'], 'unique': True}],
) }}

-- Whole weeks touching the window are recomputed from the daily mart: ratios of sums.
select
    account_id,
    date_trunc('week', date_day)::date as week_start,
    count(*) as days_with_data,
    sum(callback_count)::bigint as callback_count,
    sum(fail_count)::bigint as fail_count,
    {{ ratio('sum(fail_count)', 'sum(callback_count)') }} as failure_rate,
    sum(total_latency_ms)::bigint as total_latency_ms,
    {{ ratio('sum(total_latency_ms)', 'sum(callback_count)') }} as avg_latency_ms,
    max(max_latency_ms) as max_latency_ms
from {{ ref('fct_callback_latency_daily') }}
where {{ in_window_weeks('date_day') }}
group by account_id, date_trunc('week', date_day)::date
