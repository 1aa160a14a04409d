"""Followers: per-source gains and losses per day, and the running total they add up to.

cumulate_user(d) = cumulate_user(d-1) + sum over sources of (new_user - cancel_user), starting
from 30% of the account's nominal size on the day before DATA_START.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

import numpy as np

from wx_pipeline.registry import DATA_START
from wx_pipeline.simulator.config import SimAccount
from wx_pipeline.simulator.data.common import (
    DayCache,
    Revisions,
    restated_position,
    rng,
    size_at,
    split,
    weekday_factor,
)

Gains = dict[int, tuple[int, int]]  # user_source -> (new_user, cancel_user)

# Acquisition sources by era (codes.FOLLOWER_SOURCE), with their usual weight.
_OLD_SOURCES = {0: 0.3, 1: 0.1, 17: 0.08, 30: 0.25, 35: 0.05, 39: 0.1, 43: 0.07, 51: 0.03, 78: 0.02}
_SOURCES_2018 = {0: 0.25, 1: 0.18, 17: 0.07, 30: 0.22, 57: 0.12, 100: 0.06, 149: 0.03, 161: 0.07}
_SOURCES_2020 = {**_SOURCES_2018, 200: 0.08, 201: 0.02}


def _sources(day: date) -> dict[int, float]:
    if day < date(2018, 1, 1):
        return _OLD_SOURCES
    return _SOURCES_2018 if day < date(2020, 6, 1) else _SOURCES_2020


class FollowerModel:
    def __init__(self, seed: int, revisions: Revisions | None = None) -> None:
        self._seed = seed
        self._revisions = revisions or {}
        self._lock = threading.Lock()  # guards the running totals
        self._days: DayCache[Gains] = DayCache()
        self._cumulative: dict[str, list[int]] = {}  # app id -> totals from DATA_START - 1 on

    def gains(self, account: SimAccount, day: date) -> Gains:
        """Final gains and losses of ``day`` per source; sources with no activity absent."""
        return self._days.get(account, day, self._split)

    def _split(self, account: SimAccount, day: date) -> Gains:
        gen, new_total, cancel_total = self._totals(account, day)
        sources = _sources(day)
        base = np.array(list(sources.values()))
        new_w = base * gen.uniform(0.5, 1.5, len(base))
        cancel_w = base * gen.uniform(0.5, 1.5, len(base))
        # A restated day credits one source's followers to the others: its row vanishes, the
        # day's totals (and so every later day's cumulative total) stay.
        gone = restated_position(self._revisions.get(day, 0), len(base))
        if gone is not None:
            new_w[gone] = cancel_w[gone] = 0.0
        new = split(new_total, new_w)
        cancel = split(cancel_total, cancel_w)
        out = {
            code: (int(n), int(c))
            for code, n, c in zip(sources, new, cancel, strict=True)
            if n or c
        }
        return dict(sorted(out.items()))

    def _totals(self, account: SimAccount, day: date) -> tuple[np.random.Generator, int, int]:
        """The day's generator and its total gains and losses, before the split by source."""
        gen = rng(self._seed, account.app_id, day, "followers")
        scale = size_at(account, day) / 1000
        lam_new = 0.7 * scale * weekday_factor(day, 0.9)
        if gen.random() < 0.02:  # a post went viral
            lam_new *= gen.uniform(3, 8)
        new_total = int(gen.poisson(lam_new))
        cancel_total = int(gen.poisson(0.45 * scale * weekday_factor(day, 1.05)))
        return gen, new_total, cancel_total

    def cumulate(self, account: SimAccount, day: date) -> int:
        """Followers at the end of ``day`` (final data)."""
        with self._lock:
            totals = self._cumulative.setdefault(account.app_id, [round(account.followers * 0.3)])
            index = (day - DATA_START).days + 1
            while len(totals) <= index:
                current = DATA_START + timedelta(days=len(totals) - 1)
                # The split by source keeps both totals exactly, so the running total needs
                # only them: a year's first request does not split a decade of days.
                _, new_total, cancel_total = self._totals(account, current)
                net = new_total - cancel_total
                totals.append(totals[-1] + net)
            return totals[max(index, 0)]


def partial_gains(gains: Gains, hours: int) -> Gains:
    """What the API shows for a day whose first ``hours`` hours are processed."""
    out = {src: (n * hours // 24, c * hours // 24) for src, (n, c) in gains.items()}
    return {src: nc for src, nc in out.items() if nc[0] or nc[1]}
