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

from wx_pipeline.registry import BY_NAME, DATA_START, Period, period_end, period_start
from wx_pipeline.registry.codes import ALL_SCENES, ALL_SOURCES
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
from wx_pipeline.simulator.data.common import HOURS, Revisions, isodate
from wx_pipeline.simulator.data.followers import FollowerModel, partial_gains
from wx_pipeline.simulator.data.messages import BUCKETS, MSG_TYPES, MessageModel
from wx_pipeline.simulator.data.reads import READ_PAIRS, ReadModel
from wx_pipeline.simulator.data.shape import conform_all

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


def _detail_fields(sources: dict[str, int]) -> tuple[tuple[str, int], ...]:
    """(legacy detail field, day-matrix column) of each read source's users and count."""
    return tuple(
        (f"int_page_from_{src}_read_{x}", cols.start + scene)
        for src, scene in sources.items()
        for x, cols in (("user", SU), ("count", SC))
    )


_FEED_SHARE_FIELDS = tuple(
    (f"feed_share_from_{src}_{x}", COL[f"fs_{src}_{col}"])
    for src in ("session", "feed", "other")
    for x, col in (("user", "user"), ("cnt", "count"))
)
_DETAIL_FIELDS = _detail_fields(_DETAIL_SOURCES) + _FEED_SHARE_FIELDS
_OPTIONAL_FIELDS = _detail_fields(_OPTIONAL_SOURCES)


_ORI_U, _ORI_C = COL["ori_user"], COL["ori_count"]
_SHARE_U, _SHARE_C = COL["share_user"], COL["share_count"]
_FAV_U, _FAV_C = COL["fav_user"], COL["fav_count"]
_ZAIKAN, _LIKE, _COMMENT = COL["zaikan"], COL["like"], COL["comment"]
_PRAISE, _SUBSCRIBE = COL["praise_money"], COL["subscribe"]
#: The 8 read counters, users|count of each READ_PAIRS entry in turn (a pairs row's order).
_PAIR_FIELDS: tuple[str, ...] = tuple(f"{p}_{x}" for p in READ_PAIRS for x in ("user", "count"))


def _legacy_counters(row: list[int]) -> Item:
    """The 8 read counters of an article day (or cumulative) row."""
    return {
        "int_page_read_user": sum(row[SU]),
        "int_page_read_count": sum(row[SC]),
        "ori_page_read_user": row[_ORI_U],
        "ori_page_read_count": row[_ORI_C],
        "share_user": row[_SHARE_U],
        "share_count": row[_SHARE_C],
        "add_to_fav_user": row[_FAV_U],
        "add_to_fav_count": row[_FAV_C],
    }


def _scene_list(users: list[int]) -> list[Item]:
    """read_user_source: the ALL row, then every scene with readers."""
    out = [{"scene_desc": ALL_SCENES, "user_count": sum(users)}]
    out += [{"scene_desc": s, "user_count": n} for s, n in zip(SCENES, users, strict=True) if n]
    return out


