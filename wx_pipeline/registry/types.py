"""The registry's vocabulary: what an endpoint, a table and a column are.

Facts come from ``wechat-datacube-api.md``. Where the spec is ambiguous the registry states the
assumption the whole project follows:

* Week/month endpoints are addressed by period start: ``begin_date`` and ``end_date`` must both
  be Mondays (weekly) or 1st-of-month dates (monthly); the answer holds one set of rows per
  period whose start lies in [begin_date, end_date] and that has fully ended by yesterday.
  Anything else is 61501.
* A span of N days allows N calendar days counted inclusively: ``(end - begin).days < N``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final, Literal

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

    @property
    def asset_group(self) -> str:
        """The endpoints fetched together (one Dagster asset, one line of the status): the
        family, and the period when it is not daily, e.g. ``followers``, ``messages_weekly``."""
        return f"{self.family.value}{_PERIOD_SUFFIX[self.period]}"


_PERIOD_SUFFIX: Final = {Period.DAY: "", Period.WEEK: "_weekly", Period.MONTH: "_monthly"}
