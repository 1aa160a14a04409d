"""The history planner (pure): newest days first, within each bucket's quota, and what is left."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from pydantic import SecretStr

from wx_pipeline.core.settings import Account
from wx_pipeline.pipeline.history import (
    BucketState,
    apply_quota,
    fewest_calls,
    headroom,
    needed_days,
    newest_first,
    period_runs,
    plan_history,
    quota_days,
)
from wx_pipeline.registry import BY_NAME, next_period, period_end, plan_windows

A = Account(app_id="wxplan000000000001", name="A", secret=SecretStr("s"))
B = Account(app_id="wxplan000000000002", name="B", secret=SecretStr("s"))
DAILY, WEEKLY, CUMULATIVE = (
    BY_NAME[n] for n in ("getinterfacesummaryhour", "getupstreammsgweek", "getarticletotal")
)
NEWEST = date(2026, 3, 16)


def days(first: date, last: date) -> tuple[date, ...]:
    return tuple(first + timedelta(days=i) for i in range((last - first).days + 1))


def test_newest_days_first_within_the_quota() -> None:
    needed = days(date(2026, 1, 1), NEWEST)  # 75 days, one call each
    state = {(A.app_id, DAILY.name): BucketState(needed, allowance=30, left_today=20)}
    plan = plan_history([A], [DAILY], state)
    assert [(w.first, w.last) for w in plan.work] == [(NEWEST - timedelta(days=19), NEWEST)]
    progress = plan.accounts[A.app_id]
    assert (progress.planned_calls, progress.remaining_calls) == (20, 55)
    assert progress.days_of_quota == 2  # 55 more calls at 30 a day
    assert progress.finish(NEWEST) == NEWEST + timedelta(days=2)


def test_gaps_are_filled_newest_first_and_weeks_as_whole_periods() -> None:
    gappy = (*days(date(2026, 2, 1), date(2026, 2, 3)), *days(date(2026, 3, 1), date(2026, 3, 2)))
    mondays = (date(2026, 2, 2), date(2026, 2, 9), date(2026, 2, 23))
    state = {
        (A.app_id, DAILY.name): BucketState(gappy, allowance=10, left_today=3),
        (B.app_id, WEEKLY.name): BucketState(mondays, allowance=10, left_today=10),
    }
    plan = plan_history([A, B], [DAILY, WEEKLY], state)
    daily = [(w.first, w.last) for w in plan.work if w.endpoint is DAILY]
    assert daily == [(date(2026, 2, 3), date(2026, 2, 3)), (date(2026, 3, 1), date(2026, 3, 2))]
    weekly = [(w.first, w.last) for w in plan.work if w.endpoint is WEEKLY]
    # Consecutive weeks in one job to the Sunday of its last week; the gap starts another.
    assert weekly == [(date(2026, 2, 2), date(2026, 2, 15)), (date(2026, 2, 23), date(2026, 3, 1))]
    assert plan.accounts[A.app_id].remaining_calls == 2


def test_a_budget_below_the_headroom_never_finishes_and_says_so() -> None:
    assert headroom(CUMULATIVE, NEWEST) == 2 * 7  # nightly and late-data, 7 send dates each
    assert quota_days(10, 4, 3) == 2
    assert quota_days(10, 10, 0) == 0
    assert quota_days(10, 4, 0) is None
    state = {(A.app_id, DAILY.name): BucketState(days(NEWEST, NEWEST), 0, 0)}
    assert plan_history([A], [DAILY], state).accounts[A.app_id].days_of_quota is None


def test_the_apis_own_quota_cuts_today_less_what_is_kept_back() -> None:
    state = {(A.app_id, DAILY.name): BucketState(days(NEWEST, NEWEST), 50, 40, kept_back=5)}
    cut = apply_quota(state, {(A.app_id, DAILY.name): 12})
    assert cut[(A.app_id, DAILY.name)].left_today == 7
    assert apply_quota(state, {(A.app_id, DAILY.name): None}) == state


def test_needed_days_are_the_missing_and_the_provisional_that_are_final_now() -> None:
    first = NEWEST - timedelta(days=19)
    loaded = dict.fromkeys(days(first, NEWEST - timedelta(days=10)), True)
    loaded[first] = False  # its tail was still growing when fetched; it is complete now
    loaded[NEWEST - timedelta(days=10)] = False  # 10 days old: a 7-day tail is complete
    got = needed_days(CUMULATIVE, first, NEWEST, loaded)
    assert got == [first, NEWEST - timedelta(days=10), *days(NEWEST - timedelta(days=9), NEWEST)]
    recent = {NEWEST - timedelta(days=2): False}  # still growing: the nightly run's work
    assert NEWEST - timedelta(days=2) not in needed_days(CUMULATIVE, first, NEWEST, recent)
    assert len(newest_first(CUMULATIVE, got)) == len(got)  # one send date per call


def test_runs_of_days_weeks_and_months_and_the_calls_they_take() -> None:
    monthly = BY_NAME["getupstreammsgmonth"]
    cases = {
        DAILY: [d for d in days(date(2025, 1, 1), NEWEST) if d.day not in (5, 6, 20)],
        WEEKLY: [date(2025, 12, 29) + timedelta(weeks=w) for w in (0, 1, 2, 4, 5, 9)],
        monthly: [date(2025, 1, 1), date(2025, 2, 1), date(2025, 4, 1), date(2025, 5, 1)],
    }
    for endpoint, chosen in cases.items():
        runs = period_runs(endpoint, list(reversed(chosen)))
        # Every chosen period in exactly one run; the periods of a run consecutive; runs apart.
        periods = []
        for first, last in runs:
            period = first
            while period <= last:
                periods.append(period)
                period = next_period(endpoint.period, period)
            assert period_end(endpoint.period, periods[-1]) == last
        assert periods == sorted(chosen), endpoint.name
        for (_, last), (first, _) in itertools.pairwise(runs):
            assert first > last + timedelta(days=1), endpoint.name
        calls = sum(len(plan_windows(endpoint, first, last)) for first, last in runs)
        assert fewest_calls(endpoint, chosen) == calls == len(newest_first(endpoint, chosen))
    assert len(period_runs(DAILY, cases[DAILY])) == 2 * 15  # two gaps in each of 15 months
