"""The history planner: what to fetch next for every account, within today's quota.

From the coverage ledger (what is loaded), today's shared call counts and the daily budget, it
plans the days each (account, endpoint) still lacks between ``WX_START_DATE`` (or the
endpoint's first day) and the newest final day, **newest days first**, and hands the streaming
pass exactly the windows today's budget allows, leaving headroom for the nightly and late-data
runs. The next day it plans again from the ledger, so it continues where it stopped and loads
nothing twice. It also says, per account, what the rest of the history costs: the calls, and
the days of quota they take.

``plan_history`` is pure; ``gather_state`` reads the warehouse and the API's remaining quota.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from wx_pipeline.core.settings import BEIJING, Account
from wx_pipeline.registry import Endpoint, Window, next_period, period_end, plan_windows
from wx_pipeline.warehouse.calls import DayCalls, calls_on
from wx_pipeline.warehouse.coverage import covered_days, days_loaded, is_final
from wx_pipeline.wechat.client import Job

#: The daily quota WeChat is assumed to allow per account and endpoint when neither
#: WX_DAILY_BUDGET nor the quota API says (spec section 5: one client assumes 1000).
ASSUMED_DAILY_QUOTA = 1000
#: When the day's scheduled runs start, after the data-ready time (the schedules use these):
#: until the late-data refresh has started, the fill keeps back the calls those runs need.
NIGHTLY_AFTER_READY = timedelta(minutes=30)
LATE_DATA_AFTER_READY = timedelta(minutes=120)


def quota_days(calls: int, left: int, allowance: int) -> int | None:
    """Days of quota ``calls`` take beyond today's ``left``, at ``allowance`` a day; None when
    the budget leaves the history nothing after the scheduled runs."""
    rest = max(calls - left, 0)
    if not rest:
        return 0
    return math.ceil(rest / allowance) if allowance > 0 else None


def slowest(days: Iterable[int | None]) -> int | None:
    """The days the slowest of several buckets takes (None: one never finishes)."""
    out = 0
    for d in days:
        if d is None:
            return None
        out = max(out, d)
    return out


def shown_days(days: int | None) -> str:
    """Days of quota for people: a number, or "never" (not at this budget)."""
    return "never" if days is None else str(days)


def keeps_headroom(now: datetime, ready: time) -> bool:
    """Whether the nightly and late-data runs of ``now``'s Beijing day are still to come."""
    local = now.astimezone(BEIJING)
    return local < datetime.combine(local.date(), ready, tzinfo=BEIJING) + LATE_DATA_AFTER_READY


def left_today(budget: int, used: int, keep: int, exhausted: bool, keeping: bool) -> int:
    """Calls the fill may still make today: the budget, less today's calls by every run, less
    the headroom while the scheduled runs are still to come."""
    if exhausted:
        return 0
    return max(budget - used - (keep if keeping else 0), 0)


@dataclass(frozen=True)
class BucketState:
    """One account's endpoint today: the history it lacks and the quota it has left."""

    needed: tuple[date, ...]  # days (period starts) to fetch, ascending
    allowance: int  # calls it may make per day for history (budget less headroom)
    left_today: int  # of which still available today
    kept_back: int = 0  # calls still kept today for the nightly and late-data runs


@dataclass
class AccountProgress:
    """Where one account's history stands after today's plan."""

    app_id: str
    missing_days: int = 0  # (endpoint, day) pairs not loaded yet, today's work included
    planned_calls: int = 0  # calls planned today
    remaining_calls: int = 0  # calls the history needs after today
    #: Days of quota the remaining calls take (0: done today; None: not at this budget).
    days_of_quota: int | None = 0

    def finish(self, today: date) -> date | None:
        """The Beijing day the history is expected to be complete (None: not at this budget)."""
        return None if self.days_of_quota is None else today + timedelta(days=self.days_of_quota)


@dataclass
class HistoryPlan:
    """Today's work, and per account what is left."""

    work: list[Job] = field(default_factory=list)
    accounts: dict[str, AccountProgress] = field(default_factory=dict)

    @property
    def planned_calls(self) -> int:
        return sum(p.planned_calls for p in self.accounts.values())

    @property
    def remaining_calls(self) -> int:
        return sum(p.remaining_calls for p in self.accounts.values())


@functools.lru_cache(maxsize=256)
def expected_set(endpoint: Endpoint, start: date, newest: date) -> frozenset[date]:
    """Every day (period start) of ``endpoint`` from ``start`` whose data is final by
    ``newest``; worked out once per endpoint and range: the status of a hundred accounts over
    a decade asks for the same 4,000 days 2,000 times."""
    first = max(start, endpoint.first_date)
    return frozenset(
        d for d in covered_days(endpoint, first, newest) if period_end(endpoint.period, d) <= newest
    )


@functools.lru_cache(maxsize=256)
def expected_days(endpoint: Endpoint, start: date, newest: date) -> tuple[date, ...]:
    """``expected_set`` in order: filtering it keeps the order, where sorting what is left
    cost most of the status of a hundred accounts."""
    return tuple(sorted(expected_set(endpoint, start, newest)))


def needed_days(
    endpoint: Endpoint, start: date, newest: date, loaded: Mapping[date, bool]
) -> list[date]:
    """Days not loaded yet, and cumulative send dates loaded before their totals were final
    that are final now, in order."""
    expected = expected_days(endpoint, start, newest)
    if not loaded:
        return list(expected)
    refetch = {d for d, final in loaded.items() if not final and is_final(endpoint, d, newest)}
    return [d for d in expected if d not in loaded or d in refetch]


