select
    f.account_id,
    f.ref_date,
    f.hour,
    f.user_source,
    coalesce(user_source_code.label, 'unknown') as user_source_label,
    coalesce(user_source_code.is_total, false) as is_total_row,
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
from {{ source('wechat', 'user_read_hour') }} as f
left join {{ ref('code_read_source') }} as user_source_code
    on user_source_code.code = f.user_source
