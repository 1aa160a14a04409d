"""Simulator fixtures: a running simulator on a free loopback port, with a fixed clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import httpx
import pytest

from wx_pipeline.core.settings import BEIJING
from wx_pipeline.simulator import SimulatorConfig, SimulatorServer, run_in_thread

#: Noon Beijing: yesterday's data is final.
NOON = datetime(2025, 12, 10, 12, 0, tzinfo=BEIJING)


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    """A fresh simulator (seed 0, clock standing at NOON, no faults) on a free port."""
    with run_in_thread(SimulatorConfig(seed=0, now=NOON)) as sim:
        yield sim


@pytest.fixture
def start_simulator() -> Iterator[Callable[[SimulatorConfig], SimulatorServer]]:
    """Start simulators with a given config; all are stopped after the test."""
    started: list[SimulatorServer] = []

    def start(config: SimulatorConfig) -> SimulatorServer:
        server = SimulatorServer(config)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def get_token(sim: SimulatorServer, account: int = 0) -> str:
    acc = sim.accounts[account]
    answer = httpx.get(
        f"{sim.base_url}/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": acc.app_id, "secret": acc.secret},
    )
    token: str = answer.json()["access_token"]
    return token


def datacube(
    sim: SimulatorServer,
    endpoint: str,
    begin: str,
    end: str,
    token: str,
    client: httpx.Client | None = None,
) -> httpx.Response:
    body = {"begin_date": begin, "end_date": end}
    url = f"{sim.base_url}/datacube/{endpoint}"
    if client is not None:
        return client.post(url, params={"access_token": token}, json=body)
    return httpx.post(url, params={"access_token": token}, json=body)
