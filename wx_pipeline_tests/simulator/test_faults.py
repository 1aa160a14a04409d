"""Injected faults: each kind behaves as it should over real HTTP, off by default, and the same
seed with the same call sequence meets the same faults."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import httpx
import pytest

from wx_pipeline.simulator import FaultConfig, SimulatorConfig, SimulatorServer
from wx_pipeline.simulator.config import SimulatorConfigError
from wx_pipeline.simulator.faults import decide
from wx_pipeline_tests.simulator.conftest import NOON, datacube, get_token

Start = Callable[[SimulatorConfig], SimulatorServer]
DAY = "2025-12-01"


def outcomes(sim: SimulatorServer, calls: int) -> list[tuple[str | None, int, int]]:
    token = get_token(sim)
    with httpx.Client() as client:
        for i in range(calls):
            endpoint = ("getusersummary", "getuserreadhour", "getupstreammsg")[i % 3]
            with contextlib.suppress(httpx.TransportError):
                datacube(sim, endpoint, DAY, DAY, token, client)
    return [
        (c.fault, c.errcode, c.http_status) for c in sim.calls if c.path.startswith("/datacube")
    ]


MIXED = FaultConfig(
    system_busy=0.1,
    minute_limit=0.05,
    not_ready=0.05,
    http_500=0.05,
    http_502=0.05,
    http_503=0.05,
    truncated=0.05,
    reset=0.05,
)


def test_same_seed_same_faults(start_simulator: Start) -> None:
    first = outcomes(start_simulator(SimulatorConfig(seed=5, now=NOON, faults=MIXED)), 60)
    again = outcomes(start_simulator(SimulatorConfig(seed=5, now=NOON, faults=MIXED)), 60)
    other = outcomes(start_simulator(SimulatorConfig(seed=6, now=NOON, faults=MIXED)), 60)
    assert first == again
    assert first != other
    kinds = {fault for fault, _, _ in first if fault}
    assert len(kinds) >= 5  # a real mix, not one kind


def test_faults_are_off_by_default(simulator: SimulatorServer) -> None:
    assert all(f == (None, 0, 200) for f in outcomes(simulator, 60))


def test_fault_decisions_follow_their_rates() -> None:
    config = FaultConfig(system_busy=0.2, http_503=0.1, slow=0.3)
    decisions = [decide(config, 1, "wxapp", "getusersummary", seq) for seq in range(1, 5001)]
    busy = sum(d.fault == "system_busy" for d in decisions) / 5000
    unavailable = sum(d.fault == "http_503" for d in decisions) / 5000
    slow = sum(d.slow for d in decisions) / 5000
    assert 0.17 < busy < 0.23
    assert 0.08 < unavailable < 0.12
    assert 0.27 < slow < 0.33
    assert decisions == [decide(config, 1, "wxapp", "getusersummary", s) for s in range(1, 5001)]


@pytest.mark.parametrize(
    ("fault", "code"), [("system_busy", -1), ("minute_limit", 45011), ("not_ready", 61503)]
)
def test_api_error_faults(start_simulator: Start, fault: str, code: int) -> None:
    faults = FaultConfig(**{fault: 1.0})  # type: ignore[arg-type]
    sim = start_simulator(SimulatorConfig(now=NOON, faults=faults))
    answer = datacube(sim, "getusersummary", DAY, DAY, get_token(sim)).json()
    assert answer["errcode"] == code
    assert " rid: " in answer["errmsg"]
    assert sim.calls[-1].fault == fault


@pytest.mark.parametrize("status", [500, 502, 503])
def test_http_status_faults(start_simulator: Start, status: int) -> None:
    faults = FaultConfig(**{f"http_{status}": 1.0})  # type: ignore[arg-type]
    sim = start_simulator(SimulatorConfig(now=NOON, faults=faults))
    assert datacube(sim, "getusersummary", DAY, DAY, get_token(sim)).status_code == status


def test_reset_mid_body(start_simulator: Start) -> None:
    sim = start_simulator(SimulatorConfig(now=NOON, faults=FaultConfig(reset=1.0)))
    token = get_token(sim)
    with pytest.raises(httpx.RemoteProtocolError):
        datacube(sim, "getuserreadhour", DAY, DAY, token)
    assert sim.calls[-1].fault == "reset"


def test_truncated_json(start_simulator: Start) -> None:
    sim = start_simulator(SimulatorConfig(now=NOON, faults=FaultConfig(truncated=1.0)))
    answer = datacube(sim, "getuserreadhour", DAY, DAY, get_token(sim))
    assert answer.status_code == 200
    assert answer.text.startswith('{"list":[')
    with pytest.raises(ValueError, match=r"."):
        answer.json()


def test_slow_answers(start_simulator: Start) -> None:
    faults = FaultConfig(slow=1.0, slow_seconds=0.4)
    sim = start_simulator(SimulatorConfig(now=NOON, faults=faults))
    token = get_token(sim)
    started = time.perf_counter()
    answer = datacube(sim, "getusersummary", DAY, DAY, token)
    assert time.perf_counter() - started >= 0.4
    assert answer.json()["list"]


def test_token_invalidated_every_n_calls(start_simulator: Start) -> None:
    sim = start_simulator(SimulatorConfig(now=NOON, faults=FaultConfig(invalidate_token_every=3)))
    token = get_token(sim)
    codes = [
        datacube(sim, "getusersummary", DAY, DAY, token).json().get("errcode", 0) for _ in range(4)
    ]
    assert codes == [0, 0, 40001, 40001]
    fresh = get_token(sim)
    assert datacube(sim, "getusersummary", DAY, DAY, fresh).json().get("errcode", 0) == 0


def test_bad_rates_are_refused() -> None:
    with pytest.raises(SimulatorConfigError):
        FaultConfig(http_500=1.5)
    with pytest.raises(SimulatorConfigError):
        FaultConfig(system_busy=0.6, http_500=0.6)
