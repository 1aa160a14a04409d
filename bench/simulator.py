"""How many datacube requests per second does the simulator serve?

Question: over keep-alive HTTP on loopback, with realistic answers (all 21 endpoints, hourly ones
included, three accounts of different sizes, many dates), is the simulator ever the bottleneck?
Target: >= 1,500 requests/s on a 2-core machine.

Load comes from wrk (C, event-driven: not the bottleneck). Get it with
``apt-get install -y wrk`` (this script installs it when run as root and it is missing).

Run: ``.venv/bin/python bench/simulator.py [--duration 10] [--connections 32]``

It starts the simulator (uvicorn, httptools, uvloop) in this process, fetches a token per
account, builds ~1,000 distinct valid requests, warms them once (reporting the cold rate, i.e.
generating the data) and then lets wrk rotate through them. Prints the figures; exits 1 if any
answer was not a datacube success.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx

from wx_pipeline.core.settings import BEIJING
from wx_pipeline.registry import ENDPOINTS, plan_windows
from wx_pipeline.simulator import SimulatorConfig, run_in_thread

NOW = datetime(2025, 12, 10, 12, 0, tzinfo=BEIJING)
LUA = Path(__file__).with_name("simulator.lua")


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk missing: apt-get install -y wrk", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update"], check=True, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
        found = shutil.which("wrk")
        if found:
            return found
    sys.exit("wrk not found: install it with `apt-get install -y wrk`")


def build_requests(tokens: dict[str, str], days: int) -> list[tuple[str, str]]:
    """(path, body) of valid calls: every endpoint, each account, windows over ``days`` days."""
    last = NOW.date() - timedelta(days=1)
    first = last - timedelta(days=days - 1)
    out: list[tuple[str, str]] = []
    for _app_id, token in tokens.items():
        for ep in ENDPOINTS:
            # Monthly and weekly endpoints need a wider range to have whole periods.
            start = min(first, date(2025, 9, 1)) if ep.period.value != "day" else first
            for w in plan_windows(ep, max(start, ep.first_date), last):
                body = json.dumps(
                    {"begin_date": w.begin.isoformat(), "end_date": w.end.isoformat()}
                )
                out.append((f"{ep.path}?access_token={token}", body))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--days", type=int, default=40, help="days of dates to rotate through")
    args = parser.parse_args()
    wrk = ensure_wrk()
    config = SimulatorConfig(seed=7, now=NOW, daily_quota=10**9)
    with run_in_thread(config) as sim, httpx.Client(base_url=sim.base_url) as client:
        tokens = {}
        for account in sim.accounts:
            params = {
                "grant_type": "client_credential",
                "appid": account.app_id,
                "secret": account.secret,
            }
            tokens[account.app_id] = client.get("/cgi-bin/token", params=params).json()[
                "access_token"
            ]
        requests = build_requests(tokens, args.days)
        started = time.perf_counter()
        for path, body in requests:  # cold: the data is generated on first request
            answer = client.post(path, content=body, headers={"Content-Type": "application/json"})
            assert "errcode" not in answer.json(), answer.text[:200]
        cold = len(requests) / (time.perf_counter() - started)
        hourly = sum("hour?" in p for p, _ in requests)
        with tempfile.TemporaryDirectory() as tmp:
            listing = Path(tmp) / "requests.tsv"
            listing.write_text("".join(f"{p}\t{b}\n" for p, b in requests), encoding="utf-8")
            command = [
                wrk,
                "-t1",
                f"-c{args.connections}",
                f"-d{args.duration}s",
                "--latency",
                "-s",
                str(LUA),
                sim.base_url,
                "--",
                str(listing),
            ]
            result = subprocess.run(command, check=True, capture_output=True, text=True)
    out = result.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = int(re.search(r"BENCH errors=(\d+)", out).group(1))  # type: ignore[union-attr]
    body_bytes = int(re.search(r"body_bytes=(\d+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+(\S+)", out)
    print(f"distinct requests: {len(requests)} ({hourly} hourly), 3 accounts, 21 endpoints")
    print(f"cold (first request generates the data, 1 client): {cold:,.0f} requests/s")
    print(f"wrk: {' '.join(command[:-3])} <url> -- <requests>")
    print(
        f"warm keep-alive: {rps:,.0f} requests/s, p99 latency {p99.group(1) if p99 else '?'}, "
        f"mean body {body_bytes / max(total, 1):,.0f} bytes, non-success answers: {errors}"
    )
    print(f"measured {date.today().isoformat()} on {os.cpu_count()} cores")
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
