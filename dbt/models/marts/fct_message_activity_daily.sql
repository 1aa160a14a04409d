{{ config(
    materialized='incremental',
    incremental_strategy='replace_window',
    window_column='date_day',
    on_schema_change='fail',
    indexes=[{'columns': ['account_id', 'date_day', 'breakdown', 'code'], 'unique': True}],
) }}

-- Two breakdowns of one day's messages in one long table: by message type (getupstreammsg)
-- and by how many messages a sender sent (getupstreammsgdist, users only).
select
    account_id,
    ref_date as date_day,
    'msg_type' as breakdown,
    msg_type as code,
    msg_type_label as label,
    msg_user as message_users,
    msg_count as messages
from {{ ref('stg_wechat__upstream_msg') }}
where {{ in_window('ref_date') }}
union all
select
    account_id,
    ref_date as date_day,
    'activity_bucket' as breakdown,
    count_interval as code,
    count_interval_label as label,
    msg_user as message_users,
    null::bigint as messages
from {{ ref('stg_wechat__upstream_msg_dist') }}
where {{ in_window('ref_date') }}
