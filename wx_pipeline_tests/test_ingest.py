"""One ingestion pass (client -> archive -> normalizer -> loader) against the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from wx_pipeline.ingest import ingest
from wx_pipeline.settings import BEIJING, Account
from wx_pipeline.simulator import SimAccount, SimulatorConfig, SimulatorServer, run_in_thread
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.migrate import migrate
from wx_pipeline.wechat.client import DatacubeClient
from wx_pipeline.wechat.endpoints import ENDPOINTS

GOOD = SimAccount(app_id="wxingest000000001", secret="g" * 32, name="Good", followers=5_000)
BAD = SimAccount(app_id="wxingest000000002", secret="b" * 32, name="Bad", followers=5_000)
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=BEIJING)
FIRST, LAST = date(2026, 3, 2), date(2026, 3, 8)


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[sa.Engine]:
    migrate(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    config = SimulatorConfig(
        seed=5, now=NOW, accounts=[GOOD, BAD], legacy_retired_from=date(2026, 1, 1)
    )
    with run_in_thread(config) as server:
        yield server


def _account(sim_account: SimAccount, secret: str | None = None) -> Account:
    return Account(
        app_id=sim_account.app_id,
        name=sim_account.name,
        secret=SecretStr(secret or sim_account.secret),
    )


def _client(sim: SimulatorServer, accounts: list[Account]) -> DatacubeClient:
    return DatacubeClient(sim.base_url, accounts, clock=lambda: NOW)


def _rows(engine: sa.Engine, table: str, account: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(f"select count(*) from wechat.{table} where account_id = :a"),
                {"a": account},
            ).scalar_one()
        )


def test_retired_endpoints_are_skipped_and_a_bad_account_fails_alone(
    sim: SimulatorServer, engine: sa.Engine
) -> None:
    good, bad = _account(GOOD), _account(BAD, secret="wrong-secret")
    client = _client(sim, [good, bad])
    report = ingest(client, engine, ENDPOINTS, [good, bad], FIRST, LAST, run_id="t1")

    assert report.retired == {e.name for e in ENDPOINTS if e.legacy}
    assert {f.account.app_id for f in report.failures} == {BAD.app_id}
    assert not report.only_transient_failures
    assert BAD.app_id in report.failure_message()
    assert "wrong-secret" not in report.failure_message()
    # The good account loaded everything that is not retired; the bad one nothing.
    for endpoint in ENDPOINTS:
        loaded = _rows(engine, endpoint.table.name, GOOD.app_id)
        if endpoint.legacy:
            assert loaded == 0, endpoint.name
        elif endpoint.table.name in ("user_cumulate", "interface_summary", "upstream_msg_hour"):
            assert loaded > 0, endpoint.name
        assert _rows(engine, endpoint.table.name, BAD.app_id) == 0
    assert report.rows["user_cumulate"] == (LAST - FIRST).days + 1
    # No wasted quota: the good account's needed calls (cumulative endpoints from the send
    # dates whose totals still grow), one call per retired endpoint (which then stops), none
    # for the bad account (its token request already fails).
    needed = sum(
        client.minimum_calls(e, e.request_start(FIRST), LAST) for e in ENDPOINTS if not e.legacy
    )
    retired = sum(1 for e in ENDPOINTS if e.legacy)
    assert report.calls_made == needed + retired


def test_every_response_is_archived_before_loading(sim: SimulatorServer, engine: sa.Engine) -> None:
    good = _account(GOOD)
    report = ingest(_client(sim, [good]), engine, ENDPOINTS, [good], FIRST, LAST, run_id="t2")
    with engine.connect() as conn:
        archived: int = conn.execute(
            sa.text("select count(*) from wechat_raw.api_response where run_id = 't2'")
        ).scalar_one()
        stamped: int = conn.execute(
            sa.text("select count(*) from wechat.user_summary where _run_id = 't2'")
        ).scalar_one()
    assert archived == report.responses > 0
    assert stamped == report.rows["user_summary"]


def test_a_second_pass_replaces_rather_than_appends(
    sim: SimulatorServer, engine: sa.Engine
) -> None:
    good = _account(GOOD)
    hourly = [e for e in ENDPOINTS if e.name == "getinterfacesummaryhour"]
    window = (FIRST + timedelta(days=1), FIRST + timedelta(days=2))
    first = ingest(_client(sim, [good]), engine, hourly, [good], *window, run_id="t3")
    before = _rows(engine, "interface_summary_hour", GOOD.app_id)
    second = ingest(_client(sim, [good]), engine, hourly, [good], *window, run_id="t4")
    assert second.rows == first.rows
    assert _rows(engine, "interface_summary_hour", GOOD.app_id) == before
