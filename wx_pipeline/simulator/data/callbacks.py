"""Calls WeChat makes to the account's callback server, per hour; a day is the sum of its
hours (max_time_cost: the maximum)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from wx_pipeline.simulator.config import SimAccount
from wx_pipeline.simulator.data.common import (
    HOURS,
    MSG_PROFILE,
    DayModel,
    IntArray,
    poisson,
    restated_position,
    rng,
    size_at,
    weekday_factor,
)


@dataclass(frozen=True)
class CallbackHours:
    callback_count: IntArray  # (24,)
    fail_count: IntArray
    total_time_cost: IntArray
    max_time_cost: IntArray


class CallbackModel(DayModel[CallbackHours]):
    def _generate(self, account: SimAccount, day: date) -> CallbackHours:
        gen = rng(self._seed, account.app_id, day, "callbacks")
        daily = size_at(account, day) * 0.025 * weekday_factor(day, 0.85)
        shape = MSG_PROFILE * gen.uniform(0.8, 1.2, HOURS)
        quiet = restated_position(self._revisions.get(day, 0), HOURS, salt=5)
        if quiet is not None:  # a restated day: one hour had no callbacks after all
            shape[quiet] = 0.0
        count = poisson(gen, daily * shape / shape.sum())
        fail = np.asarray(gen.binomial(count, gen.uniform(0.001, 0.01)), dtype=np.int64)
        mean_ms = gen.uniform(250, 550, HOURS)
        total = np.rint(count * mean_ms).astype(np.int64)
        # The slowest call: a multiple of the mean, capped at WeChat's ~5 s timeout.
        slowest = np.minimum(np.rint(mean_ms * gen.uniform(2, 12, HOURS)), 5050).astype(np.int64)
        peak = np.where(
            count > 1, np.minimum(np.maximum(slowest, total // np.maximum(count, 1)), total), total
        )
        return CallbackHours(count, fail, total, peak.astype(np.int64))
