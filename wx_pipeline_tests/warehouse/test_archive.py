"""The raw archive and rebuilding facts from it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from wx_pipeline import registry
from wx_pipeline.registry import ENDPOINTS, Endpoint, period_starts
from wx_pipeline.warehouse.archive import ArchivedResponse, archive_responses, iter_archived
from wx_pipeline.warehouse.load import load_window
from wx_pipeline.warehouse.normalize import normalize_many
from wx_pipeline.warehouse.renormalize import day_runs, owned_days, renormalize
from wx_pipeline.wechat.raw import RawResponse
from wx_pipeline_tests.warehouse.dbrows import db_rows, frame_rows
from wx_pipeline_tests.warehouse.payloads import items_for, response

T0 = datetime(2025, 12, 1, 1, 0, tzinfo=UTC)


def answer(
    endpoint: Endpoint,
    account: str,
    first: date,
    last: date,
    fetched_at: datetime = T0,
    seed: int = 0,
) -> RawResponse:
    """One archived-style answer for [first, last] with rows on every (period) day."""
    items = [
        item
        for day in period_starts(endpoint.period, first, last)
        for item in items_for(endpoint, day, 4, seed=seed, dense=True)
    ]
    return response(endpoint, first, items, account_id=account, end=last, fetched_at=fetched_at)


def test_archive_keeps_bodies_exactly_and_returns_ids_in_order(engine: sa.Engine) -> None:
    summary = registry.get("getusersummary")
    odd = {"list": [], "新字段": ["嵌套", {"x": None}], "big": 2**62, "f": 0.1}
    responses = [
        answer(summary, "wxarch", date(2024, 1, 1), date(2024, 1, 7)),
        RawResponse.of("wxarch", "getusersummary", date(2024, 1, 8), date(2024, 1, 8), T0, odd),
    ]
    ids = archive_responses(engine, responses, "run-a")
    assert len(ids) == 2
    assert ids[0] < ids[1]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT id, account_id, endpoint, begin_date, end_date, fetched_at, run_id, body "
                "FROM wechat_raw.api_response WHERE id = ANY(:ids) ORDER BY id"
            ),
            {"ids": ids},
        ).all()
    assert [r.body for r in rows] == [r.body for r in responses]
    assert [(r.begin_date, r.end_date) for r in rows] == [(x.begin, x.end) for x in responses]
    assert {(r.account_id, r.endpoint, r.run_id, r.fetched_at) for r in rows} == {
        ("wxarch", "getusersummary", "run-a", T0)
    }
    assert archive_responses(engine, [], None) == []


def test_archive_joins_the_callers_transaction(engine: sa.Engine) -> None:
    summary = registry.get("getusersummary")
    with engine.connect() as conn:
        trans = conn.begin()
        ids = archive_responses(
            conn, [answer(summary, "wxtx", date(2024, 2, 1), date(2024, 2, 1))], None
        )
        trans.rollback()
    with engine.connect() as conn:
        found: int = conn.execute(
            sa.text("SELECT count(*) FROM wechat_raw.api_response WHERE id = ANY(:ids)"),
            {"ids": ids},
        ).scalar_one()
    assert found == 0


def _same_answer(archived: RawResponse, original: RawResponse) -> bool:
    """The same fields and body: JSONB gives the body back as equal JSON, spelled its own way."""
    same_fields = dataclasses.replace(archived, content=original.content) == original
    return same_fields and archived.body == original.body


def test_iter_archived_returns_the_latest_fetch_of_each_window(engine: sa.Engine) -> None:
    cumulate = registry.get("getusercumulate")
    first = answer(cumulate, "wxlatest", date(2024, 3, 1), date(2024, 3, 7), T0, seed=1)
    again = answer(
        cumulate, "wxlatest", date(2024, 3, 1), date(2024, 3, 7), T0 + timedelta(hours=5), seed=2
    )
    overlap = answer(
        cumulate, "wxlatest", date(2024, 3, 5), date(2024, 3, 11), T0 + timedelta(hours=1), seed=3
    )
    other = answer(cumulate, "wxlatestb", date(2024, 3, 1), date(2024, 3, 7), T0, seed=4)
    ids = archive_responses(
        engine, [again, first, overlap, other], "r"
    )  # archive order != fetch order
    got = list(iter_archived(engine, "getusercumulate", account_id="wxlatest"))
    assert [a.id for a in got] == [ids[2], ids[0]]  # by fetch time; the older same-window one gone
    assert _same_answer(got[1].response, again)
    assert isinstance(got[0], ArchivedResponse)
    # Window filters: overlap with [start, end].
    assert [
        a.id for a in iter_archived(engine, "getusercumulate", date(2024, 3, 8), None, "wxlatest")
    ] == [ids[2]]
    assert [
        a.id for a in iter_archived(engine, "getusercumulate", None, date(2024, 3, 4), "wxlatest")
    ] == [ids[0]]
    assert {a.response.account_id for a in iter_archived(engine, "getusercumulate")} >= {
        "wxlatest",
        "wxlatestb",
    }


def _archived(endpoint: Endpoint, windows: list[tuple[str, str]]) -> list[ArchivedResponse]:
    return [
        ArchivedResponse(
            i,
            None,
            answer(
                endpoint,
                "wx",
                date.fromisoformat(b),
                date.fromisoformat(e),
                T0 + timedelta(hours=i),
            ),
        )
        for i, (b, e) in enumerate(windows)
    ]


def test_owned_days_latest_fetch_wins_each_day() -> None:
    daily = registry.get("getusersummary")
    archived = _archived(
        daily,
        [("2024-01-01", "2024-01-07"), ("2024-01-05", "2024-01-11"), ("2024-01-03", "2024-01-03")],
    )
    owned = owned_days(daily, archived)
    d = date.fromisoformat
    assert owned[0] == {d("2024-01-01"), d("2024-01-02"), d("2024-01-04")}
    assert owned[1] == {d("2024-01-05") + timedelta(days=i) for i in range(7)}
    assert owned[2] == {d("2024-01-03")}
    clipped = owned_days(daily, archived, d("2024-01-02"), d("2024-01-06"))
    assert set().union(*clipped) == {d("2024-01-02") + timedelta(days=i) for i in range(5)}
    assert day_runs(set().union(*owned)) == [(d("2024-01-01"), d("2024-01-11"))]
    assert day_runs([d("2024-01-01"), d("2024-01-03"), d("2024-01-02"), d("2024-01-09")]) == [
        (d("2024-01-01"), d("2024-01-03")),
        (d("2024-01-09"), d("2024-01-09")),
    ]


def test_owned_days_of_weekly_windows_reach_the_end_of_their_last_week() -> None:
    weekly = registry.get("getupstreammsgweek")
    archived = _archived(weekly, [("2024-06-03", "2024-06-10"), ("2024-06-17", "2024-06-17")])
    owned = owned_days(weekly, archived)
    assert min(owned[0]) == date(2024, 6, 3)
    assert max(owned[0]) == date(2024, 6, 16)  # Sunday of the week starting 06-10
    assert max(owned[1]) == date(2024, 6, 23)
    assert day_runs(set().union(*owned)) == [(date(2024, 6, 3), date(2024, 6, 23))]


def _ingest(engine: sa.Engine, responses: list[RawResponse], run_id: str) -> None:
    """What a pipeline run does: archive, normalize, load each response's window."""
    ids = archive_responses(engine, responses, run_id)
    batch = normalize_many(responses, ids)
    for r in responses:
        endpoint = registry.get(r.endpoint)
        frames = batch.frames_for(endpoint, r.account_id)
        window = {
            name: f[f.ref_date.between(pd.Timestamp(r.begin), pd.Timestamp(r.end))]
            for name, f in frames.items()
        }
        load_window(engine, endpoint, r.account_id, r.begin, r.end, window, run_id)


