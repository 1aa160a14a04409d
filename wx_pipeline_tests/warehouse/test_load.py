"""The loader on a real PostgreSQL: exact round trips, idempotence, serialised overlapping loads,
and no change at all when a load fails half-way."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date

import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa

from wx_pipeline import registry
from wx_pipeline.registry import ENDPOINTS, Endpoint, period_starts
from wx_pipeline.warehouse.embedded import libpq_url
from wx_pipeline.warehouse.load import FrameMismatchError, load_window, lock_key
from wx_pipeline.warehouse.normalize import normalize, normalize_many
from wx_pipeline.warehouse.normalize.dtypes import empty_frames
from wx_pipeline_tests.warehouse.dbrows import db_rows, frame_rows, run_ids
from wx_pipeline_tests.warehouse.payloads import items_for, response

Frames = dict[str, pd.DataFrame]


def frames_for(
    endpoint: Endpoint, account: str, first: date, last: date, rows: int = 6, seed: int = 0
) -> Frames:
    days = list(period_starts(endpoint.period, first, last))
    answers = [
        response(
            endpoint, d, items_for(endpoint, d, rows, seed=seed, dense=True), account_id=account
        )
        for d in days
    ]
    return normalize_many(answers).frames_for(endpoint, account)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_every_table_round_trips_exactly(engine: sa.Engine, endpoint: Endpoint) -> None:
    first, last = date(2025, 11, 3), date(2025, 12, 28)
    frames = frames_for(endpoint, "wxroundtrip", first, last)
    loaded = load_window(engine, endpoint, "wxroundtrip", first, last, frames, "run-rt")
    assert loaded.rows == {name: len(frame) for name, frame in frames.items()}
    assert loaded.rows[endpoint.table.name] > 0
    assert loaded.changed
    for table in endpoint.tables:
        assert db_rows(engine, table.name, "wxroundtrip") == frame_rows(
            table.name, frames[table.name]
        )
        assert run_ids(engine, table.name, "wxroundtrip").keys() <= {
            d for d in pd.date_range(first, last).date
        }


def test_edge_values_round_trip(engine: sa.Engine) -> None:
    # Empty and multi-byte text, text that looks like CSV's or COPY text's escapes, NULLs, and
    # numbers at their limits.
    total = registry.get("getarticletotal")
    items = items_for(total, date(2015, 3, 2), 3, dense=True)
    items[0]["title"] = ""
    items[1]["title"] = 'quote " comma , newline \n tab \t backslash \\N 中文 😀'
    items[2]["title"] = "\\N"
    items[0]["details"][0]["int_page_read_user"] = 2**63 - 1
    items[0]["details"][0]["int_page_from_kanyikan_read_user"] = None
    items[1]["details"][0]["int_page_from_souyisou_read_count"] = 0
    frames = normalize(response(total, date(2015, 3, 2), items, account_id="wxedge")).frames
    load_window(engine, total, "wxedge", date(2015, 3, 2), date(2015, 3, 2), frames, None)
    assert db_rows(engine, "article_total", "wxedge") == frame_rows(
        "article_total", frames["article_total"]
    )
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text(
                "SELECT DISTINCT title, title IS NULL, _run_id IS NULL FROM wechat.article_total "
                "WHERE account_id = 'wxedge'"
            )
        ).all()
    assert sorted(stored) == sorted((item["title"], False, True) for item in items)

    detail = registry.get("getarticletotaldetail")
    items = items_for(detail, date(2025, 11, 4), 2, dense=True)
    items[0]["detail_list"][0]["read_delivery_rate"] = 0.1 + 0.2  # not representable exactly
    items[0]["detail_list"][0]["read_avg_activetime"] = 1e-300
    frames = normalize(response(detail, date(2025, 11, 4), items, account_id="wxedge")).frames
    load_window(engine, detail, "wxedge", date(2025, 11, 4), date(2025, 11, 4), frames, "r")
    for name, frame in frames.items():
        assert db_rows(engine, name, "wxedge") == frame_rows(name, frame)


def test_loading_a_window_twice_equals_loading_it_once(engine: sa.Engine) -> None:
    endpoint = registry.get("getuserreadhour")
    first, last = date(2016, 1, 1), date(2016, 1, 10)
    frames = frames_for(endpoint, "wxtwice", first, last, rows=30)
    load_window(engine, endpoint, "wxtwice", first, last, frames, "run-1")
    once = db_rows(engine, "user_read_hour", "wxtwice")
    load_window(engine, endpoint, "wxtwice", first, last, frames, "run-2")
    assert db_rows(engine, "user_read_hour", "wxtwice") == once
    assert len(once) == len(frames["user_read_hour"])
    with engine.connect() as conn:
        assert conn.execute(
            sa.text(
                "SELECT DISTINCT _run_id FROM wechat.user_read_hour WHERE account_id = 'wxtwice'"
            )
        ).scalars().all() == ["run-2"]


def test_a_load_says_whether_it_changed_the_window(engine: sa.Engine) -> None:
    """New days and restated rows are changes; the same rows again (from another run, at
    another time) are not - the late-data refresh's marts run depends on it."""
    endpoint = registry.get("getarticletotaldetail")  # a main table and child tables
    day = date(2025, 11, 21)
    frames = frames_for(endpoint, "wxchanged", day, day, rows=4, seed=7)
    first = load_window(engine, endpoint, "wxchanged", day, day, frames, "first")
    assert first.changed
    assert first.replaced == {name: 0 for name in frames}
    again = load_window(engine, endpoint, "wxchanged", day, day, frames, "again")
    assert not again.changed
    assert again.rows == {name: len(frame) for name, frame in frames.items()}
    # The rows it deleted: a re-pulled window rewrites its tables without growing them.
    assert again.replaced == again.rows
    # One figure restated, in a child table only.
    child = next(t for t in endpoint.tables if t is not endpoint.table)
    measure = next(c.name for c in child.columns if c.agg is not None)
    restated = {name: frame.copy() for name, frame in frames.items()}
    restated[child.name].loc[restated[child.name].index[0], measure] += 1
    assert load_window(engine, endpoint, "wxchanged", day, day, restated, "restated").changed
    # A row gone is a change; nothing over nothing is not.
    fewer = {name: frame.iloc[1:] for name, frame in restated.items()}
    assert load_window(engine, endpoint, "wxchanged", day, day, fewer, "fewer").changed
    empty_day = date(2025, 11, 22)
    empty = empty_frames(endpoint)
    assert not load_window(engine, endpoint, "wxchanged", empty_day, empty_day, empty, "e").changed


