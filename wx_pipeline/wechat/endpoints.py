"""The endpoint registry: the one list of datacube endpoints and their rules.

Every other room reads this module: the client (paths, spans, first dates, period rules), the
simulator (field names, nesting, periods), the normalizers and tables (columns, types, keys,
descriptions) and the Dagster assets (families, partitions). Adding an endpoint is one
``Endpoint`` entry here plus its dbt staging model.

Facts come from ``wechat-datacube-api.md``. Where the spec is ambiguous this module states the
assumption the whole project follows:

* Week/month endpoints are addressed by period start: ``begin_date`` and ``end_date`` must both
  be Mondays (weekly) or 1st-of-month dates (monthly); the answer holds one set of rows per
  period whose start lies in [begin_date, end_date] and that has fully ended by yesterday.
  Anything else is 61501.
* A span of N days allows N calendar days counted inclusively: ``(end - begin).days < N``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final, Literal

from wx_pipeline.wechat.codes import (
    ALL_SOURCES,
    COUNT_INTERVAL,
    FOLLOWER_SOURCE,
    MSG_TYPE,
    PUBLISH_TYPE,
    READ_SOURCE,
    SCENE_DESC,
    SHARE_SCENE,
    describe_codes,
)

#: The first day the datacube API has data for.
DATA_START: Final = date(2014, 12, 1)
#: The first day the 2025 article endpoints have data for.
V2025_START: Final = date(2025, 11, 1)

SqlType = Literal["date", "smallint", "integer", "bigint", "double precision", "text"]


class Family(StrEnum):
    """Dagster asset groups; one per kind of analytics."""

    FOLLOWERS = "followers"
    ARTICLES = "articles"
    HOURLY_READS = "hourly_reads"
    MESSAGES = "messages"
    CALLBACKS = "callbacks"


class Grain(StrEnum):
    """The time grain of one row."""

    DAILY = "daily"
    HOURLY = "hourly"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Period(StrEnum):
    """The calendar unit a request's dates address (and a Dagster partition covers)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class Nesting(StrEnum):
    """How an item nests its measurements (spec section 3)."""

    FLAT = "flat"  # every field on the item
    DETAILS = "details"  # item.details: list, one row per entry (getarticletotal)
    DETAIL = "detail"  # item.detail: one object (getarticleread, getarticleshare, getbizsummary)
    DETAIL_LIST = "detail_list"  # item.detail_list: list, one row per entry


class Level(StrEnum):
    """Where in an item a field is read from."""

    ITEM = "item"  # the list item itself
    NESTED = "nested"  # the details / detail / detail_list entry
    ELEMENT = "element"  # an element of a child table's array (read_user_source[] ...)


class Transform(StrEnum):
    """How a column is derived from its API field."""

    NONE = "none"
    HHMM_TO_HOUR = "hhmm_to_hour"  # ref_hour 0..2300 -> hour 0..23
    MSGID_DATA_ID = "msgid_data_id"  # "12003_3" -> 12003
    MSGID_INDEX = "msgid_index"  # "12003_3" -> 3


class Agg(StrEnum):
    """How a measure rolls up from hours (or sources) to the day; checks and dbt use it."""

    SUM = "sum"
    MAX = "max"


@dataclass(frozen=True)
class Column:
    """One warehouse column and the API field it comes from."""

    name: str
    type: SqlType
    description: str
    source: str | None = None  # API field name when it differs from ``name``
    level: Level = Level.ITEM
    transform: Transform = Transform.NONE
    #: Documented as sent only sometimes: NULL in the warehouse when absent, not reported.
    #: (Any other non-key field an answer lacks is NULL too, and reported as missing.)
    optional: bool = False
    agg: Agg | None = None  # set on measures that roll up
    #: For a key field older answers lack: the code such an answer's rows mean (the total).
    absent_as: int | None = None

    @property
    def api_field(self) -> str:
        return self.source or self.name


