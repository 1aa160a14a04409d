"""Accounts authorised to a third-party platform, against the simulator over HTTP with the
credentials shared through a real warehouse: one token per account for every process, the
newest refresh token kept, the last good ticket as a fallback, every platform error one line,
a revoked account failing alone without retries."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from wx_pipeline.core.settings import Account
from wx_pipeline.simulator import SimAccount, SimulatorConfig, SimulatorServer, run_in_thread
from wx_pipeline.simulator.config import SimComponent
from wx_pipeline.warehouse.component import (
    WarehouseCredentialStore,
    authorisations,
    record_event,
    store_ticket,
)
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.migrate import migrate
from wx_pipeline.wechat.component import (
    AUTHORIZED,
    AUTHORIZER_TOKEN,
    COMPONENT_TOKEN,
    GOOD_TICKET,
    REFRESH_TOKEN,
    UNAUTHORIZED,
)
from wx_pipeline.wechat.errors import AuthorizationRevokedError, ConfigurationError, WeChatError
from wx_pipeline.wechat.tokens import TokenCache
from wx_pipeline_tests.platform import as_component, as_platform_account, sim_component
from wx_pipeline_tests.wechat.conftest import NOW, ClientFactory, Clock
from wx_pipeline_tests.wechat.fetching import FetchingClient

YESTERDAY = NOW.date() - timedelta(days=1)
WEEK = (YESTERDAY - timedelta(days=6), YESTERDAY)
ACCOUNTS = [
    SimAccount(app_id=f"wxplatform00000000{i}", secret=f"{i}" * 32, name=f"P{i}", followers=n)
    for i, n in enumerate((3_000, 20_000, 5_000))
]
COMPONENT_PATH = "/cgi-bin/component/api_component_token"
AUTHORIZER_PATH = "/cgi-bin/component/api_authorizer_token"


@dataclass
class Platform:
    """A simulator with a platform, a warehouse holding its credentials, and clients."""

    sim: SimulatorServer
    engine: sa.Engine
    make_client: ClientFactory

    @property
    def component(self) -> SimComponent:
        return self.sim.component

    def store(self) -> WarehouseCredentialStore:
        return WarehouseCredentialStore(self.engine)

    def ticket(self) -> str:
        ticket = self.sim.issue_ticket()
        store_ticket(self.engine, self.component.app_id, ticket, self.sim.state.clock.now())
        return ticket

    def account(self, index: int, refresh_token: str | None = None) -> Account:
        return as_platform_account(ACCOUNTS[index], self.component, refresh_token)

    def client(self, *accounts: Account, **kwargs: object) -> FetchingClient:
        """A client as one process has it (its own token cache and connections)."""
        kwargs.setdefault("token_cache", TokenCache())
        kwargs.setdefault("component", as_component(self.component))
        kwargs.setdefault("credential_store", self.store())
        return self.make_client(self.sim.base_url, list(accounts), **kwargs)

    def calls(self, path: str, app_id: str | None = None) -> list[int]:
        return [
            c.errcode
            for c in self.sim.calls
            if c.path == path and (app_id is None or c.app_id == app_id)
        ]

    def stored(self, kind: str, authorizer: str = "") -> str | None:
        found = self.store().get(self.component.app_id, kind, authorizer)
        return found.value if found else None


PlatformFactory = Callable[..., Platform]


@pytest.fixture
def platform(
    new_database: Callable[[str], str], make_client: ClientFactory
) -> Iterator[PlatformFactory]:
    """Start a simulator whose platform the ACCOUNTS authorised (``changes`` to the
    platform), with a freshly migrated warehouse."""
    with ExitStack() as stack:

        def start(**changes: object) -> Platform:
            url = new_database("platform")
            migrate(url)
            engine = make_engine(url)
            stack.callback(engine.dispose)
            component = sim_component(5, ACCOUNTS, **changes)
            config = SimulatorConfig(seed=5, now=NOW, accounts=ACCOUNTS, component=component)
            return Platform(stack.enter_context(run_in_thread(config)), engine, make_client)

        yield start


def test_processes_share_one_token_per_account(platform: PlatformFactory) -> None:
    p = platform()
    p.ticket()
    accounts = [p.account(i) for i in range(3)]
    results: list[object] = []

    def process() -> None:
        client = p.client(*accounts)
        report = client.fetch_many_sync([(a, "getusersummary", *WEEK) for a in accounts])
        results.append(report)

    threads = [threading.Thread(target=process) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3
    assert all(r.ok for r in results)  # type: ignore[attr-defined]
    # Three "processes" (own caches, own connections), one component token, one token each.
    assert p.calls(COMPONENT_PATH) == [0]
    assert p.calls(AUTHORIZER_PATH) == [0, 0, 0]
    assert {c.app_id for c in p.sim.calls if c.path == AUTHORIZER_PATH} == {
        a.app_id for a in accounts
    }
    datacube = [c for c in p.sim.calls if c.path.startswith("/datacube/")]
    assert len(datacube) == 9
    assert all(c.errcode == 0 for c in datacube)
    # The platform's answers (tokens) are what the warehouse holds now.
    assert p.stored(COMPONENT_TOKEN) is not None
    assert p.stored(AUTHORIZER_TOKEN, accounts[0].app_id) in p.sim.issued_tokens


def test_same_data_as_with_the_app_secret(platform: PlatformFactory) -> None:
    from wx_pipeline_tests.wechat.conftest import as_account

    p = platform()
    p.ticket()
    via_platform = p.client(p.account(1)).fetch_sync(p.account(1), "getuserread", *WEEK)
    own = as_account(ACCOUNTS[1])
    via_secret = p.make_client(p.sim.base_url, [own]).fetch_sync(own, "getuserread", *WEEK)
    assert [r.body for r in via_platform] == [r.body for r in via_secret]


def test_rejected_token_refreshed_once_and_rotated_refresh_token_kept(
    platform: PlatformFactory,
) -> None:
    p = platform(rotate_refresh_tokens=True)
    p.ticket()
    account = p.account(0)
    first = p.client(account)
    first.fetch_sync(account, "getusersummary", *WEEK)
    rotated = p.stored(REFRESH_TOKEN, account.app_id)
    assert rotated == p.sim.refresh_token(account.app_id)
    assert account.refresh_token is not None
    assert rotated != account.refresh_token.get_secret_value()
    # Its token dies (superseded): the datacube says 40001, one refresh, with the new refresh
    # token (the configured one is retired: 61023 if it were used), one retry.
    p.sim.invalidate_tokens(account.app_id)
    p.sim.reset_calls()
    first.fetch_sync(account, "getusersummary", *WEEK)
    assert [c.errcode for c in p.sim.calls if c.path.startswith("/datacube/")] == [40001, 0]
    assert p.calls(AUTHORIZER_PATH) == [0]
    assert p.stored(REFRESH_TOKEN, account.app_id) == p.sim.refresh_token(account.app_id)
    # Another process after expiry: the stored refresh token, not the configured one.
    clock = Clock(NOW + timedelta(seconds=7200))
    p.sim.advance(7200)
    p.sim.reset_calls()
    p.client(account, clock=clock).fetch_sync(account, "getusersummary", *WEEK)
    assert p.calls(AUTHORIZER_PATH) == [0]
    assert p.calls(COMPONENT_PATH) == [0]  # the component token had expired too


def test_a_newly_configured_refresh_token_replaces_the_stored_one(
    platform: PlatformFactory,
) -> None:
    p = platform()
    p.ticket()
    p.client(p.account(2)).fetch_sync(p.account(2), "getusersummary", *WEEK)
    # The account authorises the platform again: a new refresh token, the old one retired.
    newer = p.sim.state.authorize(ACCOUNTS[2].app_id)
    p.sim.invalidate_tokens(ACCOUNTS[2].app_id)
    account = p.account(2, refresh_token=newer)
    p.client(account).fetch_sync(account, "getusersummary", *WEEK)
    assert p.stored(REFRESH_TOKEN, account.app_id) == newer


def test_the_last_good_ticket_when_the_newest_is_refused(platform: PlatformFactory) -> None:
    p = platform()
    good = p.ticket()
    account = p.account(0)
    p.client(account).fetch_sync(account, "getusersummary", *WEEK)
    assert p.stored(GOOD_TICKET) == good
    # A newer ticket WeChat refuses (61006), then every token expires.
    later = p.sim.state.clock.now() + timedelta(minutes=10)
    store_ticket(p.engine, p.component.app_id, "ticket@@@not-from-wechat", later)
    clock = Clock(NOW + timedelta(seconds=7200))
    p.sim.advance(7200)
    p.sim.reset_calls()
    p.client(account, clock=clock).fetch_sync(account, "getusersummary", *WEEK)
    assert p.calls(COMPONENT_PATH) == [61006, 0]
    assert p.stored(GOOD_TICKET) == good


def _one_line(error: WeChatError) -> str:
    line = str(error)
    assert "\n" not in line
    return line


@pytest.mark.parametrize(
    ("case", "errcode", "said"),
    [
        ("ip", 61004, "caller IP 127.0.0.1 is not on the platform's IP whitelist"),
        ("expired", 61005, "ticket has expired"),
        ("invalid", 61006, "ticket was refused as invalid"),
        ("component", 61011, "check WX_COMPONENT_APP_ID"),
        ("secret", 40125, "check WX_COMPONENT_APP_SECRET"),
        ("no ticket", None, "no component_verify_ticket received yet"),
    ],
)
def test_platform_errors_are_one_line_per_account_and_one_call(
    platform: PlatformFactory, case: str, errcode: int | None, said: str
) -> None:
    p = platform(ip_whitelist=("10.9.8.7",) if case == "ip" else ())
    component = as_component(p.component)
    clock = Clock()
    if case == "expired":
        p.ticket()
        p.sim.advance(13 * 3600)
        clock.advance(13 * 3600)
    elif case == "invalid":
        store_ticket(p.engine, p.component.app_id, "ticket@@@forged", NOW)
    elif case != "no ticket":
        p.ticket()
    if case == "component":
        component = as_component(p.component, app_id="wxnotthisplatform0")
        store_ticket(p.engine, component.app_id, p.sim.issue_ticket(), NOW)
    if case == "secret":
        component = as_component(p.component, secret="not-the-platform-secret")
    accounts = [p.account(0), p.account(1)]
    client = p.client(*accounts, component=component, clock=clock)
    report = client.fetch_many_sync([(a, "getusersummary", *WEEK) for a in accounts])
    assert not report.responses
    lines = [_one_line(r.error) for r in report.results if r.error is not None]
    assert len(lines) == 2
    for account, line in zip(accounts, lines, strict=True):
        assert line.startswith(f"account {account.name!r} ({account.app_id}): component")
        assert said in line
        if errcode is not None:
            assert str(errcode) in line
        assert "not-the-platform-secret" not in line
    assert all(isinstance(r.error, ConfigurationError) for r in report.results)
    # The platform's error holds for every account: asked once, not once per account.
    assert len(p.calls(COMPONENT_PATH)) == (0 if case == "no ticket" else 1)
    assert not p.calls(AUTHORIZER_PATH)


def test_an_account_without_the_datacube_permission_set_gets_48001(
    platform: PlatformFactory,
) -> None:
    authorizers = list(sim_component(5, ACCOUNTS).authorizers)
    authorizers[1] = replace(authorizers[1], datacube=False)
    p = platform(authorizers=tuple(authorizers))
    p.ticket()
    accounts = [p.account(0), p.account(1)]
    report = p.client(*accounts).fetch_many_sync([(a, "getusersummary", *WEEK) for a in accounts])
    ok, refused = report.results
    assert ok.ok
    assert isinstance(refused.error, ConfigurationError)
    line = _one_line(refused.error)
    assert "48001" in line
    assert "did not grant the platform the permission set" in line


def test_a_revoked_account_fails_alone_and_is_not_called_again(
    platform: PlatformFactory,
) -> None:
    p = platform()
    p.ticket()
    accounts = [p.account(0), p.account(1)]
    client = p.client(*accounts)
    assert client.fetch_many_sync([(a, "getusersummary", *WEEK) for a in accounts]).ok
    revoked = accounts[1]
    p.sim.revoke(revoked.app_id)
    p.sim.reset_calls()
    report = client.fetch_many_sync(
        [(a, e, *WEEK) for a in accounts for e in ("getusersummary", "getuserread")]
    )
    for result in report.results:
        if result.job.account == revoked:
            assert isinstance(result.error, AuthorizationRevokedError)
            line = _one_line(result.error)
            assert "revoked the platform's authorisation" in line
            assert "61023" in line
            assert f"put the new refresh token in {revoked.refresh_token_env}" in line
        else:
            assert result.ok
    # Each job's first call found the token dead, one refresh was refused; nothing retried.
    mine = sorted((c.path, c.errcode) for c in p.sim.calls if c.app_id == revoked.app_id)
    assert mine == [
        (AUTHORIZER_PATH, 61023),
        ("/datacube/getuserread", 40001),
        ("/datacube/getusersummary", 40001),
    ]
    # Another process: refused without a single call, the refusal being on record.
    p.sim.reset_calls()
    with pytest.raises(AuthorizationRevokedError, match="refused its refresh token"):
        p.client(revoked).fetch_sync(revoked, "getusersummary", *WEEK)
    assert not p.sim.calls
    with p.engine.connect() as conn:
        found = authorisations(conn, p.component.app_id, [a.app_id for a in accounts])
    assert found[revoked.app_id].live is False
    assert found[accounts[0].app_id].live is True


def test_an_unauthorized_event_stops_the_account_until_a_new_authorisation(
    platform: PlatformFactory,
) -> None:
    p = platform()
    p.ticket()
    account = p.account(2)
    record_event(p.engine, p.component.app_id, account.app_id, UNAUTHORIZED)
    with pytest.raises(AuthorizationRevokedError, match="an unauthorized event was received"):
        p.client(account).fetch_sync(account, "getusersummary", *WEEK)
    assert not p.sim.calls  # not even a token call
    # An authorized event re-enables it (here its refresh token still works).
    record_event(p.engine, p.component.app_id, account.app_id, AUTHORIZED)
    assert p.client(account).fetch_sync(account, "getusersummary", *WEEK)
    # Revoked again: refused again, without calls.
    record_event(p.engine, p.component.app_id, account.app_id, UNAUTHORIZED)
    p.sim.reset_calls()
    with pytest.raises(AuthorizationRevokedError, match="an unauthorized event was received"):
        p.client(account).fetch_sync(account, "getusersummary", *WEEK)
    assert not p.sim.calls
    # Authorised again, with the new refresh token configured: it works again.
    newer = p.sim.state.authorize(account.app_id)
    again = p.account(2, refresh_token=newer)
    assert p.client(again).fetch_sync(again, "getusersummary", *WEEK)
    with p.engine.connect() as conn:
        found = authorisations(conn, p.component.app_id, [account.app_id])
    assert found[account.app_id].live is True