def _snapshot(
    engine: sa.Engine, endpoint: Endpoint, account: str
) -> dict[str, list[tuple[object, ...]]]:
    return {t.name: db_rows(engine, t.name, account) for t in endpoint.tables}


def _wipe(engine: sa.Engine, endpoint: Endpoint, account: str) -> None:
    with engine.begin() as conn:
        for t in endpoint.tables:
            conn.execute(
                sa.text(f"DELETE FROM wechat.{t.name} WHERE account_id = :a"), {"a": account}
            )


def test_renormalize_rebuilds_every_endpoint_exactly(engine: sa.Engine) -> None:
    account = "wxrebuild"
    responses = []
    for endpoint in ENDPOINTS:
        first = date(2025, 11, 3)
        last = first + timedelta(days=min(endpoint.max_span, 28) - 1)
        if endpoint.period.value != "day":
            last = max(period_starts(endpoint.period, first, first + timedelta(days=40)))
            first = min(period_starts(endpoint.period, first, last))
        responses.append(answer(endpoint, account, first, last))
    _ingest(engine, responses, "run-orig")
    loaded = {e.name: _snapshot(engine, e, account) for e in ENDPOINTS}
    assert all(rows for snap in loaded.values() for rows in snap.values() if rows is not None)
    for endpoint in ENDPOINTS:
        _wipe(engine, endpoint, account)

    result = renormalize(engine, account_id=account, run_id="rebuild")
    assert result.responses == len(ENDPOINTS)
    for endpoint in ENDPOINTS:
        assert _snapshot(engine, endpoint, account) == loaded[endpoint.name], endpoint.name
    with engine.connect() as conn:
        runs: list[str] = list(
            conn.execute(
                sa.text("SELECT DISTINCT _run_id FROM wechat.user_summary WHERE account_id = :a"),
                {"a": account},
            )
            .scalars()
            .all()
        )
    assert runs == ["rebuild"]


