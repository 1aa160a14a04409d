select
    f.account_id,
    f.ref_date,
    f.scene_desc,
    coalesce(scene_desc_code.label, 'unknown') as scene_desc_label,
    coalesce(scene_desc_code.is_total, false) as is_total_row,
    f.user_count,
    f._loaded_at,
    f._run_id
from {{ source('wechat', 'biz_summary_read_source') }} as f
left join {{ ref('code_scene_desc') }} as scene_desc_code
    on scene_desc_code.code = f.scene_desc
