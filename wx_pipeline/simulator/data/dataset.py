"""Every endpoint's list items for one account and day, assembled from the family models.

A day's items depend only on (seed, app id, endpoint, day) and on how far the data has been
processed: items of ``day`` list details only up to ``view.yesterday``, and the partially
processed day (yesterday before 08:00 Beijing) shows ``view.hours`` hours of activity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from wx_pipeline.simulator.config import SimAccount
from wx_pipeline.simulator.data.articles import (
    COL,
    LEGACY_DETAILS,
    LIFETIME,
    SC,
    SCENES,
    SU,
    SUMMARY_DAYS,
    Article,
    ArticleModel,
)
from wx_pipeline.simulator.data.callbacks import CallbackModel
from wx_pipeline.simulator.data.common import HOURS, IntArray, isodate
from wx_pipeline.simulator.data.followers import FollowerModel, partial_gains
from wx_pipeline.simulator.data.messages import BUCKETS, MSG_TYPES, MessageModel
from wx_pipeline.simulator.data.reads import READ_PAIRS, ReadModel
from wx_pipeline.simulator.data.shape import conform
from wx_pipeline.wechat.codes import ALL_SCENES, ALL_SOURCES
from wx_pipeline.wechat.endpoints import BY_NAME, DATA_START, Period, period_end, period_start

Item = dict[str, Any]


@dataclass(frozen=True)
class View:
    """How far the data is processed: final up to ``yesterday``, except ``partial_day`` (if
    any), of which only the first ``hours`` hours are in."""

    yesterday: date
    partial_day: date | None = None
    hours: int = HOURS

    def hours_of(self, day: date) -> int:
        return self.hours if day == self.partial_day else HOURS

    def final(self) -> View:
        return View(self.yesterday)


# Legacy per-article detail field -> index of the 2025 read scene it counts (articles.SCENES).
_DETAIL_SOURCES = {"session": 0, "hist_msg": 3, "feed": 2, "friends": 1, "other": 4}
_OPTIONAL_SOURCES = {"kanyikan": 5, "souyisou": 6}


def _legacy_counters(row: IntArray) -> Item:
    """The 8 read counters of an article day (or cumulative) row."""
    return {
        "int_page_read_user": int(row[SU].sum()),
        "int_page_read_count": int(row[SC].sum()),
        "ori_page_read_user": int(row[COL["ori_user"]]),
        "ori_page_read_count": int(row[COL["ori_count"]]),
        "share_user": int(row[COL["share_user"]]),
        "share_count": int(row[COL["share_count"]]),
        "add_to_fav_user": int(row[COL["fav_user"]]),
        "add_to_fav_count": int(row[COL["fav_count"]]),
    }


def _scene_list(users: IntArray) -> list[Item]:
    """read_user_source: the ALL row, then every scene with readers."""
    out = [{"user_count": int(users.sum()), "scene_desc": ALL_SCENES}]
    out += [
        {"user_count": int(n), "scene_desc": s} for s, n in zip(SCENES, users, strict=True) if n
    ]
    return out


def _pairs_item(pairs: IntArray) -> Item:
    """pairs[p, 0|1] (users|count of READ_PAIRS[p]) as the 8 read counters."""
    out: Item = {}
    for p, name in enumerate(READ_PAIRS):
        out[f"{name}_user"] = int(pairs[p, 0])
        out[f"{name}_count"] = int(pairs[p, 1])
    return out


class DataSet:
    """The synthetic truth of a simulator run."""

    def __init__(self, seed: int, accounts: list[SimAccount]) -> None:
        self.seed = seed
        self.accounts = {a.app_id: a for a in accounts}
        self.followers = FollowerModel(seed)
        self.articles = ArticleModel(seed, self.followers)
        self.reads = ReadModel(seed, self.articles)
        self.messages = MessageModel(seed)
        self.callbacks = CallbackModel(seed)
        self._builders: dict[str, Callable[[SimAccount, date, View], list[Item]]] = {
            "getusersummary": self._user_summary,
            "getusercumulate": self._user_cumulate,
            "getarticlesummary": self._article_summary,
            "getarticletotal": self._article_total,
            "getuserread": self._user_read,
            "getuserreadhour": self._user_read_hour,
            "getusershare": self._user_share,
            "getusersharehour": self._user_share_hour,
            "getarticleread": self._article_read,
            "getarticleshare": self._article_share,
            "getbizsummary": self._biz_summary,
            "getarticletotaldetail": self._article_total_detail,
            "getupstreammsg": self._msg,
            "getupstreammsghour": self._msg_hour,
            "getupstreammsgweek": lambda a, d, v: self._msg_period(a, d, Period.WEEK),
            "getupstreammsgmonth": lambda a, d, v: self._msg_period(a, d, Period.MONTH),
            "getupstreammsgdist": self._dist,
            "getupstreammsgdistweek": lambda a, d, v: self._dist_period(a, d, Period.WEEK),
            "getupstreammsgdistmonth": lambda a, d, v: self._dist_period(a, d, Period.MONTH),
            "getinterfacesummary": self._interface,
            "getinterfacesummaryhour": self._interface_hour,
        }
        missing = set(BY_NAME) ^ set(self._builders)
        if missing:  # the registry gained or lost an endpoint: fail loudly at start
            raise RuntimeError(f"simulator builders out of step with the registry: {missing}")

    def items(self, app_id: str, endpoint: str, day: date, view: View) -> list[Item]:
        """The list items ``endpoint`` returns for ``day`` (a period start for week/month)."""
        ep = BY_NAME[endpoint]
        if day < max(ep.first_date, DATA_START) or day > view.yesterday:
            return []
        if ep.period is not Period.DAY and (
            period_start(ep.period, day) != day or period_end(ep.period, day) > view.yesterday
        ):
            return []  # periods are addressed by their start and listed once they have ended
        items = self._builders[endpoint](self.accounts[app_id], day, view)
        return [conform(endpoint, item) for item in items]

    # --- followers -----------------------------------------------------------------------

    def _gains(self, acc: SimAccount, day: date, view: View) -> dict[int, tuple[int, int]]:
        gains = self.followers.gains(acc, day)
        hours = view.hours_of(day)
        return gains if hours >= HOURS else partial_gains(gains, hours)

    def _user_summary(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        return [
            {"ref_date": isodate(day), "user_source": src, "new_user": n, "cancel_user": c}
            for src, (n, c) in self._gains(acc, day, view).items()
        ]

    def _user_cumulate(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        before = self.followers.cumulate(acc, day - timedelta(days=1))
        net = sum(n - c for n, c in self._gains(acc, day, view).values())
        return [{"ref_date": isodate(day), "cumulate_user": before + net, "user_source": 0}]

    # --- articles ------------------------------------------------------------------------

    def _article_summary(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        out: list[Item] = []
        for article, k in self.articles.alive_on(acc, day, SUMMARY_DAYS):
            counters = _legacy_counters(article.day(k, view.hours_of(day)))
            interactions = (
                counters["int_page_read_count"]
                + counters["share_count"]
                + counters["add_to_fav_count"]
            )
            if interactions >= 3:
                out.append(
                    {"ref_date": isodate(day), "msgid": article.msgid, "title": article.title}
                    | counters
                )
        return out

    def _stat_days(self, article: Article, window: int, view: View) -> range:
        return range(min(window, (view.yesterday - article.send_date).days + 1))

    def _article_total(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        out: list[Item] = []
        for article in self.articles.sent_on(acc, day):
            if article.publish_type != 0:  # only mass-sent (notified) articles
                continue
            details = []
            for k in self._stat_days(article, LEGACY_DETAILS, view):
                stat = day + timedelta(days=k)
                cum = article.upto(k, view.hours_of(stat))
                detail: Item = {"stat_date": isodate(stat), "target_user": article.target_user}
                detail |= _legacy_counters(cum)
                users, counts = cum[SU], cum[SC]
                sources = dict(_DETAIL_SOURCES)
                if article.extra_sources:
                    sources |= _OPTIONAL_SOURCES
                for src, scene in sources.items():
                    detail[f"int_page_from_{src}_read_user"] = int(users[scene])
                    detail[f"int_page_from_{src}_read_count"] = int(counts[scene])
                for src in ("session", "feed", "other"):
                    detail[f"feed_share_from_{src}_user"] = int(cum[COL[f"fs_{src}_user"]])
                    detail[f"feed_share_from_{src}_cnt"] = int(cum[COL[f"fs_{src}_count"]])
                details.append(detail)
            out.append(
                {
                    "ref_date": isodate(day),
                    "msgid": article.msgid,
                    "title": article.title,
                    "details": details,
                    "user_source": 0,
                    "url": article.url,
                }
            )
        return out

    def _article_read(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        out: list[Item] = []
        for article, k in self.articles.alive_on(acc, day, LIFETIME):
            users = article.day(k, view.hours_of(day))[SU]
            if users.sum():
                out.append(
                    {
                        "ref_date": isodate(day),
                        "msgid": article.msgid,
                        "detail": {
                            "read_user": int(users.sum()),
                            "read_user_source": _scene_list(users),
                        },
                    }
                )
        return out

    def _article_share(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        out: list[Item] = []
        for article, k in self.articles.alive_on(acc, day, LIFETIME):
            shares = int(article.day(k, view.hours_of(day))[COL["share_user"]])
            if shares:
                out.append(
                    {
                        "ref_date": isodate(day),
                        "msgid": article.msgid,
                        "detail": {"share_user": shares},
                    }
                )
        return out

    def _biz_summary(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        rh = self.reads.hours(acc, day)
        per_source = rh.reads[: view.hours_of(day)].sum(axis=0)  # (source, pair, 0|1)
        total = per_source.sum(axis=0)
        engagement = np.zeros(len(COL), dtype=np.int64)
        for article, k in self.articles.alive_on(acc, day, LIFETIME):
            engagement += article.day(k, view.hours_of(day))
        counters = _pairs_item(total)
        return [
            {
                "ref_date": isodate(day),
                "detail": {
                    "read_user": counters["int_page_read_user"],
                    "read_user_source": _scene_list(per_source[:, 0, 0]),
                    "share_user": counters["share_user"],
                    "zaikan_user": int(engagement[COL["zaikan"]]),
                    "like_user": int(engagement[COL["like"]]),
                    "comment_count": int(engagement[COL["comment"]]),
                    "collection_user": counters["add_to_fav_user"],
                    "redirect_ori_page_user": counters["ori_page_read_user"],
                    "send_page_count": len(self.articles.sent_on(acc, day)),
                },
            }
        ]

    def _article_total_detail(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        out: list[Item] = []
        for article in self.articles.sent_on(acc, day):
            entries = []
            for k in self._stat_days(article, LIFETIME, view):
                stat = day + timedelta(days=k)
                cum = article.upto(k, view.hours_of(stat))
                users = cum[SU]
                read_user = int(users.sum())
                jump = article.jump * (1 + 0.002 * k)
                entries.append(
                    {
                        "stat_date": isodate(stat),
                        "read_user": read_user,
                        "read_user_source": _scene_list(users),
                        "share_user": int(cum[COL["share_user"]]),
                        "zaikan_user": int(cum[COL["zaikan"]]),
                        "like_user": int(cum[COL["like"]]),
                        "comment_count": int(cum[COL["comment"]]),
                        "collection_user": int(cum[COL["fav_user"]]),
                        "praise_money": int(cum[COL["praise_money"]]),
                        "read_subscribe_user": int(cum[COL["subscribe"]]),
                        "read_delivery_rate": round(
                            int(users[0]) / article.target_user if article.target_user else 0.0, 4
                        ),
                        "read_finish_rate": round(article.finish_rate * (1 - 0.003 * k), 4),
                        "read_avg_activetime": round(article.active_minutes * (1 + 0.004 * k), 2),
                        "read_jump_position": [
                            {"position": i + 1, "rate": round(float(r), 4)}
                            for i, r in enumerate(jump / jump.sum())
                        ],
                    }
                )
            out.append(
                {
                    "ref_date": isodate(day),
                    "msgid": article.msgid,
                    "publish_type": article.publish_type,
                    "title": article.title,
                    "content_url": article.url.replace("http://", "https://", 1),
                    "detail_list": entries,
                }
            )
        return out

    def _user_read(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        rh = self.reads.hours(acc, day)
        per_source = rh.reads[: view.hours_of(day)].sum(axis=0)
        return self._read_rows({"ref_date": isodate(day)}, rh.sources, per_source)

    def _user_read_hour(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        rh = self.reads.hours(acc, day)
        out: list[Item] = []
        for hour in range(view.hours_of(day)):
            head = {"ref_date": isodate(day), "ref_hour": hour * 100}
            out += self._read_rows(head, rh.sources, rh.reads[hour])
        return out

    @staticmethod
    def _read_rows(head: Item, sources: tuple[int, ...], pairs: IntArray) -> list[Item]:
        """One row per source with activity, then the ALL row (their sum)."""
        rows = [
            head | {"user_source": src} | _pairs_item(pairs[s])
            for s, src in enumerate(sources)
            if pairs[s].any()
        ]
        if rows:
            rows.append(head | {"user_source": ALL_SOURCES} | _pairs_item(pairs.sum(axis=0)))
        return rows

    def _user_share(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        rh = self.reads.hours(acc, day)
        return self._share_rows(
            {"ref_date": isodate(day)}, rh.share_scenes, rh.shares[: view.hours_of(day)].sum(0)
        )

    def _user_share_hour(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        rh = self.reads.hours(acc, day)
        out: list[Item] = []
        for hour in range(view.hours_of(day)):
            head = {"ref_date": isodate(day), "ref_hour": hour * 100}
            out += self._share_rows(head, rh.share_scenes, rh.shares[hour])
        return out

    @staticmethod
    def _share_rows(head: Item, scenes: tuple[int, ...], pairs: IntArray) -> list[Item]:
        return [
            head
            | {
                "share_scene": scene,
                "share_count": int(pairs[i, 1]),
                "share_user": int(pairs[i, 0]),
            }
            for i, scene in enumerate(scenes)
            if pairs[i].any()
        ]

    # --- messages ------------------------------------------------------------------------

    def _msg_rows(self, head: Item, users: IntArray, counts: IntArray) -> list[Item]:
        return [
            head | {"msg_type": t, "msg_user": int(u), "msg_count": int(c)}
            for t, u, c in zip(MSG_TYPES, users, counts, strict=True)
            if u or c
        ]

    def _msg(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        mh = self.messages.hours(acc, day)
        upto = view.hours_of(day)
        return self._msg_rows(
            {"ref_date": isodate(day)}, mh.users[:upto].sum(0), mh.counts[:upto].sum(0)
        )

    def _msg_hour(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        mh = self.messages.hours(acc, day)
        out: list[Item] = []
        for hour in range(view.hours_of(day)):
            head = {"ref_date": isodate(day), "ref_hour": hour * 100}
            out += self._msg_rows(head, mh.users[hour], mh.counts[hour])
        return out

    @staticmethod
    def _period_days(day: date, period: Period) -> list[date]:
        return [day + timedelta(days=i) for i in range((period_end(period, day) - day).days + 1)]

    def _msg_period(self, acc: SimAccount, start: date, period: Period) -> list[Item]:
        users = np.zeros(len(MSG_TYPES), dtype=np.int64)
        counts = np.zeros(len(MSG_TYPES), dtype=np.int64)
        for day in self._period_days(start, period):
            mh = self.messages.hours(acc, day)
            users += mh.users.sum(0)
            counts += mh.counts.sum(0)
        return self._msg_rows({"ref_date": isodate(start)}, users, counts)

    def _dist(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        mh = self.messages.hours(acc, day)
        dist = self.messages.distribution(mh, view.hours_of(day))
        return [
            {"ref_date": isodate(day), "count_interval": b, "msg_user": n} for b, n in dist.items()
        ]

    def _dist_period(self, acc: SimAccount, start: date, period: Period) -> list[Item]:
        totals = dict.fromkeys(BUCKETS, 0)
        for day in self._period_days(start, period):
            for bucket, n in self.messages.distribution(self.messages.hours(acc, day)).items():
                totals[bucket] += n
        return [
            {"ref_date": isodate(start), "count_interval": b, "msg_user": n}
            for b, n in totals.items()
            if n
        ]

    # --- callbacks -----------------------------------------------------------------------

    def _interface_rows(self, head: Item, hours: range, cb: Any) -> list[Item]:
        count = int(cb.callback_count[hours.start : hours.stop].sum())
        if not count:
            return []
        return [
            head
            | {
                "callback_count": count,
                "fail_count": int(cb.fail_count[hours.start : hours.stop].sum()),
                "total_time_cost": int(cb.total_time_cost[hours.start : hours.stop].sum()),
                "max_time_cost": int(cb.max_time_cost[hours.start : hours.stop].max()),
            }
        ]

    def _interface(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        cb = self.callbacks.hours(acc, day)
        return self._interface_rows({"ref_date": isodate(day)}, range(view.hours_of(day)), cb)

    def _interface_hour(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        cb = self.callbacks.hours(acc, day)
        out: list[Item] = []
        for hour in range(view.hours_of(day)):
            head = {"ref_date": isodate(day), "ref_hour": hour * 100}
            out += self._interface_rows(head, range(hour, hour + 1), cb)
        return out
