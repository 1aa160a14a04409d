"""Initial schema: the `wechat` fact tables and the `wechat_raw` response archive.

Frozen: generated once from the registry metadata, then kept as written. A later registry
change (new column or table) needs a new revision; the test suite fails until there is one.

Revision ID: 0001
Revises:
"""

# ruff: noqa: E501  (generated DDL: the comments are the registry descriptions, kept verbatim)

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS wechat")
    op.execute("CREATE SCHEMA IF NOT EXISTS wechat_raw")
    op.create_table(
        "article_read",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Beijing calendar date the row reports on.",
        ),
        sa.Column(
            "msgid",
            sa.Text(),
            nullable=False,
            comment='Article id as sent: "<message id>_<article index>", e.g. 12003_3.',
        ),
        sa.Column(
            "msg_data_id",
            sa.BigInteger(),
            nullable=False,
            comment="Message (mass send) id: the part of msgid before the underscore.",
        ),
        sa.Column(
            "article_index",
            sa.SmallInteger(),
            nullable=False,
            comment="Position of the article in its message, from 1: the part of msgid after the underscore.",
        ),
        sa.Column(
            "read_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who read the article that day.",
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint("account_id", "ref_date", "msgid", name=op.f("pk_article_read")),
        schema="wechat",
        comment="One row per day and article whose reads changed that day. Readers of the article that day. Source: POST /datacube/getarticleread.",
    )
    op.create_table(
        "article_read_source",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Beijing calendar date the row reports on.",
        ),
        sa.Column(
            "msgid",
            sa.Text(),
            nullable=False,
            comment='Article id as sent: "<message id>_<article index>", e.g. 12003_3.',
        ),
        sa.Column(
            "msg_data_id",
            sa.BigInteger(),
            nullable=False,
            comment="Message (mass send) id: the part of msgid before the underscore.",
        ),
        sa.Column(
            "article_index",
            sa.SmallInteger(),
            nullable=False,
            comment="Position of the article in its message, from 1: the part of msgid after the underscore.",
        ),
        sa.Column(
            "scene_desc",
            sa.Text(),
            nullable=False,
            comment="Read scene as the API sends it (Chinese text): 全部 all, 公众号消息 account message, 聊天会话 chat, 朋友圈 Moments, 公众号主页 account home page, 其他 other, 推荐 recommended, 搜一搜 Search.",
        ),
        sa.Column(
            "user_count", sa.BigInteger(), nullable=False, comment="Users who read from this scene."
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "ref_date", "msgid", "scene_desc", name=op.f("pk_article_read_source")
        ),
        schema="wechat",
        comment="One row per day, article and read scene. Readers by where they came from (the read_user_source array). Source: POST /datacube/getarticleread.",
    )
    op.create_table(
        "article_share",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Beijing calendar date the row reports on.",
        ),
        sa.Column(
            "msgid",
            sa.Text(),
            nullable=False,
            comment='Article id as sent: "<message id>_<article index>", e.g. 12003_3.',
        ),
        sa.Column(
            "msg_data_id",
            sa.BigInteger(),
            nullable=False,
            comment="Message (mass send) id: the part of msgid before the underscore.",
        ),
        sa.Column(
            "article_index",
            sa.SmallInteger(),
            nullable=False,
            comment="Position of the article in its message, from 1: the part of msgid after the underscore.",
        ),
        sa.Column(
            "share_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who shared the article that day.",
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint("account_id", "ref_date", "msgid", name=op.f("pk_article_share")),
        schema="wechat",
        comment="One row per day and article shared that day. Users who shared it that day. Source: POST /datacube/getarticleshare.",
    )
    op.create_table(
        "article_summary",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Beijing calendar date the row reports on.",
        ),
        sa.Column(
            "msgid",
            sa.Text(),
            nullable=False,
            comment='Article id as sent: "<message id>_<article index>", e.g. 12003_3.',
        ),
        sa.Column(
            "msg_data_id",
            sa.BigInteger(),
            nullable=False,
            comment="Message (mass send) id: the part of msgid before the underscore.",
        ),
        sa.Column(
            "article_index",
            sa.SmallInteger(),
            nullable=False,
            comment="Position of the article in its message, from 1: the part of msgid after the underscore.",
        ),
        sa.Column("title", sa.Text(), nullable=False, comment="Article title."),
        sa.Column(
            "int_page_read_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who read the article page.",
        ),
        sa.Column(
            "int_page_read_count",
            sa.BigInteger(),
            nullable=False,
            comment="Reads (views) of the article page.",
        ),
        sa.Column(
            "ori_page_read_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who read the original ('read more') page; 0 when there is none.",
        ),
        sa.Column(
            "ori_page_read_count",
            sa.BigInteger(),
            nullable=False,
            comment="Reads of the original ('read more') page; 0 when there is none.",
        ),
        sa.Column("share_user", sa.BigInteger(), nullable=False, comment="Users who shared."),
        sa.Column("share_count", sa.BigInteger(), nullable=False, comment="Shares."),
        sa.Column(
            "add_to_fav_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who added to favourites.",
        ),
        sa.Column(
            "add_to_fav_count",
            sa.BigInteger(),
            nullable=False,
            comment="Times added to favourites.",
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint("account_id", "ref_date", "msgid", name=op.f("pk_article_summary")),
        schema="wechat",
        comment="One row per day and article. That day's reads and shares of an article; an article is listed only in its first 7 days and only with >= 3 interactions. Source: POST /datacube/getarticlesummary.",
    )
    op.create_table(
        "article_total",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Send date of the message (the date requested).",
        ),
        sa.Column(
            "msgid",
            sa.Text(),
            nullable=False,
            comment='Article id as sent: "<message id>_<article index>", e.g. 12003_3.',
        ),
        sa.Column(
            "msg_data_id",
            sa.BigInteger(),
            nullable=False,
            comment="Message (mass send) id: the part of msgid before the underscore.",
        ),
        sa.Column(
            "article_index",
            sa.SmallInteger(),
            nullable=False,
            comment="Position of the article in its message, from 1: the part of msgid after the underscore.",
        ),
        sa.Column("title", sa.Text(), nullable=False, comment="Article title."),
        sa.Column(
            "stat_date", sa.Date(), nullable=False, comment="Date the cumulative totals run up to."
        ),
        sa.Column(
            "target_user",
            sa.BigInteger(),
            nullable=False,
            comment="Followers the message was sent to.",
        ),
        sa.Column(
            "int_page_read_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who read the article page.",
        ),
        sa.Column(
            "int_page_read_count",
            sa.BigInteger(),
            nullable=False,
            comment="Reads (views) of the article page.",
        ),
        sa.Column(
            "ori_page_read_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who read the original ('read more') page; 0 when there is none.",
        ),
        sa.Column(
            "ori_page_read_count",
            sa.BigInteger(),
            nullable=False,
            comment="Reads of the original ('read more') page; 0 when there is none.",
        ),
        sa.Column("share_user", sa.BigInteger(), nullable=False, comment="Users who shared."),
        sa.Column("share_count", sa.BigInteger(), nullable=False, comment="Shares."),
        sa.Column(
            "add_to_fav_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who added to favourites.",
        ),
        sa.Column(
            "add_to_fav_count",
            sa.BigInteger(),
            nullable=False,
            comment="Times added to favourites.",
        ),
        sa.Column(
            "int_page_from_session_read_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who read from conversations.",
        ),
        sa.Column(
            "int_page_from_session_read_count",
            sa.BigInteger(),
            nullable=False,
            comment="Reads from conversations.",
        ),
        sa.Column(
            "int_page_from_hist_msg_read_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who read from the history message page.",
        ),
        sa.Column(
            "int_page_from_hist_msg_read_count",
            sa.BigInteger(),
            nullable=False,
            comment="Reads from the history message page.",
        ),
        sa.Column(
            "int_page_from_feed_read_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who read from Moments.",
        ),
        sa.Column(
            "int_page_from_feed_read_count",
            sa.BigInteger(),
            nullable=False,
            comment="Reads from Moments.",
        ),
        sa.Column(
            "int_page_from_friends_read_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who read from friends' shares.",
        ),
        sa.Column(
            "int_page_from_friends_read_count",
            sa.BigInteger(),
            nullable=False,
            comment="Reads from friends' shares.",
        ),
        sa.Column(
            "int_page_from_other_read_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who read from other places.",
        ),
        sa.Column(
            "int_page_from_other_read_count",
            sa.BigInteger(),
            nullable=False,
            comment="Reads from other places.",
        ),
        sa.Column(
            "feed_share_from_session_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who shared to Moments from conversations.",
        ),
        sa.Column(
            "feed_share_from_session_cnt",
            sa.BigInteger(),
            nullable=False,
            comment="Shares to Moments from conversations.",
        ),
        sa.Column(
            "feed_share_from_feed_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who shared to Moments from Moments.",
        ),
        sa.Column(
            "feed_share_from_feed_cnt",
            sa.BigInteger(),
            nullable=False,
            comment="Shares to Moments from Moments.",
        ),
        sa.Column(
            "feed_share_from_other_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who shared to Moments from other places.",
        ),
        sa.Column(
            "feed_share_from_other_cnt",
            sa.BigInteger(),
            nullable=False,
            comment="Shares to Moments from other places.",
        ),
        sa.Column(
            "int_page_from_kanyikan_read_user",
            sa.BigInteger(),
            nullable=True,
            comment="Users who read from Top Stories (kanyikan). Absent from some responses: NULL then.",
        ),
        sa.Column(
            "int_page_from_kanyikan_read_count",
            sa.BigInteger(),
            nullable=True,
            comment="Reads from Top Stories (kanyikan). Absent from some responses: NULL then.",
        ),
        sa.Column(
            "int_page_from_souyisou_read_user",
            sa.BigInteger(),
            nullable=True,
            comment="Users who read from Search (souyisou). Absent from some responses: NULL then.",
        ),
        sa.Column(
            "int_page_from_souyisou_read_count",
            sa.BigInteger(),
            nullable=True,
            comment="Reads from Search (souyisou). Absent from some responses: NULL then.",
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "ref_date", "msgid", "stat_date", name=op.f("pk_article_total")
        ),
        schema="wechat",
        comment="One row per article and stat_date. Cumulative totals of a mass-sent article from its send date (ref_date) up to stat_date; up to 7 stat_dates. Source: POST /datacube/getarticletotal.",
    )
    op.create_table(
        "article_total_detail",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Publish date of the article (the date requested).",
        ),
        sa.Column(
            "msgid",
            sa.Text(),
            nullable=False,
            comment='Article id as sent: "<message id>_<article index>", e.g. 12003_3.',
        ),
        sa.Column(
            "msg_data_id",
            sa.BigInteger(),
            nullable=False,
            comment="Message (mass send) id: the part of msgid before the underscore.",
        ),
        sa.Column(
            "article_index",
            sa.SmallInteger(),
            nullable=False,
            comment="Position of the article in its message, from 1: the part of msgid after the underscore.",
        ),
        sa.Column(
            "publish_type",
            sa.SmallInteger(),
            nullable=False,
            comment="Publish type: 0 notified, 1 notification off.",
        ),
        sa.Column("title", sa.Text(), nullable=False, comment="Article title."),
        sa.Column("content_url", sa.Text(), nullable=False, comment="Article URL."),
        sa.Column(
            "stat_date",
            sa.Date(),
            nullable=False,
            comment="Date the cumulative statistics run up to.",
        ),
        sa.Column("read_user", sa.BigInteger(), nullable=False, comment="Users who read."),
        sa.Column("share_user", sa.BigInteger(), nullable=False, comment="Users who shared."),
        sa.Column(
            "zaikan_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who tapped 'Wow' (zaikan).",
        ),
        sa.Column("like_user", sa.BigInteger(), nullable=False, comment="Users who liked."),
        sa.Column("comment_count", sa.BigInteger(), nullable=False, comment="Comments."),
        sa.Column(
            "collection_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who collected (favourited).",
        ),
        sa.Column(
            "praise_money",
            sa.BigInteger(),
            nullable=False,
            comment="Tips received, in fen (1/100 yuan).",
        ),
        sa.Column(
            "read_subscribe_user",
            sa.BigInteger(),
            nullable=False,
            comment="Readers who followed after reading.",
        ),
        sa.Column(
            "read_delivery_rate",
            sa.Double(),
            nullable=False,
            comment="Delivery (open) rate of the notification.",
        ),
        sa.Column(
            "read_finish_rate",
            sa.Double(),
            nullable=False,
            comment="Share of readers who read to the end.",
        ),
        sa.Column(
            "read_avg_activetime",
            sa.Double(),
            nullable=False,
            comment="Average reading time, in minutes.",
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "ref_date", "msgid", "stat_date", name=op.f("pk_article_total_detail")
        ),
        schema="wechat",
        comment="One row per article and stat_date. Cumulative statistics of an article from its publish date (ref_date) up to stat_date; up to 30 stat_dates. Source: POST /datacube/getarticletotaldetail.",
    )
    op.create_table(
        "article_total_detail_jump_position",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column("ref_date", sa.Date(), nullable=False, comment="Publish date of the article."),
        sa.Column(
            "msgid",
            sa.Text(),
            nullable=False,
            comment='Article id as sent: "<message id>_<article index>", e.g. 12003_3.',
        ),
        sa.Column(
            "msg_data_id",
            sa.BigInteger(),
            nullable=False,
            comment="Message (mass send) id: the part of msgid before the underscore.",
        ),
        sa.Column(
            "article_index",
            sa.SmallInteger(),
            nullable=False,
            comment="Position of the article in its message, from 1: the part of msgid after the underscore.",
        ),
        sa.Column(
            "stat_date",
            sa.Date(),
            nullable=False,
            comment="Date the cumulative statistics run up to.",
        ),
        sa.Column(
            "position", sa.SmallInteger(), nullable=False, comment="Position in the article, 1..5."
        ),
        sa.Column(
            "rate", sa.Double(), nullable=False, comment="Share of readers at this position."
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint(
            "account_id",
            "ref_date",
            "msgid",
            "stat_date",
            "position",
            name=op.f("pk_article_total_detail_jump_position"),
        ),
        schema="wechat",
        comment="One row per article, stat_date and jump position. Share of readers who left the article at each position. Source: POST /datacube/getarticletotaldetail.",
    )
    op.create_table(
        "article_total_detail_read_source",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column("ref_date", sa.Date(), nullable=False, comment="Publish date of the article."),
        sa.Column(
            "msgid",
            sa.Text(),
            nullable=False,
            comment='Article id as sent: "<message id>_<article index>", e.g. 12003_3.',
        ),
        sa.Column(
            "msg_data_id",
            sa.BigInteger(),
            nullable=False,
            comment="Message (mass send) id: the part of msgid before the underscore.",
        ),
        sa.Column(
            "article_index",
            sa.SmallInteger(),
            nullable=False,
            comment="Position of the article in its message, from 1: the part of msgid after the underscore.",
        ),
        sa.Column(
            "stat_date",
            sa.Date(),
            nullable=False,
            comment="Date the cumulative statistics run up to.",
        ),
        sa.Column(
            "scene_desc",
            sa.Text(),
            nullable=False,
            comment="Read scene as the API sends it (Chinese text): 全部 all, 公众号消息 account message, 聊天会话 chat, 朋友圈 Moments, 公众号主页 account home page, 其他 other, 推荐 recommended, 搜一搜 Search.",
        ),
        sa.Column(
            "user_count", sa.BigInteger(), nullable=False, comment="Users who read from this scene."
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint(
            "account_id",
            "ref_date",
            "msgid",
            "stat_date",
            "scene_desc",
            name=op.f("pk_article_total_detail_read_source"),
        ),
        schema="wechat",
        comment="One row per article, stat_date and read scene. Readers by where they came from (the read_user_source array). Source: POST /datacube/getarticletotaldetail.",
    )
    op.create_table(
        "biz_summary",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Beijing calendar date the row reports on.",
        ),
        sa.Column("read_user", sa.BigInteger(), nullable=False, comment="Users who read."),
        sa.Column("share_user", sa.BigInteger(), nullable=False, comment="Users who shared."),
        sa.Column(
            "zaikan_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who tapped 'Wow' (zaikan).",
        ),
        sa.Column("like_user", sa.BigInteger(), nullable=False, comment="Users who liked."),
        sa.Column("comment_count", sa.BigInteger(), nullable=False, comment="Comments."),
        sa.Column(
            "collection_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who collected (favourited).",
        ),
        sa.Column(
            "redirect_ori_page_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who opened the original ('read more') page.",
        ),
        sa.Column(
            "send_page_count",
            sa.BigInteger(),
            nullable=False,
            comment="Articles (pages) sent that day.",
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint("account_id", "ref_date", name=op.f("pk_biz_summary")),
        schema="wechat",
        comment="One row per day. Account-level article engagement. Source: POST /datacube/getbizsummary.",
    )
    op.create_table(
        "biz_summary_read_source",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Beijing calendar date the row reports on.",
        ),
        sa.Column(
            "scene_desc",
            sa.Text(),
            nullable=False,
            comment="Read scene as the API sends it (Chinese text): 全部 all, 公众号消息 account message, 聊天会话 chat, 朋友圈 Moments, 公众号主页 account home page, 其他 other, 推荐 recommended, 搜一搜 Search.",
        ),
        sa.Column(
            "user_count", sa.BigInteger(), nullable=False, comment="Users who read from this scene."
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "ref_date", "scene_desc", name=op.f("pk_biz_summary_read_source")
        ),
        schema="wechat",
        comment="One row per day and read scene. Readers by where they came from (the read_user_source array). Source: POST /datacube/getbizsummary.",
    )
    op.create_table(
        "interface_summary",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Beijing calendar date the row reports on.",
        ),
        sa.Column(
            "callback_count",
            sa.BigInteger(),
            nullable=False,
            comment="Callbacks WeChat made to the account's server.",
        ),
        sa.Column("fail_count", sa.BigInteger(), nullable=False, comment="Callbacks that failed."),
        sa.Column(
            "total_time_cost",
            sa.BigInteger(),
            nullable=False,
            comment="Sum of callback latencies, in milliseconds.",
        ),
        sa.Column(
            "max_time_cost",
            sa.BigInteger(),
            nullable=False,
            comment="Slowest callback, in milliseconds.",
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint("account_id", "ref_date", name=op.f("pk_interface_summary")),
        schema="wechat",
        comment="One row per day. Calls WeChat made to the account's callback server and their latency; average latency = total_time_cost / callback_count. Source: POST /datacube/getinterfacesummary.",
    )
    op.create_table(
        "interface_summary_hour",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Beijing calendar date the row reports on.",
        ),
        sa.Column(
            "hour",
            sa.SmallInteger(),
            nullable=False,
            comment="Hour of the Beijing day, 0-23 (the API's HHMM ref_hour 0..2300 divided by 100).",
        ),
        sa.Column(
            "callback_count",
            sa.BigInteger(),
            nullable=False,
            comment="Callbacks WeChat made to the account's server.",
        ),
        sa.Column("fail_count", sa.BigInteger(), nullable=False, comment="Callbacks that failed."),
        sa.Column(
            "total_time_cost",
            sa.BigInteger(),
            nullable=False,
            comment="Sum of callback latencies, in milliseconds.",
        ),
        sa.Column(
            "max_time_cost",
            sa.BigInteger(),
            nullable=False,
            comment="Slowest callback, in milliseconds.",
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "ref_date", "hour", name=op.f("pk_interface_summary_hour")
        ),
        schema="wechat",
        comment="One row per day and hour. Calls WeChat made to the account's callback server and their latency; average latency = total_time_cost / callback_count. Source: POST /datacube/getinterfacesummaryhour.",
    )
    op.create_table(
        "upstream_msg",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Beijing calendar date the row reports on.",
        ),
        sa.Column(
            "msg_type",
            sa.Integer(),
            nullable=False,
            comment="Message type: 1 text, 2 image, 3 voice, 4 video, 6 third-party app link.",
        ),
        sa.Column(
            "msg_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who sent messages of this type.",
        ),
        sa.Column("msg_count", sa.BigInteger(), nullable=False, comment="Messages of this type."),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint("account_id", "ref_date", "msg_type", name=op.f("pk_upstream_msg")),
        schema="wechat",
        comment="One row per day and message type. Messages users sent to the account. Source: POST /datacube/getupstreammsg.",
    )
    op.create_table(
        "upstream_msg_dist",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Beijing calendar date the row reports on.",
        ),
        sa.Column(
            "count_interval",
            sa.Integer(),
            nullable=False,
            comment="Messages sent by a user: 0 0 messages, 1 1-5 messages, 2 6-10 messages, 3 more than 10 messages.",
        ),
        sa.Column(
            "msg_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users whose message count falls in this bucket.",
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "ref_date", "count_interval", name=op.f("pk_upstream_msg_dist")
        ),
        schema="wechat",
        comment="One row per day and message-count bucket. How many users sent how many messages. Source: POST /datacube/getupstreammsgdist.",
    )
    op.create_table(
        "upstream_msg_dist_month",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column("ref_date", sa.Date(), nullable=False, comment="First day of the month."),
        sa.Column(
            "count_interval",
            sa.Integer(),
            nullable=False,
            comment="Messages sent by a user: 0 0 messages, 1 1-5 messages, 2 6-10 messages, 3 more than 10 messages.",
        ),
        sa.Column(
            "msg_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users whose message count falls in this bucket.",
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "ref_date", "count_interval", name=op.f("pk_upstream_msg_dist_month")
        ),
        schema="wechat",
        comment="One row per month and message-count bucket. How many users sent how many messages. Source: POST /datacube/getupstreammsgdistmonth.",
    )
    op.create_table(
        "upstream_msg_dist_week",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column("ref_date", sa.Date(), nullable=False, comment="Monday starting the week."),
        sa.Column(
            "count_interval",
            sa.Integer(),
            nullable=False,
            comment="Messages sent by a user: 0 0 messages, 1 1-5 messages, 2 6-10 messages, 3 more than 10 messages.",
        ),
        sa.Column(
            "msg_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users whose message count falls in this bucket.",
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "ref_date", "count_interval", name=op.f("pk_upstream_msg_dist_week")
        ),
        schema="wechat",
        comment="One row per week and message-count bucket. How many users sent how many messages. Source: POST /datacube/getupstreammsgdistweek.",
    )
    op.create_table(
        "upstream_msg_hour",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Beijing calendar date the row reports on.",
        ),
        sa.Column(
            "hour",
            sa.SmallInteger(),
            nullable=False,
            comment="Hour of the Beijing day, 0-23 (the API's HHMM ref_hour 0..2300 divided by 100).",
        ),
        sa.Column(
            "msg_type",
            sa.Integer(),
            nullable=False,
            comment="Message type: 1 text, 2 image, 3 voice, 4 video, 6 third-party app link.",
        ),
        sa.Column(
            "msg_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who sent messages of this type.",
        ),
        sa.Column("msg_count", sa.BigInteger(), nullable=False, comment="Messages of this type."),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "ref_date", "hour", "msg_type", name=op.f("pk_upstream_msg_hour")
        ),
        schema="wechat",
        comment="One row per day, hour and message type. Messages users sent to the account. Source: POST /datacube/getupstreammsghour.",
    )
    op.create_table(
        "upstream_msg_month",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column("ref_date", sa.Date(), nullable=False, comment="First day of the month."),
        sa.Column(
            "msg_type",
            sa.Integer(),
            nullable=False,
            comment="Message type: 1 text, 2 image, 3 voice, 4 video, 6 third-party app link.",
        ),
        sa.Column(
            "msg_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who sent messages of this type.",
        ),
        sa.Column("msg_count", sa.BigInteger(), nullable=False, comment="Messages of this type."),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "ref_date", "msg_type", name=op.f("pk_upstream_msg_month")
        ),
        schema="wechat",
        comment="One row per month and message type. Messages users sent to the account. Source: POST /datacube/getupstreammsgmonth.",
    )
    op.create_table(
        "upstream_msg_week",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column("ref_date", sa.Date(), nullable=False, comment="Monday starting the week."),
        sa.Column(
            "msg_type",
            sa.Integer(),
            nullable=False,
            comment="Message type: 1 text, 2 image, 3 voice, 4 video, 6 third-party app link.",
        ),
        sa.Column(
            "msg_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who sent messages of this type.",
        ),
        sa.Column("msg_count", sa.BigInteger(), nullable=False, comment="Messages of this type."),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "ref_date", "msg_type", name=op.f("pk_upstream_msg_week")
        ),
        schema="wechat",
        comment="One row per week and message type. Messages users sent to the account. Source: POST /datacube/getupstreammsgweek.",
    )
    op.create_table(
        "user_cumulate",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Beijing calendar date the row reports on.",
        ),
        sa.Column(
            "cumulate_user",
            sa.BigInteger(),
            nullable=False,
            comment="Total followers at the end of the day.",
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint("account_id", "ref_date", name=op.f("pk_user_cumulate")),
        schema="wechat",
        comment="One row per day. Total followers at the end of the day. Source: POST /datacube/getusercumulate.",
    )
    op.create_table(
        "user_read",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Beijing calendar date the row reports on.",
        ),
        sa.Column(
            "user_source",
            sa.Integer(),
            nullable=False,
            comment="Read source: 99999999 all, 0 conversation, 1 chat/friends, 2 Moments, 3 Tencent Weibo (old), 4 history message page, 5 other, 6 Top Stories, 7 Search.",
        ),
        sa.Column(
            "int_page_read_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who read the article page.",
        ),
        sa.Column(
            "int_page_read_count",
            sa.BigInteger(),
            nullable=False,
            comment="Reads (views) of the article page.",
        ),
        sa.Column(
            "ori_page_read_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who read the original ('read more') page; 0 when there is none.",
        ),
        sa.Column(
            "ori_page_read_count",
            sa.BigInteger(),
            nullable=False,
            comment="Reads of the original ('read more') page; 0 when there is none.",
        ),
        sa.Column("share_user", sa.BigInteger(), nullable=False, comment="Users who shared."),
        sa.Column("share_count", sa.BigInteger(), nullable=False, comment="Shares."),
        sa.Column(
            "add_to_fav_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who added to favourites.",
        ),
        sa.Column(
            "add_to_fav_count",
            sa.BigInteger(),
            nullable=False,
            comment="Times added to favourites.",
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint("account_id", "ref_date", "user_source", name=op.f("pk_user_read")),
        schema="wechat",
        comment="One row per day and read source, including the ALL row (user_source 99999999) that sums the others. Account-wide reads, shares and favourites. Source: POST /datacube/getuserread.",
    )
    op.create_table(
        "user_read_hour",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Beijing calendar date the row reports on.",
        ),
        sa.Column(
            "hour",
            sa.SmallInteger(),
            nullable=False,
            comment="Hour of the Beijing day, 0-23 (the API's HHMM ref_hour 0..2300 divided by 100).",
        ),
        sa.Column(
            "user_source",
            sa.Integer(),
            nullable=False,
            comment="Read source: 99999999 all, 0 conversation, 1 chat/friends, 2 Moments, 3 Tencent Weibo (old), 4 history message page, 5 other, 6 Top Stories, 7 Search.",
        ),
        sa.Column(
            "int_page_read_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who read the article page.",
        ),
        sa.Column(
            "int_page_read_count",
            sa.BigInteger(),
            nullable=False,
            comment="Reads (views) of the article page.",
        ),
        sa.Column(
            "ori_page_read_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who read the original ('read more') page; 0 when there is none.",
        ),
        sa.Column(
            "ori_page_read_count",
            sa.BigInteger(),
            nullable=False,
            comment="Reads of the original ('read more') page; 0 when there is none.",
        ),
        sa.Column("share_user", sa.BigInteger(), nullable=False, comment="Users who shared."),
        sa.Column("share_count", sa.BigInteger(), nullable=False, comment="Shares."),
        sa.Column(
            "add_to_fav_user",
            sa.BigInteger(),
            nullable=False,
            comment="Users who added to favourites.",
        ),
        sa.Column(
            "add_to_fav_count",
            sa.BigInteger(),
            nullable=False,
            comment="Times added to favourites.",
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "ref_date", "hour", "user_source", name=op.f("pk_user_read_hour")
        ),
        schema="wechat",
        comment="One row per day, hour and read source, including the ALL row (user_source 99999999). Account-wide reads, shares and favourites in that hour. Source: POST /datacube/getuserreadhour.",
    )
    op.create_table(
        "user_share",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Beijing calendar date the row reports on.",
        ),
        sa.Column(
            "share_scene",
            sa.Integer(),
            nullable=False,
            comment="Where it was shared: 1 to a chat, 2 to Moments, 3 Tencent Weibo (old), 255 other (5 seen, unknown).",
        ),
        sa.Column("share_count", sa.BigInteger(), nullable=False, comment="Shares."),
        sa.Column("share_user", sa.BigInteger(), nullable=False, comment="Users who shared."),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "ref_date", "share_scene", name=op.f("pk_user_share")
        ),
        schema="wechat",
        comment="One row per day and share scene. Account-wide shares. Source: POST /datacube/getusershare.",
    )
    op.create_table(
        "user_share_hour",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Beijing calendar date the row reports on.",
        ),
        sa.Column(
            "hour",
            sa.SmallInteger(),
            nullable=False,
            comment="Hour of the Beijing day, 0-23 (the API's HHMM ref_hour 0..2300 divided by 100).",
        ),
        sa.Column(
            "share_scene",
            sa.Integer(),
            nullable=False,
            comment="Where it was shared: 1 to a chat, 2 to Moments, 3 Tencent Weibo (old), 255 other (5 seen, unknown).",
        ),
        sa.Column("share_count", sa.BigInteger(), nullable=False, comment="Shares."),
        sa.Column("share_user", sa.BigInteger(), nullable=False, comment="Users who shared."),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "ref_date", "hour", "share_scene", name=op.f("pk_user_share_hour")
        ),
        schema="wechat",
        comment="One row per day, hour and share scene. Account-wide shares in that hour. Source: POST /datacube/getusersharehour.",
    )
    op.create_table(
        "user_summary",
        sa.Column(
            "account_id",
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        sa.Column(
            "ref_date",
            sa.Date(),
            nullable=False,
            comment="Beijing calendar date the row reports on.",
        ),
        sa.Column(
            "user_source",
            sa.Integer(),
            nullable=False,
            comment="Acquisition source: 0 other (sum of the rest), 1 account search, 17 profile-card share, 30 QR code scan, 57 account name inside an article, 100 WeChat ads, 149 mini-program, 161 reposted by others, 200 Channels, 201 live stream, 35 search by ID (old), 39 account search (old), 43 article top-right menu (old), 51 after payment (old), 75 article ad (old), 78 Moments ad (old).",
        ),
        sa.Column("new_user", sa.BigInteger(), nullable=False, comment="Followers gained."),
        sa.Column(
            "cancel_user", sa.BigInteger(), nullable=False, comment="Followers lost (unfollows)."
        ),
        sa.Column(
            "_loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            "_run_id",
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "ref_date", "user_source", name=op.f("pk_user_summary")
        ),
        schema="wechat",
        comment="One row per day and acquisition source with activity (sources with none are absent). Followers gained and lost; net growth = new_user - cancel_user. Source: POST /datacube/getusersummary.",
    )
    op.create_table(
        "api_response",
        sa.Column(
            "id",
            sa.BigInteger(),
            sa.Identity(always=False),
            nullable=False,
            comment="Archive row id; errors about invalid data name it.",
        ),
        sa.Column("account_id", sa.Text(), nullable=False, comment="App id of the account called."),
        sa.Column(
            "endpoint", sa.Text(), nullable=False, comment="Endpoint name, e.g. getusersummary."
        ),
        sa.Column("begin_date", sa.Date(), nullable=False, comment="begin_date as requested."),
        sa.Column("end_date", sa.Date(), nullable=False, comment="end_date as requested."),
        sa.Column(
            "fetched_at",
            sa.TIMESTAMP(timezone=True),
            nullable=False,
            comment="When the response was received; the latest fetch of a window wins.",
        ),
        sa.Column(
            "run_id", sa.Text(), nullable=True, comment="Id of the Dagster run that fetched it."
        ),
        sa.Column(
            "body",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="The response body as received, unknown fields included.",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_response")),
        schema="wechat_raw",
        comment="One row per successful datacube API call: the raw answer, kept so fact tables can be rebuilt (wx-pipeline renormalize) without spending API quota.",
    )
    op.create_index(
        op.f("ix_api_response_endpoint_account_id_begin_date"),
        "api_response",
        ["endpoint", "account_id", "begin_date"],
        unique=False,
        schema="wechat_raw",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_api_response_endpoint_account_id_begin_date"),
        table_name="api_response",
        schema="wechat_raw",
    )
    op.drop_table("api_response", schema="wechat_raw")
    op.drop_table("user_summary", schema="wechat")
    op.drop_table("user_share_hour", schema="wechat")
    op.drop_table("user_share", schema="wechat")
    op.drop_table("user_read_hour", schema="wechat")
    op.drop_table("user_read", schema="wechat")
    op.drop_table("user_cumulate", schema="wechat")
    op.drop_table("upstream_msg_week", schema="wechat")
    op.drop_table("upstream_msg_month", schema="wechat")
    op.drop_table("upstream_msg_hour", schema="wechat")
    op.drop_table("upstream_msg_dist_week", schema="wechat")
    op.drop_table("upstream_msg_dist_month", schema="wechat")
    op.drop_table("upstream_msg_dist", schema="wechat")
    op.drop_table("upstream_msg", schema="wechat")
    op.drop_table("interface_summary_hour", schema="wechat")
    op.drop_table("interface_summary", schema="wechat")
    op.drop_table("biz_summary_read_source", schema="wechat")
    op.drop_table("biz_summary", schema="wechat")
    op.drop_table("article_total_detail_read_source", schema="wechat")
    op.drop_table("article_total_detail_jump_position", schema="wechat")
    op.drop_table("article_total_detail", schema="wechat")
    op.drop_table("article_total", schema="wechat")
    op.drop_table("article_summary", schema="wechat")
    op.drop_table("article_share", schema="wechat")
    op.drop_table("article_read_source", schema="wechat")
    op.drop_table("article_read", schema="wechat")
    op.execute("DROP SCHEMA IF EXISTS wechat_raw")
    op.execute("DROP SCHEMA IF EXISTS wechat")
