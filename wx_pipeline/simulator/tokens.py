"""Access tokens as WeChat hands them out.

``/cgi-bin/token`` always issues a new token; the one it replaces keeps working for 5 more
minutes, then answers 40001 "not latest". ``/cgi-bin/stable_token`` returns the current token
while it has more than 5 minutes left, and a new one after that (or on ``force_refresh``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

#: How long a superseded token keeps working, and how early stable_token rolls over.
OVERLAP_SECONDS = 300


@dataclass
class Token:
    value: str
    app_id: str
    expires_at: float
    superseded_at: float | None = None
    revoked: bool = False


class TokenStore:
    """Not thread-safe by itself: the simulator serialises access."""

    def __init__(self, ttl: int) -> None:
        self._ttl = ttl
        self._by_value: dict[str, Token] = {}
        self._current: dict[str, Token] = {}
        self.issued: set[str] = set()

    def issue(self, app_id: str, now: float) -> Token:
        old = self._current.get(app_id)
        if old is not None and old.superseded_at is None:
            old.superseded_at = now
        token = Token(
            value=secrets.token_urlsafe(96).replace("-", "_"),
            app_id=app_id,
            expires_at=now + self._ttl,
        )
        self._by_value[token.value] = token
        self._current[app_id] = token
        self.issued.add(token.value)
        return token

    def stable(self, app_id: str, now: float, *, force: bool) -> Token:
        current = self._current.get(app_id)
        usable = (
            current is not None
            and not current.revoked
            and current.expires_at - now > min(OVERLAP_SECONDS, self._ttl / 2)
        )
        if force or not usable or current is None:
            return self.issue(app_id, now)
        return current

    def check(self, value: str, now: float) -> tuple[str | None, int]:
        """(app id, 0) for a usable token, else (app id or None, errcode)."""
        token = self._by_value.get(value)
        if token is None:
            return None, 40014
        if token.revoked:
            return token.app_id, 40001
        if token.superseded_at is not None and now >= token.superseded_at + OVERLAP_SECONDS:
            return token.app_id, 40001
        if now >= token.expires_at:
            return token.app_id, 42001
        return token.app_id, 0

    def invalidate(self, app_id: str | None = None) -> None:
        """Make the current tokens (of one account or all) invalid at once: 40001."""
        for token in self._by_value.values():
            if app_id is None or token.app_id == app_id:
                token.revoked = True
