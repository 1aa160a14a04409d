"""Which dbt models take the time of a large build, and where does each one's time go?

Question: on the agency data set (default 20 accounts x 365 days, loaded by `wx-pipeline run`
against the simulator, as `make bench`'s agency-20 scenario), how long does each node of a
windowed `dbt build` over the whole range take, and what does `EXPLAIN (ANALYZE, BUFFERS)` say
about the slowest models' queries (by default `fct_article_performance`, which reads the
`int_article_stats_by_day` view, and the slowest other model)?

Run: ``.venv/bin/python bench/dbt_models.py [--accounts 20] [--days 365] [--window N]
[--explain MODEL]...`` (``--window 1``: a nightly build of the newest day instead).

It loads the data set into a fresh PostgreSQL of its own (a few minutes for the default), runs
the same build as the pipeline's `analytics` job (the window as environment variables, marts
incremental) with `wx-pipeline dbt build`, prints the slowest nodes from dbt's
`run_results.json`, then runs each chosen model's compiled SELECT under `EXPLAIN (ANALYZE,
BUFFERS, FORMAT JSON)` and prints the plan nodes that took the most time of their own.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from suite import LAST, OUT, Warehouse, run_pipeline, write_accounts

from wx_pipeline.marts.run import run_dbt, window_env
from wx_pipeline.warehouse.embedded import libpq_url

#: The mart of the article figures; the `int_article_stats_by_day` view is planned inside it.
ARTICLES_MART = "fct_article_performance"


def build(url: str, days: int, target: Path) -> tuple[float, list[dict[str, Any]]]:
    """The pipeline's build of a window of the data set's last ``days`` days; its wall time and
    dbt's results."""
    first = LAST - timedelta(days=days - 1)
    env = {"DBT_TARGET_PATH": str(target), **window_env((first, LAST))}
    started = time.perf_counter()
    done = run_dbt(["build", "--quiet"], url, capture=True, extra_env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"dbt build failed:\n{done.stdout}{done.stderr}")
    results: list[dict[str, Any]] = json.loads((target / "run_results.json").read_text())["results"]
    return seconds, results


def _own_ms(node: dict[str, Any]) -> float:
    """Time a plan node took itself, all loops, without its children's."""
    children = node.get("Plans", [])
    inner: float = sum(c["Actual Total Time"] * c["Actual Loops"] for c in children)
    total: float = node["Actual Total Time"] * node["Actual Loops"]
    return max(0.0, total - inner)


def _rows(value: float) -> str:
    """PostgreSQL 18 reports actual rows per loop with decimals."""
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("Plans", []) for n in _nodes(child))]


def _label(node: dict[str, Any]) -> str:
    on = node.get("Relation Name") or node.get("Index Name") or node.get("CTE Name") or ""
    spill = " (spilled to disk)" if node.get("Sort Space Type") == "Disk" else ""
    return f"{node['Node Type']}{' on ' + on if on else ''}{spill}"


def explain(url: str, sql: str, top: int = 6) -> None:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}").fetchone()
    assert row is not None
    plan = row[0][0]
    root = plan["Plan"]
    # A node's buffer counts include its children's: the root's are the query's.
    hit, read, temp = (
        root.get(f"{kind} Blocks", 0) * 8 / 1024
        for kind in ("Shared Hit", "Shared Read", "Temp Written")
    )
    print(
        f"  executed in {plan['Execution Time'] / 1000:.2f} s (planned in "
        f"{plan['Planning Time']:.0f} ms), {_rows(root['Actual Rows'])} rows; buffers: "
        f"{hit:,.0f} MB found in PostgreSQL's cache, {read:,.0f} MB read, {temp:,.0f} MB "
        "written to temporary files; where the time went:"
    )
    for node in sorted(_nodes(root), key=_own_ms, reverse=True)[:top]:
        print(
            f"    {_own_ms(node) / 1000:6.2f} s  {_label(node)}: {_rows(node['Actual Rows'])} rows"
            f" x {node['Actual Loops']:,} loops (estimated {_rows(node['Plan Rows'])})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument(
        "--window", type=int, help="days of the timed build's window, the newest (default: all)"
    )
    parser.add_argument("--explain", action="append", default=[], metavar="MODEL")
    parser.add_argument("--top", type=int, default=12, help="slowest nodes to list")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="wx-bench-dbt-"))
    warehouse = Warehouse(root)
    try:
        accounts = write_accounts(args.accounts, OUT / "accounts" / str(args.accounts))
        name = f"dbt-{args.accounts}x{args.days}"
        print(f"loading {args.accounts} accounts x {args.days} days ...", file=sys.stderr)
        loaded = run_pipeline(name, accounts, args.days, warehouse)
        if not loaded.ok:
            sys.exit(f"the run that loads the data set failed: {loaded.note}")
        with tempfile.TemporaryDirectory(prefix="wx-bench-dbt-target-") as target:
            seconds, results = build(loaded.url, args.window or args.days, Path(target))
        print(
            f"dbt build of {args.window or args.days} day(s) over {args.accounts} accounts x "
            f"{args.days} days ({loaded.rows:,} fact rows): {seconds:.1f} s wall, "
            f"{len(results)} nodes"
        )
        kinds: Counter[str] = Counter()
        for r in results:
            kinds[r["unique_id"].split(".")[0]] += r["execution_time"]
        print("  node time by kind: " + ", ".join(f"{k} {s:.1f} s" for k, s in kinds.items()))
        slowest = sorted(results, key=lambda r: r["execution_time"], reverse=True)
        print(f"  slowest {args.top} nodes:")
        for r in slowest[: args.top]:
            print(f"    {r['execution_time']:6.2f} s  {r['unique_id']}")
        compiled = {  # the models, slowest first
            r["unique_id"].split(".")[-1]: r.get("compiled_code")
            for r in slowest
            if r["unique_id"].startswith("model.")
        }
        slowest_other = next((m for m in compiled if m != ARTICLES_MART), None)
        models = args.explain or [ARTICLES_MART, *([slowest_other] if slowest_other else [])]
        for model in models:
            print(f"EXPLAIN ANALYZE {model} (its compiled SELECT, as the build ran it):")
            sql = compiled.get(model)
            if not sql:
                print("  not in the build's results (not a model, or not compiled)")
                continue
            explain(loaded.url, sql)
    finally:
        warehouse.server.cleanup()
        shutil.rmtree(root, ignore_errors=True)  # the data set: gigabytes at the default size
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