@dataclass(frozen=True)
class Table:
    """A fact table in schema ``wechat``; ``account_id`` + ``key`` is its primary key."""

    name: str
    description: str  # the grain first, then what it holds
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    #: For child tables: the array (inside the nested entry) whose elements are its rows.
    array_field: str | None = None

    @property
    def key_fields(self) -> frozenset[str]:
        """The API fields a row cannot be stored without: its key's (msgid also gives
        msg_data_id and article_index). Any other field an answer lacks loads as NULL."""
        return frozenset(self.column(k).api_field for k in self.key)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def measures(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.agg is not None)


_PERIOD_OF_GRAIN: Final = {Grain.WEEKLY: Period.WEEK, Grain.MONTHLY: Period.MONTH}


@dataclass(frozen=True)
class Endpoint:
    """One datacube endpoint: ``POST /datacube/<name>`` and the table(s) it fills."""

    name: str
    family: Family
    max_span: int
    grain: Grain
    legacy: bool
    nesting: Nesting
    table: Table
    description: str
    first_date: date = DATA_START
    child_tables: tuple[Table, ...] = ()
    #: Fields real answers carry that the documentation omits (all `user_source: 0` but
    #: getarticletotal's `url`): archived, not reported as drift.
    known_extra_fields: frozenset[str] = frozenset()
    #: Days after ref_date during which the API still revises a row (late-data refresh).
    revision_days: int = 0
    #: The answer carries a top-level ``is_delay`` flag (2025 endpoints).
    has_is_delay: bool = False
    #: For hourly endpoints: the daily endpoint whose rows their hours add up to.
    hourly_of: str | None = None

    @property
    def path(self) -> str:
        return f"/datacube/{self.name}"

    @property
    def period(self) -> Period:
        return _PERIOD_OF_GRAIN.get(self.grain, Period.DAY)

    @property
    def nested_field(self) -> str | None:
        return None if self.nesting is Nesting.FLAT else self.nesting.value

    @property
    def tables(self) -> tuple[Table, ...]:
        return (self.table, *self.child_tables)

    @property
    def cumulative(self) -> bool:
        """Items carry a ``stat_date`` tail: one nested entry per day since ref_date (the send
        date), each a running total, growing for ``revision_days`` days."""
        return any(c.name == "stat_date" and c.level is Level.NESTED for c in self.table.columns)

    def request_start(self, first: date) -> date:
        """The first ref_date to request so that every row about days from ``first`` on is
        fetched: for cumulative endpoints, the send dates whose tails reach ``first``."""
        return first - timedelta(days=self.revision_days - 1) if self.cumulative else first

    @property
    def api_fields(self) -> frozenset[str]:
        """Every field name this endpoint is known to send, at any level."""
        names = {c.api_field for t in self.tables for c in t.columns}
        names |= {t.array_field for t in self.child_tables if t.array_field}
        if self.nested_field:
            names.add(self.nested_field)
        return frozenset(names) | self.known_extra_fields

    def with_span(self, max_span: int) -> Endpoint:
        return dataclasses.replace(self, max_span=max_span)


# --- period arithmetic shared by the client, the simulator and the partitions -----------------


def period_start(period: Period, day: date) -> date:
    """The first day of the period containing ``day``."""
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period is Period.MONTH:
        return day.replace(day=1)
    return day


def period_end(period: Period, start: date) -> date:
    """The last day of the period starting at ``start``."""
    if period is Period.WEEK:
        return start + timedelta(days=6)
    if period is Period.MONTH:
        nxt = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return nxt - timedelta(days=1)
    return start


def next_period(period: Period, start: date) -> date:
    return period_end(period, start) + timedelta(days=1)


def period_starts(period: Period, first: date, last: date) -> Iterator[date]:
    """Starts of the periods beginning within [first, last] (first rounded up to a period)."""
    start = period_start(period, first)
    if start < first:
        start = next_period(period, start)
    while start <= last:
        yield start
        start = next_period(period, start)


