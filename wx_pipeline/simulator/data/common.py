"""Shared building blocks of the synthetic data: seeded randomness, exact integer splits and
the daily/hourly activity shapes every family uses."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from wx_pipeline.registry import DATA_START
from wx_pipeline.simulator.cache import LruCache
from wx_pipeline.simulator.config import SimAccount

IntArray = NDArray[Any]
FloatArray = NDArray[Any]
T = TypeVar("T")

HOURS = 24
#: The day an account reaches its nominal ``followers``; it started at 30% of it on DATA_START.
NOMINAL_DAY = date(2025, 12, 1)
_GROWTH_DAYS = (NOMINAL_DAY - DATA_START).days


class DayCache(Generic[T]):
    """A model's results per (app id, day), the least recently used dropped beyond ``LIMIT``:
    a day is generated again only once it has not been asked for in a while."""

    #: ~6 account-years per model: a chunk's days are asked for together, so the working set
    #: is a few weeks per account in flight.
    LIMIT = 8_192

    def __init__(self) -> None:
        self._items: LruCache[tuple[str, date], T] = LruCache(self.LIMIT)

    def get(self, account: SimAccount, day: date, make: Callable[[SimAccount, date], T]) -> T:
        return self._items.get_or_make((account.app_id, day), lambda: make(account, day))


#: WeChat restating days after they were first published: day -> revision (0 or absent: as
#: first published). A revision changes which sources, hours and articles of that day appear.
Revisions = Mapping[date, int]


class DayModel(Generic[T]):
    """One family's figures per (account, day): generated once from the seed, the account and
    the day's revision (``_generate``), then kept in a ``DayCache``."""

    def __init__(self, seed: int, revisions: Revisions | None = None) -> None:
        self._seed = seed
        self._revisions = revisions or {}
        self._days: DayCache[T] = DayCache()

    def hours(self, account: SimAccount, day: date) -> T:
        return self._days.get(account, day, self._generate)

    def _generate(self, account: SimAccount, day: date) -> T:
        raise NotImplementedError


def restated_position(revision: int, n: int, salt: int = 0) -> int | None:
    """The position (0..n-1) that revision ``revision`` of a day changes; None for revision 0.
    ``salt`` lets each family pick a different position for the same revision."""
    if revision <= 0 or n <= 0:
        return None
    return (revision * 7 + salt) % n


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from the parts' text; stable across processes (unlike ``hash()``)."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def rng(*parts: object) -> np.random.Generator:
    """A random generator owned by one (seed, app id, date, topic) combination."""
    return np.random.default_rng(stable_seed(*parts))


def size_at(account: SimAccount, day: date) -> float:
    """Expected followers on ``day``: a smooth curve from 30% to 100% of the nominal size.

    Activity scales with this curve, not with the realised follower count, so no family
    depends on the whole follower history."""
    t = (day - DATA_START).days / _GROWTH_DAYS
    return account.followers * max(0.3 + 0.7 * t, 0.05)


def weekday_factor(day: date, weekend: float) -> float:
    return weekend if day.weekday() >= 5 else 1.0


def split_rows(totals: IntArray, weights: FloatArray) -> IntArray:
    """Split each total into len(weights[-1]) non-negative integers that add up exactly.

    ``totals`` has shape (n,), ``weights`` (k,) or (n, k); largest remainders get the leftover
    units, ties by position, so the result is a pure function of its inputs."""
    totals = np.asarray(totals, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 1:  # one shared row: normalise it once (same values as per row)
        total_w = w.sum()
        share = w / total_w if total_w > 0 else np.zeros_like(w)
    else:
        sums = w.sum(axis=1, keepdims=True)
        share = np.divide(w, sums, out=np.zeros_like(w), where=sums > 0)
    raw = totals[:, None] * share
    floors = np.floor(raw)
    parts = floors.astype(np.int64)
    rest = totals - parts.sum(axis=1)
    order = np.argsort(floors - raw, axis=1, kind="stable")  # largest remainder first
    if totals.shape[0] == 1:
        if rest[0] > 0:
            parts[0, order[0, : rest[0]]] += 1
    else:
        parts += np.argsort(order, axis=1, kind="stable") < rest[:, None]
    return np.asarray(parts, dtype=np.int64)


def split(total: int, weights: FloatArray) -> IntArray:
    """One total split exactly by weights (see ``split_rows``)."""
    return np.asarray(split_rows(np.array([total], dtype=np.int64), weights)[0])


def split_pair(users: IntArray, counts: IntArray, weights: FloatArray) -> tuple[IntArray, IntArray]:
    """Split (users, counts) rows alike so that every part keeps users <= counts."""
    u = split_rows(users, weights)
    return u, u + split_rows(counts - users, weights)


#: Reading peaks: morning commute, lunch and the evening.
READ_PROFILE: FloatArray = np.array(
    [2, 1, 0.6, 0.4, 0.4, 0.8, 2.5, 5, 6, 5, 4.5, 5, 6.5, 5, 4, 4, 4.5, 5, 6.5, 7.5, 8, 8.5, 7, 4],
    dtype=np.float64,
)
#: Messages to the account: daytime and evening.
MSG_PROFILE: FloatArray = np.array(
    [
        1.5,
        0.8,
        0.4,
        0.3,
        0.3,
        0.5,
        1.5,
        3,
        4,
        5,
        5.5,
        5.5,
        5,
        5,
        5.5,
        5.5,
        5,
        5,
        5,
        6,
        6.5,
        6,
        5,
        3,
    ],
    dtype=np.float64,
)


def poisson(gen: np.random.Generator, lam: FloatArray | float) -> IntArray:
    return np.asarray(gen.poisson(np.maximum(lam, 0.0)), dtype=np.int64)


def isodate(day: date) -> str:
    return day.isoformat()
