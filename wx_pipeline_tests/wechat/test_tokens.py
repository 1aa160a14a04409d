"""Access tokens against the simulator: expiry, supersession, one refresh in flight, sharing."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from wx_pipeline.simulator import FaultConfig, SimulatorConfig, run_in_thread
from wx_pipeline.simulator.server import SimulatorServer
from wx_pipeline.wechat.tokens import TokenCache
from wx_pipeline_tests.wechat.conftest import NOW, ClientFactory, Clock, as_account

YESTERDAY = NOW.date() - timedelta(days=1)
MONTH = (YESTERDAY - timedelta(days=29), YESTERDAY)


def _token_calls(sim: SimulatorServer) -> list[str]:
    return [c.path for c in sim.calls if c.path.startswith("/cgi-bin/")]


def _datacube_codes(sim: SimulatorServer) -> list[int]:
    return [c.errcode for c in sim.calls if c.path.startswith("/datacube/")]


def test_expiry_mid_run_is_survived(make_client: ClientFactory) -> None:
    with run_in_thread(SimulatorConfig(now=NOW)) as sim:
        account = as_account(sim.accounts[0])
        client = make_client(sim.base_url, [account])  # its clock stays put: it cannot know
        first = client.fetch_sync(account, "getusersummary", *MONTH)
        sim.advance(7200)
        second = client.fetch_sync(account, "getusersummary", *MONTH)
        codes = _datacube_codes(sim)
        tokens = _token_calls(sim)
    assert [r.body for r in first] == [r.body for r in second]
    assert codes.count(42001) == 1  # the first call after expiry; the refresh served the rest
    assert len(tokens) == 2


def test_token_is_replaced_before_it_expires(make_client: ClientFactory) -> None:
    with run_in_thread(SimulatorConfig(now=NOW)) as sim:
        account = as_account(sim.accounts[0])
        clock = Clock()
        client = make_client(sim.base_url, [account], clock=clock)
        client.fetch_sync(account, "getusersummary", *MONTH)
        # Inside the 5-minute rollover window: refreshed proactively, no call is rejected.
        clock.advance(7200 - 200)
        sim.advance(7200 - 200)
        client.fetch_sync(account, "getusersummary", *MONTH)
        issued = sim.issued_tokens
        codes = _datacube_codes(sim)
    assert set(codes) == {0}
    assert len(issued) == 2


def test_supersession_mid_run_is_survived(make_client: ClientFactory) -> None:
    with run_in_thread(SimulatorConfig(now=NOW)) as sim:
        account = as_account(sim.accounts[1])
        client = make_client(sim.base_url, [account])
        before = client.fetch_sync(account, "getusersummary", *MONTH)
        sim.invalidate_tokens()
        after = client.fetch_sync(account, "getusersummary", *MONTH)
        codes = _datacube_codes(sim)
    assert [r.body for r in before] == [r.body for r in after]
    assert codes.count(40001) == 1


def test_one_refresh_in_flight_while_tokens_keep_dying(make_client: ClientFactory) -> None:
    faults = FaultConfig(invalidate_token_every=10)
    with run_in_thread(SimulatorConfig(now=NOW, faults=faults)) as sim:
        account = as_account(sim.accounts[0])
        client = make_client(sim.base_url, [account], concurrency=4)
        responses = client.fetch_sync(account, "getuserreadhour", *MONTH)  # 30 one-day calls
        invalidations = sum(1 for c in sim.calls if c.fault == "invalidate_token")
        tokens = _token_calls(sim)
    assert [r.begin for r in responses] == [MONTH[0] + timedelta(days=i) for i in range(30)]
    assert invalidations >= 3
    # One token at the start and one per invalidation: concurrent 40001s share a refresh.
    assert len(tokens) == invalidations + 1


def test_token_mode_shares_one_token_across_processes(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    """Clients with their own in-memory caches (as separate processes have) share the file."""
    with run_in_thread(SimulatorConfig(now=NOW)) as sim:
        account = as_account(sim.accounts[0])
        clients = [
            make_client(
                sim.base_url,
                [account],
                token_mode="token",
                token_cache=TokenCache(),
                token_dir=tmp_path / "shared",
            )
            for _ in range(4)
        ]
        errors: list[BaseException] = []

        def run(index: int) -> None:
            try:
                clients[index].fetch_sync(account, "getusersummary", *MONTH)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        tokens = _token_calls(sim)
        codes = _datacube_codes(sim)
    assert errors == []
    assert tokens == ["/cgi-bin/token"]
    assert set(codes) == {0}
    token_file = next((tmp_path / "shared").glob("*.json"))
    assert token_file.stat().st_mode & 0o777 == 0o600


def test_token_mode_without_sharing_supersedes_and_recovers(make_client: ClientFactory) -> None:
    """Why the file exists: a second process's /cgi-bin/token call kills the first one's token
    (after the 5-minute overlap); the first recovers with one 40001 and one refresh."""
    with run_in_thread(SimulatorConfig(now=NOW)) as sim:
        account = as_account(sim.accounts[0])
        first, second = (
            make_client(sim.base_url, [account], token_mode="token", token_dir=None)
            for _ in range(2)
        )
        first.fetch_sync(account, "getusersummary", *MONTH)
        second.fetch_sync(account, "getusersummary", *MONTH)
        sim.advance(301)
        first.fetch_sync(account, "getusersummary", *MONTH)
        codes = _datacube_codes(sim)
        tokens = _token_calls(sim)
    assert codes.count(40001) == 1
    assert len(tokens) == 3
