select
    f.account_id,
    f.ref_date as publish_date,
    f.msgid,
    f.msg_data_id,
    f.article_index,
    f.stat_date,
    f.position,
    f.rate,
    f._loaded_at,
    f._run_id
from {{ source('wechat', 'article_total_detail_jump_position') }} as f