@functools.lru_cache(maxsize=256)
def headroom(endpoint: Endpoint, newest: date) -> int:
    """Calls kept back each day for the runs after the fill: the nightly one and, for the
    endpoints WeChat revises late, the late-data refresh."""
    nightly = len(plan_windows(endpoint, endpoint.request_start(newest), newest)) or 1
    late = nightly if endpoint.revision_days or endpoint.has_is_delay else 0
    return nightly + late


def period_runs(endpoint: Endpoint, days: Sequence[date]) -> list[tuple[date, date]]:
    """Runs of consecutive days (weeks, months: of consecutive periods), each as (its first
    day, the last day of its last period)."""
    period = endpoint.period
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and next_period(period, runs[-1][1]) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return [(first, period_end(period, last)) for first, last in runs]


def newest_first(endpoint: Endpoint, days: Sequence[date]) -> list[Window]:
    """The fewest windows fetching ``days``, newest first."""
    windows = [
        w
        for first, last in period_runs(endpoint, days)
        for w in plan_windows(endpoint, first, last)
    ]
    return sorted(windows, key=lambda w: w.begin, reverse=True)


def fewest_calls(endpoint: Endpoint, days: Sequence[date]) -> int:
    """``len(newest_first(endpoint, days))``; accounts loaded alike (an agency's, onboarded
    together) miss the same days, so it is worked out once per endpoint and set of days."""
    return _fewest_calls(endpoint, tuple(days))


@functools.lru_cache(maxsize=128)
def _fewest_calls(endpoint: Endpoint, days: tuple[date, ...]) -> int:
    return len(newest_first(endpoint, days))


def _as_work(account: Account, endpoint: Endpoint, windows: Sequence[Window]) -> list[Job]:
    """Contiguous windows as jobs (planned again by the pass, they give the same windows)."""
    work: list[Job] = []
    for w in sorted(windows, key=lambda w: w.begin):
        # A week/month window names its last period by its start: the job runs to its end.
        last = period_end(endpoint.period, w.end)
        if work and work[-1].last + timedelta(days=1) >= w.begin:
            work[-1] = Job(account, endpoint, work[-1].first, last)
        else:
            work.append(Job(account, endpoint, w.begin, last))
    return work


def plan_history(
    accounts: Sequence[Account],
    endpoints: Sequence[Endpoint],
    state: Mapping[tuple[str, str], BucketState],
) -> HistoryPlan:
    """Today's work (newest days first, within each bucket's quota) and what is left."""
    plan = HistoryPlan()
    for account in accounts:
        progress = plan.accounts.setdefault(account.app_id, AccountProgress(account.app_id))
        for endpoint in endpoints:
            bucket = state.get((account.app_id, endpoint.name))
            if bucket is None or not bucket.needed:
                continue
            windows = newest_first(endpoint, bucket.needed)
            today = windows[: max(bucket.left_today, 0)]
            rest = len(windows) - len(today)
            plan.work.extend(_as_work(account, endpoint, today))
            progress.missing_days += len(bucket.needed)
            progress.planned_calls += len(today)
            progress.remaining_calls += rest
            days = quota_days(rest, 0, bucket.allowance)
            progress.days_of_quota = slowest([progress.days_of_quota, days])
    # Endpoint by endpoint across accounts, as plan_work orders a pass (module ingest).
    order = {e.name: i for i, e in enumerate(endpoints)}
    plan.work.sort(key=lambda w: order[w.endpoint.name])
    return plan


def gather_state(
    conn: sa.Connection,
    accounts: Sequence[Account],
    endpoints: Sequence[Endpoint],
    start: date,
    newest: date,
    today: date,
    daily_budget: int | None,
    keeping: bool,
) -> dict[tuple[str, str], BucketState]:
    """Each bucket with history to fetch: its days from the ledger, today's quota from the
    shared counts (see ``apply_quota`` for the API's own figure); ``keeping``: the headroom
    is still kept (``keeps_headroom``)."""
    used = calls_on(conn, today, [a.app_id for a in accounts])
    budget = daily_budget or ASSUMED_DAILY_QUOTA
    state: dict[tuple[str, str], BucketState] = {}
    for account in accounts:
        ledger = days_loaded(conn, account.app_id)
        for endpoint in endpoints:
            key = (account.app_id, endpoint.name)
            loaded = ledger.get(endpoint.name, {})
            needed = needed_days(endpoint, start, newest, loaded)
            if not needed:
                continue
            keep = headroom(endpoint, newest)
            counted = used.get(key, DayCalls(0, False))
            state[key] = BucketState(
                needed=tuple(needed),
                allowance=budget - keep,
                left_today=left_today(budget, counted.calls, keep, counted.exhausted, keeping),
                kept_back=keep if keeping else 0,
            )
    return state


def apply_quota(
    state: Mapping[tuple[str, str], BucketState],
    remaining: Mapping[tuple[str, str], int | None],
) -> dict[tuple[str, str], BucketState]:
    """``state`` with today's calls cut to what WeChat's quota API says is left (less what is
    still kept back for the nightly and late-data runs), where it says."""
    out = dict(state)
    for key, bucket in state.items():
        remain = remaining.get(key)
        if remain is not None:
            left = min(bucket.left_today, max(remain - bucket.kept_back, 0))
            out[key] = BucketState(bucket.needed, bucket.allowance, left, bucket.kept_back)
    return out
