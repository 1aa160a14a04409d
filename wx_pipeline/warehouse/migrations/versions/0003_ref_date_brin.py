"""A BRIN index on ref_date for every fact table: the marts' window filters across accounts.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The fact tables at this revision (frozen: a later table gets its index in its own revision).
TABLES = (
    "article_read",
    "article_read_source",
    "article_share",
    "article_summary",
    "article_total",
    "article_total_detail",
    "article_total_detail_jump_position",
    "article_total_detail_read_source",
    "biz_summary",
    "biz_summary_read_source",
    "interface_summary",
    "interface_summary_hour",
    "upstream_msg",
    "upstream_msg_dist",
    "upstream_msg_dist_month",
    "upstream_msg_dist_week",
    "upstream_msg_hour",
    "upstream_msg_month",
    "upstream_msg_week",
    "user_cumulate",
    "user_read",
    "user_read_hour",
    "user_share",
    "user_share_hour",
    "user_summary",
)


def upgrade() -> None:
    for table in TABLES:
        op.create_index(
            f"ix_{table}_ref_date", table, ["ref_date"], schema="wechat", postgresql_using="brin"
        )


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_ref_date", table_name=table, schema="wechat")
