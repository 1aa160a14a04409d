"""Messages users send to the account: per hour and type, and the per-day distribution of
senders by how many messages they sent. Days are sums of hours; weeks and months sums of days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from wx_pipeline.registry.codes import COUNT_INTERVAL, MSG_TYPE
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
    split,
    split_pair,
    weekday_factor,
)

_TYPE_WEIGHTS = {1: 0.75, 2: 0.12, 3: 0.08, 4: 0.02, 6: 0.03}
#: Share of senders per count_interval bucket (0 = "0 messages" never has senders).
_BUCKET_WEIGHTS = {1: 0.86, 2: 0.1, 3: 0.04}
MSG_TYPES: tuple[int, ...] = tuple(t for t in MSG_TYPE if t in _TYPE_WEIGHTS)
BUCKETS: tuple[int, ...] = tuple(b for b in COUNT_INTERVAL if b in _BUCKET_WEIGHTS)


@dataclass(frozen=True)
class MessageHours:
    users: IntArray  # (24, len(MSG_TYPES))
    counts: IntArray
    bucket_weights: np.ndarray


class MessageModel(DayModel[MessageHours]):
    def _generate(self, account: SimAccount, day: date) -> MessageHours:
        gen = rng(self._seed, account.app_id, day, "messages")
        scale = size_at(account, day) * 0.002 * weekday_factor(day, 1.15)
        weights = np.array([_TYPE_WEIGHTS[t] for t in MSG_TYPES])
        day_users = poisson(gen, scale * weights * gen.uniform(0.7, 1.3, len(weights)))
        day_counts = day_users + poisson(gen, day_users * 0.6)
        hour_w = MSG_PROFILE * gen.uniform(0.75, 1.25, (len(MSG_TYPES), HOURS))
        revision = self._revisions.get(day, 0)
        gone = restated_position(revision, len(MSG_TYPES), salt=3)
        if gone is not None:
            # A restated day counts one type's messages as another's and empties one hour.
            into = (gone + 1) % len(MSG_TYPES)
            day_users[into] += day_users[gone]
            day_counts[into] += day_counts[gone]
            day_users[gone] = day_counts[gone] = 0
            hour_w[:, restated_position(revision, HOURS, salt=4) or 0] = 0.0
        hu, hc = split_pair(day_users, day_counts, hour_w)
        bucket_w = np.array(list(_BUCKET_WEIGHTS.values())) * gen.uniform(0.8, 1.2, len(BUCKETS))
        return MessageHours(users=hu.T.copy(), counts=hc.T.copy(), bucket_weights=bucket_w)

    @staticmethod
    def distribution(hours: MessageHours, upto: int = HOURS) -> dict[int, int]:
        """Senders per count_interval bucket for the day's first ``upto`` hours."""
        senders = int(hours.users[:upto].sum())
        parts = split(senders, hours.bucket_weights)
        return {b: int(n) for b, n in zip(BUCKETS, parts, strict=True) if n}