def test_renormalize_takes_each_day_from_its_latest_fetch_and_leaves_other_days(
    engine: sa.Engine,
) -> None:
    endpoint = registry.get("getusersummary")
    account = "wxrevise"
    old = answer(endpoint, account, date(2024, 5, 1), date(2024, 5, 7), T0, seed=1)
    new = answer(
        endpoint, account, date(2024, 5, 5), date(2024, 5, 11), T0 + timedelta(days=1), seed=2
    )
    _ingest(engine, [old], "r1")
    _ingest(engine, [new], "r2")
    expected = db_rows(engine, "user_summary", account)
    # A day outside the archive: loaded directly, must survive the rebuild.
    outside = normalize_many([answer(endpoint, account, date(2024, 5, 20), date(2024, 5, 20))])
    load_window(
        engine, endpoint, account, date(2024, 5, 20), date(2024, 5, 20), outside.frames, "direct"
    )
    _wipe_window = sa.text(
        "DELETE FROM wechat.user_summary WHERE account_id = :a AND ref_date <= '2024-05-11'"
    )
    with engine.begin() as conn:
        conn.execute(_wipe_window, {"a": account})

    result = renormalize(engine, endpoints=["getusersummary"], account_id=account, run_id="re")
    assert result.windows == 1
    rebuilt = db_rows(engine, "user_summary", account, last=date(2024, 5, 11))
    assert rebuilt == expected
    assert db_rows(engine, "user_summary", account, first=date(2024, 5, 20)) == frame_rows(
        "user_summary", outside.frames["user_summary"]
    )

    # Restricted to a date range, only those days are rebuilt.
    with engine.begin() as conn:
        conn.execute(_wipe_window, {"a": account})
    renormalize(
        engine,
        endpoints=["getusersummary"],
        start=date(2024, 5, 6),
        end=date(2024, 5, 8),
        account_id=account,
    )
    assert {r[1] for r in db_rows(engine, "user_summary", account, last=date(2024, 5, 11))} == {
        date(2024, 5, 6),
        date(2024, 5, 7),
        date(2024, 5, 8),
    }


def test_renormalize_keeps_partial_days_out(engine: sa.Engine) -> None:
    """An answer fetched before its newest stat_date was final keeps saying so in the archive:
    rebuilding from it loads only the final running totals, like the run that fetched it."""
    total = registry.get("getarticletotal")
    day = date(2024, 5, 6)
    early = dataclasses.replace(
        answer(total, "wxpartial", day, day), final_through=day + timedelta(days=2)
    )
    archive_responses(engine, [early], "run-early")
    assert _same_answer(
        next(iter_archived(engine, total.name, account_id="wxpartial")).response, early
    )
    renormalize(engine, endpoints=[total.name], account_id="wxpartial")
    with engine.connect() as conn:
        latest = conn.execute(
            sa.text(
                "select max(stat_date) from wechat.article_total where account_id = 'wxpartial'"
            )
        ).scalar()
    assert latest == day + timedelta(days=2)
