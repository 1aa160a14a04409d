"""Pushes to the third-party platform's authorisation event URL, sealed as WeChat seals them:
a verify ticket at start and every ``push_every`` seconds, and the authorisation events the
admin routes cause (``unauthorized`` on a revocation, ``authorized`` on a new grant)."""

from __future__ import annotations

import logging
import secrets
import threading
from datetime import datetime

import httpx

from wx_pipeline.simulator.state import SimulatorState
from wx_pipeline.wechat.push import VERIFY_TICKET, message_xml, seal_push

logger = logging.getLogger(__name__)


class Pusher:
    """Posts sealed pushes to ``url``; a push that fails is logged and dropped, as WeChat does
    (the receiver keeps using its last ticket)."""

    def __init__(self, state: SimulatorState, url: str, every: float | None = None) -> None:
        self.state = state
        self.url = url
        self.every = every
        self.platform = state.require_platform()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def push(self, info_type: str, **fields: str) -> int | None:
        """Seal and post one message; its HTTP status (None: the receiver was unreachable)."""
        component = self.platform.component
        now: datetime = self.state.clock.now()
        sealed = seal_push(
            message_xml(component.app_id, now, info_type, **fields),
            token=component.token,
            aes_key=component.aes_key,
            app_id=component.app_id,
            timestamp=str(int(now.timestamp())),
            nonce=secrets.token_hex(5),
        )
        try:
            answer = httpx.post(
                self.url,
                params=sealed.params,
                content=sealed.body,
                headers={"Content-Type": "text/xml"},
                timeout=10,
            )
        except httpx.HTTPError as exc:
            logger.warning("push of %s to %s failed: %s", info_type, self.url, type(exc).__name__)
            return None
        if answer.status_code != 200 or answer.text != "success":
            logger.warning("push of %s: the receiver answered %d", info_type, answer.status_code)
        return answer.status_code

    def push_ticket(self) -> str:
        """A new verify ticket, pushed; returns it."""
        ticket = self.state.issue_ticket()
        self.push(VERIFY_TICKET, ComponentVerifyTicket=ticket)
        return ticket

    def start(self) -> None:
        """Push a ticket now, then every ``every`` seconds (real time) until ``stop``."""
        self.push_ticket()
        if self.every is None:
            return

        def loop() -> None:
            assert self.every is not None
            while not self._stop.wait(self.every):
                self.push_ticket()

        self._thread = threading.Thread(target=loop, daemon=True, name="wx-simulator-pusher")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
