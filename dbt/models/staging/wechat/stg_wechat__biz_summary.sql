select
    f.account_id,
    f.ref_date,
    f.read_user,
    f.share_user,
    f.zaikan_user,
    f.like_user,
    f.comment_count,
    f.collection_user,
    f.redirect_ori_page_user,
    f.send_page_count,
    f._loaded_at,
    f._run_id
from {{ source('wechat', 'biz_summary') }} as f
