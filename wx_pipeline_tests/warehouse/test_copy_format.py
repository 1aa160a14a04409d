"""The binary COPY encoding on a real PostgreSQL: rows of many layouts, in several chunks."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from wx_pipeline import registry
from wx_pipeline.warehouse.copy_format import copy_data
from wx_pipeline.warehouse.db import driver_connection
from wx_pipeline.warehouse.normalize import normalize
from wx_pipeline_tests.warehouse.dbrows import db_rows, frame_rows
from wx_pipeline_tests.warehouse.payloads import items_for, response


def test_rows_of_every_text_width_and_null_pattern_load_exactly(engine: sa.Engine) -> None:
    # Titles of one- to four-byte characters, many of them different at the same byte length,
    # one empty, and NULLs in some optional columns but not others: dozens of row layouts,
    # spread over chunks of 50 rows.
    total = registry.get("getarticletotal")
    day = date(2016, 5, 2)
    items = items_for(total, day, 60, dense=True)
    alphabet = ["a", "é", "中", "😀"]
    for i, item in enumerate(items):
        item["title"] = f"{i:02d}" + alphabet[i % 4] * (i % 7) if i else ""
        for detail in item["details"]:
            if i % 3 == 0:
                detail["int_page_from_kanyikan_read_user"] = None
            if i % 5 == 0:
                detail["int_page_from_souyisou_read_count"] = None
    frame = normalize(response(total, day, items, account_id="wxlayouts")).frames["article_total"]
    data = copy_data(total.table, frame, "wxlayouts", "run-layouts", chunk_rows=50)
    with (
        engine.begin() as conn,
        driver_connection(conn).cursor() as cur,
        cur.copy(data.statement) as copy,
    ):
        for chunk in data.chunks:
            copy.write(chunk)
    loaded = db_rows(engine, "article_total", "wxlayouts")
    assert len(loaded) == len(frame) > 60  # each article has several days' details
    assert loaded == frame_rows("article_total", frame)
    kanyikan = int(frame["int_page_from_kanyikan_read_user"].isna().sum())
    souyisou = int(frame["int_page_from_souyisou_read_count"].isna().sum())
    assert 0 < kanyikan < len(frame)
    assert 0 < souyisou < len(frame)
    titles_of_width: dict[int, set[str]] = {}
    for title in frame["title"]:
        titles_of_width.setdefault(len(title.encode()), set()).add(title)
    assert len(titles_of_width) > 10
    assert max(map(len, titles_of_width.values())) > 3
    assert 0 in titles_of_width
    with engine.connect() as conn:
        nulls = conn.execute(
            sa.text(
                "SELECT count(*) FILTER (WHERE int_page_from_kanyikan_read_user IS NULL), "
                "count(*) FILTER (WHERE int_page_from_souyisou_read_count IS NULL), "
                "count(DISTINCT octet_length(title)), count(DISTINCT _run_id) "
                "FROM wechat.article_total WHERE account_id = 'wxlayouts'"
            )
        ).one()
    assert tuple(nulls) == (kanyikan, souyisou, len(titles_of_width), 1)
