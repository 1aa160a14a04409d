"""Faults: a 90-day backfill of 3 accounts against an API failing in every way it does ends
exactly where the same backfill against a faultless API does (facts and marts), with every
failure retried within bounds: -1 at 10%, 45011 at 5%, 61503 at 2%, HTTP 5xx at 3%, connection
resets at 1%, truncated bodies at 1%, answers slower than the timeout at 1%, and every
account's token invalidated every 200 calls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from wx_pipeline.cli.summary import RunSummary
from wx_pipeline.core.clock import newest_final_day
from wx_pipeline.simulator import FaultConfig, SimAccount, SimulatorConfig, run_in_thread
from wx_pipeline_tests.e2e.harness import configure, run
from wx_pipeline_tests.fingerprint import differences, fingerprint

pytestmark = pytest.mark.slow

ACCOUNTS = [
    SimAccount(app_id=f"wxfaults0000000000{i}", secret=f"{i}" * 32, name=f"F{i}", followers=n)
    for i, n in enumerate((2_500, 6_000, 15_000), start=1)
]
FAULTS = FaultConfig(
    system_busy=0.10,
    minute_limit=0.05,
    not_ready=0.02,
    http_500=0.01,
    http_502=0.01,
    http_503=0.01,
    reset=0.01,
    truncated=0.01,
    slow=0.01,
    slow_seconds=1.5,  # past the 1-second timeout below
    invalidate_token_every=200,
)


def _backfill(url: str, tmp: Path, now: datetime, faults: FaultConfig | None) -> RunSummary:
    last = newest_final_day(now)
    tmp.mkdir(parents=True, exist_ok=True)
    config = SimulatorConfig(seed=51, now=now, accounts=ACCOUNTS, faults=faults or FaultConfig())
    with run_in_thread(config) as sim, pytest.MonkeyPatch.context() as mp:
        if faults is not None:
            # The slow answers must time out; the clean run keeps the default timeout, so that a
            # busy machine (the suite runs on two workers) cannot add a retry to its count.
            mp.setenv("WX_API_TIMEOUT", "1")
        mp.setenv("WX_RETRY_MAX_WAIT", "0.05")  # 45011 waits for the next minute, up to this
        configure(mp, tmp, sim, url, ACCOUNTS, now)
        summary = run(last - timedelta(days=89), last)
        made = sum(1 for c in sim.calls if c.path.startswith("/datacube/"))
        faulted = sum(1 for c in sim.calls if c.fault)
        summary.api_calls["simulator"] = (made, faulted)
    return summary


def test_a_faulty_api_ends_where_a_clean_one_does(
    new_database: Callable[[str], str], tmp_path: Path, pinned_now: datetime
) -> None:
    clean_url, faulty_url = new_database("clean"), new_database("faulty")
    clean = _backfill(clean_url, tmp_path / "clean", pinned_now, None)
    faulty = _backfill(faulty_url, tmp_path / "faulty", pinned_now, FAULTS)
    assert differences(fingerprint(faulty_url), fingerprint(clean_url)) == []
    minimum = sum(m for name, (_, m) in clean.api_calls.items() if name != "simulator")
    made, faulted = faulty.api_calls["simulator"]
    # Reported in the note: the calls a faulty API costs against the minimum.
    print(f"\nfaults: {made} datacube calls for a minimum of {minimum}, {faulted} faulted")
    assert clean.api_calls["simulator"][0] == minimum
    assert faulted > 0.15 * minimum
    assert minimum < made < 2 * minimum  # retries, bounded: no storm
