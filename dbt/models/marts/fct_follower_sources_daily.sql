{{ config(
    materialized='incremental',
    incremental_strategy='replace_window',
    window_column='date_day',
    on_schema_change='fail',
    indexes=[{'columns': ['account_id', 'date_day', 'user_source'], 'unique': True}],
) }}

select
    account_id,
    ref_date as date_day,
    user_source,
    user_source_label,
    new_user as new_followers,
    cancel_user as cancelled_followers,
    new_user - cancel_user as net_growth
from {{ ref('stg_wechat__user_summary') }}
where {{ in_window('ref_date') }}
