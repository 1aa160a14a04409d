"""The synthetic data keeps the invariants the real service keeps (property tests over random
accounts and dates), has the registry's exact shape, and is deterministic."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wx_pipeline.registry import (
    BY_NAME,
    DATA_START,
    ENDPOINTS,
    V2025_START,
    Level,
    Nesting,
    Period,
    period_end,
    period_start,
)
from wx_pipeline.registry.codes import ALL_SCENES, ALL_SOURCES
from wx_pipeline.simulator.config import SimAccount, demo_accounts
from wx_pipeline.simulator.data import DataSet, View

YESTERDAY = date(2025, 12, 9)
FINAL = View(YESTERDAY)
PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

accounts = st.builds(
    SimAccount,
    app_id=st.text("0123456789abcdef", min_size=16, max_size=16).map(lambda s: "wx" + s),
    secret=st.just("s" * 32),
    name=st.just("prop"),
    followers=st.sampled_from([800, 5_000, 60_000, 400_000, 2_000_000]),
)
days = st.dates(DATA_START, YESTERDAY)
recent_days = st.dates(V2025_START, YESTERDAY)
seeds = st.integers(0, 2**32)


def items(ds: DataSet, acc: SimAccount, endpoint: str, day: date, view: View = FINAL) -> list[Any]:
    return ds.items(acc.app_id, endpoint, day, view)


def numeric_fields(endpoint: str) -> list[str]:
    return [c.api_field for c in BY_NAME[endpoint].table.measures]


revisions = st.integers(0, 3)


@PROPS
@given(seed=seeds, acc=accounts, day=days, revision=revisions)
def test_cumulate_is_previous_day_plus_net_growth(
    seed: int, acc: SimAccount, day: date, revision: int
) -> None:
    ds = DataSet(seed, [acc], {day: revision})
    prev = day - timedelta(days=1)
    today = items(ds, acc, "getusercumulate", day)[0]["cumulate_user"]
    net = sum(r["new_user"] - r["cancel_user"] for r in items(ds, acc, "getusersummary", day))
    if prev >= DATA_START:
        assert today == items(ds, acc, "getusercumulate", prev)[0]["cumulate_user"] + net
    assert today >= 0
    # Sources without activity are absent, never rows of zeros.
    assert all(r["new_user"] or r["cancel_user"] for r in items(ds, acc, "getusersummary", day))


def _sum_rows(rows: list[dict[str, Any]], key: str, fields: list[str]) -> dict[Any, Counter[str]]:
    out: dict[Any, Counter[str]] = defaultdict(Counter)
    for row in rows:
        for f in fields:
            out[row[key]][f] += row[f]
    return out


@PROPS
@given(seed=seeds, acc=accounts, day=days, revision=revisions)
def test_all_row_and_hours_add_up(seed: int, acc: SimAccount, day: date, revision: int) -> None:
    ds = DataSet(seed, [acc], {day: revision})  # a restated day keeps every invariant too
    counters = numeric_fields("getuserread")
    daily = items(ds, acc, "getuserread", day)
    by_source = {r["user_source"]: r for r in daily}
    if daily:
        total = {f: sum(r[f] for r in daily if r["user_source"] != ALL_SOURCES) for f in counters}
        assert {f: by_source[ALL_SOURCES][f] for f in counters} == total
    hourly = items(ds, acc, "getuserreadhour", day)
    for hour in {r["ref_hour"] for r in hourly}:
        rows = [r for r in hourly if r["ref_hour"] == hour]
        all_row = next(r for r in rows if r["user_source"] == ALL_SOURCES)
        for f in counters:
            assert all_row[f] == sum(r[f] for r in rows if r["user_source"] != ALL_SOURCES)
    assert _sum_rows(hourly, "user_source", counters) == _sum_rows(daily, "user_source", counters)
    for hourly_ep, daily_ep, key in (
        ("getusersharehour", "getusershare", "share_scene"),
        ("getupstreammsghour", "getupstreammsg", "msg_type"),
    ):
        fields = numeric_fields(daily_ep)
        assert _sum_rows(items(ds, acc, hourly_ep, day), key, fields) == _sum_rows(
            items(ds, acc, daily_ep, day), key, fields
        )
    # Account-wide shares per scene add up to the ALL row's shares.
    shares = items(ds, acc, "getusershare", day)
    assert sum(r["share_count"] for r in shares) == (
        by_source[ALL_SOURCES]["share_count"] if daily else 0
    )
    # Callbacks: counts and costs sum over hours, the slowest call is the hours' maximum.
    cb_hours = items(ds, acc, "getinterfacesummaryhour", day)
    cb_day = items(ds, acc, "getinterfacesummary", day)
    if cb_hours:
        for f in ("callback_count", "fail_count", "total_time_cost"):
            assert cb_day[0][f] == sum(r[f] for r in cb_hours)
        assert cb_day[0]["max_time_cost"] == max(r["max_time_cost"] for r in cb_hours)
    else:
        assert cb_day == []
    for ep in ("getuserreadhour", "getusersharehour", "getupstreammsghour"):
        assert all(r["ref_hour"] in range(0, 2400, 100) for r in items(ds, acc, ep, day))


@PROPS
@given(seed=seeds, acc=accounts, day=st.dates(date(2015, 1, 1), date(2025, 11, 1)))
def test_week_and_month_are_sums_of_days(seed: int, acc: SimAccount, day: date) -> None:
    ds = DataSet(seed, [acc])
    for suffix, period in (("week", Period.WEEK), ("month", Period.MONTH)):
        start = period_start(period, day)
        span = [
            start + timedelta(days=i) for i in range((period_end(period, start) - start).days + 1)
        ]
        for base, key in (("getupstreammsg", "msg_type"), ("getupstreammsgdist", "count_interval")):
            fields = numeric_fields(base)
            days_total: dict[Any, Counter[str]] = defaultdict(Counter)
            for d in span:
                for k, c in _sum_rows(items(ds, acc, base, d), key, fields).items():
                    days_total[k].update(c)
            endpoint = base + suffix
            period_rows = items(ds, acc, endpoint, start)
            assert _sum_rows(period_rows, key, fields) == {
                k: v for k, v in days_total.items() if +v
            }
            assert all(r["ref_date"] == start.isoformat() for r in period_rows)
            # Not a period start: nothing is addressed by that day.
            if day != start:
                assert items(ds, acc, endpoint, day) == []


def _article_days(ds: DataSet, acc: SimAccount, day: date) -> dict[str, date]:
    return {
        a.msgid: a.send_date
        for k in range(7)
        for a in ds.articles.sent_on(acc, day - timedelta(days=k))
    }


@PROPS
@given(seed=seeds, acc=accounts, day=days, yesterday_offset=st.integers(0, 40))
def test_article_totals_are_cumulative_and_bounded(
    seed: int, acc: SimAccount, day: date, yesterday_offset: int
) -> None:
    ds = DataSet(seed, [acc])
    yesterday = min(day + timedelta(days=yesterday_offset), YESTERDAY)
    view = View(yesterday)
    for endpoint, nested, most in (
        ("getarticletotal", "details", 7),
        ("getarticletotaldetail", "detail_list", 30),
    ):
        for item in items(ds, acc, endpoint, day, view):
            stats = item[nested]
            assert 1 <= len(stats) <= most
            assert stats[0]["stat_date"] == day.isoformat()
            assert stats[-1]["stat_date"] <= yesterday.isoformat()
            assert len(stats) == min(most, (yesterday - day).days + 1)
            measures = [
                c.api_field
                for c in BY_NAME[endpoint].table.measures
                if c.api_field in stats[0] and c.level is Level.NESTED
            ]
            for before, after in itertools.pairwise(stats):
                for f in measures:
                    if f in before and f in after:
                        assert after[f] >= before[f], (f, before, after)
    # getarticlesummary lists an article only in its first 7 days.
    sent_within_week = _article_days(ds, acc, day)
    for row in items(ds, acc, "getarticlesummary", day):
        assert row["msgid"] in sent_within_week
        interactions = row["int_page_read_count"] + row["share_count"] + row["add_to_fav_count"]
        assert interactions >= 3


@PROPS
@given(seed=seeds, acc=accounts, day=recent_days)
def test_2025_endpoints_agree_with_legacy(seed: int, acc: SimAccount, day: date) -> None:
    ds = DataSet(seed, [acc])
    summary = {r["msgid"]: r for r in items(ds, acc, "getarticlesummary", day)}
    reads = {r["msgid"]: r["detail"] for r in items(ds, acc, "getarticleread", day)}
    shares = {r["msgid"]: r["detail"]["share_user"] for r in items(ds, acc, "getarticleshare", day)}
    for msgid, row in summary.items():
        assert reads.get(msgid, {"read_user": 0})["read_user"] == row["int_page_read_user"]
        assert shares.get(msgid, 0) == row["share_user"]
    for detail in reads.values():
        scenes = {s["scene_desc"]: s["user_count"] for s in detail["read_user_source"]}
        assert scenes.pop(ALL_SCENES) == detail["read_user"] == sum(scenes.values())
        assert detail["read_user"] > 0
    legacy = {r["msgid"]: r["details"] for r in items(ds, acc, "getarticletotal", day)}
    for item in items(ds, acc, "getarticletotaldetail", day):
        if item["publish_type"] == 0:
            assert item["msgid"] in legacy
        for old, new in zip(legacy.get(item["msgid"], []), item["detail_list"], strict=False):
            assert old["stat_date"] == new["stat_date"]
            assert old["int_page_read_user"] == new["read_user"]
            assert old["share_user"] == new["share_user"]
            assert old["add_to_fav_user"] == new["collection_user"]
    all_row = [r for r in items(ds, acc, "getuserread", day) if r["user_source"] == ALL_SOURCES]
    biz = items(ds, acc, "getbizsummary", day)[0]["detail"]
    if all_row:
        assert biz["read_user"] == all_row[0]["int_page_read_user"]
        assert biz["share_user"] == all_row[0]["share_user"]
        assert biz["collection_user"] == all_row[0]["add_to_fav_user"]
        assert biz["redirect_ori_page_user"] == all_row[0]["ori_page_read_user"]
    assert biz["send_page_count"] == len(items(ds, acc, "getarticletotaldetail", day))
    before = day - timedelta(days=day.day + 40)
    for ep in ENDPOINTS:
        if ep.first_date == V2025_START:
            assert items(ds, acc, ep.name, before) == []


def _check_shape(endpoint: str, item: dict[str, Any]) -> None:
    """Every field the item carries is one the registry knows, at the level it says."""
    ep = BY_NAME[endpoint]
    cols = [c for t in ep.tables for c in t.columns]
    item_level = {c.api_field for c in cols if c.level is Level.ITEM} | ep.known_extra_fields
    required = {c.api_field for c in cols if c.level is Level.ITEM and not c.optional}
    nested = ep.nested_field
    assert set(item) - {nested} <= item_level
    assert required <= set(item)
    if nested is None:
        return
    entries = (
        item[nested] if ep.nesting in (Nesting.DETAILS, Nesting.DETAIL_LIST) else [item[nested]]
    )
    assert isinstance(item[nested], list if ep.nesting is not Nesting.DETAIL else dict)
    nested_cols = {c.api_field for c in cols if c.level is Level.NESTED}
    arrays = {t.array_field: t for t in ep.child_tables if t.array_field}
    for entry in entries:
        assert set(entry) <= nested_cols | set(arrays)
        assert {c.api_field for c in cols if c.level is Level.NESTED and not c.optional} <= set(
            entry
        )
        for name, table in arrays.items():
            element_fields = {c.api_field for c in table.columns if c.level is Level.ELEMENT}
            assert all(set(e) == element_fields for e in entry[name])


def test_items_have_the_registry_shape_and_the_real_quirks() -> None:
    ds = DataSet(3, demo_accounts(3))
    seen_share_scenes: set[int] = set()
    optional_present = optional_absent = 0
    for acc in ds.accounts.values():
        for offset in range(0, 40):
            day = YESTERDAY - timedelta(days=offset)
            for ep in ENDPOINTS:
                rows = items(
                    ds,
                    acc,
                    ep.name,
                    period_start(ep.period, day - timedelta(days=31))
                    if ep.period is not Period.DAY
                    else day,
                )
                for row in rows:
                    _check_shape(ep.name, row)
                    assert row["ref_date"] <= YESTERDAY.isoformat()
            seen_share_scenes |= {r["share_scene"] for r in items(ds, acc, "getusershare", day)}
            for item in items(ds, acc, "getarticletotal", day):
                assert item["user_source"] == 0
                assert item["url"].startswith("http")
                for d in item["details"]:
                    present = "int_page_from_kanyikan_read_user" in d
                    optional_present += present
                    optional_absent += not present
            assert items(ds, acc, "getusercumulate", day)[0]["user_source"] == 0
    assert 5 in seen_share_scenes  # the undocumented scene shows up now and then
    assert optional_present
    assert optional_absent


def test_a_restated_day_lists_other_keys_with_the_same_totals() -> None:
    """What WeChat's restatements look like: a source, an hour, a type or an article of the
    day vanishes or appears; the follower totals and the reads' ALL row stay."""
    acc = demo_accounts(5)[2]  # the large account: every key has activity
    day = date(2025, 10, 29)
    first, restated = DataSet(5, [acc]), DataSet(5, [acc], {day: 1})

    def keys(ds: DataSet, endpoint: str, *fields: str) -> set[tuple[Any, ...]]:
        return {tuple(r[f] for f in fields) for r in items(ds, acc, endpoint, day)}

    for endpoint, fields in (
        ("getusersummary", ("user_source",)),
        ("getuserread", ("user_source",)),
        ("getuserreadhour", ("ref_hour", "user_source")),
        ("getupstreammsg", ("msg_type",)),
        ("getinterfacesummaryhour", ("ref_hour",)),
    ):
        assert keys(restated, endpoint, *fields) < keys(first, endpoint, *fields), endpoint
    assert keys(restated, "getusershare", "share_scene") != keys(
        first, "getusershare", "share_scene"
    )
    sent = [
        d
        for d in (day - timedelta(days=k) for k in range(30))
        if items(first, acc, "getarticletotal", d)
    ]
    send_day = sent[0]
    deleted = DataSet(5, [acc], {send_day: 1})
    assert len(items(deleted, acc, "getarticletotal", send_day)) == (
        len(items(first, acc, "getarticletotal", send_day)) - 1
    )
    for endpoint in ("getusercumulate",):
        assert items(restated, acc, endpoint, day) == items(first, acc, endpoint, day)
    total = [r for r in items(first, acc, "getuserread", day) if r["user_source"] == ALL_SOURCES]
    assert total == [
        r for r in items(restated, acc, "getuserread", day) if r["user_source"] == ALL_SOURCES
    ]
    assert items(restated, acc, "getusersummary", day - timedelta(days=1)) == items(
        first, acc, "getusersummary", day - timedelta(days=1)
    )


