"""An agency on the WeChat Open Platform, end to end: three accounts authorised the platform (no
AppSecret anywhere), the simulator pushes verify tickets to the receiver (sealed as WeChat
seals them), and ``run_pipeline`` loads through authorizer tokens kept in the warehouse. One
account revokes the platform in the middle of the run: WeChat pushes ``unauthorized``, the
receiver records it, and that account fails alone with its one line, without retries, while
the two others load exactly what the simulator's truth says."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from wx_pipeline.cli import main
from wx_pipeline.cli.runner import RunFailedError
from wx_pipeline.core.clock import newest_final_day
from wx_pipeline.core.settings import get_settings
from wx_pipeline.receiver.server import run_in_thread as receiver_in_thread
from wx_pipeline.registry import ENDPOINTS, Period
from wx_pipeline.simulator import SimAccount, SimulatorConfig, SimulatorServer, run_in_thread
from wx_pipeline.warehouse.component import authorisations, latest_events, ticket_received
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.migrate import migrate
from wx_pipeline.wechat.component import AUTHORIZER_TOKEN_PATH, UNAUTHORIZED
from wx_pipeline_tests.e2e.harness import assert_equals_truth, run, set_clock
from wx_pipeline_tests.platform import as_component, platform_accounts, sim_component

pytestmark = pytest.mark.slow

ACCOUNTS = [
    SimAccount(app_id="wxagency0000000001", secret="a" * 32, name="Tea", followers=4_000),
    SimAccount(app_id="wxagency0000000002", secret="b" * 32, name="Bikes", followers=12_000),
    SimAccount(app_id="wxagency0000000003", secret="c" * 32, name="Books", followers=2_500),
]
REVOKING = ACCOUNTS[1]
KEPT = [a for a in ACCOUNTS if a is not REVOKING]
#: Its datacube calls answered before it revokes: the run is well under way by then.
REVOKES_AFTER = 6
DAILY = [e for e in ENDPOINTS if e.period is Period.DAY]


@dataclass
class Agency:
    sim: SimulatorServer
    url: str
    component_app_id: str
    first: date
    last: date
    failure: str


@pytest.fixture(scope="module")
def agency(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, pinned_now: datetime
) -> Iterator[Agency]:
    """Three days of the three accounts through ``run_pipeline``, one revoking mid-run."""
    last = newest_final_day(pinned_now)
    first = last - timedelta(days=2)
    tmp = tmp_path_factory.mktemp("agency")
    component = sim_component(21, ACCOUNTS)
    authorizers = tuple(
        replace(a, revoke_after_calls=REVOKES_AFTER) if a.app_id == REVOKING.app_id else a
        for a in component.authorizers
    )
    component = replace(component, authorizers=authorizers)
    migrate(database_url)
    engine = make_engine(database_url)
    with (
        receiver_in_thread(engine, as_component(component)) as receiver,
        run_in_thread(
            SimulatorConfig(
                seed=21,
                now=pinned_now,
                accounts=ACCOUNTS,
                component=component,
                push_ticket_to=f"{receiver.url}/wechat/events",
            )
        ) as sim,
        pytest.MonkeyPatch.context() as mp,
    ):
        env = platform_accounts(tmp / "accounts.yaml", ACCOUNTS, component)
        env.update(
            WX_API_BASE_URL=sim.base_url, WX_WAREHOUSE_URL=database_url, WX_HOME=str(tmp / "home")
        )
        for name, value in env.items():
            mp.setenv(name, value)
        set_clock(mp, sim, pinned_now)
        with pytest.raises(RunFailedError) as failure:
            run(first, last)
        yield Agency(sim, database_url, component.app_id, first, last, str(failure.value))
        get_settings.cache_clear()
    engine.dispose()


def test_the_two_others_load_exactly_the_truth(agency: Agency) -> None:
    compared = assert_equals_truth(
        agency.sim, agency.url, KEPT, agency.first, agency.last, DAILY, others_ignored=True
    )
    assert compared > 500
    datacube = [c for c in agency.sim.calls if c.path.startswith("/datacube/")]
    assert all(c.errcode == 0 for c in datacube if c.app_id != REVOKING.app_id)


def test_the_revoked_account_fails_alone_with_its_one_line(agency: Agency) -> None:
    line = agency.failure
    assert "\n" not in line
    assert f"account {REVOKING.name!r} ({REVOKING.app_id})" in line
    assert "revoked the platform's authorisation" in line
    assert "an unauthorized event was received" in line
    assert "WX_REFRESH_TOKEN_1" in line  # where its new refresh token goes
    assert line.count("revoked the platform's authorisation") == 1  # once, not per asset
    for account in KEPT:
        assert account.app_id not in line


def test_no_call_was_retried_after_the_revocation(agency: Agency) -> None:
    def windows(account: SimAccount, errcode: int) -> list[tuple[str, object, object]]:
        return [
            (c.path, c.begin, c.end)
            for c in agency.sim.calls
            if c.app_id == account.app_id
            and c.path.startswith("/datacube/")
            and c.errcode == errcode
        ]

    # Every account has the same plan; the others' calls all answered: that is the plan.
    planned = set(windows(KEPT[0], 0))
    assert set(windows(KEPT[1], 0)) == planned
    answered = windows(REVOKING, 0)
    assert len(answered) >= REVOKES_AFTER  # and those under way while it revoked
    assert len(answered) == len(set(answered))
    assert set(answered) < planned
    mine = [c for c in agency.sim.calls if c.app_id == REVOKING.app_id]
    revoked = next(i for i, c in enumerate(mine) if c.errcode)
    after = mine[revoked:]
    # Calls already under way met the dead token; nothing asked for a new one, nothing was
    # tried again (the refused calls' windows are not in the log: WeChat checks the token
    # first, but there are no more of them than windows left). A call whose token was checked
    # just before the tokens died may still be answered after a refusal is logged: at most one
    # per call the account had in flight (their windows are among the unique answered ones).
    assert all(c.path.startswith("/datacube/") and c.errcode in (0, 40001) for c in after)
    in_flight = get_settings().api_concurrency
    assert len([c for c in after if c.errcode == 0]) < in_flight
    assert not [c for c in after if c.path == AUTHORIZER_TOKEN_PATH]
    assert len(after) <= len(planned - set(answered))


def test_the_receiver_kept_the_ticket_and_the_revocation(agency: Agency) -> None:
    engine = make_engine(agency.url)
    try:
        with engine.connect() as conn:
            ids = [a.app_id for a in ACCOUNTS]
            events = latest_events(conn, agency.component_app_id, ids)
            found = authorisations(conn, agency.component_app_id, ids)
            pushed = ticket_received(conn, agency.component_app_id)
            stored: int = conn.execute(
                sa.text("SELECT count(*) FROM wechat_meta.component_events WHERE event = :e"),
                {"e": UNAUTHORIZED},
            ).scalar_one()
    finally:
        engine.dispose()
    assert pushed is not None
    assert stored == 1
    assert events[REVOKING.app_id].event == UNAUTHORIZED
    assert found[REVOKING.app_id].live is False
    assert all(found[a.app_id].live is True for a in KEPT)


def test_status_shows_each_credential_kind_and_authorisation(
    agency: Agency, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import json

    component = agency.sim.component
    env = platform_accounts(tmp_path_factory.mktemp("status") / "a.yaml", ACCOUNTS, component)
    env.update(WX_API_BASE_URL=agency.sim.base_url, WX_WAREHOUSE_URL=agency.url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    result = CliRunner().invoke(main, ["status", "--json"])
    assert result.exit_code == 0, result.output
    shown = {a["app_id"]: a for a in json.loads(result.output)["accounts"]}
    assert {a["credential"] for a in shown.values()} == {"platform"}
    assert shown[REVOKING.app_id]["authorised"] is False
    assert shown[REVOKING.app_id]["authorisation"].startswith("revoked (unauthorized event")
    for account in KEPT:
        assert shown[account.app_id]["authorised"] is True
        assert shown[account.app_id]["authorisation"].startswith("live (token refreshed")
    for token in env.values():
        if token.startswith("refreshtoken@@@"):
            assert token not in result.output
