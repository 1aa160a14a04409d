"""The archive records the newest final day at fetch time (`final_through`).

Rows archived before this revision get the value the default rule gives for their fetch time
(final from 08:00 Beijing on the next day), so `renormalize` treats them like new ones.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "api_response",
        sa.Column(
            "final_through",
            sa.Date(),
            nullable=True,
            comment="The newest final day when fetched (a day is final from WX_DATA_READY_TIME, "
            "08:00 Beijing, on the next day); stat_date entries of cumulative answers after it "
            "are not loaded. NULL: every day in the body is final.",
        ),
        schema="wechat_raw",
    )
    op.execute(
        "UPDATE wechat_raw.api_response SET final_through = "
        "((fetched_at AT TIME ZONE 'Asia/Shanghai') - interval '8 hours')::date - 1"
    )


def downgrade() -> None:
    op.drop_column("api_response", "final_through", schema="wechat_raw")
