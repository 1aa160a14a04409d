"""The simulator's clock: real, fixed or fixed-then-ticking, and movable by tests."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

from wx_pipeline.core.settings import BEIJING


class SimClock:
    """``now()`` = (the start instant, or the real time) + the offset added by ``advance``."""

    def __init__(self, start: datetime | None = None, *, ticks: bool = False) -> None:
        self._start = start
        self._ticks = ticks or start is None
        self._started_at = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        if self._start is None:
            base = datetime.now(UTC)
        else:
            elapsed = time.monotonic() - self._started_at if self._ticks else 0.0
            base = self._start + timedelta(seconds=elapsed)
        return base + timedelta(seconds=self._offset)

    def timestamp(self) -> float:
        return self.now().timestamp()

    def beijing(self) -> datetime:
        return self.now().astimezone(BEIJING)

    def today(self) -> date:
        """Today's Beijing date: the API's 'today'."""
        return self.beijing().date()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def set(self, moment: datetime) -> None:
        """Move the clock to ``moment`` (forwards or back), e.g. to follow a test's pinned
        pipeline clock."""
        self.advance((moment - self.now()).total_seconds())
