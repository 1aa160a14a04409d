"""Dagster resources: the WeChat API and the warehouse.

With nothing configured, the WeChat resource serves the project's simulator over loopback HTTP
and the warehouse resource starts the embedded PostgreSQL, so a fresh clone runs end to end.
Secrets reach the resources as ``EnvVar``s: the UI and the run config show the variable's
name, never its value.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from datetime import datetime
from functools import cache

import dagster as dg
from pydantic import PrivateAttr, SecretStr
from sqlalchemy.engine import Engine

from wx_pipeline.core.settings import Account, Settings, get_settings, load_settings
from wx_pipeline.wechat.client import DatacubeClient
from wx_pipeline.wechat.component import CredentialStore
from wx_pipeline.wechat.quota import CallStore

# One simulator per process, shared by every asset of a run (started on first use).
_simulator_lock = threading.Lock()
_simulator_stack = ExitStack()
_simulators: dict[tuple[int, datetime | None], tuple[str, list[Account]]] = {}


def _simulator(seed: int, now: datetime | None) -> tuple[str, list[Account]]:
    """Base URL and accounts of this process's simulator, started on first use; its clock
    stands at ``now`` (the pipeline's pinned clock, WX_NOW) or follows the real time."""
    from wx_pipeline.simulator import SimulatorConfig, run_in_thread

    with _simulator_lock:
        if (seed, now) not in _simulators:
            sim = _simulator_stack.enter_context(run_in_thread(SimulatorConfig(seed=seed, now=now)))
            accounts = [
                Account(app_id=a.app_id, name=a.name, secret=SecretStr(a.secret))
                for a in sim.accounts
            ]
            _simulators[(seed, now)] = (sim.base_url, accounts)
        return _simulators[(seed, now)]


def configured_accounts(settings: Settings, simulator_seed: int = 0) -> list[Account]:
    """The accounts a run covers: the configured ones, or the simulator's when none is (its
    accounts follow from the seed; no simulator is started to name them)."""
    if not settings.uses_simulator:
        return settings.accounts()
    from wx_pipeline.simulator import demo_accounts

    return [
        Account(app_id=a.app_id, name=a.name, secret=SecretStr(a.secret))
        for a in demo_accounts(simulator_seed)
    ]


class WeChatApiResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The datacube API: accounts, base URL and client tuning.

    ``app_secret`` comes from ``EnvVar("WX_APP_SECRET")`` for a single account; an accounts file
    names one environment variable per account instead. When neither an account nor a base
    URL is configured, the built-in simulator is started with ``simulator_seed``.
    """

    app_id: str | None = None
    app_secret: str | None = None
    simulator_seed: int = 0

    def settings(self) -> Settings:
        if self.app_id is not None and self.app_secret is not None:
            return load_settings(app_id=self.app_id, app_secret=SecretStr(self.app_secret))
        return get_settings()

    def client(
        self,
        call_store: CallStore | None = None,
        credential_store: CredentialStore | None = None,
    ) -> DatacubeClient:
        """A client for this run's accounts (the simulator's when nothing is configured),
        counting its calls in ``call_store`` when given; accounts authorised to the
        third-party platform take their tokens through ``credential_store`` (without one,
        they fail alone with one line). Assets and ops use ``warehouse_client``."""
        settings = self.settings()
        if settings.uses_simulator:
            base_url, accounts = _simulator(self.simulator_seed, settings.now)
            return DatacubeClient.from_settings(
                settings, base_url=base_url, accounts=accounts, call_store=call_store
            )
        return DatacubeClient.from_settings(
            settings, call_store=call_store, credential_store=credential_store
        )

    def warehouse_client(self, engine: Engine) -> DatacubeClient:
        """The client every asset and op uses: calls counted in the warehouse of ``engine``
        (shared by every process and run), and the platform's tickets and tokens kept there,
        where the receiver stores them; each account's token source follows its kind."""
        from wx_pipeline.warehouse.calls import WarehouseCallStore
        from wx_pipeline.warehouse.component import WarehouseCredentialStore

        return self.client(
            call_store=WarehouseCallStore(engine),
            credential_store=WarehouseCredentialStore(engine),
        )


@cache
def _engine(url: str) -> Engine:
    from wx_pipeline.warehouse.db import make_engine
    from wx_pipeline.warehouse.migrate import migrate

    migrate(url)  # a run never writes to a schema older than the code
    return make_engine(url)


class WarehouseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The Postgres warehouse: ``EnvVar("WX_WAREHOUSE_URL")``, or the embedded one when unset."""

    url: str | None = None
    _url: str | None = PrivateAttr(default=None)

    def resolved_url(self) -> str:
        if self._url is None:
            from wx_pipeline.warehouse.embedded import warehouse_url

            self._url = self.url or warehouse_url(get_settings())
        return self._url

    def engine(self) -> Engine:
        """A pooled engine on the migrated warehouse (migrations run once per process)."""
        return _engine(self.resolved_url())
