"""Per-endpoint normalization of realistic answers: the spec's section 7 values and the shapes
of section 3, every one of the 21 endpoints."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pandas as pd
import pytest

from wx_pipeline import registry
from wx_pipeline.registry import ENDPOINTS
from wx_pipeline.warehouse.normalize import DriftKind, Normalized, empty_frame, normalize
from wx_pipeline.warehouse.normalize.dtypes import frame_dtypes
from wx_pipeline_tests.warehouse.payloads import response

ACCOUNT = "wx0123456789abcdef"
READ_COUNTERS = (
    "int_page_read_user",
    "int_page_read_count",
    "ori_page_read_user",
    "ori_page_read_count",
    "share_user",
    "share_count",
    "add_to_fav_user",
    "add_to_fav_count",
)


def run(endpoint: str, day: str, items: list[dict[str, Any]], **body: Any) -> Normalized:
    return normalize(
        response(registry.get(endpoint), date.fromisoformat(day), items, **body), archive_id=1
    )


def only_row(result: Normalized, table: str) -> dict[str, Any]:
    frame = result.frames[table]
    assert len(frame) == 1
    return dict(frame.iloc[0])


def test_usercumulate_sample_with_undocumented_user_source() -> None:
    items = [{"ref_date": "2014-12-07", "user_source": 0, "cumulate_user": 1217056}]
    result = run("getusercumulate", "2014-12-07", items)
    row = only_row(result, "user_cumulate")
    assert row == {
        "account_id": ACCOUNT,
        "ref_date": pd.Timestamp("2014-12-07"),
        "cumulate_user": 1217056,
    }
    assert not result.drift.counts(
        DriftKind.UNKNOWN_FIELD
    )  # user_source is a known extra: archived, not drift


def test_usersummary_rows_per_source() -> None:
    items = [
        {"ref_date": "2024-03-01", "user_source": 0, "new_user": 12, "cancel_user": 3},
        {"ref_date": "2024-03-01", "user_source": 30, "new_user": 40, "cancel_user": 0},
        {"ref_date": "2024-03-02", "user_source": 0, "new_user": 9, "cancel_user": 11},
    ]
    frame = run("getusersummary", "2024-03-01", items, end=date(2024, 3, 2)).frames["user_summary"]
    assert frame["user_source"].tolist() == [0, 30, 0]
    assert (frame["new_user"] - frame["cancel_user"]).tolist() == [9, 40, -2]
    assert frame["ref_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-03-01",
        "2024-03-01",
        "2024-03-02",
    ]


def test_articlesummary_sample_and_msgid_split() -> None:
    counters = [23676, 25615, 29, 34, 122, 994, 1, 3]
    item: dict[str, Any] = {
        "ref_date": "2014-12-08",
        "msgid": "10000050_1",
        "title": "12月27日 DiLi日报",
    }
    item.update(zip(READ_COUNTERS, counters, strict=True))
    row = only_row(run("getarticlesummary", "2014-12-08", [item]), "article_summary")
    assert row["msgid"] == "10000050_1"
    assert (row["msg_data_id"], row["article_index"]) == (10000050, 1)
    assert row["title"] == "12月27日 DiLi日报"
    assert [row[c] for c in READ_COUNTERS] == counters


def _total_detail(stat_date: str, target_user: int, **fields: int) -> dict[str, Any]:
    detail: dict[str, Any] = {"stat_date": stat_date, "target_user": target_user}
    detail.update(dict.fromkeys(READ_COUNTERS, 5))
    for src in ("session", "hist_msg", "feed", "friends", "other"):
        detail[f"int_page_from_{src}_read_user"] = 1
        detail[f"int_page_from_{src}_read_count"] = 2
    for src in ("session", "feed", "other"):
        detail[f"feed_share_from_{src}_user"] = 3
        detail[f"feed_share_from_{src}_cnt"] = 4
    detail.update(fields)
    return detail


def test_articletotal_sample_details_extras_and_optional_sources() -> None:
    item = {
        "ref_date": "2014-12-14",
        "msgid": "202457380_1",
        "title": "马航丢画记",
        "user_source": 0,
        "url": "http://mp.weixin.qq.com/s?__biz=x",
        "details": [
            _total_detail("2014-12-14", 261917),
            _total_detail(
                "2014-12-15",
                261917,
                int_page_from_kanyikan_read_user=7,
                int_page_from_kanyikan_read_count=9,
            ),
        ],
    }
    result = run("getarticletotal", "2014-12-14", [item])
    frame = result.frames["article_total"]
    assert len(frame) == 2
    assert set(frame["msgid"]) == {"202457380_1"}
    assert frame["target_user"].tolist() == [261917, 261917]
    assert frame["stat_date"].dt.strftime("%Y-%m-%d").tolist() == ["2014-12-14", "2014-12-15"]
    assert frame["ref_date"].nunique() == 1
    # Optional sources: NULL where absent, the value where present; nullable dtype.
    assert str(frame["int_page_from_kanyikan_read_user"].dtype) == "Int64"
    assert frame["int_page_from_kanyikan_read_user"].isna().tolist() == [True, False]
    assert frame["int_page_from_kanyikan_read_count"].iloc[1] == 9
    assert frame["int_page_from_souyisou_read_user"].isna().all()
    assert frame["feed_share_from_feed_cnt"].tolist() == [4, 4]
    assert not result.drift.counts(DriftKind.UNKNOWN_FIELD)


def test_cumulative_entries_after_the_newest_final_day_are_left_out() -> None:
    """Fetched before 08:00 on the 16th, the 15th is not final: its running totals (already
    listed, partial) are not loaded; the 14th's are."""
    item = {
        "ref_date": "2014-12-14",
        "msgid": "202457380_1",
        "title": "马航丢画记",
        "details": [_total_detail("2014-12-14", 261917), _total_detail("2014-12-15", 261917)],
    }
    raw = response(registry.get("getarticletotal"), date(2014, 12, 14), [item])
    early = dataclasses.replace(raw, final_through=date(2014, 12, 14))
    result = normalize(early, archive_id=1)
    frame = result.frames["article_total"]
    assert frame["stat_date"].dt.strftime("%Y-%m-%d").tolist() == ["2014-12-14"]
    assert result.not_final == 1
    later = normalize(dataclasses.replace(raw, final_through=date(2014, 12, 15)), archive_id=1)
    assert len(later.frames["article_total"]) == 2
    assert later.not_final == 0


