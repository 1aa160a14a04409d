-- Legacy getarticletotal and 2025 getarticletotaldetail as one history of cumulative article
-- statistics. Per article one generation wins: legacy when it has the article and the article
-- was sent before the 2025 endpoints existed, or when the 2025 endpoint lacks it; the 2025
-- endpoint otherwise. Both report readers (users), so readers are the common measure. The 2025
-- readers by source are looked up last, for the rows a reader keeps (a mart keeps days 0-6).
{% set cutoff = "date '" ~ var('article_2025_start') ~ "'" %}
{#- Each read_users_from_<source> column and the 2025 scene (its label) it sums. -#}
{% set scenes = {
    'conversation': 'account message',
    'chat': 'chat',
    'moments': 'Moments',
    'history': 'account home page',
    'other': 'other',
    'top_stories': 'recommended',
    'search': 'Search',
} %}

with legacy as (
    select
        account_id,
        msgid,
        msg_data_id,
        article_index,
        send_date,
        stat_date,
        title,
        target_user,
        int_page_read_user as read_users,
        share_user as share_users,
        add_to_fav_user as favourite_users,
        int_page_from_session_read_user as read_users_from_conversation,
        int_page_from_friends_read_user as read_users_from_chat,
        int_page_from_feed_read_user as read_users_from_moments,
        int_page_from_hist_msg_read_user as read_users_from_history,
        int_page_from_other_read_user as read_users_from_other,
        int_page_from_kanyikan_read_user as read_users_from_top_stories,
        int_page_from_souyisou_read_user as read_users_from_search
    from {{ ref('stg_wechat__article_total') }}
),

v2025 as (
    select
        d.account_id,
        d.msgid,
        d.msg_data_id,
        d.article_index,
        d.publish_date as send_date,
        d.stat_date,
        d.title,
        null::bigint as target_user,
        d.read_user as read_users,
        d.share_user as share_users,
        d.collection_user as favourite_users,
{%- for source in scenes %}
        null::bigint as read_users_from_{{ source }}{{ ',' if not loop.last }}
{%- endfor %}
    from {{ ref('stg_wechat__article_total_detail') }} as d
),

unioned as (
    select 'getarticletotal' as data_source, * from legacy
    union all
    select 'getarticletotaldetail' as data_source, * from v2025
),

flagged as (
    -- send_date is a function of the article; partitioning by it too lets a filter on
    -- send_date reach the fact tables.
    select
        *,
        bool_or(data_source = 'getarticletotal') over article as has_legacy,
        bool_or(data_source = 'getarticletotaldetail') over article as has_2025
    from unioned
    window article as (partition by account_id, send_date, msgid)
),

stitched as (
    select *
    from flagged
    where
        (data_source = 'getarticletotal' and (send_date < {{ cutoff }} or not has_2025))
        or (data_source = 'getarticletotaldetail' and not (has_legacy and send_date < {{ cutoff }}))
)

select
    s.account_id,
    s.msgid,
    s.msg_data_id,
    s.article_index,
    s.send_date,
    s.stat_date,
    s.stat_date - s.send_date as days_since_send,
    s.data_source,
    s.title,
    s.target_user,
    s.read_users,
    s.share_users,
    s.favourite_users,
{%- for source in scenes %}
    case when s.data_source = 'getarticletotaldetail' then r.from_{{ source }}
        else s.read_users_from_{{ source }}
    end as read_users_from_{{ source }}{{ ',' if not loop.last }}
{%- endfor %}
from stitched as s
-- A 2025 row's sources (the primary key's prefix), looked up per row that survived the
-- stitching and the reader's filters (a mart's days and window): the per-article flags above
-- need every stat date, the sources only the rows kept.
left join lateral (
    select
{%- for source, label in scenes.items() %}
        sum(r.user_count) filter (where r.scene_desc_label = '{{ label }}')
            as from_{{ source }}{{ ',' if not loop.last }}
{%- endfor %}
    from {{ ref('stg_wechat__article_total_detail_read_source') }} as r
    where
        s.data_source = 'getarticletotaldetail'
        and r.account_id = s.account_id
        and r.publish_date = s.send_date
        and r.msgid = s.msgid
        and r.stat_date = s.stat_date
) as r on true
