"""The client against the simulator's own failures: configuration, quota, retirement, faults.

Each test asserts the error type, that the message names the account and what to fix, and the
number of datacube calls the simulator saw (no retry storms).
"""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from wx_pipeline.simulator import FaultConfig, SimAccount, SimulatorConfig, run_in_thread
from wx_pipeline.simulator.server import SimulatorServer
from wx_pipeline.wechat.errors import (
    BudgetExceededError,
    ConfigurationError,
    EndpointRetiredError,
    IpNotWhitelistedError,
    QuotaExhaustedError,
    RequestError,
    TransientError,
)
from wx_pipeline.wechat.retry import RetryPolicy
from wx_pipeline_tests.wechat.conftest import NOW, ClientFactory, Clock, as_account

YESTERDAY = NOW.date() - timedelta(days=1)
FIVE_WEEKS = (YESTERDAY - timedelta(days=34), YESTERDAY)  # getusersummary: 5 calls


def _datacube(sim: SimulatorServer) -> list[int]:
    return [c.errcode for c in sim.calls if c.path.startswith("/datacube/")]


def _tokens(sim: SimulatorServer) -> list[int]:
    return [c.errcode for c in sim.calls if c.path.startswith("/cgi-bin/")]


def test_wrong_secret(make_client: ClientFactory) -> None:
    with run_in_thread(SimulatorConfig(now=NOW)) as sim:
        account = as_account(sim.accounts[0], secret="not-the-right-secret")
        client = make_client(sim.base_url, [account])
        with pytest.raises(ConfigurationError) as info:
            client.fetch_sync(account, "getusersummary", *FIVE_WEEKS)
        assert _tokens(sim) == [40125]
        assert _datacube(sim) == []
    message = str(info.value)
    assert f"account '{account.name}' ({account.app_id})" in message
    assert "AppSecret rejected (40125" in message
    assert "secret_env" in message
    assert "WX_APP_SECRET" in message


def test_unknown_app_id(make_client: ClientFactory) -> None:
    with run_in_thread(SimulatorConfig(now=NOW)) as sim:
        real = sim.accounts[0]
        account = as_account(SimAccount("wx00000000deadbeef", real.secret, "Ghost", 10))
        client = make_client(sim.base_url, [account])
        with pytest.raises(ConfigurationError) as info:
            client.fetch_sync(account, "getusersummary", *FIVE_WEEKS)
        assert _tokens(sim) == [40013]
        assert _datacube(sim) == []
    assert "'Ghost' (wx00000000deadbeef)" in str(info.value)
    assert "app id not recognised" in str(info.value)
    assert "WX_APP_ID" in str(info.value)


def test_ip_not_whitelisted(make_client: ClientFactory) -> None:
    allowed_elsewhere = SimAccount("wx1111222233334444", "a" * 32, "Walled", 100, ("10.1.2.3",))
    with run_in_thread(SimulatorConfig(now=NOW, accounts=[allowed_elsewhere])) as sim:
        account = as_account(allowed_elsewhere)
        client = make_client(sim.base_url, [account])
        with pytest.raises(IpNotWhitelistedError) as info:
            client.fetch_sync(account, "getusersummary", *FIVE_WEEKS)
        assert _tokens(sim) == [40164]
        assert _datacube(sim) == []
    assert info.value.ip == "127.0.0.1"
    assert "caller IP 127.0.0.1 is not whitelisted" in str(info.value)
    assert "'Walled'" in str(info.value)


def test_retired_legacy_endpoints_are_skipped_not_failed(make_client: ClientFactory) -> None:
    config = SimulatorConfig(now=NOW, legacy_retired_from=date(2026, 1, 1))
    with run_in_thread(config) as sim:
        account = as_account(sim.accounts[0])
        client = make_client(sim.base_url, [account])
        report = client.fetch_many_sync(
            [
                (account, "getuserread", *FIVE_WEEKS),  # legacy, span 3: 12 windows
                (account, "getusersummary", *FIVE_WEEKS),
            ]
        )
        legacy_calls = [c for c in sim.calls if c.path == "/datacube/getuserread"]
    retired, fine = report.results
    assert retired.retired
    assert isinstance(retired.error, EndpointRetiredError)
    assert "getuserread" in str(retired.error)
    assert "retired" in str(retired.error)
    assert [c.errcode for c in legacy_calls] == [47009]  # one call, not one per window
    assert fine.ok
    assert len(fine.responses) == 5


def test_quota_exhausted_keeps_what_was_fetched(make_client: ClientFactory) -> None:
    with run_in_thread(SimulatorConfig(now=NOW, daily_quota=3)) as sim:
        account = as_account(sim.accounts[0])
        client = make_client(sim.base_url, [account], concurrency=1)
        (result,) = client.fetch_many_sync([(account, "getusersummary", *FIVE_WEEKS)]).results
        assert _datacube(sim) == [0, 0, 0, 45009]  # stopped at once, no retry
    assert isinstance(result.error, QuotaExhaustedError)
    assert "getusersummary" in str(result.error)
    assert f"'{account.name}'" in str(result.error)
    assert len(result.responses) == 3


