"""A chat service on loopback for the alert tests: WeCom's and Slack's answers, and everything
it was sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

WECOM_KEY = "wecom-robot-key-0a1b2c3d"
SLACK_SECRET = "slackhooksecret9z8y7x"


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    body: dict[str, Any]


@dataclass
class Receiver:
    """A chat service on loopback: WeCom's and Slack's answers, everything it was sent."""

    base: str
    messages: list[Received] = field(default_factory=list)

    @property
    def wecom(self) -> str:
        return f"{self.base}/cgi-bin/webhook/send?key={WECOM_KEY}"

    @property
    def slack(self) -> str:
        return f"{self.base}/services/T0000/B0000/{SLACK_SECRET}"

    def texts(self) -> list[str]:
        return [json.dumps(m.body, ensure_ascii=False) for m in self.messages]


@contextmanager
def chat_receiver() -> Iterator[Receiver]:
    messages: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            messages.append(Received(parts.path, parse_qs(parts.query), body))
            if parts.path == "/cgi-bin/webhook/send":
                ok = parse_qs(parts.query).get("key") == [WECOM_KEY]
                answer = {"errcode": 0, "errmsg": "ok"} if ok else {"errcode": 93000}
                self._answer(200, json.dumps(answer).encode(), "application/json")
            elif parts.path.startswith("/services/T0000/B0000/"):
                self._answer(200, b"ok", "text/plain")
            else:
                self._answer(404, b"no_service", "text/plain")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}", messages)
    finally:
        server.shutdown()
        server.server_close()