def test_same_seed_same_data_whatever_the_order() -> None:
    accs = demo_accounts(11)
    first, second = DataSet(11, accs), DataSet(11, accs)
    probe = [
        (a, ep.name, YESTERDAY - timedelta(days=k))
        for a in accs
        for ep in ENDPOINTS
        for k in (0, 3, 17)
    ]
    forward = [items(first, a, e, d) for a, e, d in probe]
    backward = [items(second, a, e, d) for a, e, d in reversed(probe)][::-1]
    assert forward == backward
    other = DataSet(12, demo_accounts(11))
    assert forward != [items(other, a, e, d) for a, e, d in probe]


def test_partial_day_shows_part_of_the_final_day() -> None:
    acc = demo_accounts(0)[2]
    ds = DataSet(0, [acc])
    final_hours = items(ds, acc, "getuserreadhour", YESTERDAY)
    partial = View(YESTERDAY, YESTERDAY, 15)
    part_hours = items(ds, acc, "getuserreadhour", YESTERDAY, partial)
    assert part_hours == [r for r in final_hours if r["ref_hour"] < 1500]
    final_reads = items(ds, acc, "getarticleread", YESTERDAY)
    part_reads = items(ds, acc, "getarticleread", YESTERDAY, partial)
    assert sum(r["detail"]["read_user"] for r in part_reads) < sum(
        r["detail"]["read_user"] for r in final_reads
    )
    prev = items(ds, acc, "getusercumulate", YESTERDAY - timedelta(days=1))[0]["cumulate_user"]
    part_gains = items(ds, acc, "getusersummary", YESTERDAY, partial)
    final_gains = items(ds, acc, "getusersummary", YESTERDAY)
    net = sum(r["new_user"] - r["cancel_user"] for r in part_gains)
    assert items(ds, acc, "getusercumulate", YESTERDAY, partial)[0]["cumulate_user"] == prev + net
    assert sum(r["new_user"] for r in part_gains) < sum(r["new_user"] for r in final_gains)


def test_sizes_and_weekly_rhythm_are_realistic() -> None:
    small, medium, large = demo_accounts(0)
    ds = DataSet(0, [small, medium, large])
    day = date(2025, 11, 20)
    cum = [items(ds, a, "getusercumulate", day)[0]["cumulate_user"] for a in (small, medium, large)]
    assert cum[0] < cum[1] < cum[2]
    assert 0.5 < cum[2] / large.followers < 1.5
    # A few articles a week for the small account, many for the large one.
    weeks = [day - timedelta(days=i) for i in range(28)]
    sent = [sum(len(ds.articles.sent_on(a, d)) for d in weeks) / 4 for a in (small, medium, large)]
    assert 0.5 <= sent[0] <= 6 < sent[2]
    # Evening reads beat the small hours.
    hours = Counter[int]()
    for d in weeks:
        for r in items(ds, large, "getuserreadhour", d):
            if r["user_source"] == ALL_SOURCES:
                hours[r["ref_hour"]] += r["int_page_read_count"]
    assert hours[2100] > 3 * hours[300]
