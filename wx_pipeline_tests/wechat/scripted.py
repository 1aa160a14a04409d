"""A tiny real HTTP server that answers datacube calls from a script.

The simulator cannot be made to send every error code (43002 needs a GET, 61500 a malformed
date...), yet each code's path through the client must be tested over real HTTP. This server
answers each datacube call with the next scripted ``(status, body)`` and issues numbered tokens.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Answer = tuple[int, dict[str, Any] | bytes]  # (HTTP status, JSON object or raw body)
OK: Answer = (200, {"list": []})


@dataclass
class Script:
    """What the server answers; mutate it between calls from the test."""

    datacube: deque[Answer] = field(default_factory=deque)
    token_answers: deque[dict[str, Any]] = field(default_factory=deque)
    datacube_calls: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)
    token_calls: int = 0
    issued: list[str] = field(default_factory=list)


def _app(script: Script) -> Starlette:
    async def token(request: Request) -> Response:
        script.token_calls += 1
        if script.token_answers:
            return JSONResponse(script.token_answers.popleft())
        value = f"scripted-token-{len(script.issued) + 1:04d}"
        script.issued.append(value)
        return JSONResponse({"access_token": value, "expires_in": 7200})

    async def datacube(request: Request) -> Response:
        body = await request.json()
        script.datacube_calls.append(
            (request.path_params["name"], request.query_params.get("access_token"), body)
        )
        status, answer = script.datacube.popleft() if script.datacube else OK
        if isinstance(answer, bytes):
            return Response(answer, status_code=status, media_type="application/json")
        return JSONResponse(answer, status_code=status)

    return Starlette(
        routes=[
            Route("/cgi-bin/stable_token", token, methods=["POST"]),
            Route("/cgi-bin/token", token, methods=["GET"]),
            Route("/datacube/{name}", datacube, methods=["POST"]),
        ]
    )


@contextmanager
def scripted_server() -> Iterator[tuple[str, Script]]:
    """``(base_url, script)`` of a server on a free loopback port, stopped on exit."""
    script = Script()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(_app(script), log_level="warning", lifespan="off", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("scripted server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", script
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