def test_usershare_sample_keeps_unknown_scene_and_counts_it() -> None:
    items = [
        {"ref_date": "2014-12-07", "share_scene": 1, "share_count": 207, "share_user": 11},
        {"ref_date": "2014-12-07", "share_scene": 5, "share_count": 23, "share_user": 11},
    ]
    result = run("getusershare", "2014-12-07", items)
    frame = result.frames["user_share"]
    assert frame[["share_scene", "share_count", "share_user"]].values.tolist() == [
        [1, 207, 11],
        [5, 23, 11],
    ]
    # share_scene 5 is in WeChat's own example: listed, not drift.
    assert not result.drift


def test_usersharehour_hours() -> None:
    items = [
        {
            "ref_date": "2024-05-01",
            "ref_hour": h,
            "share_scene": 2,
            "share_count": 1,
            "share_user": 1,
        }
        for h in (0, 900, 2300)
    ]
    frame = run("getusersharehour", "2024-05-01", items).frames["user_share_hour"]
    assert frame["hour"].tolist() == [0, 9, 23]
    assert frame["hour"].dtype == "int16"


def test_interfacesummary_sample() -> None:
    item = {
        "ref_date": "2014-12-01",
        "callback_count": 36974,
        "fail_count": 67,
        "total_time_cost": 14994291,
        "max_time_cost": 5044,
    }
    row = only_row(run("getinterfacesummary", "2014-12-01", [item]), "interface_summary")
    assert (row["callback_count"], row["fail_count"]) == (36974, 67)
    assert (row["total_time_cost"], row["max_time_cost"]) == (14994291, 5044)


