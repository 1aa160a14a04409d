"""A run through every injected fault returns exactly the data of a clean run."""

from __future__ import annotations

from datetime import date, timedelta

from wx_pipeline.core.settings import Account
from wx_pipeline.simulator import FaultConfig, SimulatorConfig, run_in_thread
from wx_pipeline.wechat.retry import RetryPolicy
from wx_pipeline_tests.wechat.conftest import NOW, ClientFactory, as_account
from wx_pipeline_tests.wechat.fetching import FetchReport

YESTERDAY = NOW.date() - timedelta(days=1)
RANGE = (YESTERDAY - timedelta(days=34), YESTERDAY)
ENDPOINTS = (
    "getusersummary",
    "getuserreadhour",
    "getarticletotaldetail",
    "getbizsummary",
    "getupstreammsgweek",
    "getupstreammsgmonth",
    "getinterfacesummary",
)
FAULTS = FaultConfig(
    system_busy=0.04,
    minute_limit=0.03,
    not_ready=0.03,
    http_500=0.02,
    http_502=0.02,
    http_503=0.02,
    reset=0.03,
    truncated=0.03,
    slow=0.03,
    slow_seconds=0.05,
    invalidate_token_every=17,
)
# ~22% of calls fail; 12 attempts make a window's giving up a one-in-10^8 event.
PATIENT = RetryPolicy(max_attempts=12, initial_wait=0.001, max_wait=0.01, jitter=0.001)

Bodies = dict[tuple[str, str, date, date], object]


def _run(make_client: ClientFactory, faults: FaultConfig) -> tuple[Bodies, int, FetchReport]:
    with run_in_thread(SimulatorConfig(seed=11, now=NOW, faults=faults)) as sim:
        accounts: list[Account] = [as_account(a) for a in sim.accounts[:2]]
        client = make_client(sim.base_url, accounts, retry=PATIENT, concurrency=4)
        report: FetchReport = client.fetch_many_sync(
            [(a, e, *RANGE) for a in accounts for e in ENDPOINTS]
        )
        faulted = sum(1 for c in sim.calls if c.fault is not None)
    assert report.ok, report.errors
    bodies: Bodies = {(r.account_id, r.endpoint, r.begin, r.end): r.body for r in report.responses}
    assert len(bodies) == len(report.responses) == report.minimum_calls
    return bodies, faulted, report


def test_fault_injected_run_equals_clean_run(make_client: ClientFactory) -> None:
    clean, clean_faults, clean_report = _run(make_client, FaultConfig())
    faulty, faults_seen, faulty_report = _run(make_client, FAULTS)
    assert clean_faults == 0
    assert clean_report.calls_made == clean_report.minimum_calls
    assert faulty_report.calls_made > faulty_report.minimum_calls
    assert faults_seen >= 20  # the faults really happened
    assert faulty.keys() == clean.keys()
    for key, body in clean.items():
        assert faulty[key] == body, key
