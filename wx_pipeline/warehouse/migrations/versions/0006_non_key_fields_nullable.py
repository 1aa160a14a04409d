"""Non-key fields may be NULL: a real answer that leaves one out loads with NULL there.

Only a row's key fields are required (the normalizer refuses an answer without them); a field
an answer lacks otherwise - the 2015 getarticletotal details without per-source reads, a
getarticletotaldetail without title - is stored as NULL and reported, instead of stopping the
account's loads. Also the new descriptions of user_source (answers without sources are the
total) and share_scene (5 listed).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "wechat"
#: The non-key columns that were NOT NULL at 0005 (frozen).
COLUMNS: dict[str, tuple[str, ...]] = {
    "article_read": ("read_user",),
    "article_read_source": ("user_count",),
    "article_share": ("share_user",),
    "article_summary": (
        "title",
        "int_page_read_user",
        "int_page_read_count",
        "ori_page_read_user",
        "ori_page_read_count",
        "share_user",
        "share_count",
        "add_to_fav_user",
        "add_to_fav_count",
    ),
    "article_total": (
        "title",
        "target_user",
        "int_page_read_user",
        "int_page_read_count",
        "ori_page_read_user",
        "ori_page_read_count",
        "share_user",
        "share_count",
        "add_to_fav_user",
        "add_to_fav_count",
        "int_page_from_session_read_user",
        "int_page_from_session_read_count",
        "int_page_from_hist_msg_read_user",
        "int_page_from_hist_msg_read_count",
        "int_page_from_feed_read_user",
        "int_page_from_feed_read_count",
        "int_page_from_friends_read_user",
        "int_page_from_friends_read_count",
        "int_page_from_other_read_user",
        "int_page_from_other_read_count",
        "feed_share_from_session_user",
        "feed_share_from_session_cnt",
        "feed_share_from_feed_user",
        "feed_share_from_feed_cnt",
        "feed_share_from_other_user",
        "feed_share_from_other_cnt",
    ),
    "article_total_detail": (
        "publish_type",
        "title",
        "content_url",
        "read_user",
        "share_user",
        "zaikan_user",
        "like_user",
        "comment_count",
        "collection_user",
        "praise_money",
        "read_subscribe_user",
        "read_delivery_rate",
        "read_finish_rate",
        "read_avg_activetime",
    ),
    "article_total_detail_jump_position": ("rate",),
    "article_total_detail_read_source": ("user_count",),
    "biz_summary": (
        "read_user",
        "share_user",
        "zaikan_user",
        "like_user",
        "comment_count",
        "collection_user",
        "redirect_ori_page_user",
        "send_page_count",
    ),
    "biz_summary_read_source": ("user_count",),
    "interface_summary": ("callback_count", "fail_count", "total_time_cost", "max_time_cost"),
    "interface_summary_hour": ("callback_count", "fail_count", "total_time_cost", "max_time_cost"),
    "upstream_msg": ("msg_user", "msg_count"),
    "upstream_msg_dist": ("msg_user",),
    "upstream_msg_dist_month": ("msg_user",),
    "upstream_msg_dist_week": ("msg_user",),
    "upstream_msg_hour": ("msg_user", "msg_count"),
    "upstream_msg_month": ("msg_user", "msg_count"),
    "upstream_msg_week": ("msg_user", "msg_count"),
    "user_cumulate": ("cumulate_user",),
    "user_read": (
        "int_page_read_user",
        "int_page_read_count",
        "ori_page_read_user",
        "ori_page_read_count",
        "share_user",
        "share_count",
        "add_to_fav_user",
        "add_to_fav_count",
    ),
    "user_read_hour": (
        "int_page_read_user",
        "int_page_read_count",
        "ori_page_read_user",
        "ori_page_read_count",
        "share_user",
        "share_count",
        "add_to_fav_user",
        "add_to_fav_count",
    ),
    "user_share": ("share_count", "share_user"),
    "user_share_hour": ("share_count", "share_user"),
    "user_summary": ("new_user", "cancel_user"),
}
_READ_SOURCES = (
    "Read source: 99999999 all, 0 conversation, 1 chat/friends, 2 Moments, 3 Tencent Weibo "
    "(old), 4 history message page, 5 other, 6 Top Stories, 7 Search."
)
_READ_SOURCE = (
    _READ_SOURCES,
    f"{_READ_SOURCES} Answers before 2016 have no sources: their one row per day (or hour) is "
    "the total, 99999999.",
)
_SHARE_SCENES = "Where it was shared: 1 to a chat, 2 to Moments, 3 Tencent Weibo (old), "
_SHARE_SCENE = (
    f"{_SHARE_SCENES}255 other (5 seen, unknown).",
    f"{_SHARE_SCENES}5 undocumented (in WeChat's own examples), 255 other.",
)
#: Column comments that changed: (table, column) -> (old, new); all integer columns.
COMMENTS: dict[tuple[str, str], tuple[str, str]] = {
    ("user_read", "user_source"): _READ_SOURCE,
    ("user_read_hour", "user_source"): _READ_SOURCE,
    ("user_share", "share_scene"): _SHARE_SCENE,
    ("user_share_hour", "share_scene"): _SHARE_SCENE,
}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, nullable=True, schema=SCHEMA)
    for (table, column), (old, new) in COMMENTS.items():
        op.alter_column(
            table,
            column,
            existing_type=sa.Integer(),
            comment=new,
            existing_comment=old,
            schema=SCHEMA,
        )


def downgrade() -> None:
    for (table, column), (old, new) in COMMENTS.items():
        op.alter_column(
            table,
            column,
            existing_type=sa.Integer(),
            comment=old,
            existing_comment=new,
            schema=SCHEMA,
        )
    for table, columns in COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, nullable=False, schema=SCHEMA)
