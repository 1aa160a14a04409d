"""Spellings, optional fields, schema drift and unknown codes: kept, mapped, counted."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from wx_pipeline import registry
from wx_pipeline.registry import ENDPOINTS, codes
from wx_pipeline.warehouse.normalize import DriftKind, normalize, normalize_many
from wx_pipeline.warehouse.normalize.codes import code_list
from wx_pipeline_tests.warehouse.payloads import items_for, response


def _squash(obj: dict[str, Any]) -> dict[str, Any]:
    return {k.replace("_", ""): v for k, v in obj.items()}


def test_underscoreless_spellings_read_as_canonical_fields_and_not_drift() -> None:
    endpoint = registry.get("getarticletotal")
    day = date(2015, 3, 2)
    items = items_for(endpoint, day, 3, dense=True)
    canonical = normalize(response(endpoint, day, items)).frames["article_total"]
    squashed = [
        {**_squash(item), "details": [_squash(d) for d in item["details"]]} for item in items
    ]
    result = normalize(response(endpoint, day, squashed))
    pd.testing.assert_frame_equal(result.frames["article_total"], canonical)
    assert not result.drift.counts(DriftKind.UNKNOWN_FIELD)


def test_canonical_spelling_wins_when_both_are_sent() -> None:
    endpoint = registry.get("getusersummary")
    item = {
        "ref_date": "2024-03-01",
        "user_source": 0,
        "new_user": 5,
        "newuser": 9,
        "cancel_user": 1,
    }
    frame = normalize(response(endpoint, date(2024, 3, 1), [item])).frames["user_summary"]
    assert frame["new_user"].tolist() == [5]


def test_optional_fields_absent_or_null_become_na() -> None:
    endpoint = registry.get("getarticletotal")
    day = date(2015, 3, 2)
    items = items_for(endpoint, day, 2, dense=True)
    optional = [c.name for c in endpoint.table.columns if c.optional]
    assert optional  # the kanyikan / souyisou counters
    for item in items:
        for detail in item["details"]:
            for name in optional:
                detail.pop(name, None)
    items[0]["details"][0][optional[0]] = None
    items[1]["details"][0][optional[1]] = 42
    frame = normalize(response(endpoint, day, items)).frames["article_total"]
    first_of_second = sum(len(i["details"]) for i in items[:1])
    assert frame[optional[1]].iloc[first_of_second] == 42
    assert int(frame[optional].isna().sum().sum()) == len(frame) * len(optional) - 1


def test_non_key_fields_left_out_load_as_null_and_are_reported_once_per_field() -> None:
    """A real answer that lacks a non-key field (an old or new version of the API) loads with
    NULL there: counted per field with the first archive row, never refused."""
    endpoint = registry.get("getarticletotaldetail")
    day = date(2025, 11, 3)
    items = items_for(endpoint, day, 3, dense=True)
    for item in items:
        del item["title"]  # the 2025 doc example before its March 2026 edit
    items[1]["detail_list"][0]["read_finish_rate"] = None
    second = response(endpoint, day, items[1:])
    result = normalize_many([response(endpoint, day, items[:1]), second], [7, 8])
    frame = result.frames["article_total_detail"]
    assert frame["title"].isna().all()
    assert int(frame["read_finish_rate"].isna().sum()) == 1
    assert frame["read_user"].notna().all()
    missing = result.drift.of(DriftKind.MISSING_FIELD)
    assert {k.what: (s.count, s.first_archive_id) for k, s in missing.items()} == {
        "title": (3, 7),
        "detail_list[].read_finish_rate": (1, 8),
    }
    assert result.drift.lines() == [
        "getarticletotaldetail left out field detail_list[].read_finish_rate (loaded as NULL): "
        "once, first in archive row 8",
        "getarticletotaldetail left out field title (loaded as NULL): 3 times, first in archive "
        "row 7",
    ]


def test_a_key_field_older_answers_lack_reads_as_the_registry_says() -> None:
    """getuserread before 2016 had no sources: its one row per day is the total (99999999)."""
    endpoint = registry.get("getuserread")
    day = date(2015, 3, 2)
    items = items_for(endpoint, day, 1, dense=True)[:1]
    del items[0]["user_source"]
    result = normalize(response(endpoint, day, items))
    assert result.frames["user_read"]["user_source"].tolist() == [codes.ALL_SOURCES]
    assert not result.drift


def test_extra_fields_counted_per_object_at_every_level() -> None:
    endpoint = registry.get("getarticletotaldetail")
    day = date(2025, 11, 3)
    items = items_for(endpoint, day, 3, dense=True)
    for item in items:
        item["new_item_field"] = "x"
        for entry in item["detail_list"]:
            entry["new_entry_field"] = 1
            entry["read_user_source"][0]["new_element_field"] = 2
    entries = sum(len(i["detail_list"]) for i in items)
    result = normalize(response(endpoint, day, items, new_top_level=True))
    assert result.drift.counts(DriftKind.UNKNOWN_FIELD) == {
        "$.new_top_level": 1,
        "new_item_field": 3,
        "detail_list[].new_entry_field": entries,
        "detail_list[].read_user_source[].new_element_field": entries,
    }
    plain = normalize(response(endpoint, day, items_for(endpoint, day, 3)))
    assert len(result.frames["article_total_detail"]) == entries
    assert set(result.frames) == set(plain.frames)


def test_known_undocumented_fields_are_not_drift() -> None:
    for endpoint in ENDPOINTS:
        if not endpoint.known_extra_fields:
            continue
        day = date(2015, 3, 2)
        items = items_for(endpoint, day, 2)
        for item in items:
            item.update(dict.fromkeys(endpoint.known_extra_fields, 0))
        assert not normalize(response(endpoint, day, items)).drift.counts(
            DriftKind.UNKNOWN_FIELD
        ), endpoint.name


def test_unknown_codes_are_kept_and_counted_per_row() -> None:
    endpoint = registry.get("getusersummary")
    rows = [(0, 1), (30, 2), (888, 3), (888, 4), (1000, 5)]
    items = [
        {"ref_date": f"2024-03-0{n}", "user_source": source, "new_user": n, "cancel_user": 0}
        for source, n in rows
    ]
    result = normalize(response(endpoint, date(2024, 3, 1), items, end=date(2024, 3, 5)))
    assert result.frames["user_summary"]["user_source"].tolist() == [0, 30, 888, 888, 1000]
    assert result.drift.counts(DriftKind.UNKNOWN_CODE) == {
        "user_summary.user_source=888": 2,
        "user_summary.user_source=1000": 1,
    }


def test_read_and_follower_sources_use_their_own_code_lists() -> None:
    # 99999999 is the ALL read source, but no follower source; 30 the reverse.
    assert code_list(registry.get("getuserread").table.column("user_source")) == frozenset(
        codes.READ_SOURCE
    )
    assert code_list(registry.get("getusersummary").table.column("user_source")) == frozenset(
        codes.FOLLOWER_SOURCE
    )
    code_columns = {
        c.name for e in ENDPOINTS for t in e.tables for c in t.columns if code_list(c) is not None
    }
    assert code_columns == {
        "user_source",
        "share_scene",
        "msg_type",
        "count_interval",
        "scene_desc",
        "publish_type",
    }


def test_unknown_scene_text_kept() -> None:
    endpoint = registry.get("getbizsummary")
    day = date(2025, 11, 5)
    items = items_for(endpoint, day, 1, dense=True)
    items[0]["detail"]["read_user_source"] = [
        {"scene_desc": "全部", "user_count": 9},
        {"scene_desc": "视频号", "user_count": 4},
    ]
    result = normalize(response(endpoint, day, items))
    assert result.frames["biz_summary_read_source"]["scene_desc"].tolist() == ["全部", "视频号"]
    assert result.drift.counts(DriftKind.UNKNOWN_CODE) == {
        "biz_summary_read_source.scene_desc=视频号": 1
    }


def test_missing_child_array_gives_no_child_rows() -> None:
    endpoint = registry.get("getarticleread")
    day = date(2025, 11, 5)
    items = items_for(endpoint, day, 2, dense=True)
    del items[0]["detail"]["read_user_source"]
    items[1]["detail"]["read_user_source"] = None
    result = normalize(response(endpoint, day, items))
    assert result.rows == {"article_read": 2, "article_read_source": 0}


def test_normalize_many_mixes_endpoints_and_accounts() -> None:
    summary = registry.get("getusersummary")
    cumulate = registry.get("getusercumulate")
    day = date(2024, 3, 1)
    batch = [
        response(summary, day, account_id="wxa"),
        response(cumulate, day, account_id="wxa"),
        response(summary, day, account_id="wxb"),
    ]
    result = normalize_many(batch)
    per_response = [len(r.body["list"]) for r in batch]
    assert result.rows == {
        "user_summary": per_response[0] + per_response[2],
        "user_cumulate": per_response[1],
    }
    frames_b = result.frames_for(summary, "wxb")
    assert set(frames_b["user_summary"]["account_id"]) == {"wxb"}
    assert len(frames_b["user_summary"]) == per_response[2]
    assert result.frames_for(cumulate, "wxb")["user_cumulate"].empty