def test_reload_replaces_only_its_window_and_account(engine: sa.Engine) -> None:
    endpoint = registry.get("getusersummary")
    first, last = date(2017, 1, 1), date(2017, 1, 20)
    base = frames_for(endpoint, "wxwin", first, last, seed=1)
    other = frames_for(endpoint, "wxother", first, last, seed=2)
    load_window(engine, endpoint, "wxwin", first, last, base, "base")
    load_window(engine, endpoint, "wxother", first, last, other, "other")

    inner_first, inner_last = date(2017, 1, 5), date(2017, 1, 9)
    newer = frames_for(endpoint, "wxwin", inner_first, inner_last, rows=2, seed=3)
    load_window(engine, endpoint, "wxwin", inner_first, inner_last, newer, "newer")

    table = base["user_summary"]
    outside = table[
        (table.ref_date < pd.Timestamp(inner_first)) | (table.ref_date > pd.Timestamp(inner_last))
    ]
    expected = sorted(
        frame_rows("user_summary", outside) + frame_rows("user_summary", newer["user_summary"]),
        key=repr,
    )
    assert db_rows(engine, "user_summary", "wxwin") == expected
    assert db_rows(engine, "user_summary", "wxother") == frame_rows(
        "user_summary", other["user_summary"]
    )

    # An empty answer for a day empties that day.
    load_window(
        engine, endpoint, "wxwin", inner_first, inner_first, empty_frames(endpoint), "empty"
    )
    assert db_rows(engine, "user_summary", "wxwin", inner_first, inner_first) == []


