"""Invalid data raises one InvalidPayloadError naming endpoint, account, field, value and archive
row, and nothing of the batch is returned."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from wx_pipeline import registry
from wx_pipeline.core.errors import WxUserError
from wx_pipeline.warehouse.normalize import InvalidPayloadError, normalize, normalize_many
from wx_pipeline.wechat.raw import RawResponse
from wx_pipeline_tests.warehouse.payloads import items_for, response

ACCOUNT = "wxbad0000000000001"
ARCHIVE_ID = 4242

Body = dict[str, Any]


def _set(path: tuple[Any, ...], value: Any) -> Callable[[Body], None]:
    def mutate(body: Body) -> None:
        target: Any = body
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return mutate


def _delete(path: tuple[Any, ...]) -> Callable[[Body], None]:
    def mutate(body: Body) -> None:
        target: Any = body
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return mutate


def _duplicate_first_item(body: Body) -> None:
    body["list"].append(copy.deepcopy(body["list"][0]))


# (endpoint, day, mutation, field named in the error, value named in the error, reason words)
CASES: list[tuple[str, str, Callable[[Body], None], str, object, str]] = [
    ("getusersummary", "2024-03-01", _set(("list", 0, "new_user"), -3), "new_user", -3, "negative"),
    (
        "getusersummary",
        "2024-03-01",
        _set(("list", 0, "new_user"), "12"),
        "new_user",
        "12",
        "integer",
    ),
    (
        "getusersummary",
        "2024-03-01",
        _set(("list", 0, "cancel_user"), 1.5),
        "cancel_user",
        1.5,
        "integer",
    ),
    (
        "getusersummary",
        "2024-03-01",
        _set(("list", 0, "new_user"), True),
        "new_user",
        True,
        "integer",
    ),
    (  # a key field: without it the row cannot be stored (a non-key one would be NULL)
        "getusersummary",
        "2024-03-01",
        _set(("list", 0, "user_source"), None),
        "user_source",
        None,
        "missing",
    ),
    (
        "getusersummary",
        "2024-03-01",
        _delete(("list", 0, "user_source")),
        "user_source",
        None,
        "missing",
    ),
    (
        "getusersummary",
        "2024-03-01",
        _set(("list", 0, "ref_date"), "2024-02-30"),
        "ref_date",
        "2024-02-30",
        "date",
    ),
    (
        "getusersummary",
        "2024-03-01",
        _set(("list", 0, "ref_date"), "2024/03/01"),
        "ref_date",
        "2024/03/01",
        "date",
    ),
    (
        "getusersummary",
        "2024-03-01",
        _set(("list", 0, "ref_date"), "2024-3-1"),
        "ref_date",
        "2024-3-1",
        "date",
    ),
    (
        "getusersummary",
        "2024-03-01",
        _set(("list", 0, "ref_date"), 20240301),
        "ref_date",
        20240301,
        "string",
    ),
    (
        "getusersummary",
        "2024-03-01",
        _set(("list", 0, "ref_date"), "2024-03-02"),
        "ref_date",
        "2024-03-02",
        "window",
    ),
    (
        "getuserreadhour",
        "2024-03-01",
        _set(("list", 0, "ref_hour"), 2400),
        "ref_hour",
        2400,
        "HHMM",
    ),
    ("getuserreadhour", "2024-03-01", _set(("list", 0, "ref_hour"), 150), "ref_hour", 150, "HHMM"),
    (
        "getuserreadhour",
        "2024-03-01",
        _set(("list", 0, "ref_hour"), -100),
        "ref_hour",
        -100,
        "HHMM",
    ),
    (
        "getuserreadhour",
        "2024-03-01",
        _set(("list", 0, "ref_hour"), "1100"),
        "ref_hour",
        "1100",
        "integer",
    ),
    (
        "getupstreammsgweek",
        "2024-06-03",
        _set(("list", 0, "ref_date"), "2024-06-04"),
        "ref_date",
        "2024-06-04",
        "window",
    ),
    (
        "getarticlesummary",
        "2024-03-01",
        _set(("list", 0, "msgid"), "12003"),
        "msgid",
        "12003",
        "message id",
    ),
    ("getarticlesummary", "2024-03-01", _delete(("list", 0, "msgid")), "msgid", None, "missing"),
    ("getarticlesummary", "2024-03-01", _set(("list", 0, "title"), 7), "title", 7, "string"),
    ("getarticletotal", "2024-03-01", _set(("list", 0, "details"), {}), "details", {}, "array"),
    (
        "getarticletotal",
        "2024-03-01",
        _delete(("list", 0, "details", 0, "stat_date")),
        "details[].stat_date",
        None,
        "missing",
    ),
    (
        "getarticletotal",
        "2024-03-01",
        _set(("list", 0, "details", 0, "target_user"), -1),
        "details[].target_user",
        -1,
        "negative",
    ),
    ("getarticleread", "2025-11-03", _set(("list", 0, "detail"), None), "detail", None, "missing"),
    (
        "getarticleread",
        "2025-11-03",
        _set(("list", 0, "detail", "read_user_source", 0, "user_count"), -5),
        "detail.read_user_source[].user_count",
        -5,
        "negative",
    ),
    (
        "getarticleread",
        "2025-11-03",
        _set(("list", 0, "detail", "read_user_source"), "all"),
        "detail.read_user_source",
        "all",
        "array",
    ),
    (
        "getarticletotaldetail",
        "2025-11-03",
        _set(("list", 0, "detail_list", 0, "read_finish_rate"), "70%"),
        "detail_list[].read_finish_rate",
        "70%",
        "number",
    ),
    ("getusersummary", "2024-03-01", _set(("list", 0), [1, 2]), "list[]", [1, 2], "object"),
    ("getusersummary", "2024-03-01", _set(("list",), None), "$.list", None, "array"),
    ("getusersummary", "2024-03-01", _delete(("list",)), "$.list", None, "array"),
    ("getusersummary", "2024-03-01", _set(("errcode",), 61501), "$.errcode", 61501, "error"),
    (
        "getusersummary",
        "2024-03-01",
        _duplicate_first_item,
        "ref_date,user_source",
        None,
        "duplicate",
    ),
    (
        "getinterfacesummary",
        "2024-03-01",
        _set(("list", 0, "max_time_cost"), 2**70),
        "max_time_cost",
        float(2**70),  # read by orjson as a float
        "range",
    ),
]


def _valid(endpoint: registry.Endpoint, day: date) -> RawResponse:
    return response(endpoint, day, items_for(endpoint, day, 4, dense=True), account_id=ACCOUNT)


@pytest.mark.parametrize(
    ("endpoint_name", "day", "mutate", "field", "value", "reason"),
    CASES,
    ids=[f"{c[0]}:{c[3]}={c[4]!r}" for c in CASES],
)
def test_invalid_value_raises_one_error_naming_everything(
    endpoint_name: str,
    day: str,
    mutate: Callable[[Body], None],
    field: str,
    value: object,
    reason: str,
) -> None:
    endpoint = registry.get(endpoint_name)
    valid = _valid(endpoint, date.fromisoformat(day))
    normalize(valid)  # the unmodified answer is fine
    bad = copy.deepcopy(valid.body)
    mutate(bad)
    broken = RawResponse.of(ACCOUNT, endpoint_name, valid.begin, valid.end, valid.fetched_at, bad)

    with pytest.raises(InvalidPayloadError) as caught:
        normalize(broken, archive_id=ARCHIVE_ID)

    error = caught.value
    message = str(error)
    assert "\n" not in message
    assert isinstance(error, WxUserError)
    assert (error.endpoint, error.account_id, error.field) == (endpoint_name, ACCOUNT, field)
    assert error.archive_id == ARCHIVE_ID
    for part in (endpoint_name, ACCOUNT, field, f"archive row {ARCHIVE_ID}", reason):
        assert part in message, part
    if value is not None:
        assert repr(value)[:40] in message or str(value) in message


def test_one_bad_response_fails_the_whole_batch_and_names_its_archive_row() -> None:
    endpoint = registry.get("getusersummary")
    good = response(endpoint, date(2024, 3, 1), account_id="wxgood")
    bad_body = copy.deepcopy(good.body)
    bad_body["list"][1]["new_user"] = -1
    bad = RawResponse.of(
        "wxbad",
        endpoint.name,
        date(2024, 3, 2),
        date(2024, 3, 2),
        good.fetched_at,
        {"list": [{**i, "ref_date": "2024-03-02"} for i in bad_body["list"]]},
    )
    with pytest.raises(InvalidPayloadError) as caught:
        normalize_many([good, bad], [10, 11])
    assert (caught.value.account_id, caught.value.archive_id) == ("wxbad", 11)
    assert caught.value.window == (date(2024, 3, 2), date(2024, 3, 2))


def test_error_without_archive_row_says_so() -> None:
    endpoint = registry.get("getusercumulate")
    broken = response(endpoint, date(2024, 3, 1), [{"ref_date": "2024-03-01", "cumulate_user": -1}])
    with pytest.raises(InvalidPayloadError, match="not archived"):
        normalize(broken)


@pytest.mark.parametrize("number", [b"NaN", b"1e999", b"-Infinity"])
def test_a_body_that_is_not_json_is_one_error(number: bytes) -> None:
    """Rates and averages are finite: a body carrying NaN or an infinite number is no JSON
    (orjson refuses it) and fails as a whole, naming the row it would have come from."""
    valid = _valid(registry.get("getarticletotaldetail"), date(2025, 11, 3))
    body = copy.deepcopy(valid.body)
    stand_in = b"0.123456789"  # a rate, written where the number goes
    _set(("list", 0, "detail_list", 0, "read_finish_rate"), float(stand_in))(body)
    content = RawResponse.of(
        ACCOUNT, valid.endpoint, valid.begin, valid.end, valid.fetched_at, body
    ).content
    assert content.count(stand_in) == 1
    broken = dataclasses.replace(valid, content=content.replace(stand_in, number))
    with pytest.raises(InvalidPayloadError) as caught:
        normalize(broken, archive_id=ARCHIVE_ID)
    error = caught.value
    assert (error.field, error.archive_id) == ("$", ARCHIVE_ID)
    assert "not JSON" in str(error)
    assert "\n" not in str(error)
