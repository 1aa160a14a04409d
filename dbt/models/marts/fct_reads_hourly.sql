{{ config(
    materialized='incremental',
    incremental_strategy='replace_window',
    window_column='date_day',
    on_schema_change='fail',
    indexes=[{'columns': ['account_id', 'date_day', 'hour', 'user_source'], 'unique': True}],
) }}

-- The ALL row (is_total_row) repeats the sum of the sources: excluded, so sums stay right.
select
    account_id,
    ref_date as date_day,
    hour,
    user_source,
    user_source_label,
    int_page_read_user as read_users,
    int_page_read_count as reads,
    ori_page_read_user as original_page_read_users,
    ori_page_read_count as original_page_reads,
    share_user as share_users,
    share_count as shares,
    add_to_fav_user as favourite_users,
    add_to_fav_count as favourites
from {{ ref('stg_wechat__user_read_hour') }}
where not is_total_row and {{ in_window('ref_date') }}
