-- getupstreammsghour adds up to getupstreammsg per message type (message counts), on days
-- with both.
-- Shown in Dagster as a check on stg_wechat__upstream_msg.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'stg_wechat__upstream_msg'}}}) }}

with hours as (
    select account_id, ref_date, msg_type, sum(msg_count) as msg_count
    from {{ ref('stg_wechat__upstream_msg_hour') }}
    where {{ in_test_window('ref_date') }}
    group by account_id, ref_date, msg_type
)

select d.account_id, d.ref_date, d.msg_type
from {{ ref('stg_wechat__upstream_msg') }} as d
inner join hours as h
    on h.account_id = d.account_id and h.ref_date = d.ref_date and h.msg_type = d.msg_type
where h.msg_count <> d.msg_count
