-- Every account any fact table the marts read has rows for, with its span of data and its
-- latest follower count.
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
    group by account_id
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

followers as (
    select distinct on (account_id)
        account_id,
        ref_date as followers_date,
        cumulate_user as followers
    from {{ ref('stg_wechat__user_cumulate') }}
    order by account_id, ref_date desc
)

select
    s.account_id,
    min(s.first_day) as first_data_date,
    max(s.last_day) as last_data_date,
    max(f.followers) as latest_followers,
    max(f.followers_date) as latest_followers_date
from spans as s
left join followers as f on f.account_id = s.account_id
group by s.account_id
