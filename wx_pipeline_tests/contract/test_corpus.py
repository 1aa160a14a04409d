"""Real WeChat answers and official examples, as the pipeline would meet them.

Every file of `corpus/` is an answer gathered from public sources (live answers developers
pasted into code, SDK fixtures, each version of WeChat's documentation; provenance in the
file, see `corpus/README.md`). Each goes through the client's answer handling
(`wechat/answers.py`) and, when that takes it, the normalizer, as after a successful call, and
must give what `EXPECTED` states: rows per table, or the refusal; the drift it reports (fields
left out, fields and codes the registry does not know). The tolerance rules under test are the
README's "Real answers": a real answer never stalls an account.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from wx_pipeline import registry
from wx_pipeline.registry import Nesting
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.load import load_window
from wx_pipeline.warehouse.migrate import migrate
from wx_pipeline.warehouse.normalize import DriftKind, InvalidPayloadError, normalize
from wx_pipeline.wechat import answers
from wx_pipeline.wechat.errors import CallContext, RequestError, WeChatError
from wx_pipeline.wechat.raw import RawResponse

CORPUS = Path(__file__).with_name("corpus")
ACCOUNT = "wxcorpus0000000001"
ARCHIVE_ID = 31337
#: For answers whose source does not say what was asked (error bodies only).
ANY_WINDOW = {"begin_date": "2018-03-01", "end_date": "2018-03-01"}


@dataclass(frozen=True)
class Loads:
    """Stored: these rows, and only this drift (field path or `table.column=code`)."""

    rows: dict[str, int]
    missing: tuple[str, ...] = ()
    unknown_fields: tuple[str, ...] = ()
    unknown_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refused:
    """Not stored: one line naming this field and saying this."""

    field: str
    reason: str


@dataclass(frozen=True)
class ClientError:
    """The client's answer handling raises this error (never archived as data)."""

    error: type[WeChatError]
    said: tuple[str, ...] = field(default_factory=tuple)


#: The 16 per-source counters of getarticletotal's details, which the 2015 answers lack.
_SOURCED_2016 = tuple(
    f"details[].{c.api_field}"
    for c in registry.get("getarticletotal").table.columns
    if c.api_field.startswith(("int_page_from_", "feed_share_from_")) and not c.optional
)

