{{ config(
    materialized='incremental',
    incremental_strategy='replace_window',
    window_column='date_day',
    on_schema_change='fail',
    indexes=[{'columns': ['account_id', 'date_day', 'hour'], 'unique': True}],
) }}

select
    account_id,
    ref_date as date_day,
    hour,
    callback_count,
    fail_count,
    {{ ratio('fail_count', 'callback_count') }} as failure_rate,
    total_time_cost as total_latency_ms,
    {{ ratio('total_time_cost', 'callback_count') }} as avg_latency_ms,
    max_time_cost as max_latency_ms
from {{ ref('stg_wechat__interface_summary_hour') }}
where {{ in_window('ref_date') }}