def test_interfacesummaryhour_sample_hour_zero() -> None:
    item = {
        "ref_date": "2014-12-01",
        "ref_hour": 0,
        "callback_count": 331,
        "fail_count": 18,
        "total_time_cost": 167870,
        "max_time_cost": 5042,
    }
    row = only_row(run("getinterfacesummaryhour", "2014-12-01", [item]), "interface_summary_hour")
    assert row["hour"] == 0
    assert (row["callback_count"], row["fail_count"], row["max_time_cost"]) == (331, 18, 5042)


def test_userreadhour_sample_source_row_and_identical_all_row() -> None:
    counters = dict(zip(READ_COUNTERS, [10, 12, 0, 0, 1, 1, 0, 0], strict=True))
    items = [
        {"ref_date": "2020-04-13", "ref_hour": 1100, "user_source": src, **counters}
        for src in (4, 99999999)
    ]
    result = run("getuserreadhour", "2020-04-13", items)
    frame = result.frames["user_read_hour"]
    assert frame["hour"].tolist() == [11, 11]
    assert frame["user_source"].tolist() == [4, 99999999]
    assert frame["int_page_read_count"].tolist() == [12, 12]
    assert not result.drift.counts(DriftKind.UNKNOWN_CODE)  # 99999999 is the ALL code


def test_userread_all_row() -> None:
    counters = dict.fromkeys(READ_COUNTERS, 2)
    items = [{"ref_date": "2024-01-01", "user_source": src, **counters} for src in (99999999, 0, 2)]
    frame = run("getuserread", "2024-01-01", items, end=date(2024, 1, 3)).frames["user_read"]
    assert frame["user_source"].tolist() == [99999999, 0, 2]
    assert frame["user_source"].dtype == "int32"


def test_articleread_detail_and_scene_sources() -> None:
    item = {
        "ref_date": "2025-11-03",
        "msgid": "2247483650_2",
        "detail": {
            "read_user": 120,
            "read_user_source": [
                {"scene_desc": "全部", "user_count": 120},
                {"scene_desc": "公众号消息", "user_count": 80},
                {"scene_desc": "朋友圈", "user_count": 40},
            ],
        },
    }
    result = run("getarticleread", "2025-11-03", [item], is_delay=True)
    row = only_row(result, "article_read")
    assert (row["msg_data_id"], row["article_index"], row["read_user"]) == (2247483650, 2, 120)
    sources = result.frames["article_read_source"]
    assert sources["scene_desc"].tolist() == ["全部", "公众号消息", "朋友圈"]
    assert sources["user_count"].tolist() == [120, 80, 40]
    assert set(sources["msgid"]) == {"2247483650_2"}
    assert not result.drift.counts(
        DriftKind.UNKNOWN_FIELD
    )  # is_delay is expected on the 2025 endpoints


def test_articleshare_detail() -> None:
    items = [{"ref_date": "2025-11-03", "msgid": "2247483650_1", "detail": {"share_user": 17}}]
    row = only_row(run("getarticleshare", "2025-11-03", items), "article_share")
    assert row["share_user"] == 17


def test_bizsummary_detail_and_read_sources() -> None:
    detail = {
        "read_user": 900,
        "share_user": 30,
        "zaikan_user": 4,
        "like_user": 25,
        "comment_count": 6,
        "collection_user": 8,
        "redirect_ori_page_user": 2,
        "send_page_count": 3,
        "read_user_source": [
            {"scene_desc": "全部", "user_count": 900},
            {"scene_desc": "推荐", "user_count": 100},
        ],
    }
    result = run("getbizsummary", "2025-11-03", [{"ref_date": "2025-11-03", "detail": detail}])
    row = only_row(result, "biz_summary")
    assert (row["read_user"], row["send_page_count"], row["redirect_ori_page_user"]) == (900, 3, 2)
    assert result.frames["biz_summary_read_source"]["user_count"].tolist() == [900, 100]


