"""The coverage ledger: which days of which endpoint are loaded for which account.

The loader writes it (``load_window``) in the transaction that replaces the days' facts, from
what it is given here: one ``LedgerDay`` per day (a week's Monday, a month's 1st) the loaded
answers cover, naming the archive row it came from and whether it was final when fetched. A
cumulative article endpoint's send date is final only once its whole tail of running totals
(``revision_days``) was final at fetch time; any other day the pipeline loads is final, since
it never asks for one that is not (``clock.py``).

Reading it (``days_loaded``) is how the history planner and ``wx-pipeline status`` know what
is there without counting facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa
from psycopg import Cursor

from wx_pipeline.registry import Endpoint, next_period, period_start
from wx_pipeline.warehouse.schema import coverage
from wx_pipeline.wechat.raw import RawResponse


@dataclass(frozen=True)
class LedgerDay:
    """One day of an endpoint's window as the ledger records it."""

    day: date
    archive_id: int | None
    final: bool
    final_through: date | None = None  # the newest final day when fetched


def covered_days(endpoint: Endpoint, begin: date, end: date) -> list[date]:
    """The days (period starts for week/month endpoints) a request for [begin, end] answers."""
    days, day = [], period_start(endpoint.period, begin)
    if day < begin:
        day = next_period(endpoint.period, day)
    while day <= end:
        days.append(day)
        day = next_period(endpoint.period, day)
    return days


def is_final(endpoint: Endpoint, day: date, final_through: date | None) -> bool:
    """Whether ``day``'s data was final when fetched with ``final_through`` the newest final
    day: for a cumulative endpoint, its whole tail must have been."""
    if not endpoint.cumulative or final_through is None:
        return True
    return day + timedelta(days=endpoint.revision_days - 1) <= final_through


def ledger_days(
    endpoint: Endpoint, responses: Sequence[RawResponse], archive_ids: Sequence[int | None]
) -> list[LedgerDay]:
    """The ledger rows for ``responses`` of one endpoint and account (later answers win)."""
    days: dict[date, LedgerDay] = {}
    for response, archive_id in zip(responses, archive_ids, strict=True):
        for day in covered_days(endpoint, response.begin, response.end):
            final = is_final(endpoint, day, response.final_through)
            days[day] = LedgerDay(day, archive_id, final, response.final_through)
    return [days[d] for d in sorted(days)]


def write_ledger(
    cur: Cursor[object],
    endpoint: Endpoint,
    account_id: str,
    begin: date,
    end: date,
    days: Iterable[LedgerDay],
    main: pd.DataFrame,
    run_id: str | None,
) -> None:
    """Replace the ledger's rows of [begin, end] (the loader calls this in its transaction)."""
    per_day = main["ref_date"].dt.date.value_counts().to_dict() if len(main) else {}
    cur.execute(
        "DELETE FROM wechat_meta.coverage "
        "WHERE account_id = %s AND endpoint = %s AND day BETWEEN %s AND %s",
        (account_id, endpoint.name, begin, end),
    )
    cur.executemany(
        "INSERT INTO wechat_meta.coverage "
        "(account_id, endpoint, day, rows, final, final_through, archive_id, run_id) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        [
            (account_id, endpoint.name, d.day, rows, d.final, d.final_through, d.archive_id, run_id)
            for d in days
            for rows in [int(per_day.get(d.day, 0))]
        ],
    )


def days_loaded(
    conn: sa.Connection, account_id: str, endpoints: Sequence[str] | None = None
) -> dict[str, dict[date, bool]]:
    """{endpoint: {day: final}} of what the ledger holds for one account (of ``endpoints``
    only, when given): one query per account (a hundred accounts' status asked 2,100 times,
    once per endpoint), and one account's decade at a time in memory, not every account's."""
    query = sa.select(coverage.c.endpoint, coverage.c.day, coverage.c.final).where(
        coverage.c.account_id == account_id
    )
    if endpoints is not None:
        # An asset's status reads its own endpoints' days: all 21 each time was 7x the rows.
        query = query.where(coverage.c.endpoint.in_(list(endpoints)))
    loaded: dict[str, dict[date, bool]] = {}
    for row in conn.execute(query):
        loaded.setdefault(row.endpoint, {})[row.day] = bool(row.final)
    return loaded


@dataclass(frozen=True)
class RunLoad:
    """What one run loaded, from the ledger: its days' span and its accounts."""

    first: date
    last: date
    accounts: tuple[str, ...]


def loaded_by_run(conn: sa.Connection, run_id: str) -> RunLoad | None:
    """The days and accounts the run ``run_id`` loaded (None: nothing, or since replaced)."""
    row = conn.execute(
        sa.select(
            sa.func.min(coverage.c.day).label("first"),
            sa.func.max(coverage.c.day).label("last"),
            sa.func.array_agg(sa.distinct(coverage.c.account_id)).label("accounts"),
        ).where(coverage.c.run_id == run_id)
    ).one()
    if row.first is None:
        return None
    return RunLoad(row.first, row.last, tuple(sorted(row.accounts)))
