"""The endpoint registry: the one list of the 21 datacube endpoints and their rules.

Every other room reads it: the client (paths, spans, first dates, period rules), the simulator
(field names, nesting, periods), the normalizers and tables (columns, types, keys,
descriptions) and the Dagster assets (families, partitions). Adding an endpoint is one
``Endpoint`` entry here plus what the README's "Adding an endpoint" lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from wx_pipeline.registry.codes import FOLLOWER_SOURCE, PUBLISH_TYPE, describe_codes
from wx_pipeline.registry.columns import (
    HOUR,
    READ_SOURCE_COL,
    REF_DATE,
    SHARE_SCENE_COL,
    TITLE,
    callback_table,
    column,
    counter,
    dist_table,
    engagement_2025,
    msg_table,
    msgid_columns,
    read_counters,
    scene_source_table,
    sourced_reads,
)
from wx_pipeline.registry.types import (
    V2025_START,
    Endpoint,
    Family,
    Grain,
    Level,
    Nesting,
    Table,
)

_N = Level.NESTED

ENDPOINTS: Final[tuple[Endpoint, ...]] = (
    # --- followers -------------------------------------------------------------------------
    Endpoint(
        name="getusersummary",
        family=Family.FOLLOWERS,
        max_span=7,
        grain=Grain.DAILY,
        legacy=False,
        nesting=Nesting.FLAT,
        description="Follower gains and losses per acquisition source.",
        table=Table(
            name="user_summary",
            description="One row per day and acquisition source with activity (sources with "
            "none are absent). Followers gained and lost; net growth = new_user - cancel_user.",
            columns=(
                REF_DATE,
                column(
                    "user_source",
                    "integer",
                    f"Acquisition source: {describe_codes(FOLLOWER_SOURCE)}.",
                ),
                counter("new_user", "Followers gained."),
                counter("cancel_user", "Followers lost (unfollows)."),
            ),
            key=("ref_date", "user_source"),
        ),
    ),
    Endpoint(
        name="getusercumulate",
        family=Family.FOLLOWERS,
        max_span=7,
        grain=Grain.DAILY,
        legacy=False,
        nesting=Nesting.FLAT,
        description="Total followers at the end of each day.",
        known_extra_fields=frozenset({"user_source"}),
        table=Table(
            name="user_cumulate",
            description="One row per day. Total followers at the end of the day.",
            columns=(
                REF_DATE,
                column("cumulate_user", "bigint", "Total followers at the end of the day."),
            ),
            key=("ref_date",),
        ),
    ),
    # --- articles (legacy) -----------------------------------------------------------------
    Endpoint(
        name="getarticlesummary",
        family=Family.ARTICLES,
        max_span=1,
        grain=Grain.DAILY,
        legacy=True,
        nesting=Nesting.FLAT,
        description="Per-article reads and shares of one day (legacy).",
        known_extra_fields=frozenset({"user_source"}),
        table=Table(
            name="article_summary",
            description="One row per day and article. That day's reads and shares of an article; "
            "an article is listed only in its first 7 days and only with >= 3 interactions.",
            columns=(REF_DATE, *msgid_columns(), TITLE, *read_counters()),
            key=("ref_date", "msgid"),
        ),
    ),
    Endpoint(
        name="getarticletotal",
        family=Family.ARTICLES,
        max_span=1,
        grain=Grain.DAILY,
        legacy=True,
        nesting=Nesting.DETAILS,
        description="Cumulative totals of mass-sent articles, by send date (legacy).",
        known_extra_fields=frozenset({"user_source", "url"}),
        revision_days=7,
        table=Table(
            name="article_total",
            description="One row per article and stat_date. Cumulative totals of a mass-sent "
            "article from its send date (ref_date) up to stat_date; up to 7 stat_dates.",
            columns=(
                column("ref_date", "date", "Send date of the message (the date requested)."),
                *msgid_columns(),
                TITLE,
                column("stat_date", "date", "Date the cumulative totals run up to.", level=_N),
                column("target_user", "bigint", "Followers the message was sent to.", level=_N),
                *read_counters(_N),
                *sourced_reads(),
            ),
            key=("ref_date", "msgid", "stat_date"),
        ),
    ),
    Endpoint(
        name="getuserread",
        family=Family.ARTICLES,
        max_span=3,
        grain=Grain.DAILY,
        legacy=True,
        nesting=Nesting.FLAT,
        description="Account-wide reads per read source (legacy).",
        table=Table(
            name="user_read",
            description="One row per day and read source, including the ALL row (user_source "
            "99999999) that sums the others. Account-wide reads, shares and favourites.",
            columns=(REF_DATE, READ_SOURCE_COL, *read_counters()),
            key=("ref_date", "user_source"),
        ),
    ),
    Endpoint(
        name="getuserreadhour",
        family=Family.HOURLY_READS,
        max_span=1,
        grain=Grain.HOURLY,
        legacy=True,
        nesting=Nesting.FLAT,
        description="Account-wide reads per hour and read source (legacy).",
        hourly_of="getuserread",
        table=Table(
            name="user_read_hour",
            description="One row per day, hour and read source, including the ALL row (user_source "
            "99999999). Account-wide reads, shares and favourites in that hour.",
            columns=(REF_DATE, HOUR, READ_SOURCE_COL, *read_counters()),
            key=("ref_date", "hour", "user_source"),
        ),
    ),
    Endpoint(
        name="getusershare",
        family=Family.ARTICLES,
        max_span=7,
        grain=Grain.DAILY,
        legacy=True,
        nesting=Nesting.FLAT,
        description="Account-wide shares per share scene (legacy).",
        known_extra_fields=frozenset({"user_source"}),
        table=Table(
            name="user_share",
            description="One row per day and share scene. Account-wide shares.",
            columns=(
                REF_DATE,
                SHARE_SCENE_COL,
                counter("share_count", "Shares."),
                counter("share_user", "Users who shared."),
            ),
            key=("ref_date", "share_scene"),
        ),
    ),
    Endpoint(
        name="getusersharehour",
        family=Family.HOURLY_READS,
        max_span=1,
        grain=Grain.HOURLY,
        legacy=True,
        nesting=Nesting.FLAT,
        description="Account-wide shares per hour and share scene (legacy).",
        hourly_of="getusershare",
        table=Table(
            name="user_share_hour",
            description="One row per day, hour and share scene. Account-wide shares in that hour.",
            columns=(
                REF_DATE,
                HOUR,
                SHARE_SCENE_COL,
                counter("share_count", "Shares."),
                counter("share_user", "Users who shared."),
            ),
            key=("ref_date", "hour", "share_scene"),
        ),
    ),
    # --- articles (2025) -------------------------------------------------------------------
    Endpoint(
        name="getarticleread",
        family=Family.ARTICLES,
        max_span=1,
        grain=Grain.DAILY,
        legacy=False,
        nesting=Nesting.DETAIL,
        first_date=V2025_START,
        has_is_delay=True,
        description="Per-article readers of one day, by read scene (2025).",
        table=Table(
            name="article_read",
            description="One row per day and article whose reads changed that day. "
            "Readers of the article that day.",
            columns=(
                REF_DATE,
                *msgid_columns(),
                counter("read_user", "Users who read the article that day.", level=_N),
            ),
            key=("ref_date", "msgid"),
        ),
        child_tables=(
            scene_source_table(
                "article_read_source",
                "day, article",
                ("ref_date", "msgid"),
                (REF_DATE, *msgid_columns()),
            ),
        ),
    ),
    Endpoint(
        name="getarticleshare",
        family=Family.ARTICLES,
        max_span=1,
        grain=Grain.DAILY,
        legacy=False,
        nesting=Nesting.DETAIL,
        first_date=V2025_START,
        has_is_delay=True,
        description="Per-article sharers of one day (2025).",
        table=Table(
            name="article_share",
            description="One row per day and article shared that day. "
            "Users who shared it that day.",
            columns=(
                REF_DATE,
                *msgid_columns(),
                counter("share_user", "Users who shared the article that day.", level=_N),
            ),
            key=("ref_date", "msgid"),
        ),
    ),
    Endpoint(
        name="getbizsummary",
        family=Family.ARTICLES,
        max_span=30,
        grain=Grain.DAILY,
        legacy=False,
        nesting=Nesting.DETAIL,
        first_date=V2025_START,
        has_is_delay=True,
        description="Account-level article engagement per day (2025).",
        table=Table(
            name="biz_summary",
            description="One row per day. Account-level article engagement.",
            columns=(
                REF_DATE,
                *engagement_2025(_N),
                counter(
                    "redirect_ori_page_user",
                    "Users who opened the original ('read more') page.",
                    level=_N,
                ),
                counter("send_page_count", "Articles (pages) sent that day.", level=_N),
            ),
            key=("ref_date",),
        ),
        child_tables=(
            scene_source_table("biz_summary_read_source", "day", ("ref_date",), (REF_DATE,)),
        ),
    ),
    Endpoint(
        name="getarticletotaldetail",
        family=Family.ARTICLES,
        max_span=1,
        grain=Grain.DAILY,
        legacy=False,
        nesting=Nesting.DETAIL_LIST,
        first_date=V2025_START,
        has_is_delay=True,
        revision_days=30,
        description="Cumulative per-article statistics up to 30 days after publishing (2025).",
        table=Table(
            name="article_total_detail",
            description="One row per article and stat_date. Cumulative statistics of an article "
            "from its publish date (ref_date) up to stat_date; up to 30 stat_dates.",
            columns=(
                column("ref_date", "date", "Publish date of the article (the date requested)."),
                *msgid_columns(),
                column(
                    "publish_type", "smallint", f"Publish type: {describe_codes(PUBLISH_TYPE)}."
                ),
                TITLE,
                column("content_url", "text", "Article URL."),
                column("stat_date", "date", "Date the cumulative statistics run up to.", level=_N),
                *engagement_2025(_N),
                counter("praise_money", "Tips received, in fen (1/100 yuan).", level=_N),
                counter("read_subscribe_user", "Readers who followed after reading.", level=_N),
                column(
                    "read_delivery_rate",
                    "double precision",
                    "Delivery (open) rate of the notification.",
                    level=_N,
                ),
                column(
                    "read_finish_rate",
                    "double precision",
                    "Share of readers who read to the end.",
                    level=_N,
                ),
                column(
                    "read_avg_activetime",
                    "double precision",
                    "Average reading time, in minutes.",
                    level=_N,
                ),
            ),
            key=("ref_date", "msgid", "stat_date"),
        ),
        child_tables=(
            scene_source_table(
                "article_total_detail_read_source",
                "article, stat_date",
                ("ref_date", "msgid", "stat_date"),
                (
                    column("ref_date", "date", "Publish date of the article."),
                    *msgid_columns(),
                    column(
                        "stat_date", "date", "Date the cumulative statistics run up to.", level=_N
                    ),
                ),
            ),
            Table(
                name="article_total_detail_jump_position",
                description="One row per article, stat_date and jump position. Share of readers "
                "who left the article at each position.",
                columns=(
                    column("ref_date", "date", "Publish date of the article."),
                    *msgid_columns(),
                    column(
                        "stat_date", "date", "Date the cumulative statistics run up to.", level=_N
                    ),
                    column(
                        "position",
                        "smallint",
                        "Position in the article, 1..5.",
                        level=Level.ELEMENT,
                    ),
                    column(
                        "rate",
                        "double precision",
                        "Share of readers at this position.",
                        level=Level.ELEMENT,
                    ),
                ),
                key=("ref_date", "msgid", "stat_date", "position"),
                array_field="read_jump_position",
            ),
        ),
    ),
    # --- messages --------------------------------------------------------------------------
    Endpoint(
        name="getupstreammsg",
        family=Family.MESSAGES,
        max_span=7,
        grain=Grain.DAILY,
        legacy=False,
        nesting=Nesting.FLAT,
        description="Messages users sent, per day and type.",
        known_extra_fields=frozenset({"user_source"}),
        table=msg_table("upstream_msg", "day", REF_DATE.description),
    ),
    Endpoint(
        name="getupstreammsghour",
        family=Family.MESSAGES,
        max_span=1,
        grain=Grain.HOURLY,
        legacy=False,
        nesting=Nesting.FLAT,
        description="Messages users sent, per hour and type.",
        hourly_of="getupstreammsg",
        table=msg_table("upstream_msg_hour", "day, hour", REF_DATE.description, hourly=True),
    ),
    Endpoint(
        name="getupstreammsgweek",
        family=Family.MESSAGES,
        max_span=30,
        grain=Grain.WEEKLY,
        legacy=False,
        nesting=Nesting.FLAT,
        description="Messages users sent, per week and type.",
        table=msg_table("upstream_msg_week", "week", "Monday starting the week."),
    ),
    Endpoint(
        name="getupstreammsgmonth",
        family=Family.MESSAGES,
        max_span=30,
        grain=Grain.MONTHLY,
        legacy=False,
        nesting=Nesting.FLAT,
        description="Messages users sent, per month and type.",
        table=msg_table("upstream_msg_month", "month", "First day of the month."),
    ),
    Endpoint(
        name="getupstreammsgdist",
        family=Family.MESSAGES,
        max_span=15,
        grain=Grain.DAILY,
        legacy=False,
        nesting=Nesting.FLAT,
        description="Distribution of users by messages sent, per day.",
        table=dist_table("upstream_msg_dist", "day", REF_DATE.description),
    ),
    Endpoint(
        name="getupstreammsgdistweek",
        family=Family.MESSAGES,
        max_span=15,
        grain=Grain.WEEKLY,
        legacy=False,
        nesting=Nesting.FLAT,
        description="Distribution of users by messages sent, per week.",
        table=dist_table("upstream_msg_dist_week", "week", "Monday starting the week."),
    ),
    Endpoint(
        name="getupstreammsgdistmonth",
        family=Family.MESSAGES,
        max_span=15,
        grain=Grain.MONTHLY,
        legacy=False,
        nesting=Nesting.FLAT,
        description="Distribution of users by messages sent, per month.",
        table=dist_table("upstream_msg_dist_month", "month", "First day of the month."),
    ),
    # --- callbacks -------------------------------------------------------------------------
    Endpoint(
        name="getinterfacesummary",
        family=Family.CALLBACKS,
        max_span=30,
        grain=Grain.DAILY,
        legacy=False,
        nesting=Nesting.FLAT,
        description="Callback server calls and latency per day.",
        table=callback_table("interface_summary", hourly=False),
    ),
    Endpoint(
        name="getinterfacesummaryhour",
        family=Family.CALLBACKS,
        max_span=1,
        grain=Grain.HOURLY,
        legacy=False,
        nesting=Nesting.FLAT,
        description="Callback server calls and latency per hour.",
        hourly_of="getinterfacesummary",
        table=callback_table("interface_summary_hour", hourly=True),
    ),
)


BY_NAME: Final[Mapping[str, Endpoint]] = {e.name: e for e in ENDPOINTS}
#: Every fact table, child tables included, by name.
TABLES: Final[Mapping[str, Table]] = {t.name: t for e in ENDPOINTS for t in e.tables}


def get(name: str) -> Endpoint:
    """The endpoint called ``name``; a KeyError names the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown endpoint {name!r}; known: {', '.join(BY_NAME)}") from None


def with_spans(span_overrides: Mapping[str, int] | None = None) -> dict[str, Endpoint]:
    """The registry with per-endpoint span overrides applied (the spec lists contradictions)."""
    overrides = dict(span_overrides or {})
    for name, span in overrides.items():
        get(name)
        if span < 1:
            raise ValueError(f"span override for {name} must be >= 1, got {span}")
    return {e.name: e.with_span(overrides[e.name]) if e.name in overrides else e for e in ENDPOINTS}