EXPECTED: dict[str, Loads | Refused | ClientError] = {
    # --- followers ---------------------------------------------------------------------------
    "getusersummary/doc-2015-wiki.json": Loads({"user_summary": 1}),
    "getusersummary/ajfkdk-2021-10-21-22-live.json": Loads({"user_summary": 4}),
    "getusersummary/axibauu-2017-09-24-25-live.json": Loads({"user_summary": 3}),
    "getusersummary/wego-2018-03-19-live.json": Loads({"user_summary": 2}),
    "getusersummary/whlong0925-2017-06-15-18-live.json": Loads({"user_summary": 2}),
    # Live answers carry an undocumented user_source 0 (registry: known, no warning).
    "getusercumulate/doc-2015-wiki.json": Loads({"user_cumulate": 1}),
    "getusercumulate/axibauu-2017-09-24-25-live.json": Loads({"user_cumulate": 2}),
    "getusercumulate/wego-2018-03-18-20-live.json": Loads({"user_cumulate": 3}),
    "getusercumulate/whlong0925-2017-06-15-18-live.json": Loads({"user_cumulate": 2}),
    "getusercumulate/xxtsht-2017-11-07-13-live.json": Loads({"user_cumulate": 7}),
    # --- articles (legacy) -------------------------------------------------------------------
    "getarticlesummary/doc-2015-wiki.json": Loads({"article_summary": 1}),
    "getarticlesummary/axibauu-2017-08-04-live.json": Loads({"article_summary": 1}),
    "getarticlesummary/wego-2018-03-20-empty-live.json": Loads({"article_summary": 0}),
    # The current documentation's example leaves two counters out: NULL, reported.
    "getarticlesummary/doc-2025-26-transcription.json": Loads(
        {"article_summary": 1}, missing=("add_to_fav_count", "ori_page_read_user")
    ),
    # 2015: details without the per-source reads that came in 2016 - NULL, reported.
    "getarticletotal/doc-2015-wiki.json": Loads({"article_total": 1}, missing=_SOURCED_2016),
    "getarticletotal/doc-2016-19-wiki.json": Loads({"article_total": 1}),
    # 2015: no user_source at all - one row a day, the total (stored as 99999999).
    "getuserread/doc-2015-wiki.json": Loads({"user_read": 1}),
    "getuserread/skit-fixture-2020-docs.json": Loads({"user_read": 2}),
    "getuserreadhour/doc-2015-wiki.json": Loads({"user_read_hour": 1}),
    "getuserreadhour/doc-2016-19-wiki.json": Loads({"user_read_hour": 4}),
    "getuserreadhour/skit-fixture-2020-docs.json": Loads({"user_read_hour": 2}),
    # share_scene 5 is in WeChat's own example since 2015: listed, no warning.
    "getusershare/doc-2015-wiki.json": Loads({"user_share": 2}),
    "getusershare/xxtsht-2017-11-10-live.json": Loads({"user_share": 2}),
    "getusersharehour/doc-2015-wiki.json": Loads({"user_share_hour": 1}),
    # --- articles (2025) ---------------------------------------------------------------------
    "getarticleread/rust-fixture-2025-doc-values.json": Loads(
        {"article_read": 1, "article_read_source": 2}
    ),
    "getarticleshare/rust-fixture-2025-doc-values.json": Loads({"article_share": 1}),
    "getbizsummary/rust-fixture-2025-doc-values.json": Loads(
        {"biz_summary": 1, "biz_summary_read_source": 2}
    ),
    # The example before the March 2026 doc edit: no title, no content_url - NULL, reported.
    "getarticletotaldetail/rust-fixture-2025-doc-values.json": Loads(
        {
            "article_total_detail": 1,
            "article_total_detail_read_source": 1,
            "article_total_detail_jump_position": 2,
        },
        missing=("content_url", "title"),
    ),
    # --- messages ----------------------------------------------------------------------------
    "getupstreammsg/doc-2015-wiki.json": Loads({"upstream_msg": 1}),
    "getupstreammsg/xxtsht-2017-11-07-13-live.json": Loads({"upstream_msg": 3}),
    "getupstreammsghour/doc-2015-wiki.json": Loads({"upstream_msg_hour": 1}),
    "getupstreammsgweek/doc-2015-wiki.json": Loads({"upstream_msg_week": 1}),
    "getupstreammsgweek/wego-2018-03-20-empty-live.json": Loads({"upstream_msg_week": 0}),
    "getupstreammsgmonth/doc-2015-wiki.json": Loads({"upstream_msg_month": 1}),
    "getupstreammsgmonth/wego-2018-03-20-empty-live.json": Loads({"upstream_msg_month": 0}),
    "getupstreammsgdist/doc-2015-wiki.json": Loads({"upstream_msg_dist": 1}),
    # The 2015 examples date a week and a month by a Sunday (2014-12-07), where the week
    # endpoint's own example and every answer use the Monday: a row on that key could not say
    # which week it counts, so it is refused (one line), never stored under a guessed period.
    "getupstreammsgdistweek/doc-2015-wiki.json": Refused("ref_date", "not the first day of a week"),
    "getupstreammsgdistweek/wego-2018-03-20-empty-live.json": Loads({"upstream_msg_dist_week": 0}),
    "getupstreammsgdistmonth/doc-2015-wiki.json": Refused(
        "ref_date", "not the first day of a month"
    ),
    "getupstreammsgdistmonth/wego-2018-03-20-empty-live.json": Loads(
        {"upstream_msg_dist_month": 0}
    ),
    # --- callbacks ---------------------------------------------------------------------------
    "getinterfacesummary/doc-2015-wiki.json": Loads({"interface_summary": 1}),
    "getinterfacesummary/wego-2018-03-20-live.json": Loads({"interface_summary": 1}),
    "getinterfacesummaryhour/doc-2015-wiki.json": Loads({"interface_summary_hour": 1}),
    "getinterfacesummaryhour/wego-2018-03-20-live.json": Loads({"interface_summary_hour": 1}),
    # An SDK's made-up fixture that misspells max_time_cost: a field left out and an unknown
    # one, both reported, the row stored.
    "getinterfacesummary/wechatpy-fixture.json": Loads(
        {"interface_summary": 1}, missing=("max_time_cost",), unknown_fields=("max_time_count",)
    ),
    "getinterfacesummaryhour/wechatpy-fixture.json": Loads(
        {"interface_summary_hour": 1},
        missing=("max_time_cost",),
        unknown_fields=("max_time_count",),
    ),
    # --- error answers -----------------------------------------------------------------------
    "errors/wego-61501-hint-live.json": ClientError(RequestError, ("61501", "date range error")),
    "errors/rocye-61501-span-31-days-live.json": ClientError(
        RequestError, ("61501", "date range error")
    ),
}


def _files() -> list[str]:
    return sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.json"))


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((CORPUS / name).read_text(encoding="utf-8"))
    return loaded


def _window(entry: dict[str, Any]) -> tuple[date, date]:
    request = entry["request"] or ANY_WINDOW
    return date.fromisoformat(request["begin_date"]), date.fromisoformat(request["end_date"])


def _context(entry: dict[str, Any]) -> CallContext:
    return CallContext(ACCOUNT, "corpus", entry["endpoint"], *_window(entry))


def _response(entry: dict[str, Any]) -> RawResponse:
    """The answer as the client hands it on after a successful call."""
    begin, end = _window(entry)
    fetched_at = datetime(2026, 12, 6, tzinfo=UTC)
    return RawResponse(
        ACCOUNT, entry["endpoint"], begin, end, fetched_at, orjson.dumps(entry["answer"])
    )


