"""Serving the receiver with uvicorn: in the foreground (``wx-pipeline component-receiver``) or
in a background thread (tests)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
import uvicorn

from wx_pipeline.receiver.app import create_app
from wx_pipeline.settings import Component


class ReceiverServer:
    """One receiver: its app and the uvicorn server in front of it."""

    def __init__(
        self, engine: sa.Engine, component: Component, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.app = create_app(engine, component)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self._socket.listen(128)
        self.host, self.port = self._socket.getsockname()[:2]
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                log_level="warning",
                access_log=False,  # the query carries signatures; nothing worth keeping
                lifespan="off",
                timeout_keep_alive=5,
            )
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        """Serve in a daemon thread; returns once the port accepts connections."""
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name=f"wx-receiver-{self.port}",
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"receiver did not start on {self.url}")
            time.sleep(0.01)

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._socket.close()

    def serve_forever(self) -> None:
        """Serve in the calling thread until Ctrl-C / SIGTERM."""
        self._server.run(sockets=[self._socket])
        self._socket.close()


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