class DataSet:
    """The synthetic truth of a simulator run."""

    def __init__(
        self, seed: int, accounts: list[SimAccount], revisions: Revisions | None = None
    ) -> None:
        self.seed = seed
        self.accounts = {a.app_id: a for a in accounts}
        self.revisions = dict(revisions or {})
        self.followers = FollowerModel(seed, self.revisions)
        self.articles = ArticleModel(seed, self.followers, self.revisions)
        self.reads = ReadModel(seed, self.articles, self.revisions)
        self.messages = MessageModel(seed, self.revisions)
        self.callbacks = CallbackModel(seed, self.revisions)
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
        return conform_all(endpoint, self._builders[endpoint](self.accounts[app_id], day, view))

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
                # Real answers carry an undocumented user_source 0 here (README "Real answers").
                out.append(
                    {"ref_date": isodate(day), "user_source": 0, "msgid": article.msgid}
                    | {"title": article.title}
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
            sources = _DETAIL_FIELDS + (_OPTIONAL_FIELDS if article.extra_sources else ())
            details = []
            for k in self._stat_days(article, LEGACY_DETAILS, view):
                stat = day + timedelta(days=k)
                cum = article.upto(k, view.hours_of(stat))
                detail: Item = {"stat_date": isodate(stat), "target_user": article.target_user}
                detail |= _legacy_counters(cum)
                for field, col in sources:
                    detail[field] = cum[col]
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
            read_user = sum(users)
            if read_user:
                out.append(
                    {
                        "ref_date": isodate(day),
                        "msgid": article.msgid,
                        "detail": {
                            "read_user": read_user,
                            "read_user_source": _scene_list(users),
                        },
                    }
                )
        return out

    def _article_share(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        out: list[Item] = []
        for article, k in self.articles.alive_on(acc, day, LIFETIME):
            shares = article.day(k, view.hours_of(day))[_SHARE_U]
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
        counters = dict(zip(_PAIR_FIELDS, per_source.sum(axis=0).reshape(-1).tolist(), strict=True))
        engagement = [0, 0, 0]
        hours = view.hours_of(day)
        for article, k in self.articles.alive_on(acc, day, LIFETIME):
            row = article.day(k, hours)
            engagement[0] += row[_ZAIKAN]
            engagement[1] += row[_LIKE]
            engagement[2] += row[_COMMENT]
        return [
            {
                "ref_date": isodate(day),
                "detail": {
                    "read_user": counters["int_page_read_user"],
                    "read_user_source": _scene_list(per_source[:, 0, 0].tolist()),
                    "share_user": counters["share_user"],
                    "zaikan_user": engagement[0],
                    "like_user": engagement[1],
                    "comment_count": engagement[2],
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
                entries.append(
                    {
                        "stat_date": isodate(stat),
                        "read_user": sum(users),
                        "share_user": cum[_SHARE_U],
                        "zaikan_user": cum[_ZAIKAN],
                        "like_user": cum[_LIKE],
                        "comment_count": cum[COL["comment"]],
                        "collection_user": cum[_FAV_U],
                        "praise_money": cum[_PRAISE],
                        "read_subscribe_user": cum[_SUBSCRIBE],
                        "read_delivery_rate": round(
                            users[0] / article.target_user if article.target_user else 0.0, 4
                        ),
                        "read_finish_rate": round(article.finish_rate * (1 - 0.003 * k), 4),
                        "read_avg_activetime": round(article.active_minutes * (1 + 0.004 * k), 2),
                        "read_user_source": _scene_list(users),
                        "read_jump_position": [
                            {"position": i, "rate": round(r, 4)}
                            for i, r in enumerate(article.jump_rates[k], start=1)
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

    # Hourly endpoints list up to 24 x 8 rows a day: they are built from Python lists (one
    # ``tolist`` per day) rather than element by element from numpy.

    def _user_read(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        rh = self.reads.hours(acc, day)
        per_source = rh.reads[: view.hours_of(day)].sum(axis=0)
        n_src = len(rh.sources)
        return self._read_rows(
            {"ref_date": isodate(day)}, rh.sources, per_source.reshape(n_src, -1).tolist()
        )

    def _user_read_hour(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        rh = self.reads.hours(acc, day)
        upto = view.hours_of(day)
        by_hour = rh.reads[:upto].reshape(upto, len(rh.sources), -1).tolist()
        ref_date = isodate(day)
        out: list[Item] = []
        for hour, pairs in enumerate(by_hour):
            out += self._read_rows(
                {"ref_date": ref_date, "ref_hour": hour * 100}, rh.sources, pairs
            )
        return out

    @staticmethod
    def _read_rows(head: Item, sources: tuple[int, ...], pairs: list[list[int]]) -> list[Item]:
        """One row per source with activity, then the ALL row (their sum); ``pairs[s]`` holds
        source s's 8 read counters in ``_PAIR_FIELDS`` order."""
        rows = []
        for src, values in zip(sources, pairs, strict=True):
            if any(values):
                row = head.copy()
                row["user_source"] = src
                row.update(zip(_PAIR_FIELDS, values, strict=True))
                rows.append(row)
        if rows:
            row = head.copy()
            row["user_source"] = ALL_SOURCES
            row.update(zip(_PAIR_FIELDS, map(sum, zip(*pairs, strict=True)), strict=True))
            rows.append(row)
        return rows

    def _user_share(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        rh = self.reads.hours(acc, day)
        return self._share_rows(
            {"ref_date": isodate(day)},
            rh.share_scenes,
            rh.shares[: view.hours_of(day)].sum(0).tolist(),
        )

    def _user_share_hour(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        rh = self.reads.hours(acc, day)
        ref_date = isodate(day)
        out: list[Item] = []
        for hour, pairs in enumerate(rh.shares[: view.hours_of(day)].tolist()):
            head = {"ref_date": ref_date, "ref_hour": hour * 100}
            out += self._share_rows(head, rh.share_scenes, pairs)
        return out

    @staticmethod
    def _share_rows(head: Item, scenes: tuple[int, ...], pairs: list[list[int]]) -> list[Item]:
        # The daily answer carries an undocumented user_source 0, as real ones do.
        extra = {} if "ref_hour" in head else {"user_source": 0}
        return [
            head | {"share_scene": scene, "share_count": count, "share_user": users} | extra
            for scene, (users, count) in zip(scenes, pairs, strict=True)
            if users or count
        ]

    # --- messages ------------------------------------------------------------------------

    @staticmethod
    def _msg_rows(head: Item, users: list[int], counts: list[int]) -> list[Item]:
        return [
            head | {"msg_type": t, "msg_user": u, "msg_count": c}
            for t, u, c in zip(MSG_TYPES, users, counts, strict=True)
            if u or c
        ]

    def _msg(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        mh = self.messages.hours(acc, day)
        upto = view.hours_of(day)
        # The daily answer carries an undocumented user_source 0, as real ones do.
        return self._msg_rows(
            {"ref_date": isodate(day), "user_source": 0},
            mh.users[:upto].sum(0).tolist(),
            mh.counts[:upto].sum(0).tolist(),
        )

    def _msg_hour(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        mh = self.messages.hours(acc, day)
        upto = view.hours_of(day)
        ref_date = isodate(day)
        out: list[Item] = []
        for hour, (users, counts) in enumerate(
            zip(mh.users[:upto].tolist(), mh.counts[:upto].tolist(), strict=True)
        ):
            out += self._msg_rows({"ref_date": ref_date, "ref_hour": hour * 100}, users, counts)
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
        return self._msg_rows({"ref_date": isodate(start)}, users.tolist(), counts.tolist())

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

    @staticmethod
    def _interface_row(head: Item, count: int, fail: int, cost: int, slowest: int) -> list[Item]:
        if not count:
            return []
        return [
            head
            | {
                "callback_count": count,
                "fail_count": fail,
                "total_time_cost": cost,
                "max_time_cost": slowest,
            }
        ]

    def _interface(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        cb = self.callbacks.hours(acc, day)
        upto = view.hours_of(day)
        return self._interface_row(
            {"ref_date": isodate(day)},
            int(cb.callback_count[:upto].sum()),
            int(cb.fail_count[:upto].sum()),
            int(cb.total_time_cost[:upto].sum()),
            int(cb.max_time_cost[:upto].max()),
        )

    def _interface_hour(self, acc: SimAccount, day: date, view: View) -> list[Item]:
        cb = self.callbacks.hours(acc, day)
        upto = view.hours_of(day)
        ref_date = isodate(day)
        out: list[Item] = []
        for hour, values in enumerate(
            zip(
                cb.callback_count[:upto].tolist(),
                cb.fail_count[:upto].tolist(),
                cb.total_time_cost[:upto].tolist(),
                cb.max_time_cost[:upto].tolist(),
                strict=True,
            )
        ):
            out += self._interface_row({"ref_date": ref_date, "ref_hour": hour * 100}, *values)
        return out