# --- column builders: the spec's field groups ---------------------------------------------------


def _c(
    name: str,
    type_: SqlType,
    description: str,
    *,
    level: Level = Level.ITEM,
    optional: bool = False,
    agg: Agg | None = None,
    source: str | None = None,
    transform: Transform = Transform.NONE,
    absent_as: int | None = None,
) -> Column:
    return Column(name, type_, description, source, level, transform, optional, agg, absent_as)


def _counter(
    name: str, description: str, *, level: Level = Level.ITEM, optional: bool = False
) -> Column:
    return _c(name, "bigint", description, level=level, optional=optional, agg=Agg.SUM)


REF_DATE = _c("ref_date", "date", "Beijing calendar date the row reports on.")
HOUR = _c(
    "hour",
    "smallint",
    "Hour of the Beijing day, 0-23 (the API's HHMM ref_hour 0..2300 divided by 100).",
    source="ref_hour",
    transform=Transform.HHMM_TO_HOUR,
)


def _msgid(level: Level = Level.ITEM) -> tuple[Column, ...]:
    return (
        _c(
            "msgid",
            "text",
            'Article id as sent: "<message id>_<article index>", e.g. 12003_3.',
            level=level,
        ),
        _c(
            "msg_data_id",
            "bigint",
            "Message (mass send) id: the part of msgid before the underscore.",
            source="msgid",
            transform=Transform.MSGID_DATA_ID,
            level=level,
        ),
        _c(
            "article_index",
            "smallint",
            "Position of the article in its message, from 1: the part of msgid after the "
            "underscore.",
            source="msgid",
            transform=Transform.MSGID_INDEX,
            level=level,
        ),
    )


def _read_counters(level: Level = Level.ITEM) -> tuple[Column, ...]:
    """The 8 read counters; int_page = the article page, ori_page = the 'read more' page."""
    return (
        _counter("int_page_read_user", "Users who read the article page.", level=level),
        _counter("int_page_read_count", "Reads (views) of the article page.", level=level),
        _counter(
            "ori_page_read_user",
            "Users who read the original ('read more') page; 0 when there is none.",
            level=level,
        ),
        _counter(
            "ori_page_read_count",
            "Reads of the original ('read more') page; 0 when there is none.",
            level=level,
        ),
        _counter("share_user", "Users who shared.", level=level),
        _counter("share_count", "Shares.", level=level),
        _counter("add_to_fav_user", "Users who added to favourites.", level=level),
        _counter("add_to_fav_count", "Times added to favourites.", level=level),
    )


def _sourced_reads() -> tuple[Column, ...]:
    n = Level.NESTED
    cols: list[Column] = []
    for src, label in (
        ("session", "conversations"),
        ("hist_msg", "the history message page"),
        ("feed", "Moments"),
        ("friends", "friends' shares"),
        ("other", "other places"),
    ):
        cols.append(
            _counter(f"int_page_from_{src}_read_user", f"Users who read from {label}.", level=n)
        )
        cols.append(_counter(f"int_page_from_{src}_read_count", f"Reads from {label}.", level=n))
    for src, label in (
        ("session", "conversations"),
        ("feed", "Moments"),
        ("other", "other places"),
    ):
        cols.append(
            _counter(
                f"feed_share_from_{src}_user", f"Users who shared to Moments from {label}.", level=n
            )
        )
        cols.append(
            _counter(f"feed_share_from_{src}_cnt", f"Shares to Moments from {label}.", level=n)
        )
    for src, label in (("kanyikan", "Top Stories (kanyikan)"), ("souyisou", "Search (souyisou)")):
        note = " Absent from some responses: NULL then."
        cols.append(
            _counter(
                f"int_page_from_{src}_read_user",
                f"Users who read from {label}.{note}",
                level=n,
                optional=True,
            )
        )
        cols.append(
            _counter(
                f"int_page_from_{src}_read_count",
                f"Reads from {label}.{note}",
                level=n,
                optional=True,
            )
        )
    return tuple(cols)


