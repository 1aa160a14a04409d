"""Column builders: the spec's field groups (the 8 read counters, the sourced reads, message and
callback tables...), written once and used by the endpoint entries (``endpoints.py``)."""

from __future__ import annotations

from wx_pipeline.registry.codes import (
    ALL_SOURCES,
    COUNT_INTERVAL,
    MSG_TYPE,
    READ_SOURCE,
    SCENE_DESC,
    SHARE_SCENE,
    describe_codes,
)
from wx_pipeline.registry.types import Agg, Column, Level, SqlType, Table, Transform


def column(
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


def counter(
    name: str, description: str, *, level: Level = Level.ITEM, optional: bool = False
) -> Column:
    return column(name, "bigint", description, level=level, optional=optional, agg=Agg.SUM)


REF_DATE = column("ref_date", "date", "Beijing calendar date the row reports on.")
HOUR = column(
    "hour",
    "smallint",
    "Hour of the Beijing day, 0-23 (the API's HHMM ref_hour 0..2300 divided by 100).",
    source="ref_hour",
    transform=Transform.HHMM_TO_HOUR,
)


def msgid_columns(level: Level = Level.ITEM) -> tuple[Column, ...]:
    return (
        column(
            "msgid",
            "text",
            'Article id as sent: "<message id>_<article index>", e.g. 12003_3.',
            level=level,
        ),
        column(
            "msg_data_id",
            "bigint",
            "Message (mass send) id: the part of msgid before the underscore.",
            source="msgid",
            transform=Transform.MSGID_DATA_ID,
            level=level,
        ),
        column(
            "article_index",
            "smallint",
            "Position of the article in its message, from 1: the part of msgid after the "
            "underscore.",
            source="msgid",
            transform=Transform.MSGID_INDEX,
            level=level,
        ),
    )


def read_counters(level: Level = Level.ITEM) -> tuple[Column, ...]:
    """The 8 read counters; int_page = the article page, ori_page = the 'read more' page."""
    return (
        counter("int_page_read_user", "Users who read the article page.", level=level),
        counter("int_page_read_count", "Reads (views) of the article page.", level=level),
        counter(
            "ori_page_read_user",
            "Users who read the original ('read more') page; 0 when there is none.",
            level=level,
        ),
        counter(
            "ori_page_read_count",
            "Reads of the original ('read more') page; 0 when there is none.",
            level=level,
        ),
        counter("share_user", "Users who shared.", level=level),
        counter("share_count", "Shares.", level=level),
        counter("add_to_fav_user", "Users who added to favourites.", level=level),
        counter("add_to_fav_count", "Times added to favourites.", level=level),
    )


def sourced_reads() -> tuple[Column, ...]:
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
            counter(f"int_page_from_{src}_read_user", f"Users who read from {label}.", level=n)
        )
        cols.append(counter(f"int_page_from_{src}_read_count", f"Reads from {label}.", level=n))
    for src, label in (
        ("session", "conversations"),
        ("feed", "Moments"),
        ("other", "other places"),
    ):
        cols.append(
            counter(
                f"feed_share_from_{src}_user", f"Users who shared to Moments from {label}.", level=n
            )
        )
        cols.append(
            counter(f"feed_share_from_{src}_cnt", f"Shares to Moments from {label}.", level=n)
        )
    for src, label in (("kanyikan", "Top Stories (kanyikan)"), ("souyisou", "Search (souyisou)")):
        note = " Absent from some responses: NULL then."
        cols.append(
            counter(
                f"int_page_from_{src}_read_user",
                f"Users who read from {label}.{note}",
                level=n,
                optional=True,
            )
        )
        cols.append(
            counter(
                f"int_page_from_{src}_read_count",
                f"Reads from {label}.{note}",
                level=n,
                optional=True,
            )
        )
    return tuple(cols)


def engagement_2025(level: Level) -> tuple[Column, ...]:
    return (
        counter("read_user", "Users who read.", level=level),
        counter("share_user", "Users who shared.", level=level),
        counter("zaikan_user", "Users who tapped 'Wow' (zaikan).", level=level),
        counter("like_user", "Users who liked.", level=level),
        counter("comment_count", "Comments.", level=level),
        counter("collection_user", "Users who collected (favourited).", level=level),
    )


def scene_source_table(
    name: str, grain: str, parent_key: tuple[str, ...], level_cols: tuple[Column, ...]
) -> Table:
    return Table(
        name=name,
        description=f"One row per {grain} and read scene. Readers by where they came from "
        "(the read_user_source array).",
        columns=(
            *level_cols,
            column(
                "scene_desc",
                "text",
                f"Read scene as the API sends it (Chinese text): {describe_codes(SCENE_DESC)}.",
                level=Level.ELEMENT,
            ),
            counter("user_count", "Users who read from this scene.", level=Level.ELEMENT),
        ),
        key=(*parent_key, "scene_desc"),
        array_field="read_user_source",
    )


def msg_table(name: str, grain_text: str, date_text: str, *, hourly: bool = False) -> Table:
    return Table(
        name=name,
        description=f"One row per {grain_text} and message type. "
        "Messages users sent to the account.",
        columns=(
            column("ref_date", "date", date_text),
            *((HOUR,) if hourly else ()),
            column("msg_type", "integer", f"Message type: {describe_codes(MSG_TYPE)}."),
            counter("msg_user", "Users who sent messages of this type."),
            counter("msg_count", "Messages of this type."),
        ),
        key=("ref_date", *(("hour",) if hourly else ()), "msg_type"),
    )


def dist_table(name: str, grain_text: str, date_text: str) -> Table:
    return Table(
        name=name,
        description=f"One row per {grain_text} and message-count bucket. "
        "How many users sent how many messages.",
        columns=(
            column("ref_date", "date", date_text),
            column(
                "count_interval",
                "integer",
                f"Messages sent by a user: {describe_codes(COUNT_INTERVAL)}.",
            ),
            counter("msg_user", "Users whose message count falls in this bucket."),
        ),
        key=("ref_date", "count_interval"),
    )


def callback_table(name: str, *, hourly: bool) -> Table:
    grain = "day and hour" if hourly else "day"
    return Table(
        name=name,
        description=f"One row per {grain}. Calls WeChat made to the account's callback server and "
        "their latency; average latency = total_time_cost / callback_count.",
        columns=(
            REF_DATE,
            *((HOUR,) if hourly else ()),
            counter("callback_count", "Callbacks WeChat made to the account's server."),
            counter("fail_count", "Callbacks that failed."),
            counter("total_time_cost", "Sum of callback latencies, in milliseconds."),
            column("max_time_cost", "bigint", "Slowest callback, in milliseconds.", agg=Agg.MAX),
        ),
        key=("ref_date", *(("hour",) if hourly else ())),
    )


READ_SOURCE_COL = column(
    "user_source",
    "integer",
    f"Read source: {describe_codes(READ_SOURCE)}. Answers before 2016 have no sources: their one "
    f"row per day (or hour) is the total, {ALL_SOURCES}.",
    # The 2015 documentation's answers: one row per day, all sources together.
    absent_as=ALL_SOURCES,
)
SHARE_SCENE_COL = column(
    "share_scene", "integer", f"Where it was shared: {describe_codes(SHARE_SCENE)}."
)
TITLE = column("title", "text", "Article title.")
