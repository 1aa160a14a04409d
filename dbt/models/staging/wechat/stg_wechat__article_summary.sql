select
    f.account_id,
    f.ref_date,
    f.msgid,
    f.msg_data_id,
    f.article_index,
    f.title,
    f.int_page_read_user,
    f.int_page_read_count,
    f.ori_page_read_user,
    f.ori_page_read_count,
    f.share_user,
    f.share_count,
    f.add_to_fav_user,
    f.add_to_fav_count,
    f._loaded_at,
    f._run_id
from {{ source('wechat', 'article_summary') }} as f