def test_every_file_has_an_expectation_and_its_provenance() -> None:
    assert _files() == sorted(EXPECTED)
    for name in _files():
        entry = _load(name)
        source = entry["source"]
        assert source["kind"] in {"live-capture", "sdk-fixture", "official-doc"}, name
        # Where it comes from: a repository and path, or a documentation page; and when.
        assert (source.get("repository") and source.get("path")) or source.get("url"), name
        assert date.fromisoformat(source["retrieved"]), name
        if source["kind"] == "official-doc":
            assert source["doc_version"], name
    endpoints = {_load(n)["endpoint"] for n in _files() if not n.startswith("errors/")}
    assert endpoints == set(registry.BY_NAME)  # every endpoint has a real answer or example


def _rows_in(entry: dict[str, Any]) -> dict[str, int]:
    """Rows per table counted straight from the JSON (independently of the normalizer)."""
    endpoint = registry.get(entry["endpoint"])
    items = entry["answer"]["list"]
    nested = endpoint.nested_field
    if nested is None:
        entries = items
    elif endpoint.nesting is Nesting.DETAIL:
        entries = [i[nested] for i in items]
    else:
        entries = [e for i in items for e in i[nested]]
    rows = {endpoint.table.name: len(entries)}
    for child in endpoint.child_tables:
        assert child.array_field is not None
        rows[child.name] = sum(len(e.get(child.array_field) or []) for e in entries)
    return rows


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_pipeline_takes_each_answer_as_stated(name: str) -> None:
    entry, expected = _load(name), EXPECTED[name]
    context = _context(entry)
    content = orjson.dumps(entry["answer"])
    if isinstance(expected, ClientError):
        with pytest.raises(expected.error) as raised:
            answers.judge_datacube(answers.parse(content, context), context)
        line = str(raised.value)
        assert "\n" not in line
        assert all(words in line for words in expected.said), line
        return
    answers.judge_datacube(answers.parse(content, context), context)  # data, not an error
    response = _response(entry)
    if isinstance(expected, Refused):
        with pytest.raises(InvalidPayloadError) as refused:
            normalize(response, ARCHIVE_ID)
        line = str(refused.value)
        assert expected.field in line, line
        assert expected.reason in line, line
        assert f"archive row {ARCHIVE_ID}" in line
        assert "\n" not in line
        return
    result = normalize(response, ARCHIVE_ID)
    assert {t: n for t, n in result.rows.items()} == expected.rows == _rows_in(entry)
    assert set(result.drift.counts(DriftKind.MISSING_FIELD)) == set(expected.missing)
    assert set(result.drift.counts(DriftKind.UNKNOWN_FIELD)) == set(expected.unknown_fields)
    assert set(result.drift.counts(DriftKind.UNKNOWN_CODE)) == set(expected.unknown_codes)
    # Every record names its endpoint and the archive row to look at.
    for line in result.drift.lines():
        assert line.startswith(entry["endpoint"])
        assert f"archive row {ARCHIVE_ID}" in line


def test_answers_without_sources_are_stored_as_the_total() -> None:
    """The 2015 getuserread answer: one row for the day, stored under the ALL source."""
    entry = _load("getuserread/doc-2015-wiki.json")
    assert all("user_source" not in item for item in entry["answer"]["list"])
    frame = normalize(_response(entry)).frames["user_read"]
    assert frame["user_source"].tolist() == [99999999]
    assert frame["int_page_read_user"].tolist() == [
        item["int_page_read_user"] for item in entry["answer"]["list"]
    ]


@pytest.mark.parametrize(
    "name", sorted(n for n, e in EXPECTED.items() if isinstance(e, Loads) and e.missing)
)
def test_fields_left_out_are_stored_as_null(name: str, database_url: str) -> None:
    """Into PostgreSQL: the rows load, NULL where the answer left a field out."""
    migrate(database_url)
    entry = _load(name)
    endpoint = registry.get(entry["endpoint"])
    result = normalize(_response(entry), ARCHIVE_ID)
    engine = make_engine(database_url)
    try:
        begin, end = _window(entry)
        loaded = load_window(engine, endpoint, ACCOUNT, begin, end, result.frames, None)
        assert loaded.rows == result.rows
        with engine.connect() as conn:
            for path in result.drift.counts(DriftKind.MISSING_FIELD):
                column = path.rsplit(".", 1)[-1]
                table = next(t for t in endpoint.tables if column in {c.name for c in t.columns})
                nulls: int = conn.execute(
                    sa.text(
                        f"select count(*) from wechat.{table.name} "
                        f"where account_id = :a and {column} is null"
                    ),
                    {"a": ACCOUNT},
                ).scalar_one()
                assert nulls == loaded.rows[table.name] > 0, path
    finally:
        engine.dispose()
