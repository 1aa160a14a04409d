"""Serving the receiver with uvicorn: in the foreground (``wx-pipeline component-receiver``) or
in a background thread (tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from wx_pipeline.core.settings import Component
from wx_pipeline.receiver.app import create_app
from wx_pipeline.runtime.serving import ThreadedUvicorn


class ReceiverServer:
    """One receiver: its app and the uvicorn server in front of it."""

    def __init__(
        self, engine: sa.Engine, component: Component, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.app = create_app(engine, component)
        # No access log: the query carries signatures, nothing worth keeping.
        self._serving = ThreadedUvicorn(
            self.app, name="receiver", host=host, port=port, timeout_keep_alive=5
        )
        self.host, self.port = self._serving.host, self._serving.port

    @property
    def url(self) -> str:
        return self._serving.url

    def start(self, timeout: float = 15.0) -> None:
        """Serve in a daemon thread; returns once the port accepts connections."""
        self._serving.start(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self._serving.stop(timeout)

    def serve_forever(self) -> None:
        """Serve in the calling thread until Ctrl-C / SIGTERM."""
        self._serving.serve_forever()


@contextmanager
def run_in_thread(
    engine: sa.Engine, component: Component, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[ReceiverServer]:
    """A running receiver on a free loopback port, stopped on exit."""
    server = ReceiverServer(engine, component, host=host, port=port)
    server.start()
    try:
        yield server
    finally:
        server.stop()
