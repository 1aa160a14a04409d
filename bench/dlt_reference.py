"""The reference the year scenario of `make bench` is held to: a plain dlt pipeline that loads
the same datacube endpoints for the same accounts and days into Postgres, ingestion only.

What a team would write with dlt in an afternoon: one resource per endpoint (run side by side),
the same fewest-call windows, a stable token per account, the answers' `list` items yielded as
they come and left to dlt to normalise (nested details become child tables) and load.

    .venv/bin/python bench/dlt_reference.py --base-url URL --accounts FILE \\
        --first 2025-11-25 --last 2026-11-24 --url postgresql://... --workdir bench/out/dlt
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import dlt
import httpx
import yaml

from wx_pipeline.core.settings import BEIJING
from wx_pipeline.registry import ENDPOINTS, Endpoint, plan_windows

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=BEIJING)


def _token(http: httpx.Client, app_id: str, secret: str) -> str:
    answer = http.post(
        "/cgi-bin/stable_token",
        json={"grant_type": "client_credential", "appid": app_id, "secret": secret},
    )
    return str(answer.json()["access_token"])


def _resource(
    base_url: str, accounts: list[dict[str, Any]], endpoint: Endpoint, first: date, last: date
) -> Any:
    @dlt.resource(name=endpoint.name, write_disposition="replace", parallelized=True)
    def rows() -> Iterator[list[dict[str, Any]]]:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            for account in accounts:
                token = _token(http, account["app_id"], account["secret"])
                begin = max(endpoint.request_start(first), endpoint.first_date)
                for window in plan_windows(endpoint, begin, last):
                    answer = http.post(
                        endpoint.path,
                        params={"access_token": token},
                        json={"begin_date": str(window.begin), "end_date": str(window.end)},
                    ).json()
                    items = answer["list"]
                    for item in items:
                        item["account_id"] = account["app_id"]
                    if items:
                        yield items

    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--accounts", type=Path, required=True)
    parser.add_argument("--first", type=date.fromisoformat, required=True)
    parser.add_argument("--last", type=date.fromisoformat, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    accounts = yaml.safe_load(args.accounts.read_text())
    pipeline = dlt.pipeline(
        pipeline_name="wx_dlt_reference",
        pipelines_dir=str(args.workdir),
        # dlt insists on a host; libpq lets ?host= (the embedded server's socket) override it.
        destination=dlt.destinations.postgres(credentials=args.url.replace("@/", "@localhost/")),
        dataset_name="dlt_ref",
    )
    started = time.perf_counter()
    resources = [_resource(args.base_url, accounts, e, args.first, args.last) for e in ENDPOINTS]
    info = pipeline.run(resources)
    print(info)
    print(f"dlt reference: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
