"""Serving the simulator over real loopback HTTP with uvicorn: in a background thread (tests,
benchmarks, the pipeline's first run) or in the foreground (``wx-pipeline simulator``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from wx_pipeline.runtime.heap import freeze_long_lived
from wx_pipeline.runtime.serving import ThreadedUvicorn
from wx_pipeline.simulator.app import create_app
from wx_pipeline.simulator.config import SimAccount, SimComponent, SimulatorConfig
from wx_pipeline.simulator.push import Pusher
from wx_pipeline.simulator.state import CallRecord, SimulatorState


class _DropIntendedResets(logging.Filter):
    """The reset fault ends a response early on purpose; that is not a server error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_DropIntendedResets())


class SimulatorServer:
    """One simulator: its state and the uvicorn server in front of it."""

    def __init__(
        self, config: SimulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or SimulatorConfig()
        self.state = SimulatorState(self.config)
        self.pusher: Pusher | None = None
        if self.config.push_ticket_to is not None:
            self.pusher = Pusher(self.state, self.config.push_ticket_to, self.config.push_every)
        self.app = create_app(self.state, self.pusher)
        self._serving = ThreadedUvicorn(
            self.app,
            name="simulator",
            host=host,
            port=port,
            backlog=2048,  # a benchmark's burst of connections waits rather than being refused
            http="httptools",
            loop="uvloop",
            timeout_keep_alive=30,
        )
        self.host, self.port = self._serving.host, self._serving.port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def accounts(self) -> list[SimAccount]:
        return list(self.state.accounts)

    @property
    def calls(self) -> list[CallRecord]:
        with self.state.lock:
            return list(self.state.calls)

    @property
    def issued_tokens(self) -> set[str]:
        with self.state.lock:
            return set(self.state.tokens.issued)

    def truth(
        self, app_id: str, endpoint: str, day: date, final_through: date | None = None
    ) -> list[dict[str, Any]]:
        """The items ``endpoint`` returns for ``day`` once every day up to ``final_through``
        (default: yesterday) is final: cumulative tails run up to it. No faults."""
        return self.state.truth(app_id, endpoint, day, final_through)

    def advance(self, seconds: float) -> None:
        self.state.advance(seconds)

    def set_now(self, moment: datetime) -> None:
        """Move the simulator's clock to ``moment`` (timezone-aware)."""
        self.state.clock.set(moment)

    def restate(self, revisions: Mapping[date, int]) -> None:
        """WeChat restates these days (day -> revision): which sources, hours and articles
        they list changes; the truth changes with them."""
        self.state.restate(revisions)

    def invalidate_tokens(self, app_id: str | None = None) -> None:
        self.state.invalidate_tokens(app_id)

    def reset_calls(self) -> None:
        self.state.reset_calls()

    # --- the third-party platform ------------------------------------------------------------

    @property
    def component(self) -> SimComponent:
        return self.state.require_platform().component

    def issue_ticket(self) -> str:
        """A new verify ticket; pushed to ``push_ticket_to`` when set."""
        if self.pusher is not None:
            return self.pusher.push_ticket()
        return self.state.issue_ticket()

    def revoke(self, app_id: str) -> None:
        """The account revokes the platform (pushed as an unauthorized event when pushing,
        before its tokens die, as the routes do)."""
        if app_id not in self.state.require_platform().refresh_tokens:
            raise KeyError(f"{app_id!r} never authorised the platform")
        if self.pusher is not None:
            self.pusher.push("unauthorized", AuthorizerAppid=app_id)
        self.state.revoke(app_id)

    def refresh_token(self, app_id: str) -> str:
        """The account's current refresh token (it changes when tokens rotate)."""
        with self.state.lock:
            return self.state.require_platform().refresh_tokens[app_id]

    def start(self, timeout: float = 15.0) -> None:
        """Serve in a daemon thread; returns once the port accepts connections."""
        self._serving.start(timeout)
        if self.pusher is not None:
            self.pusher.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self.pusher is not None:
            self.pusher.stop()
        self._serving.stop(timeout)

    def serve_forever(self) -> None:
        """Serve in the calling thread until Ctrl-C / SIGTERM."""
        freeze_long_lived()  # its libraries and set-up live as long as the process
        if self.pusher is not None:
            # Once the server runs: the pusher's first ticket goes out with the receiver up.
            threading.Thread(target=self._start_pushing, daemon=True).start()
        try:
            self._serving.serve_forever()
        finally:
            if self.pusher is not None:
                self.pusher.stop()

    def _start_pushing(self) -> None:
        server = self._serving.server
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if self.pusher is not None and not server.should_exit:
            self.pusher.start()


@contextmanager
def run_in_thread(
    config: SimulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[SimulatorServer]:
    """A running simulator on a free loopback port, stopped on exit."""
    server = SimulatorServer(config, host=host, port=port)
    server.start()
    try:
        yield server
    finally:
        server.stop()
