"""Counting datacube calls and enforcing a daily budget per account and endpoint.

Quota is the scarce resource: WeChat allows a fixed number of calls per account, endpoint and
Beijing day (45009 beyond it). Every call the client makes, retries included, is counted here
under the Beijing day it was made; a budget stops the client *before* the API would, with a
message saying which account, endpoint and how much was used.

With a ``CallStore`` (the warehouse's ``wechat_meta.api_calls``), the count is shared by every
process and run: calls are taken from the store before they are made, a chunk's worth at a time
(``prepay``), so a budget holds across processes at one round trip per chunk; what a process
took and did not use goes back at the end (``settle``). A 45009 marks the bucket exhausted for
the day in the store: no process calls that endpoint for that account again until midnight.
Without a store, counts live in the process.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from wx_pipeline.wechat.errors import BudgetExceededError, CallContext


@dataclass(frozen=True, order=True)
class CallKey:
    """One quota bucket: an account's calls to one endpoint on one Beijing day."""

    account_id: str
    endpoint: str
    day: date


class CallStore(Protocol):
    """A count shared between processes (see the module docstring)."""

    def take(self, key: CallKey, calls: int, budget: int | None) -> int:
        """Atomically add up to ``calls`` to the bucket within ``budget`` (none when the bucket
        is exhausted); returns how many were granted."""

    def give_back(self, key: CallKey, calls: int) -> None:
        """Return calls taken and not made."""

    def mark_exhausted(self, key: CallKey) -> None:
        """WeChat answered 45009: no more calls in this bucket today."""


class CallCounter:
    """Calls made per (account, endpoint, Beijing day), with an optional budget per bucket.

    ``reserve`` is called from the event loop for each call and checks and counts without
    awaiting in between, so concurrent tasks cannot both take the last call; ``prepay`` and
    ``settle`` may run in other threads.
    """

    def __init__(self, daily_budget: int | None = None, store: CallStore | None = None) -> None:
        self.daily_budget = daily_budget
        self.store = store
        self._counts: Counter[CallKey] = Counter()  # calls made by this process
        self._prepaid: Counter[CallKey] = Counter()  # taken from the store, not yet made
        self._lock = threading.Lock()

    def prepay(self, key: CallKey, calls: int) -> int:
        """Take up to ``calls`` for ``key`` ahead (from the store, or the local budget);
        returns how many may be made."""
        if self.store is None:
            with self._lock:
                if self.daily_budget is None:
                    return calls
                return max(0, min(calls, self.daily_budget - self._counts[key]))
        granted = self.store.take(key, calls, self.daily_budget)
        with self._lock:
            self._prepaid[key] += granted
        return granted

    def release(self, key: CallKey, calls: int) -> None:
        """Give back ``calls`` prepaid for ``key`` that will not be made."""
        with self._lock:
            calls = min(calls, self._prepaid[key])
            self._prepaid[key] -= calls
        if self.store is not None and calls:
            self.store.give_back(key, calls)

    def reserve(self, context: CallContext, day: date) -> None:
        """Count one call about to be made, or raise ``BudgetExceededError`` without counting."""
        assert context.endpoint is not None
        key = CallKey(context.account_id, context.endpoint, day)
        with self._lock:
            if self._prepaid[key] > 0:
                self._prepaid[key] -= 1
                self._counts[key] += 1
                return
            used = self._counts[key]
            allowed = (
                self.store.take(key, 1, self.daily_budget)
                if self.store is not None
                else int(self.daily_budget is None or used < self.daily_budget)
            )
            if allowed:
                self._counts[key] += 1
                return
        budget = self.daily_budget
        if budget is None:  # only a store's exhausted bucket refuses without a budget
            message = (
                f"WeChat's daily quota for {key.endpoint} is spent for {day.isoformat()} "
                "(45009 earlier that day): continue after midnight Beijing time"
            )
        else:
            message = (
                f"daily budget of {budget} calls to {key.endpoint} reached ({used} used by this "
                f"run on {day.isoformat()}, Beijing; every run's calls count): raise "
                "WX_DAILY_BUDGET or continue after midnight Beijing time"
            )
        raise BudgetExceededError(
            f"{context.describe()}: {message}", context, budget=budget or 0, used=used
        )

    def exhausted(self, context: CallContext, day: date) -> None:
        """WeChat answered 45009 for this bucket."""
        assert context.endpoint is not None
        if self.store is not None:
            self.store.mark_exhausted(CallKey(context.account_id, context.endpoint, day))

    def settle(self) -> None:
        """Give back what was taken from the store and not made."""
        with self._lock:
            unused = {k: n for k, n in self._prepaid.items() if n > 0}
            self._prepaid.clear()
        if self.store is not None:
            for key, calls in unused.items():
                self.store.give_back(key, calls)

    def count(self, account_id: str, endpoint: str, day: date) -> int:
        return self._counts[CallKey(account_id, endpoint, day)]

    def counts(self) -> dict[CallKey, int]:
        """A snapshot of every bucket, sorted."""
        with self._lock:
            return dict(sorted(self._counts.items()))

    def total(self) -> int:
        return sum(self._counts.values())

    def __repr__(self) -> str:
        shared = ", shared" if self.store is not None else ""
        return f"CallCounter(total={self.total()}, daily_budget={self.daily_budget}{shared})"
