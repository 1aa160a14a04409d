"""An ASGI app served by uvicorn on a socket bound up front: in a background thread (tests,
benchmarks, the pipeline's own simulator) or in the foreground (the CLI's servers).

The socket listens from construction on, so a client that connects before uvicorn runs (e.g.
right after a command printed the URL) waits in the backlog instead of being refused, and
port 0 gives a free port known before serving.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any


class ThreadedUvicorn:
    """One uvicorn server for ``app`` on ``host:port``; ``name`` labels its thread and errors."""

    def __init__(
        self,
        app: Any,
        *,
        name: str,
        host: str = "127.0.0.1",
        port: int = 0,
        backlog: int = 128,
        **config: Any,
    ) -> None:
        import uvicorn

        self.name = name
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self._socket.listen(backlog)
        self.host, self.port = self._socket.getsockname()[:2]
        self.server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", **config)
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        """Serve in a daemon thread; returns once the port accepts connections."""
        self._thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name=f"wx-{self.name}-{self.port}",
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start on {self.url}")
            time.sleep(0.01)

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._socket.close()

    def serve_forever(self) -> None:
        """Serve in the calling thread until Ctrl-C / SIGTERM."""
        try:
            self.server.run(sockets=[self._socket])
        finally:
            self._socket.close()
