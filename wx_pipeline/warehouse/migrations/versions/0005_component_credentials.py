"""The third-party platform's credentials (`wechat_meta.component_credentials`) and the
accounts' authorisation events (`wechat_meta.component_events`).

The credentials table holds secrets at rest (tickets, tokens, refresh tokens): `wechat_meta`
is readable by the pipeline's role only.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "component_credentials",
        sa.Column(
            "component_app_id",
            sa.Text(),
            nullable=False,
            comment="App id of the third-party platform (WX_COMPONENT_APP_ID).",
        ),
        sa.Column(
            "authorizer_app_id",
            sa.Text(),
            nullable=False,
            comment="App id of the authorised account; empty for the platform's own "
            "credentials (tickets, component access token).",
        ),
        sa.Column(
            "kind",
            sa.Text(),
            nullable=False,
            comment="verify_ticket (the newest pushed), verify_ticket_good (the last that got a "
            "token), component_access_token, authorizer_refresh_token (the newest WeChat handed "
            "out), authorizer_access_token.",
        ),
        sa.Column(
            "value",
            sa.Text(),
            nullable=False,
            comment="The credential itself: a secret at rest, readable by the pipeline's role "
            "only; never archived, logged or shown.",
        ),
        sa.Column(
            "expires_at",
            sa.TIMESTAMP(timezone=True),
            nullable=True,
            comment="When it stops working (tokens; a ticket 12 hours after its push).",
        ),
        sa.Column(
            "seed",
            sa.Text(),
            nullable=True,
            comment="Refresh tokens: fingerprint of the configured token (the environment "
            "variable authorizer_refresh_token_env names) this one descends from; a new "
            "configured token replaces the stored one.",
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When it was last written.",
        ),
        sa.PrimaryKeyConstraint(
            "component_app_id", "authorizer_app_id", "kind", name=op.f("pk_component_credentials")
        ),
        schema="wechat_meta",
        comment="The third-party platform's credentials, shared by every process: verify "
        "tickets (from wx-pipeline component-receiver or component-ticket store), the component "
        "access token, and per authorised account its newest refresh token and access token. "
        "Secrets at rest.",
    )
    op.create_table(
        "component_events",
        sa.Column(
            "id",
            sa.BigInteger(),
            sa.Identity(always=False),
            nullable=False,
            comment="Event id, in the order received.",
        ),
        sa.Column(
            "component_app_id",
            sa.Text(),
            nullable=False,
            comment="App id of the third-party platform.",
        ),
        sa.Column("authorizer_app_id", sa.Text(), nullable=False, comment="App id of the account."),
        sa.Column(
            "event",
            sa.Text(),
            nullable=False,
            comment="WeChat's authorized, updateauthorized, unauthorized (revoked); the "
            "pipeline's refresh_token_rejected (WeChat refused the refresh token: revoked) and "
            "refresh_token_configured (a new refresh token came from the environment).",
        ),
        sa.Column(
            "at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When it was received (WeChat's events) or happened (the pipeline's).",
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            nullable=True,
            comment="WeChat's CreateTime of the push, for its events.",
        ),
        sa.Column(
            "detail",
            sa.Text(),
            nullable=True,
            comment="What else it said, never a credential: the errcode of a refused refresh "
            "token, whether an authorization code came with a grant.",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_component_events")),
        schema="wechat_meta",
        comment="Authorisation events of the accounts authorised to the third-party platform; "
        "the newest one says whether an authorisation is live.",
    )
    op.create_index(
        op.f("ix_component_events_component_app_id_authorizer_app_id_id"),
        "component_events",
        ["component_app_id", "authorizer_app_id", "id"],
        schema="wechat_meta",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_component_events_component_app_id_authorizer_app_id_id"),
        table_name="component_events",
        schema="wechat_meta",
    )
    op.drop_table("component_events", schema="wechat_meta")
    op.drop_table("component_credentials", schema="wechat_meta")
