"""How fast does the loader encode a frame for COPY?

The simulator's answers for one account (80k followers by default) over a year of the article
endpoints, the tables with text in them, are normalized as the loader normalizes them; each
table's frame is then encoded as the loader sends it (`copy_format.copy_data`, PostgreSQL's
binary format) and, for comparison, as pandas' CSV writer writes it (the loader's encoding for
text tables before 2026-12-03). Prints rows, seconds and microseconds a row for both; the best
of `--repeat` runs. Nothing is loaded: this is the encoding alone, on the process's CPU.

    .venv/bin/python bench/copy_encoding.py [--followers 80000] [--days 365] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pandas as pd

from wx_pipeline.core.clock import newest_final_day
from wx_pipeline.core.settings import BEIJING
from wx_pipeline.registry import ENDPOINTS, TABLES, Table, plan_windows
from wx_pipeline.simulator.config import SimAccount, SimulatorConfig
from wx_pipeline.simulator.state import SimulatorState
from wx_pipeline.warehouse.copy_format import copy_data
from wx_pipeline.warehouse.normalize import normalize_many
from wx_pipeline.wechat.raw import RawResponse

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=BEIJING)
LAST = newest_final_day(NOW)
APP_ID = "wxbenchcopy0000001"


def frames(followers: int, days: int) -> dict[str, pd.DataFrame]:
    """Normalized frames of every table with a text column, from the simulator's answers."""
    account = SimAccount(app_id=APP_ID, secret="x" * 32, name="bench", followers=followers)
    state = SimulatorState(SimulatorConfig(seed=7, now=NOW, accounts=[account]))
    first = LAST - timedelta(days=days - 1)
    responses = [
        RawResponse(
            account_id=APP_ID,
            endpoint=endpoint.name,
            begin=window.begin,
            end=window.end,
            fetched_at=NOW,
            content=state.list_body(APP_ID, endpoint, window.begin, window.end),
            final_through=LAST,
        )
        for endpoint in ENDPOINTS
        if any(c.type == "text" for t in endpoint.tables for c in t.columns)
        for window in plan_windows(endpoint, first, LAST)
    ]
    out = normalize_many(responses).frames
    return {name: frame for name, frame in out.items() if len(frame)}


def binary(table: Table, frame: pd.DataFrame) -> int:
    return sum(map(len, copy_data(table, frame, APP_ID, "bench-run").chunks))


def pandas_csv(table: Table, frame: pd.DataFrame) -> int:
    """The CSV the loader used to send: non-numeric values quoted, so '' stays '' and an
    unquoted empty field is NULL."""
    out = frame.assign(_run_id="bench-run")
    text = out.to_csv(
        header=False,
        index=False,
        quoting=csv.QUOTE_NONNUMERIC,
        lineterminator="\n",
        date_format="%Y-%m-%d",
    )
    return len(text.encode())


def best(
    encode: Callable[[Table, pd.DataFrame], int], table: Table, frame: pd.DataFrame, n: int
) -> float:
    times = []
    for _ in range(n):
        started = time.process_time()
        encode(table, frame)
        times.append(time.process_time() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followers", type=int, default=80_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    built = frames(args.followers, args.days)
    print(f"{args.followers:,} followers x {args.days} days; CPU seconds, best of {args.repeat}")
    print(f"{'table':<36} {'rows':>9}  {'binary s':>8} {'us/row':>6}  {'CSV s':>7} {'us/row':>6}")
    rows, b_all, c_all = 0, 0.0, 0.0
    for name, frame in sorted(built.items(), key=lambda kv: -len(kv[1])):
        table = TABLES[name]
        b = best(binary, table, frame, args.repeat)
        c = best(pandas_csv, table, frame, args.repeat)
        rows, b_all, c_all = rows + len(frame), b_all + b, c_all + c
        print(_line(name, len(frame), b, c))
    print(_line("all", rows, b_all, c_all))


def _line(name: str, rows: int, b: float, c: float) -> str:
    per_b, per_c = b / rows * 1e6, c / rows * 1e6
    return f"{name:<36} {rows:>9,}  {b:>8.3f} {per_b:>6.2f}  {c:>7.3f} {per_c:>6.2f}"


if __name__ == "__main__":
    main()
