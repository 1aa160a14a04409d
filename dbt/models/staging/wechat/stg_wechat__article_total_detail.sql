select
    f.account_id,
    f.ref_date as publish_date,
    f.msgid,
    f.msg_data_id,
    f.article_index,
    f.publish_type,
    coalesce(publish_type_code.label, 'unknown') as publish_type_label,
    f.title,
    f.content_url,
    f.stat_date,
    f.read_user,
    f.share_user,
    f.zaikan_user,
    f.like_user,
    f.comment_count,
    f.collection_user,
    f.praise_money,
    f.read_subscribe_user,
    f.read_delivery_rate,
    f.read_finish_rate,
    f.read_avg_activetime,
    f._loaded_at,
    f._run_id
from {{ source('wechat', 'article_total_detail') }} as f
left join {{ ref('code_publish_type') }} as publish_type_code
    on publish_type_code.code = f.publish_type