def test_articletotaldetail_detail_list_sources_and_jump_positions() -> None:
    def entry(stat_date: str, read_user: int) -> dict[str, Any]:
        return {
            "stat_date": stat_date,
            "read_user": read_user,
            "share_user": 3,
            "zaikan_user": 1,
            "like_user": 2,
            "comment_count": 0,
            "collection_user": 1,
            "praise_money": 500,
            "read_subscribe_user": 4,
            "read_delivery_rate": 0.42,
            "read_finish_rate": 0.7,
            "read_avg_activetime": 1.25,
            "read_user_source": [{"scene_desc": "聊天会话", "user_count": read_user}],
            "read_jump_position": [{"position": p, "rate": p / 10} for p in range(1, 6)],
        }

    item = {
        "ref_date": "2025-11-03",
        "msgid": "2247483700_1",
        "publish_type": 1,
        "title": "标题",
        "content_url": "https://mp.weixin.qq.com/s/abc",
        "detail_list": [entry("2025-11-03", 50), entry("2025-11-04", 75)],
    }
    result = run("getarticletotaldetail", "2025-11-03", [item], is_delay=False)
    main = result.frames["article_total_detail"]
    assert main["read_user"].tolist() == [50, 75]
    assert main["publish_type"].tolist() == [1, 1]
    assert main["read_delivery_rate"].tolist() == [0.42, 0.42]
    assert main["praise_money"].tolist() == [500, 500]
    jumps = result.frames["article_total_detail_jump_position"]
    assert len(jumps) == 10
    assert jumps["position"].tolist() == [1, 2, 3, 4, 5] * 2
    assert jumps["rate"].iloc[4] == pytest.approx(0.5)
    sources = result.frames["article_total_detail_read_source"]
    assert sources["user_count"].tolist() == [50, 75]
    assert sources["stat_date"].dt.day.tolist() == [3, 4]


@pytest.mark.parametrize(
    ("endpoint", "day", "table"),
    [
        ("getupstreammsg", "2024-06-03", "upstream_msg"),
        ("getupstreammsghour", "2024-06-03", "upstream_msg_hour"),
        ("getupstreammsgweek", "2024-06-03", "upstream_msg_week"),  # a Monday
        ("getupstreammsgmonth", "2024-06-01", "upstream_msg_month"),
    ],
)
def test_upstream_messages(endpoint: str, day: str, table: str) -> None:
    hour = {"ref_hour": 1300} if endpoint.endswith("hour") else {}
    items = [
        {"ref_date": day, **hour, "msg_type": 1, "msg_user": 40, "msg_count": 77},
        {"ref_date": day, **hour, "msg_type": 7, "msg_user": 1, "msg_count": 1},
    ]
    result = run(endpoint, day, items)
    frame = result.frames[table]
    assert frame[["msg_type", "msg_user", "msg_count"]].values.tolist() == [[1, 40, 77], [7, 1, 1]]
    assert result.drift.counts(DriftKind.UNKNOWN_CODE) == {f"{table}.msg_type=7": 1}
    if hour:
        assert frame["hour"].tolist() == [13, 13]


@pytest.mark.parametrize(
    ("endpoint", "day"),
    [
        ("getupstreammsgdist", "2024-06-05"),
        ("getupstreammsgdistweek", "2024-06-03"),
        ("getupstreammsgdistmonth", "2024-06-01"),
    ],
)
def test_upstream_message_distribution(endpoint: str, day: str) -> None:
    items = [{"ref_date": day, "count_interval": i, "msg_user": 10 - i} for i in range(4)]
    result = run(endpoint, day, items)
    frame = next(iter(result.frames.values()))
    assert frame["count_interval"].tolist() == [0, 1, 2, 3]
    assert frame["msg_user"].tolist() == [10, 9, 8, 7]
    assert not result.drift.counts(DriftKind.UNKNOWN_CODE)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_empty_day_gives_empty_frames_with_exact_columns_and_dtypes(
    endpoint: registry.Endpoint,
) -> None:
    result = normalize(response(endpoint, date(2025, 12, 1), []))
    assert list(result.frames) == [t.name for t in endpoint.tables]
    for table in endpoint.tables:
        frame = result.frames[table.name]
        assert len(frame) == 0
        assert dict(frame.dtypes.astype(str)) == frame_dtypes(table)
        assert list(frame.columns) == ["account_id", *(c.name for c in table.columns)]
        pd.testing.assert_frame_equal(frame, empty_frame(table))