def _engagement_2025(level: Level) -> tuple[Column, ...]:
    return (
        _counter("read_user", "Users who read.", level=level),
        _counter("share_user", "Users who shared.", level=level),
        _counter("zaikan_user", "Users who tapped 'Wow' (zaikan).", level=level),
        _counter("like_user", "Users who liked.", level=level),
        _counter("comment_count", "Comments.", level=level),
        _counter("collection_user", "Users who collected (favourited).", level=level),
    )


def _scene_source_table(
    name: str, grain: str, parent_key: tuple[str, ...], level_cols: tuple[Column, ...]
) -> Table:
    return Table(
        name=name,
        description=f"One row per {grain} and read scene. Readers by where they came from "
        "(the read_user_source array).",
        columns=(
            *level_cols,
            _c(
                "scene_desc",
                "text",
                f"Read scene as the API sends it (Chinese text): {describe_codes(SCENE_DESC)}.",
                level=Level.ELEMENT,
            ),
            _counter("user_count", "Users who read from this scene.", level=Level.ELEMENT),
        ),
        key=(*parent_key, "scene_desc"),
        array_field="read_user_source",
    )


def _msg_table(name: str, grain_text: str, date_text: str, *, hourly: bool = False) -> Table:
    return Table(
        name=name,
        description=f"One row per {grain_text} and message type. "
        "Messages users sent to the account.",
        columns=(
            _c("ref_date", "date", date_text),
            *((HOUR,) if hourly else ()),
            _c("msg_type", "integer", f"Message type: {describe_codes(MSG_TYPE)}."),
            _counter("msg_user", "Users who sent messages of this type."),
            _counter("msg_count", "Messages of this type."),
        ),
        key=("ref_date", *(("hour",) if hourly else ()), "msg_type"),
    )


def _dist_table(name: str, grain_text: str, date_text: str) -> Table:
    return Table(
        name=name,
        description=f"One row per {grain_text} and message-count bucket. "
        "How many users sent how many messages.",
        columns=(
            _c("ref_date", "date", date_text),
            _c(
                "count_interval",
                "integer",
                f"Messages sent by a user: {describe_codes(COUNT_INTERVAL)}.",
            ),
            _counter("msg_user", "Users whose message count falls in this bucket."),
        ),
        key=("ref_date", "count_interval"),
    )


def _callback_table(name: str, *, hourly: bool) -> Table:
    grain = "day and hour" if hourly else "day"
    return Table(
        name=name,
        description=f"One row per {grain}. Calls WeChat made to the account's callback server and "
        "their latency; average latency = total_time_cost / callback_count.",
        columns=(
            REF_DATE,
            *((HOUR,) if hourly else ()),
            _counter("callback_count", "Callbacks WeChat made to the account's server."),
            _counter("fail_count", "Callbacks that failed."),
            _counter("total_time_cost", "Sum of callback latencies, in milliseconds."),
            _c("max_time_cost", "bigint", "Slowest callback, in milliseconds.", agg=Agg.MAX),
        ),
        key=("ref_date", *(("hour",) if hourly else ())),
    )


