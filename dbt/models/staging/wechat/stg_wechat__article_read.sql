select
    f.account_id,
    f.ref_date,
    f.msgid,
    f.msg_data_id,
    f.article_index,
    f.read_user,
    f._loaded_at,
    f._run_id
from {{ source('wechat', 'article_read') }} as f
