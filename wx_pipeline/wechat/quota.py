"""Counting datacube calls and enforcing an optional daily budget per endpoint.

Quota is the scarce resource: WeChat allows a fixed number of calls per account, endpoint and
Beijing day (45009 beyond it). Every call the client makes, retries included, is counted here
under the Beijing day it was made; a budget stops the client *before* the API would, with a
message saying which account, endpoint and how much was used. Counts live in the process: they
measure and cap this run, not calls other processes made.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from wx_pipeline.wechat.errors import BudgetExceededError, CallContext


@dataclass(frozen=True, order=True)
class CallKey:
    """One quota bucket: an account's calls to one endpoint on one Beijing day."""

    account_id: str
    endpoint: str
    day: date


class CallCounter:
    """Calls made per (account, endpoint, Beijing day), with an optional budget per bucket.

    Not thread-safe by design: one asyncio loop owns it, and ``reserve`` checks and counts
    without awaiting in between, so concurrent tasks cannot both take the last call.
    """

    def __init__(self, daily_budget: int | None = None) -> None:
        self.daily_budget = daily_budget
        self._counts: Counter[CallKey] = Counter()

    def reserve(self, context: CallContext, day: date) -> None:
        """Count one call about to be made, or raise ``BudgetExceededError`` without counting."""
        assert context.endpoint is not None
        key = CallKey(context.account_id, context.endpoint, day)
        used = self._counts[key]
        if self.daily_budget is not None and used >= self.daily_budget:
            raise BudgetExceededError(
                f"{context.describe()}: daily budget of {self.daily_budget} calls to "
                f"{key.endpoint} reached ({used} used on {day.isoformat()}, Beijing): raise "
                "WX_DAILY_BUDGET or continue after midnight Beijing time",
                context,
                budget=self.daily_budget,
                used=used,
            )
        self._counts[key] += 1

    def count(self, account_id: str, endpoint: str, day: date) -> int:
        return self._counts[CallKey(account_id, endpoint, day)]

    def counts(self) -> dict[CallKey, int]:
        """A snapshot of every bucket, sorted."""
        return dict(sorted(self._counts.items()))

    def total(self) -> int:
        return sum(self._counts.values())

    def __repr__(self) -> str:
        return f"CallCounter(total={self.total()}, daily_budget={self.daily_budget})"
