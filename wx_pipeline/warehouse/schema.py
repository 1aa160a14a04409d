"""The warehouse tables as SQLAlchemy metadata, derived from the endpoint registry.

This is the target the Alembic migrations must reach: a test compares the migrated database
with `metadata`, so a registry change without a new migration fails the suite.

* `wechat.<table>`: one fact table per registry table, keyed by `account_id` + the table's key,
  plus `_loaded_at` and `_run_id`. Every table and column carries its registry description as a
  comment (COMMENT ON), which BI tools show.
* `wechat_raw.api_response`: every API answer as received (JSONB), to rebuild facts from.
* `wechat_meta.coverage`: the ledger, what is loaded per account, endpoint and day, written by
  the loader in the transaction that loads the day; `wechat_meta.api_calls`: calls per account,
  endpoint and Beijing day, shared by every process against the daily budget;
  `wechat_meta.component_credentials`: the third-party platform's tickets, tokens and the newest
  refresh token per authorised account, shared by every process (secrets at rest: never
  archived, logged or shown; no BI role can read `wechat_meta`);
  `wechat_meta.component_events`: the accounts' authorisation events (granted, updated,
  revoked, refresh token refused or newly configured), without any credential.
* `analytics` belongs to dbt; only `grant_bi` touches it (to create it and grant reads).
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from wx_pipeline.registry import ENDPOINTS, Column, Endpoint, SqlType, Table

FACT_SCHEMA: Final = "wechat"
RAW_SCHEMA: Final = "wechat_raw"
META_SCHEMA: Final = "wechat_meta"
ANALYTICS_SCHEMA: Final = "analytics"
#: The schemas the migrations own (analytics is dbt's).
OWNED_SCHEMAS: Final = (FACT_SCHEMA, RAW_SCHEMA, META_SCHEMA)

ACCOUNT_ID: Final = "account_id"
LOADED_AT: Final = "_loaded_at"
RUN_ID: Final = "_run_id"

_SQL_TYPES: Final[dict[SqlType, sa.types.TypeEngine[Any]]] = {
    "date": sa.Date(),
    "smallint": sa.SmallInteger(),
    "integer": sa.Integer(),
    "bigint": sa.BigInteger(),
    "double precision": sa.Double(),
    "text": sa.Text(),
}

_NAMING: Final = {
    "pk": "pk_%(table_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
}

metadata = sa.MetaData(naming_convention=_NAMING)


def _fact_column(col: Column, table: Table) -> sa.Column[object]:
    # A row is not stored without its key's fields (the normalizer refuses it); any other field
    # an answer leaves out is NULL (see the README's "Real answers").
    return sa.Column(
        col.name,
        _SQL_TYPES[col.type],
        nullable=col.api_field not in table.key_fields,
        comment=col.description,
    )


def _fact_table(endpoint: Endpoint, table: Table) -> sa.Table:
    return sa.Table(
        table.name,
        metadata,
        sa.Column(
            ACCOUNT_ID,
            sa.Text(),
            nullable=False,
            comment="App id of the WeChat Official Account the row belongs to.",
        ),
        *(_fact_column(c, table) for c in table.columns),
        sa.Column(
            LOADED_AT,
            sa.TIMESTAMP(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
            comment="When the row was loaded (start of the loading transaction).",
        ),
        sa.Column(
            RUN_ID,
            sa.Text(),
            nullable=True,
            comment="Id of the Dagster run (or renormalize) that loaded the row.",
        ),
        sa.PrimaryKeyConstraint(ACCOUNT_ID, *table.key),
        # Every mart refresh filters a window of days across all accounts: the key leads with
        # account_id, which only PostgreSQL 18's skip scan can use for that. A BRIN index is
        # a few pages and costs loads nothing measurable (rows arrive roughly in date order).
        sa.Index(None, "ref_date", postgresql_using="brin"),
        schema=FACT_SCHEMA,
        comment=f"{table.description} Source: POST /datacube/{endpoint.name}.",
    )


FACT_TABLES: Final[dict[str, sa.Table]] = {
    t.name: _fact_table(e, t) for e in ENDPOINTS for t in e.tables
}

api_response = sa.Table(
    "api_response",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger(),
        sa.Identity(always=False),
        primary_key=True,
        comment="Archive row id; errors about invalid data name it.",
    ),
    sa.Column(ACCOUNT_ID, sa.Text(), nullable=False, comment="App id of the account called."),
    sa.Column("endpoint", sa.Text(), nullable=False, comment="Endpoint name, e.g. getusersummary."),
    sa.Column("begin_date", sa.Date(), nullable=False, comment="begin_date as requested."),
    sa.Column("end_date", sa.Date(), nullable=False, comment="end_date as requested."),
    sa.Column(
        "fetched_at",
        sa.TIMESTAMP(timezone=True),
        nullable=False,
        comment="When the response was received; the latest fetch of a window wins.",
    ),
    sa.Column("run_id", sa.Text(), nullable=True, comment="Id of the Dagster run that fetched it."),
    sa.Column(
        "final_through",
        sa.Date(),
        nullable=True,
        comment="The newest final day when fetched (a day is final from WX_DATA_READY_TIME, "
        "08:00 Beijing, on the next day); stat_date entries of cumulative answers after it are "
        "not loaded. NULL: every day in the body is final.",
    ),
    sa.Column(
        "body",
        JSONB(),
        nullable=False,
        comment="The response body as received, unknown fields included.",
    ),
    sa.Index(None, "endpoint", ACCOUNT_ID, "begin_date"),
    schema=RAW_SCHEMA,
    comment="One row per successful datacube API call: the raw answer, kept so fact tables can "
    "be rebuilt (wx-pipeline renormalize) without spending API quota.",
)


coverage = sa.Table(
    "coverage",
    metadata,
    sa.Column(ACCOUNT_ID, sa.Text(), nullable=False, comment="App id of the account."),
    sa.Column("endpoint", sa.Text(), nullable=False, comment="Endpoint name, e.g. getusersummary."),
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
        "endpoint's send date whose running totals were still growing (its tail is pulled again).",
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
        nullable=False,
        server_default=sa.text("now()"),
        comment="When (the start of the loading transaction).",
    ),
    sa.PrimaryKeyConstraint(ACCOUNT_ID, "endpoint", "day"),
    schema=META_SCHEMA,
    comment="The coverage ledger: one row per account, endpoint and day loaded, written in the "
    "transaction that loads the day's facts, so it never disagrees with them.",
)

api_calls = sa.Table(
    "api_calls",
    metadata,
    sa.Column(ACCOUNT_ID, sa.Text(), nullable=False, comment="App id of the account."),
    sa.Column("endpoint", sa.Text(), nullable=False, comment="Endpoint name, e.g. getusersummary."),
    sa.Column("day", sa.Date(), nullable=False, comment="The Beijing day the calls were made."),
    sa.Column(
        "calls",
        sa.Integer(),
        nullable=False,
        comment="Datacube calls made (or reserved) that day, retries included, by every process.",
    ),
    sa.Column(
        "exhausted",
        sa.Boolean(),
        nullable=False,
        server_default=sa.false(),
        comment="WeChat answered 45009 (daily quota exhausted): no more calls that day.",
    ),
    sa.PrimaryKeyConstraint(ACCOUNT_ID, "endpoint", "day"),
    schema=META_SCHEMA,
    comment="API calls per account, endpoint and Beijing day: the one count every process and "
    "run shares against WX_DAILY_BUDGET and WeChat's daily quota.",
)


component_credentials = sa.Table(
    "component_credentials",
    metadata,
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
        comment="App id of the authorised account; empty for the platform's own credentials "
        "(tickets, component access token).",
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
        comment="The credential itself: a secret at rest, readable by the pipeline's role only; "
        "never archived, logged or shown.",
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
        nullable=False,
        server_default=sa.text("now()"),
        comment="When it was last written.",
    ),
    sa.PrimaryKeyConstraint("component_app_id", "authorizer_app_id", "kind"),
    schema=META_SCHEMA,
    comment="The third-party platform's credentials, shared by every process: verify tickets "
    "(from wx-pipeline component-receiver or component-ticket store), the component access "
    "token, and per authorised account its newest refresh token and access token. Secrets at "
    "rest.",
)

component_events = sa.Table(
    "component_events",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger(),
        sa.Identity(always=False),
        primary_key=True,
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
        comment="WeChat's authorized, updateauthorized, unauthorized (revoked); the pipeline's "
        "refresh_token_rejected (WeChat refused the refresh token: revoked) and "
        "refresh_token_configured (a new refresh token came from the environment).",
    ),
    sa.Column(
        "at",
        sa.TIMESTAMP(timezone=True),
        nullable=False,
        server_default=sa.text("now()"),
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
    sa.Index(None, "component_app_id", "authorizer_app_id", "id"),
    schema=META_SCHEMA,
    comment="Authorisation events of the accounts authorised to the third-party platform; the "
    "newest one says whether an authorisation is live.",
)


def fact_table(name: str) -> sa.Table:
    """The fact table called `name` (registry table name, without schema)."""
    return FACT_TABLES[name]


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic filter: compare only the schemas the migrations own."""
    if type_ == "schema":
        return name in OWNED_SCHEMAS
    return True