def test_budget_stops_before_the_api_would(make_client: ClientFactory) -> None:
    with run_in_thread(SimulatorConfig(now=NOW)) as sim:
        account = as_account(sim.accounts[0])
        clock = Clock()
        client = make_client(sim.base_url, [account], daily_budget=2, clock=clock)
        with pytest.raises(BudgetExceededError) as info:
            client.fetch_sync(account, "getusersummary", *FIVE_WEEKS)
        assert _datacube(sim) == [0, 0]
        assert client.calls.count(account.app_id, "getusersummary", NOW.date()) == 2
        # Another endpoint has its own budget, and a new Beijing day starts afresh.
        assert len(client.fetch_sync(account, "getusercumulate", YESTERDAY, YESTERDAY)) == 1
        clock.advance(86400)
        sim.advance(86400)
        assert len(client.fetch_sync(account, "getusersummary", YESTERDAY, YESTERDAY)) == 1
    error = info.value
    assert (error.budget, error.used) == (2, 2)
    assert f"account '{account.name}' ({account.app_id})" in str(error)
    assert "daily budget of 2 calls to getusersummary reached (2 used" in str(error)
    assert "WX_DAILY_BUDGET" in str(error)


def test_span_longer_than_the_api_allows_is_a_request_error(make_client: ClientFactory) -> None:
    with run_in_thread(SimulatorConfig(now=NOW)) as sim:
        account = as_account(sim.accounts[0])
        client = make_client(sim.base_url, [account], span_overrides={"getusersummary": 8})
        with pytest.raises(RequestError) as info:
            client.fetch_sync(account, "getusersummary", *FIVE_WEEKS)
        assert _datacube(sim) == [61501]
    assert "61501" in str(info.value)
    assert "getusersummary" in str(info.value)


@pytest.mark.parametrize(
    "fault",
    ["system_busy", "minute_limit", "not_ready", "http_500", "http_502", "http_503", "reset",
     "truncated"],
)  # fmt: skip
def test_persistent_faults_give_up_after_bounded_attempts(
    make_client: ClientFactory, fault: str
) -> None:
    config = SimulatorConfig(now=NOW, faults=FaultConfig(**{fault: 1.0}))  # type: ignore[arg-type]
    with run_in_thread(config) as sim:
        account = as_account(sim.accounts[0])
        policy = RetryPolicy(max_attempts=3, initial_wait=0.001, max_wait=0.01, jitter=0.001)
        client = make_client(sim.base_url, [account], retry=policy)
        with pytest.raises(TransientError) as info:
            client.fetch_sync(account, "getusersummary", YESTERDAY, YESTERDAY)
        calls = [c for c in sim.calls if c.path.startswith("/datacube/")]
    assert len(calls) == 3
    assert all(c.fault == fault for c in calls)
    assert info.value.attempts == 3
    assert f"'{account.name}'" in str(info.value)


def test_slow_answers_time_out_and_are_retried(make_client: ClientFactory) -> None:
    faults = FaultConfig(slow=1.0, slow_seconds=1.0)
    with run_in_thread(SimulatorConfig(now=NOW, faults=faults)) as sim:
        account = as_account(sim.accounts[0])
        policy = RetryPolicy(max_attempts=2, initial_wait=0.001, max_wait=0.01, jitter=0.001)
        client = make_client(
            sim.base_url, [account], retry=policy, timeout=httpx.Timeout(0.2, connect=2.0)
        )
        with pytest.raises(TransientError) as info:
            client.fetch_sync(account, "getusersummary", YESTERDAY, YESTERDAY)
    # The simulator does not log calls its client gave up on, so count on the client's side.
    assert client.calls.total() == 2
    assert "timed out" in str(info.value)
    assert info.value.attempts == 2


def test_progress_counts_every_window_up_to_the_plan(make_client: ClientFactory) -> None:
    account = SimAccount(app_id="wxprogress0000001", secret="p" * 32, name="P", followers=2_000)
    with run_in_thread(SimulatorConfig(seed=3, now=NOW, accounts=[account])) as sim:
        client = make_client(sim.base_url, [as_account(account)])
        seen: list[tuple[int, int]] = []
        jobs = [
            (as_account(account), name, *FIVE_WEEKS)
            for name in ("getusersummary", "getinterfacesummaryhour")
        ]
        report = client.fetch_many_sync(jobs, on_progress=lambda d, t: seen.append((d, t)))
    planned = report.minimum_calls
    assert planned == 5 + 35
    assert [done for done, _ in seen] == list(range(1, planned + 1))
    assert {total for _, total in seen} == {planned}