_READ_SOURCE_COL = _c(
    "user_source",
    "integer",
    f"Read source: {describe_codes(READ_SOURCE)}. Answers before 2016 have no sources: their one "
    f"row per day (or hour) is the total, {ALL_SOURCES}.",
    # The 2015 documentation's answers: one row per day, all sources together.
    absent_as=ALL_SOURCES,
)
_SHARE_SCENE_COL = _c(
    "share_scene", "integer", f"Where it was shared: {describe_codes(SHARE_SCENE)}."
)
_TITLE = _c("title", "text", "Article title.")

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
                _c(
                    "user_source",
                    "integer",
                    f"Acquisition source: {describe_codes(FOLLOWER_SOURCE)}.",
                ),
                _counter("new_user", "Followers gained."),
                _counter("cancel_user", "Followers lost (unfollows)."),
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
                _c("cumulate_user", "bigint", "Total followers at the end of the day."),
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
            columns=(REF_DATE, *_msgid(), _TITLE, *_read_counters()),
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
                _c("ref_date", "date", "Send date of the message (the date requested)."),
                *_msgid(),
                _TITLE,
                _c("stat_date", "date", "Date the cumulative totals run up to.", level=_N),
                _c("target_user", "bigint", "Followers the message was sent to.", level=_N),
                *_read_counters(_N),
                *_sourced_reads(),
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
            columns=(REF_DATE, _READ_SOURCE_COL, *_read_counters()),
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
            columns=(REF_DATE, HOUR, _READ_SOURCE_COL, *_read_counters()),
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
                _SHARE_SCENE_COL,
                _counter("share_count", "Shares."),
                _counter("share_user", "Users who shared."),
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
                _SHARE_SCENE_COL,
                _counter("share_count", "Shares."),
                _counter("share_user", "Users who shared."),
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
                *_msgid(),
                _counter("read_user", "Users who read the article that day.", level=_N),
            ),
            key=("ref_date", "msgid"),
        ),
        child_tables=(
            _scene_source_table(
                "article_read_source", "day, article", ("ref_date", "msgid"), (REF_DATE, *_msgid())
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
                *_msgid(),
                _counter("share_user", "Users who shared the article that day.", level=_N),
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
                *_engagement_2025(_N),
                _counter(
                    "redirect_ori_page_user",
                    "Users who opened the original ('read more') page.",
                    level=_N,
                ),
                _counter("send_page_count", "Articles (pages) sent that day.", level=_N),
            ),
            key=("ref_date",),
        ),
        child_tables=(
            _scene_source_table("biz_summary_read_source", "day", ("ref_date",), (REF_DATE,)),
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
                _c("ref_date", "date", "Publish date of the article (the date requested)."),
                *_msgid(),
                _c("publish_type", "smallint", f"Publish type: {describe_codes(PUBLISH_TYPE)}."),
                _TITLE,
                _c("content_url", "text", "Article URL."),
                _c("stat_date", "date", "Date the cumulative statistics run up to.", level=_N),
                *_engagement_2025(_N),
                _counter("praise_money", "Tips received, in fen (1/100 yuan).", level=_N),
                _counter("read_subscribe_user", "Readers who followed after reading.", level=_N),
                _c(
                    "read_delivery_rate",
                    "double precision",
                    "Delivery (open) rate of the notification.",
                    level=_N,
                ),
                _c(
                    "read_finish_rate",
                    "double precision",
                    "Share of readers who read to the end.",
                    level=_N,
                ),
                _c(
                    "read_avg_activetime",
                    "double precision",
                    "Average reading time, in minutes.",
                    level=_N,
                ),
            ),
            key=("ref_date", "msgid", "stat_date"),
        ),
        child_tables=(
            _scene_source_table(
                "article_total_detail_read_source",
                "article, stat_date",
                ("ref_date", "msgid", "stat_date"),
                (
                    _c("ref_date", "date", "Publish date of the article."),
                    *_msgid(),
                    _c("stat_date", "date", "Date the cumulative statistics run up to.", level=_N),
                ),
            ),
            Table(
                name="article_total_detail_jump_position",
                description="One row per article, stat_date and jump position. Share of readers "
                "who left the article at each position.",
                columns=(
                    _c("ref_date", "date", "Publish date of the article."),
                    *_msgid(),
                    _c("stat_date", "date", "Date the cumulative statistics run up to.", level=_N),
                    _c(
                        "position",
                        "smallint",
                        "Position in the article, 1..5.",
                        level=Level.ELEMENT,
                    ),
                    _c(
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
        table=_msg_table("upstream_msg", "day", REF_DATE.description),
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
        table=_msg_table("upstream_msg_hour", "day, hour", REF_DATE.description, hourly=True),
    ),
    Endpoint(
        name="getupstreammsgweek",
        family=Family.MESSAGES,
        max_span=30,
        grain=Grain.WEEKLY,
        legacy=False,
        nesting=Nesting.FLAT,
        description="Messages users sent, per week and type.",
        table=_msg_table("upstream_msg_week", "week", "Monday starting the week."),
    ),
    Endpoint(
        name="getupstreammsgmonth",
        family=Family.MESSAGES,
        max_span=30,
        grain=Grain.MONTHLY,
        legacy=False,
        nesting=Nesting.FLAT,
        description="Messages users sent, per month and type.",
        table=_msg_table("upstream_msg_month", "month", "First day of the month."),
    ),
    Endpoint(
        name="getupstreammsgdist",
        family=Family.MESSAGES,
        max_span=15,
        grain=Grain.DAILY,
        legacy=False,
        nesting=Nesting.FLAT,
        description="Distribution of users by messages sent, per day.",
        table=_dist_table("upstream_msg_dist", "day", REF_DATE.description),
    ),
    Endpoint(
        name="getupstreammsgdistweek",
        family=Family.MESSAGES,
        max_span=15,
        grain=Grain.WEEKLY,
        legacy=False,
        nesting=Nesting.FLAT,
        description="Distribution of users by messages sent, per week.",
        table=_dist_table("upstream_msg_dist_week", "week", "Monday starting the week."),
    ),
    Endpoint(
        name="getupstreammsgdistmonth",
        family=Family.MESSAGES,
        max_span=15,
        grain=Grain.MONTHLY,
        legacy=False,
        nesting=Nesting.FLAT,
        description="Distribution of users by messages sent, per month.",
        table=_dist_table("upstream_msg_dist_month", "month", "First day of the month."),
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
        table=_callback_table("interface_summary", hourly=False),
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
        table=_callback_table("interface_summary_hour", hourly=True),
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


def registry(span_overrides: Mapping[str, int] | None = None) -> dict[str, Endpoint]:
    """The registry with per-endpoint span overrides applied (the spec lists contradictions)."""
    overrides = dict(span_overrides or {})
    for name, span in overrides.items():
        get(name)
        if span < 1:
            raise ValueError(f"span override for {name} must be >= 1, got {span}")
    return {e.name: e.with_span(overrides[e.name]) if e.name in overrides else e for e in ENDPOINTS}


@dataclass(frozen=True)
class Window:
    """The begin/end dates of one API call."""

    begin: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.begin).days + 1


def plan_windows(endpoint: Endpoint, first: date, last: date) -> list[Window]:
    """Split [first, last] into the fewest calls the endpoint's span and period rules allow.

    The caller clamps to the endpoint's availability; this only packs. For week/month
    endpoints ``first``/``last`` are rounded inward to whole periods (begin and end of a call
    are both period starts).
    """
    if first > last:
        return []
    if endpoint.period is Period.DAY:
        step = timedelta(days=endpoint.max_span)
        windows: list[Window] = []
        begin = first
        while begin <= last:
            end = min(begin + step - timedelta(days=1), last)
            windows.append(Window(begin, end))
            begin = end + timedelta(days=1)
        return windows
    starts = [
        s
        for s in period_starts(endpoint.period, first, last)
        if period_end(endpoint.period, s) <= last
    ]
    packed: list[Window] = []
    for start in starts:
        if packed and (start - packed[-1].begin).days < endpoint.max_span:
            packed[-1] = Window(packed[-1].begin, start)
        else:
            packed.append(Window(start, start))
    return packed


_PERIOD_SUFFIX: Final = {Period.DAY: "", Period.WEEK: "_weekly", Period.MONTH: "_monthly"}


def asset_family(endpoint: Endpoint) -> str:
    """The endpoints fetched together (one Dagster asset): the family, and the period when it is
    not daily, e.g. ``followers``, ``messages_weekly``."""
    return f"{endpoint.family.value}{_PERIOD_SUFFIX[endpoint.period]}"
