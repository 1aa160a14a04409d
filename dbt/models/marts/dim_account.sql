{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='account_id',
    on_schema_change='fail',
) }}

-- Every account any fact table the marts read has rows for, with its span of data and its
-- latest follower count. A windowed build reads the window's fact rows and the accounts' rows
-- as built before (the days outside the window have not changed since): reading every fact
-- row, each nightly build would grow with the installation's age. A build without a window
-- reads every fact row.
{% set fact_models = [
    'stg_wechat__user_summary',
    'stg_wechat__user_cumulate',
    'stg_wechat__user_read_hour',
    'stg_wechat__article_total',
    'stg_wechat__article_total_detail',
    'stg_wechat__upstream_msg',
    'stg_wechat__upstream_msg_dist',
    'stg_wechat__interface_summary',
    'stg_wechat__interface_summary_hour',
] %}

with spans as (
    {% for model in fact_models %}
    {%- set day = 'send_date' if model.endswith('article_total') else (
        'publish_date' if model.endswith('article_total_detail') else 'ref_date') %}
    select account_id, min({{ day }}) as first_day, max({{ day }}) as last_day
    from {{ ref(model) }}
    where {{ in_window(day) }}
    group by account_id
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

followers as (
    -- On the same day, the window's count (as re-pulled) wins over the one built before.
    select account_id, ref_date as followers_date, cumulate_user as followers, 1 as newness
    from {{ ref('stg_wechat__user_cumulate') }}
    where {{ in_window('ref_date') }}
),

{%- if is_incremental() and partition_window() is not none %}

built as (
    select *
    from {{ this }}
    where account_id in (select account_id from spans)
),

all_spans as (
    select account_id, first_day, last_day from spans
    union all
    select account_id, first_data_date, last_data_date from built
),

all_followers as (
    select * from followers
    union all
    select account_id, latest_followers_date, latest_followers, 0 from built
    where latest_followers_date is not null
),
{%- else %}

all_spans as (select * from spans),

all_followers as (select * from followers),
{%- endif %}

latest as (
    select distinct on (account_id)
        account_id,
        followers_date,
        followers
    from all_followers
    order by account_id, followers_date desc, newness desc
)

select
    s.account_id,
    min(s.first_day) as first_data_date,
    max(s.last_day) as last_data_date,
    max(f.followers) as latest_followers,
    max(f.followers_date) as latest_followers_date
from all_spans as s
left join latest as f on f.account_id = s.account_id
group by s.account_id
