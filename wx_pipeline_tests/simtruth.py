"""Simulator truth loaded into a warehouse, for the dbt and end-to-end tests.

The simulator's truth API gives exactly the items each endpoint returns for a day (week and
month endpoints: the period start); wrapped as raw responses they go through the warehouse's
own normalizer and loader, so the marts are built on data shaped exactly as a run leaves it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta

from wx_pipeline.core.settings import BEIJING
from wx_pipeline.registry import BY_NAME, ENDPOINTS, Endpoint, Period, period_starts
from wx_pipeline.simulator.config import SimAccount
from wx_pipeline.simulator.server import SimulatorServer
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.load import load_window
from wx_pipeline.warehouse.normalize import normalize_many
from wx_pipeline.wechat.raw import RawResponse


def request_days(endpoint: Endpoint, first: date, last: date) -> Iterator[date]:
    """The days (period starts) whose items cover [first, last] for `endpoint`."""
    start = max(first, endpoint.first_date)
    if endpoint.period is Period.DAY:
        day = start
        while day <= last:
            yield day
            day += timedelta(days=1)
    else:
        yield from period_starts(endpoint.period, start, last)


def truth_responses(
    sim: SimulatorServer,
    accounts: Sequence[SimAccount],
    first: date,
    last: date,
    final_through: date | None = None,
) -> list[RawResponse]:
    """One response per account, endpoint and day (period) in [first, last], from the truth
    with every day up to ``final_through`` (default: the simulator's yesterday) final."""
    fetched = datetime(2000, 1, 1, tzinfo=BEIJING)
    return [
        RawResponse.of(
            account_id=account.app_id,
            endpoint=endpoint.name,
            begin=day,
            end=day,
            fetched_at=fetched,
            body={"list": sim.truth(account.app_id, endpoint.name, day, final_through)},
        )
        for account in accounts
        for endpoint in ENDPOINTS
        for day in request_days(endpoint, first, last)
    ]


def load_responses(
    url: str, responses: Sequence[RawResponse], first: date, last: date, run_id: str = "test"
) -> int:
    """Normalize `responses` (all within [first, last]) and load them with the warehouse's
    `load_window`, one window per endpoint and account; returns the rows loaded."""
    normalized = normalize_many(responses)
    pairs = sorted({(r.endpoint, r.account_id) for r in responses})
    engine = make_engine(url)
    try:
        loaded = 0
        for name, account in pairs:
            endpoint = BY_NAME[name]
            frames = normalized.frames_for(endpoint, account)
            counts = load_window(engine, endpoint, account, first, last, frames, run_id)
            loaded += sum(counts.rows.values())
        return loaded
    finally:
        engine.dispose()
