"""Fixtures for the client tests: a pinned clock, fast retries, simulator accounts as Accounts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import SecretStr

from wx_pipeline.core.settings import BEIJING, Account
from wx_pipeline.wechat.retry import RetryPolicy
from wx_pipeline.wechat.tokens import TokenCache
from wx_pipeline_tests.wechat.fetching import FetchingClient

if TYPE_CHECKING:
    from wx_pipeline.simulator import SimAccount

#: The simulator's and the client's "now" in every test: a Sunday morning in Beijing, so
#: yesterday is a Saturday and the running week and month have not ended.
NOW = datetime(2026, 3, 15, 10, 0, tzinfo=BEIJING)

#: Retries as in production but with waits small enough for tests.
FAST_RETRY = RetryPolicy(
    max_attempts=4, max_total_seconds=30, initial_wait=0.001, max_wait=0.01, jitter=0.001
)


class Clock:
    """The client's clock, moved by tests in step with ``sim.advance``."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Sleeps:
    """An injected sleep that records what the client asked for and returns at once."""

    def __init__(self) -> None:
        self.requested: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.requested.append(seconds)


def as_account(sim_account: SimAccount, *, secret: str | None = None) -> Account:
    return Account(
        app_id=sim_account.app_id,
        name=sim_account.name,
        secret=SecretStr(sim_account.secret if secret is None else secret),
    )


ClientFactory = Callable[..., FetchingClient]


@pytest.fixture
def make_client(tmp_path: Path) -> ClientFactory:
    """Build clients with a pinned clock, instant sleeps and a private token cache."""

    def build(
        base_url: str, accounts: list[Account] | None = None, **kwargs: Any
    ) -> FetchingClient:
        kwargs.setdefault("clock", Clock())
        kwargs.setdefault("sleep", Sleeps())
        kwargs.setdefault("retry", FAST_RETRY)
        kwargs.setdefault("token_cache", TokenCache())
        kwargs.setdefault("token_dir", tmp_path / "tokens")
        return FetchingClient(base_url, accounts or [], **kwargs)

    return build