def test_child_tables_are_replaced_in_the_same_transaction(engine: sa.Engine) -> None:
    endpoint = registry.get("getarticletotaldetail")
    day = date(2025, 11, 20)
    frames = frames_for(endpoint, "wxchild", day, day, rows=5, seed=4)
    load_window(engine, endpoint, "wxchild", day, day, frames, "a")
    fewer = frames_for(endpoint, "wxchild", day, day, rows=1, seed=5)
    load_window(engine, endpoint, "wxchild", day, day, fewer, "b")
    for table in endpoint.tables:
        assert db_rows(engine, table.name, "wxchild") == frame_rows(table.name, fewer[table.name])


def test_overlapping_concurrent_loads_never_duplicate_or_lose_rows(engine: sa.Engine) -> None:
    endpoint = registry.get("getusersharehour")
    windows = [
        (date(2018, 3, 1), date(2018, 3, 10)),
        (date(2018, 3, 6), date(2018, 3, 15)),
        (date(2018, 3, 3), date(2018, 3, 12)),
    ]
    loads = [
        (first, last, frames_for(endpoint, "wxrace", first, last, rows=40, seed=i))
        for i, (first, last) in enumerate(windows)
    ]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(loads))

    def worker(i: int) -> None:
        first, last, frames = loads[i]
        try:
            barrier.wait()
            for _ in range(4):
                load_window(engine, endpoint, "wxrace", first, last, frames, f"load-{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(loads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # Each day holds exactly the rows of one load that covered it, never a mix or a duplicate.
    rows = db_rows(engine, "user_share_hour", "wxrace")
    assert len(rows) == len(set(rows))
    by_day = run_ids(engine, "user_share_hour", "wxrace")
    assert set(by_day) == {d.date() for d in pd.date_range("2018-03-01", "2018-03-15")}
    for day, ids in by_day.items():
        assert len(ids) == 1, day
        (run,) = ids
        first, last, frames = loads[int(str(run).split("-")[1])]
        assert first <= day <= last
        frame = frames["user_share_hour"]
        assert db_rows(engine, "user_share_hour", "wxrace", day, day) == frame_rows(
            "user_share_hour", frame[frame.ref_date == pd.Timestamp(day)]
        )


def _in_thread(fn: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def test_a_load_waits_for_the_lock_of_its_endpoint_and_account(
    engine: sa.Engine, database_url: str
) -> None:
    endpoint = registry.get("getusercumulate")
    day = date(2019, 5, 1)
    frames = frames_for(endpoint, "wxlock", day, day)
    with psycopg.connect(libpq_url(database_url)) as holder:
        holder.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (lock_key(endpoint, "wxlock"),)
        )
        thread, errors = _in_thread(
            lambda: load_window(engine, endpoint, "wxlock", day, day, frames, "waited")
        )
        # Another account's load of the same endpoint does not wait.
        load_window(
            engine, endpoint, "wxfree", day, day, frames_for(endpoint, "wxfree", day, day), "x"
        )
        thread.join(timeout=1.0)
        assert thread.is_alive()  # blocked on the lock
        assert db_rows(engine, "user_cumulate", "wxlock") == []
        holder.rollback()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert errors == []
    assert db_rows(engine, "user_cumulate", "wxlock") == frame_rows(
        "user_cumulate", frames["user_cumulate"]
    )


def test_connection_killed_mid_copy_leaves_previous_contents(
    engine: sa.Engine, database_url: str
) -> None:
    endpoint = registry.get("getuserreadhour")
    first, last = date(2020, 1, 1), date(2020, 3, 31)
    before = frames_for(endpoint, "wxkill", first, last, rows=20, seed=1)
    load_window(engine, endpoint, "wxkill", first, last, before, "before")
    previous = db_rows(engine, "user_read_hour", "wxkill")

    after = frames_for(endpoint, "wxkill", first, last, rows=100, seed=2)["user_read_hour"]
    last_row = after.iloc[[-1]]
    with (
        psycopg.connect(libpq_url(database_url)) as blocker,
        psycopg.connect(libpq_url(database_url), autocommit=True) as admin,
    ):
        # An uncommitted row with the key of the new data's last row: the COPY streams every row
        # before it, then waits on this transaction - mid-COPY, deterministically.
        blocker.execute(
            "INSERT INTO wechat.user_read_hour (account_id, ref_date, hour, user_source, "
            "int_page_read_user, int_page_read_count, ori_page_read_user, ori_page_read_count, "
            "share_user, share_count, add_to_fav_user, add_to_fav_count) "
            "VALUES (%s, %s, %s, %s, 0, 0, 0, 0, 0, 0, 0, 0)",
            (
                "wxkill",
                last_row.ref_date.iloc[0].date(),
                int(last_row.hour.iloc[0]),
                int(last_row.user_source.iloc[0]),
            ),
        )
        thread, errors = _in_thread(
            lambda: load_window(
                engine, endpoint, "wxkill", first, last, {"user_read_hour": after}, "x"
            )
        )
        pid = None
        for _ in range(600):
            row = admin.execute(
                "SELECT a.pid, p.tuples_processed FROM pg_stat_activity a "
                "JOIN pg_stat_progress_copy p ON p.pid = a.pid "
                "WHERE a.datname = current_database() AND a.wait_event_type = 'Lock'"
            ).fetchone()
            if row is not None:
                pid, processed = row
                assert 0 < processed < len(after)  # rows went in before the blocked one
                break
            time.sleep(0.05)
        assert pid is not None, "the COPY never reached the blocking row"
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        thread.join(timeout=30)
        blocker.rollback()
    assert len(errors) == 1
    assert isinstance(errors[0], sa.exc.OperationalError | psycopg.OperationalError)
    assert db_rows(engine, "user_read_hour", "wxkill") == previous


def test_a_failing_copy_rolls_back_the_delete(engine: sa.Engine) -> None:
    endpoint = registry.get("getupstreammsg")
    first, last = date(2021, 1, 1), date(2021, 1, 7)
    frames = frames_for(endpoint, "wxfail", first, last)
    load_window(engine, endpoint, "wxfail", first, last, frames, "good")
    previous = db_rows(engine, "upstream_msg", "wxfail")
    table = frames["upstream_msg"]
    duplicated = {"upstream_msg": pd.concat([table, table.iloc[[0]]], ignore_index=True)}
    with pytest.raises(psycopg.errors.UniqueViolation):
        load_window(engine, endpoint, "wxfail", first, last, duplicated, "bad")
    assert db_rows(engine, "upstream_msg", "wxfail") == previous


def test_frames_that_do_not_fit_are_refused_before_touching_the_table(engine: sa.Engine) -> None:
    endpoint = registry.get("getinterfacesummary")
    first, last = date(2022, 1, 1), date(2022, 1, 5)
    frames = frames_for(endpoint, "wxfit", first, last)
    load_window(engine, endpoint, "wxfit", first, last, frames, "ok")
    rows = db_rows(engine, "interface_summary", "wxfit")
    table = frames["interface_summary"]
    cases: list[tuple[date, date, Frames, str]] = [
        (first, date(2022, 1, 3), frames, "outside the window"),
        (first, last, {"interface_summary": table.assign(account_id="wxelse")}, "another account"),
        (first, last, {}, "loads tables"),
        (first, last, {**frames, "user_read": table}, "loads tables"),
        (first, last, {"interface_summary": table.drop(columns="fail_count")}, "missing columns"),
        (first, last, {"interface_summary": table.astype({"callback_count": "float64"})}, "dtype"),
        (last, first, frames, "empty window"),
    ]
    for begin, end, given, message in cases:
        with pytest.raises(FrameMismatchError, match=message):
            load_window(engine, endpoint, "wxfit", begin, end, given, "bad")
    assert db_rows(engine, "interface_summary", "wxfit") == rows


def test_columns_in_another_order_are_loaded_by_name(engine: sa.Engine) -> None:
    endpoint = registry.get("getusershare")
    day = date(2023, 7, 7)
    frames = frames_for(endpoint, "wxorder", day, day)
    shuffled = {"user_share": frames["user_share"][list(reversed(frames["user_share"].columns))]}
    load_window(engine, endpoint, "wxorder", day, day, shuffled, None)
    assert db_rows(engine, "user_share", "wxorder") == frame_rows(
        "user_share", frames["user_share"]
    )
