"""Account-wide reads and shares, per hour and source: the sum of every live article's day
plus background reads of older articles, spread over the day's hours.

getuserread / getusershare are the sums of their hours; the ALL row is the sum of the sources;
the share scenes split the hourly share totals, so both families agree with each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from wx_pipeline.simulator.config import SimAccount
from wx_pipeline.simulator.data.articles import COL, LIFETIME, N_COLS, SC, SU, ArticleModel
from wx_pipeline.simulator.data.common import (
    HOURS,
    READ_PROFILE,
    DayModel,
    IntArray,
    Revisions,
    restated_position,
    rng,
    size_at,
    split_pair,
    weekday_factor,
)

#: getuserread's user_source for each 2025 read scene (articles.SCENES order).
SCENE_TO_READ_SOURCE: tuple[int, ...] = (0, 1, 2, 4, 5, 6, 7)
#: The four (users, count) pairs of the legacy read counters, in their API order.
READ_PAIRS: tuple[str, ...] = ("int_page_read", "ori_page_read", "share", "add_to_fav")
_BACKGROUND_SCENES = np.array([0.1, 0.15, 0.1, 0.4, 0.1, 0.1, 0.05])


@dataclass(frozen=True)
class ReadHours:
    """One day of account-wide reads: ``reads[h, s, p, 0|1]`` = users|count of READ_PAIRS[p]
    for source ``sources[s]`` in hour h; ``shares[h, c, 0|1]`` likewise per share scene."""

    sources: tuple[int, ...]
    reads: IntArray
    share_scenes: tuple[int, ...]
    shares: IntArray


class ReadModel(DayModel[ReadHours]):
    def __init__(
        self, seed: int, articles: ArticleModel, revisions: Revisions | None = None
    ) -> None:
        super().__init__(seed, revisions)
        self._articles = articles

    def _generate(self, account: SimAccount, day: date) -> ReadHours:
        gen = rng(self._seed, account.app_id, day, "reads")
        total = np.zeros(N_COLS, dtype=np.int64)
        for article, k in self._articles.alive_on(account, day, LIFETIME):
            total += article.days[k]
        # Background: older articles read from the home page, search and shares.
        bg_users = int(gen.poisson(size_at(account, day) * 0.004 * weekday_factor(day, 0.8)))
        bg_u, bg_c = split_pair(
            np.array([bg_users]),
            np.array([bg_users + int(gen.poisson(bg_users * 0.25))]),
            _BACKGROUND_SCENES * gen.uniform(0.7, 1.3, len(_BACKGROUND_SCENES)),
        )
        scene_users = total[SU] + bg_u[0]
        scene_counts = total[SC] + bg_c[0]
        bg_share = int(gen.poisson(bg_users * 0.02))
        pair_totals = {
            "int_page_read": None,
            "ori_page_read": (total[COL["ori_user"]], total[COL["ori_count"]]),
            "share": (
                total[COL["share_user"]] + bg_share,
                total[COL["share_count"]] + bg_share + int(gen.poisson(bg_share * 0.3)),
            ),
            "add_to_fav": (total[COL["fav_user"]], total[COL["fav_count"]]),
        }
        n_src = len(SCENE_TO_READ_SOURCE)
        # day[s, p, 0|1]: users|count per source and pair.
        day_pairs = np.zeros((n_src, len(READ_PAIRS), 2), dtype=np.int64)
        day_pairs[:, 0, 0], day_pairs[:, 0, 1] = scene_users, scene_counts
        # The other pairs split alike by source (rows are split independently).
        others = [pair_totals[name] for name in READ_PAIRS[1:]]
        u, c = split_pair(
            np.array([users for users, _ in others]),  # type: ignore[misc]
            np.array([counts for _, counts in others]),  # type: ignore[misc]
            scene_users + 0.01,
        )
        day_pairs[:, 1:, 0], day_pairs[:, 1:, 1] = u.T, c.T
        # Spread every (source, pair) over the hours, each source with its own jitter.
        hour_w = READ_PROFILE * gen.uniform(0.75, 1.25, (n_src, HOURS))
        revision = self._revisions.get(day, 0)
        gone = restated_position(revision, n_src, salt=1)
        if gone is not None:
            # A restated day moves one source's reads to the next source and empties one hour:
            # rows vanish, the day's totals stay.
            day_pairs[(gone + 1) % n_src] += day_pairs[gone]
            day_pairs[gone] = 0
            hour_w[:, restated_position(revision, HOURS, salt=2) or 0] = 0.0
        rows_u = day_pairs[:, :, 0].reshape(-1)
        rows_c = day_pairs[:, :, 1].reshape(-1)
        hu, hc = split_pair(rows_u, rows_c, np.repeat(hour_w, len(READ_PAIRS), axis=0))
        reads = np.stack([hu, hc], axis=-1).reshape(n_src, len(READ_PAIRS), HOURS, 2)
        reads = reads.transpose(2, 0, 1, 3).copy()
        # Share scenes split each hour's account-wide shares.
        scenes = {1: 0.6, 2: 0.35, 255: 0.03}
        if day < date(2016, 1, 1):
            scenes[3] = 0.02
        if (gen.random() < 0.1) != bool(revision):  # scene 5 (undocumented) now and then
            scenes[5] = 0.02
        codes = tuple(sorted(scenes))
        scene_w = np.array([scenes[c] for c in codes]) * gen.uniform(0.8, 1.2, len(codes))
        share_p = READ_PAIRS.index("share")
        su, sc = split_pair(
            reads[:, :, share_p, 0].sum(axis=1), reads[:, :, share_p, 1].sum(axis=1), scene_w
        )
        return ReadHours(
            sources=SCENE_TO_READ_SOURCE,
            reads=reads,
            share_scenes=codes,
            shares=np.stack([su, sc], axis=-1),
        )
