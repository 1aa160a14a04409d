"""The coverage ledger (`wechat_meta.coverage`) and shared call counts (`wechat_meta.api_calls`).

Days loaded before this revision get ledger rows from the facts themselves (one per account,
endpoint and ref_date of the endpoint's main table; their archive row is unknown), so an
existing warehouse's history is not fetched again.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (endpoint, main table, days of running totals: 0 for endpoints without) at this revision.
MAIN_TABLES = (
    ("getusersummary", "user_summary", 0),
    ("getusercumulate", "user_cumulate", 0),
    ("getarticlesummary", "article_summary", 0),
    ("getarticletotal", "article_total", 7),
    ("getuserread", "user_read", 0),
    ("getuserreadhour", "user_read_hour", 0),
    ("getusershare", "user_share", 0),
    ("getusersharehour", "user_share_hour", 0),
    ("getarticleread", "article_read", 0),
    ("getarticleshare", "article_share", 0),
    ("getbizsummary", "biz_summary", 0),
    ("getarticletotaldetail", "article_total_detail", 30),
    ("getupstreammsg", "upstream_msg", 0),
    ("getupstreammsghour", "upstream_msg_hour", 0),
    ("getupstreammsgweek", "upstream_msg_week", 0),
    ("getupstreammsgmonth", "upstream_msg_month", 0),
    ("getupstreammsgdist", "upstream_msg_dist", 0),
    ("getupstreammsgdistweek", "upstream_msg_dist_week", 0),
    ("getupstreammsgdistmonth", "upstream_msg_dist_month", 0),
    ("getinterfacesummary", "interface_summary", 0),
    ("getinterfacesummaryhour", "interface_summary_hour", 0),
)


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS wechat_meta")
    op.create_table(
        "coverage",
        sa.Column("account_id", sa.Text(), nullable=False, comment="App id of the account."),
        sa.Column(
            "endpoint", sa.Text(), nullable=False, comment="Endpoint name, e.g. getusersummary."
        ),
        sa.Column(
            "day",
            sa.Date(),
            nullable=False,
            comment="The Beijing day loaded (the ref_date; a week's Monday, a month's 1st).",
        ),
        sa.Column(
            "rows",
            sa.Integer(),
            nullable=False,
            comment="Rows of the endpoint's main table for the day (0: the API listed nothing).",
        ),
        sa.Column(
            "final",
            sa.Boolean(),
            nullable=False,
            comment="Whether the day was final when fetched: false for a cumulative article "
            "endpoint's send date whose running totals were still growing (its tail is pulled "
            "again).",
        ),
        sa.Column(
            "final_through",
            sa.Date(),
            nullable=True,
            comment="The newest final day when it was fetched (NULL: not recorded).",
        ),
        sa.Column(
            "archive_id",
            sa.BigInteger(),
            nullable=True,
            comment="The wechat_raw.api_response row the day was loaded from.",
        ),
        sa.Column("run_id", sa.Text(), nullable=True, comment="Id of the run that loaded it."),
        sa.Column(
            "loaded_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When (the start of the loading transaction).",
        ),
        sa.PrimaryKeyConstraint("account_id", "endpoint", "day", name=op.f("pk_coverage")),
        schema="wechat_meta",
        comment="The coverage ledger: one row per account, endpoint and day loaded, written in "
        "the transaction that loads the day's facts, so it never disagrees with them.",
    )
    op.create_table(
        "api_calls",
        sa.Column("account_id", sa.Text(), nullable=False, comment="App id of the account."),
        sa.Column(
            "endpoint", sa.Text(), nullable=False, comment="Endpoint name, e.g. getusersummary."
        ),
        sa.Column("day", sa.Date(), nullable=False, comment="The Beijing day the calls were made."),
        sa.Column(
            "calls",
            sa.Integer(),
            nullable=False,
            comment="Datacube calls made (or reserved) that day, retries included, by every "
            "process.",
        ),
        sa.Column(
            "exhausted",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
            comment="WeChat answered 45009 (daily quota exhausted): no more calls that day.",
        ),
        sa.PrimaryKeyConstraint("account_id", "endpoint", "day", name=op.f("pk_api_calls")),
        schema="wechat_meta",
        comment="API calls per account, endpoint and Beijing day: the one count every process "
        "and run shares against WX_DAILY_BUDGET and WeChat's daily quota.",
    )
    for endpoint, table, tail_days in MAIN_TABLES:
        # A cumulative send date is final once its whole tail was fetched: up to the newest
        # final day known from its archive (or, without one, taken as final).
        op.execute(
            f"""
            INSERT INTO wechat_meta.coverage (account_id, endpoint, day, rows, final, run_id)
            SELECT account_id, '{endpoint}', ref_date, count(*),
                   {"true" if tail_days == 0 else f"max(stat_date) >= ref_date + {tail_days - 1}"},
                   min(_run_id)
            FROM wechat.{table}
            GROUP BY account_id, ref_date
            """
        )


def downgrade() -> None:
    op.drop_table("api_calls", schema="wechat_meta")
    op.drop_table("coverage", schema="wechat_meta")
    op.execute("DROP SCHEMA IF EXISTS wechat_meta")
