"""What the report is made of: the period, each account's headline figures and the rows of
every section, as read from the marts. Plain data shared by the queries, charts and page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from typing import Any

#: One result row of a section query, by column name.
Row = Mapping[str, Any]

#: Days in the default period when only its end is known: four weeks, the longest rolling sum.
DEFAULT_DAYS = 28


@dataclass(frozen=True)
class Period:
    """Beijing days, both ends included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def label(self) -> str:
        return f"{self.first.isoformat()} to {self.last.isoformat()}"

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(self.days)]


@dataclass(frozen=True)
class KeyFigures:
    """One account's headline figures over the period. None: the mart has no row for it."""

    account_id: str
    name: str
    followers_end: int | None
    followers_end_date: date | None
    new_followers: int | None
    cancelled_followers: int | None
    net_growth: int | None
    articles_sent: int
    article_readers: int | None
    reads: int | None
    shares: int | None
    messages: int | None
    callbacks: int | None
    callback_failures: int | None
    failure_rate: float | None
    avg_latency_ms: float | None
    max_latency_ms: int | None
    latency_breach_days: int | None

    @classmethod
    def from_row(cls, row: Row, name: str) -> KeyFigures:
        names = {f.name for f in fields(cls)} - {"name"}
        return cls(name=name, **{k: row[k] for k in names})

    def as_json(self) -> dict[str, Any]:
        """JSON-ready values (dates as ISO strings)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, date) else value
        return out


@dataclass(frozen=True)
class ReportData:
    """Everything the page shows, read in one pass over the marts."""

    period: Period
    latency_threshold_ms: float
    top_articles: int
    figures: tuple[KeyFigures, ...]
    #: Section query name (its .sql file's stem) -> rows of every selected account.
    rows: Mapping[str, Sequence[Row]] = field(default_factory=dict)

    def rows_for(self, query: str, account_id: str) -> list[Row]:
        return [r for r in self.rows.get(query, ()) if r["account_id"] == account_id]
