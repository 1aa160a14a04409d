"""Rebuild fact tables from the raw archive, without calling the API.

Per (endpoint, account): every archived day is owned by the latest fetched response whose
window covers it (a later fetch revises earlier data and may overlap earlier windows
partially); each response contributes only the rows of the days it owns. The covered days are
then reloaded with `load_window`, one transaction per contiguous run of days, the coverage
ledger with them (each day naming the archive row it is rebuilt from). Days the archive does
not cover are left alone.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import orjson
import pandas as pd
import sqlalchemy as sa

from wx_pipeline import registry
from wx_pipeline.registry import Endpoint, period_end
from wx_pipeline.warehouse.archive import ArchivedResponse, iter_archived
from wx_pipeline.warehouse.coverage import ledger_days
from wx_pipeline.warehouse.load import load_window
from wx_pipeline.warehouse.normalize import Drift, normalize_many
from wx_pipeline.wechat.raw import RawResponse


@dataclass
class RenormalizeResult:
    """What a rebuild did."""

    responses: int = 0  # archived responses used
    rows: Counter[str] = field(default_factory=Counter)  # rows loaded per table
    windows: int = 0  # load transactions
    drift: Drift = field(default_factory=Drift)
    #: The first and last day rebuilt, over every endpoint and account (the marts' window).
    first: date | None = None
    last: date | None = None

    def rebuilt(self, first: date, last: date) -> None:
        self.first = min(first, self.first or first)
        self.last = max(last, self.last or last)


def owned_days(
    endpoint: Endpoint,
    archived: Sequence[ArchivedResponse],
    start: date | None = None,
    end: date | None = None,
) -> list[set[date]]:
    """For each response (in fetch order), the days within [start, end] it is the latest for.

    A week/month response covers its window up to the end of its last period: no other
    period start lies in between, so nothing of another window is claimed.
    """
    owner: dict[date, int] = {}
    for i, item in enumerate(archived):
        r = item.response
        first = max(r.begin, start) if start else r.begin
        last = period_end(endpoint.period, r.end)
        last = min(last, end) if end else last
        day = first
        while day <= last:
            owner[day] = i
            day += timedelta(days=1)
    owned: list[set[date]] = [set() for _ in archived]
    for day, i in owner.items():
        owned[i].add(day)
    return owned


def day_runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Contiguous runs of `days`, as (first, last) pairs in order. In numpy, on day numbers:
    the status of a hundred accounts with a decade of history missing walks millions of days."""
    ordinals = np.unique(np.fromiter((d.toordinal() for d in days), dtype=np.int64))
    if not len(ordinals):
        return []
    breaks = np.flatnonzero(np.diff(ordinals) != 1)
    firsts = ordinals[np.concatenate(([0], breaks + 1))]
    lasts = ordinals[np.concatenate((breaks, [len(ordinals) - 1]))]
    return [
        (date.fromordinal(int(first)), date.fromordinal(int(last)))
        for first, last in zip(firsts, lasts, strict=True)
    ]


def _restricted(response: RawResponse, days: set[date]) -> RawResponse:
    """`response` with only the list items of `days` (items with an unreadable ref_date stay,
    so normalizing reports them)."""
    body = response.body
    items = body.get("list") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return response

    def keep(item: object) -> bool:
        text = item.get("ref_date") if isinstance(item, dict) else None
        try:
            return date.fromisoformat(text) in days if isinstance(text, str) else True
        except ValueError:
            return True

    kept = [item for item in items if keep(item)]
    return dataclasses.replace(response, content=orjson.dumps({**body, "list": kept}))


def _rebuild_account(
    engine: sa.Engine,
    endpoint: Endpoint,
    account_id: str,
    archived: Sequence[ArchivedResponse],
    start: date | None,
    end: date | None,
    run_id: str | None,
    result: RenormalizeResult,
) -> None:
    owned = owned_days(endpoint, archived, start, end)
    responses: list[RawResponse] = []
    ids: list[int | None] = []
    for item, days in zip(archived, owned, strict=True):
        if not days:
            continue
        r = item.response
        full = (r.end - r.begin).days + 1
        whole = len(days) >= full and min(days) <= r.begin and max(days) >= r.end
        responses.append(r if whole else _restricted(r, days))
        ids.append(item.id)
    if not responses:
        return
    normalized = normalize_many(responses, ids)
    result.responses += len(responses)
    result.drift.update(normalized.drift)
    frames = normalized.frames_for(endpoint, account_id)
    # Each owned day keeps in the ledger the archive row it is rebuilt from.
    ledger = {
        d.day: d
        for item, days in zip(archived, owned, strict=True)
        for d in ledger_days(endpoint, [item.response], [item.id])
        if d.day in days
    }
    for first, last in day_runs(set().union(*owned)):
        window = {
            name: frame[frame["ref_date"].between(pd.Timestamp(first), pd.Timestamp(last))]
            for name, frame in frames.items()
        }
        run_ledger = [ledger[d] for d in sorted(ledger) if first <= d <= last]
        loaded = load_window(
            engine, endpoint, account_id, first, last, window, run_id, ledger=run_ledger
        )
        result.rows.update(loaded.rows)
        result.windows += 1
        result.rebuilt(first, last)


def renormalize(
    engine: sa.Engine,
    *,
    endpoints: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    account_id: str | None = None,
    run_id: str | None = None,
) -> RenormalizeResult:
    """Rebuild the facts of `endpoints` (default: all) for [start, end] from the archive."""
    names = list(endpoints) if endpoints else [e.name for e in registry.ENDPOINTS]
    chosen = [registry.get(name) for name in names]
    result = RenormalizeResult()
    for endpoint in chosen:
        archived = iter_archived(engine, endpoint.name, start, end, account_id)
        for account, group in itertools.groupby(archived, key=lambda a: a.response.account_id):
            _rebuild_account(engine, endpoint, account, list(group), start, end, run_id, result)
    return result
