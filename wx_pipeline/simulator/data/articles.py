"""Articles: what each account sends, and every article's day-by-day increments.

One matrix per article (a row per day since sending, a column per counter) is the source of
every article endpoint: the legacy ones (per-day summary, cumulative totals with 7 details) and
the 2025 ones (per-day reads and shares, cumulative details up to 30 days) read the same rows,
so they agree wherever they overlap. Account-level reads build on the same rows too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, cached_property

import numpy as np

from wx_pipeline.registry import BY_NAME, DATA_START
from wx_pipeline.registry.codes import ALL_SCENES, SCENE_DESC
from wx_pipeline.simulator.cache import LruCache
from wx_pipeline.simulator.config import SimAccount
from wx_pipeline.simulator.data.common import (
    FloatArray,
    IntArray,
    Revisions,
    poisson,
    restated_position,
    rng,
    split_pair,
    stable_seed,
    weekday_factor,
)
from wx_pipeline.simulator.data.followers import FollowerModel

#: Days an article's statistics are followed (getarticletotaldetail's window).
LIFETIME = BY_NAME["getarticletotaldetail"].revision_days
#: Details in a legacy getarticletotal item.
LEGACY_DETAILS = BY_NAME["getarticletotal"].revision_days
#: Days an article is listed by getarticlesummary.
SUMMARY_DAYS = 7
#: (account, day) sends kept: a day's answers look back LIFETIME days of sends, so this holds
#: that window for ~100 accounts in flight at once.
SENDS_KEPT = 8_192

#: Read scenes of the 2025 endpoints, without the ALL row.
SCENES: tuple[str, ...] = tuple(s for s in SCENE_DESC if s != ALL_SCENES)
_SCENE_WEIGHTS = np.array([0.5, 0.15, 0.12, 0.08, 0.05, 0.07, 0.03])
_TOP_STORIES_FROM = date(2017, 6, 1)  # 推荐 / 搜一搜 reads exist from then on
_EXTRA_SOURCES_FROM = date(2018, 1, 1)  # kanyikan / souyisou fields may be sent from then on
_UNNOTIFIED_FROM = date(2021, 1, 1)  # publish_type 1 exists from then on

# Columns of an article's day matrix.
_PAIRS = ("ori", "share", "fav", "fs_session", "fs_feed", "fs_other")
_SINGLES = ("zaikan", "like", "comment", "praise_money", "subscribe")
N_SCENES = len(SCENES)
COL: dict[str, int] = {}
for _i, _name in enumerate(
    [f"su{i}" for i in range(N_SCENES)]
    + [f"sc{i}" for i in range(N_SCENES)]
    + [f"{p}_{x}" for p in _PAIRS for x in ("user", "count")]
    + list(_SINGLES)
):
    COL[_name] = _i
N_COLS = len(COL)
SU = slice(0, N_SCENES)  # scene users
SC = slice(N_SCENES, 2 * N_SCENES)  # scene counts

_DECAY = np.array([0.5, 0.22, 0.09, 0.05, 0.03] + [0.02 * 0.85**j for j in range(LIFETIME - 5)])
_LATE_READS = np.linspace(1.0, 3.0, LIFETIME)[:, None]  # late reads: home page, search
_FEED_SHARE = np.array([0.6, 0.25, 0.15])  # moments shares from session, feed, other
#: Per-reader rates of zaikan, like, comment, subscribe, and tips (the last row).
_SINGLE_RATES = np.array([0.012, 0.02, 0.004, 0.003, 0.0006])
_SINGLE_COLS = [COL[name] for name in ("zaikan", "like", "comment", "subscribe")]
_TIPS = np.array([100, 200, 500, 1000, 2000])
_JUMP = np.array([0.3, 0.22, 0.18, 0.15, 0.15])


@cache
def _account_seed(app_id: str) -> int:
    return stable_seed(app_id)


_TOPICS = (
    "行业观察",
    "周末读书",
    "城市生活",
    "科技前沿",
    "健康指南",
    "职场笔记",
    "美食探店",
    "旅行手记",
)


@dataclass(frozen=True)
class Article:
    msgid: str
    send_date: date
    title: str
    url: str
    publish_type: int  # 0 notified (mass send), 1 notification off
    target_user: int
    extra_sources: bool  # the legacy kanyikan / souyisou fields are sent
    days: IntArray  # (LIFETIME, N_COLS): increments per day since sending
    finish_rate: float
    active_minutes: float
    jump: FloatArray  # share of readers leaving at positions 1..5

    @cached_property
    def rows(self) -> list[list[int]]:
        """``days`` as Python ints: the endpoints read single values, cheaper from lists."""
        return list(self.days.tolist())

    @cached_property
    def totals(self) -> list[list[int]]:
        """Cumulative totals through each day since sending, as Python ints."""
        return list(self.days.cumsum(axis=0).tolist())

    @cached_property
    def jump_rates(self) -> list[list[float]]:
        """Per day since sending: the jump shares, drifting a little day by day."""
        drifted = self.jump[None, :] * (1 + 0.002 * np.arange(LIFETIME))[:, None]
        return list((drifted / drifted.sum(axis=1, keepdims=True)).tolist())

    def day(self, k: int, hours: int = 24) -> list[int]:
        """Increments of day ``k`` after sending; a partly processed day shows a fraction.

        Shared lists: not to be modified."""
        row = self.rows[k]
        return row if hours >= 24 else [x * hours // 24 for x in row]

    def upto(self, k: int, hours: int = 24) -> list[int]:
        """Cumulative totals from the send date through day ``k`` (not to be modified)."""
        if hours >= 24:
            return self.totals[k]
        if k == 0:
            return self.day(0, hours)
        return [b + x * hours // 24 for b, x in zip(self.totals[k - 1], self.rows[k], strict=True)]


class ArticleModel:
    def __init__(
        self, seed: int, followers: FollowerModel, revisions: Revisions | None = None
    ) -> None:
        self._seed = seed
        self._followers = followers
        self._revisions = revisions or {}
        # An article's arrays and lists take ~50 kB: the least recently used sends go first.
        self._sent: LruCache[tuple[str, date], tuple[Article, ...]] = LruCache(SENDS_KEPT)

    def sent_on(self, account: SimAccount, day: date) -> tuple[Article, ...]:
        """The articles the account published on ``day`` (one message a day at most)."""
        key = (account.app_id, day)
        cached = self._sent.get(key)
        if cached is not None:
            return cached
        gen = rng(self._seed, account.app_id, day, "sends")
        size = account.followers
        p_send, most = (0.35, 2) if size < 10_000 else (0.6, 4) if size < 300_000 else (0.85, 8)
        articles: tuple[Article, ...] = ()
        if gen.random() < p_send * weekday_factor(day, 0.6):
            count = 1 + int(gen.binomial(most - 1, 0.45))
            unnotified = day >= _UNNOTIFIED_FROM and gen.random() < 0.15
            target = self._followers.cumulate(account, day - timedelta(days=1))
            # One message a day: the day number makes its id unique within the account.
            data_id = 2_200_000_000 + _account_seed(account.app_id) % 4_000 * 10_000
            data_id += (day - DATA_START).days
            articles = tuple(
                self._article(account, day, data_id, idx, 1 if unnotified else 0, target)
                for idx in range(1, count + 1)
            )
        deleted = restated_position(self._revisions.get(day, 0), len(articles), salt=6)
        if deleted is not None:
            # A restated send date: one of its articles was deleted, and WeChat's statistics
            # no longer list it anywhere (the others keep their msgids).
            articles = articles[:deleted] + articles[deleted + 1 :]
        self._sent.put(key, articles)
        return articles

    def alive_on(self, account: SimAccount, day: date, days: int) -> list[tuple[Article, int]]:
        """(article, days since sending) for articles sent within ``days`` days up to ``day``."""
        out: list[tuple[Article, int]] = []
        for k in range(days):
            out.extend((a, k) for a in self.sent_on(account, day - timedelta(days=k)))
        return out

    def _article(
        self, account: SimAccount, day: date, data_id: int, idx: int, publish_type: int, target: int
    ) -> Article:
        msgid = f"{data_id}_{idx}"
        gen = rng(self._seed, account.app_id, msgid, "article")
        position = 1.0 if idx == 1 else 0.35 / idx**0.5
        open_rate = 0.045 * position * gen.lognormal(0, 0.5)
        if publish_type == 1:
            open_rate *= 0.25
        users = poisson(gen, target * open_rate * _DECAY * gen.uniform(0.7, 1.3, LIFETIME))
        counts = users + poisson(gen, users * 0.15)
        weights = _SCENE_WEIGHTS * gen.uniform(0.6, 1.4, (LIFETIME, N_SCENES))
        weights[:, 3:] *= _LATE_READS
        if day < _TOP_STORIES_FROM:
            weights[:, 5:] = 0.0
        m = np.zeros((LIFETIME, N_COLS), dtype=np.int64)
        m[:, SU], m[:, SC] = split_pair(users, counts, weights)
        has_ori = gen.random() < 0.3
        for pair, rate, repeat in (
            ("ori", 0.04 if has_ori else 0.0, 0.2),
            ("share", 0.035, 0.3),
            ("fav", 0.012, 0.1),
        ):
            u = poisson(gen, users * rate)
            m[:, COL[f"{pair}_user"]] = u
            m[:, COL[f"{pair}_count"]] = u + poisson(gen, u * repeat)
        moments = np.asarray(gen.binomial(m[:, COL["share_user"]], 0.35), dtype=np.int64)
        fs_u, fs_c = split_pair(moments, moments + poisson(gen, moments * 0.2), _FEED_SHARE)
        for j, src in enumerate(("fs_session", "fs_feed", "fs_other")):
            m[:, COL[f"{src}_user"]] = fs_u[:, j]
            m[:, COL[f"{src}_count"]] = fs_c[:, j]
        # One draw for all rows, row after row: the same numbers as one draw per counter.
        singles = poisson(gen, users * _SINGLE_RATES[:, None])
        m[:, _SINGLE_COLS] = singles[:-1].T
        m[:, COL["praise_money"]] = singles[-1] * gen.choice(_TIPS, LIFETIME)
        jump = _JUMP * gen.uniform(0.7, 1.3, 5)
        topic = _TOPICS[int(gen.integers(len(_TOPICS)))]
        biz = _account_seed(account.app_id) % 10**10
        return Article(
            msgid=msgid,
            send_date=day,
            title=f"{day.month}月{day.day}日 {topic}" + ("" if idx == 1 else f"（{idx}）"),
            url=f"http://mp.weixin.qq.com/s?__biz=MzA{biz}==&mid={data_id}&idx={idx}",
            publish_type=publish_type,
            target_user=target,
            extra_sources=day >= _EXTRA_SOURCES_FROM and gen.random() < 0.7,
            days=m,
            finish_rate=float(gen.uniform(0.35, 0.75)),
            active_minutes=float(gen.uniform(0.6, 3.5)),
            jump=jump / jump.sum(),
        )
