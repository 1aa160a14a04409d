"""The mutable side of a simulator run: clock, tokens, quotas, call sequence, call log, and the
cached response bodies built from the (pure) synthetic data."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import orjson

from wx_pipeline.core.clock import newest_final_day
from wx_pipeline.core.settings import DEFAULT_DATA_READY_TIME
from wx_pipeline.registry import Endpoint, Period, period_end, period_starts, with_spans
from wx_pipeline.simulator.cache import LruCache
from wx_pipeline.simulator.clock import SimClock
from wx_pipeline.simulator.config import SimAccount, SimComponent, SimulatorConfig
from wx_pipeline.simulator.data import DataSet, View
from wx_pipeline.simulator.data.articles import LIFETIME
from wx_pipeline.simulator.data.common import stable_seed
from wx_pipeline.simulator.tokens import TokenStore

#: WeChat's own ready time: before it, yesterday's data is still being processed.
READY_TIME = DEFAULT_DATA_READY_TIME


@dataclass(frozen=True)
class CallRecord:
    """One HTTP request the simulator answered."""

    path: str
    app_id: str | None
    begin: date | None
    end: date | None
    errcode: int  # 0 = ok
    http_status: int
    fault: str | None
    at: datetime


#: The answer bodies and per-day fragments kept for answering again (least recently used go
#: first): enough for the benchmarks' working sets (a year of one account's calls is ~30 MB),
#: whatever the accounts and days served.
BODY_BYTES = 96 * 2**20
BODIES_KEPT = 20_000
FRAGMENT_BYTES = 96 * 2**20
FRAGMENTS_KEPT = 100_000

#: How long WeChat accepts a verify ticket after pushing it.
TICKET_SECONDS = 12 * 3600


class PlatformState:
    """The third-party platform's side: tickets, component tokens, refresh tokens, who revoked.
    Not thread-safe by itself: the simulator serialises access with its lock."""

    def __init__(self, component: SimComponent, token_ttl: int) -> None:
        self.component = component
        self.tokens = TokenStore(token_ttl)  # component access tokens, keyed by its app id
        self.tickets: dict[str, float] = {}  # ticket -> when pushed
        self.refresh_tokens = {a.app_id: a.refresh_token for a in component.authorizers}
        self.datacube = {a.app_id: a.datacube for a in component.authorizers}
        self.revoked: set[str] = set()
        self.authorizer_tokens: set[str] = set()  # access tokens issued through the platform
        self.revoke_after = {
            a.app_id: a.revoke_after_calls
            for a in component.authorizers
            if a.revoke_after_calls is not None
        }
        self.answered: dict[str, int] = {}  # datacube calls answered, of those accounts

    def answered_one(self, app_id: str) -> bool:
        """Count an answered datacube call; True once: when the account revokes the platform."""
        limit = self.revoke_after.get(app_id)
        if limit is None:
            return False
        self.answered[app_id] = self.answered.get(app_id, 0) + 1
        return self.answered[app_id] == limit

    def new_ticket(self, now: float) -> str:
        ticket = "ticket@@@" + secrets.token_urlsafe(48)
        self.tickets[ticket] = now
        return ticket

    def ticket_code(self, ticket: str, now: float) -> int:
        """0 for a ticket WeChat would take, else 61006 (unknown) or 61005 (expired)."""
        pushed = self.tickets.get(ticket)
        if pushed is None:
            return 61006
        return 61005 if now - pushed > TICKET_SECONDS else 0

    def new_refresh_token(self, app_id: str) -> str:
        token = "refreshtoken@@@" + secrets.token_urlsafe(32)
        self.refresh_tokens[app_id] = token
        return token


def processing_view(now_beijing: datetime) -> View:
    """How far the data is processed at ``now_beijing`` (the pipeline's final-day rule, with
    WeChat's ready time): until yesterday is final it is partial, with 12 hours in at midnight
    growing to 23 just before 08:00."""
    yesterday = now_beijing.date() - timedelta(days=1)
    if newest_final_day(now_beijing, READY_TIME) == yesterday:
        return View(yesterday)
    minutes = now_beijing.hour * 60 + now_beijing.minute
    ready_minutes = READY_TIME.hour * 60 + READY_TIME.minute
    return View(yesterday, yesterday, 12 + minutes * 12 // ready_minutes)


class SimulatorState:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.accounts: list[SimAccount] = config.resolved_accounts()
        self.by_app_id = {a.app_id: a for a in self.accounts}
        self.endpoints: dict[str, Endpoint] = with_spans(config.span_overrides)
        self.clock = SimClock(config.now, ticks=config.now_ticks)
        self.data = DataSet(config.seed, self.accounts, config.revisions)
        self.tokens = TokenStore(config.token_ttl)
        self.platform = (
            PlatformState(config.component, config.token_ttl) if config.component else None
        )
        self.lock = threading.RLock()
        self.calls: list[CallRecord] = []
        self.daily_used: dict[tuple[str, str, date], int] = {}
        self.minute_used: dict[tuple[str, str, int], int] = {}
        self.force_refreshes: dict[tuple[str, date], list[float]] = {}
        self.sequence: dict[str, int] = {}
        self._rid = 0
        # Bounded by bytes: a day's fragment is a few bytes to ~100 kB, a body up to 30 of them.
        self._fragments: LruCache[tuple[Any, ...], bytes] = LruCache(
            FRAGMENTS_KEPT, max_size=FRAGMENT_BYTES, size=len
        )
        self._bodies: LruCache[tuple[Any, ...], bytes] = LruCache(
            BODIES_KEPT, max_size=BODY_BYTES, size=len
        )

    # --- helpers used by the routes ------------------------------------------------------

    def rid(self) -> str:
        with self.lock:
            self._rid += 1
            n = self._rid
        h = f"{stable_seed(self.config.seed, 'rid', n):016x}{n:08x}"
        return f"{h[:8]}-{h[8:16]}-{h[16:24]}"

    def record(
        self,
        path: str,
        app_id: str | None,
        begin: date | None,
        end: date | None,
        errcode: int,
        http_status: int,
        fault: str | None = None,
    ) -> None:
        rec = CallRecord(path, app_id, begin, end, errcode, http_status, fault, self.clock.now())
        with self.lock:
            self.calls.append(rec)

    def view(self) -> View:
        return processing_view(self.clock.beijing())

    def list_body(self, app_id: str, endpoint: Endpoint, begin: date, end: date) -> bytes:
        """The success body for a validated request: cached joined per-day fragments."""
        view = self.view()
        key = (app_id, endpoint.name, begin, end, view)
        body = self._bodies.get(key)
        if body is not None:
            return body
        days = (
            [begin + timedelta(days=i) for i in range((end - begin).days + 1)]
            if endpoint.period is Period.DAY
            else list(period_starts(endpoint.period, begin, end))
        )
        parts = [f for f in (self._fragment(app_id, endpoint, d, view) for d in days) if f]
        body = b'{"list":[' + b",".join(parts) + b"]"
        if endpoint.has_is_delay:
            delayed = view.partial_day is not None and begin <= view.partial_day <= end
            body += b',"is_delay":true' if delayed else b',"is_delay":false'
        body += b"}"
        self._bodies.put(key, body)
        return body

    def _fragment(self, app_id: str, endpoint: Endpoint, day: date, view: View) -> bytes:
        last = period_end(endpoint.period, day)
        # Only what the day's items depend on: partial hours and, for cumulative details,
        # how many stat dates exist yet and whether the newest of them is still partial.
        tail_end = min(view.yesterday, last + timedelta(days=LIFETIME))
        key = (
            app_id,
            endpoint.name,
            day,
            view.hours_of(day),
            tail_end,
            view.hours_of(tail_end),
        )
        frag = self._fragments.get(key)
        if frag is not None:
            return frag
        items = self.data.items(app_id, endpoint.name, day, view)
        # One encoder pass for the day: the list's inside is the items joined by ",". orjson
        # writes what json.dumps(ensure_ascii=False, separators=(",", ":")) writes for these
        # items (str, int, bool, 4-decimal floats), an order of magnitude faster.
        frag = orjson.dumps(items)[1:-1]
        self._fragments.put(key, frag)
        return frag

    # --- the Python API (SimulatorServer delegates here) --------------------------------

    def truth(
        self, app_id: str, endpoint: str, day: date, final_through: date | None = None
    ) -> list[dict[str, Any]]:
        if app_id not in self.by_app_id:
            raise KeyError(f"unknown app id {app_id!r}")
        if endpoint not in self.endpoints:
            raise KeyError(f"unknown endpoint {endpoint!r}")
        final = View(final_through or self.clock.today() - timedelta(days=1))
        with self.lock:
            return self.data.items(app_id, endpoint, day, final)

    def restate(self, revisions: Mapping[date, int]) -> None:
        """WeChat restates ``revisions``' days (day -> revision, 0 = as first published): from
        now on their answers, and the truth, are the restated ones."""
        if any(r < 0 for r in revisions.values()):
            raise ValueError("revisions must be >= 0")
        with self.lock:
            merged = {**self.data.revisions, **revisions}
            self.data = DataSet(self.config.seed, self.accounts, merged)
            self._fragments.clear()
            self._bodies.clear()

    def invalidate_tokens(self, app_id: str | None = None) -> None:
        with self.lock:
            self.tokens.invalidate(app_id)

    def require_platform(self) -> PlatformState:
        if self.platform is None:
            raise KeyError("the simulator has no third-party platform (component)")
        return self.platform

    def issue_ticket(self) -> str:
        """A new verify ticket, as WeChat pushes every 10 minutes."""
        with self.lock:
            return self.require_platform().new_ticket(self.clock.timestamp())

    def revoke(self, app_id: str) -> None:
        """The account revokes the platform: its refresh token fails (61023) and every token
        issued for it stops working at once (40001)."""
        with self.lock:
            platform = self.require_platform()
            if app_id not in platform.refresh_tokens:
                raise KeyError(f"{app_id!r} never authorised the platform")
            platform.revoked.add(app_id)
            self.tokens.invalidate(app_id)

    def authorize(self, app_id: str) -> str:
        """The account authorises the platform (again); returns its new refresh token."""
        with self.lock:
            platform = self.require_platform()
            if app_id not in self.by_app_id:
                raise KeyError(f"unknown app id {app_id!r}")
            platform.revoked.discard(app_id)
            platform.datacube.setdefault(app_id, True)
            return platform.new_refresh_token(app_id)

    def reset_calls(self) -> None:
        with self.lock:
            self.calls.clear()
            self.daily_used.clear()
            self.minute_used.clear()
            self.force_refreshes.clear()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    # --- quotas ----------------------------------------------------------------------------

    def take_quota(self, app_id: str, endpoint: str) -> int:
        """0, or the quota errcode (45009 daily, 45011 per minute) without using quota."""
        day_key = (app_id, endpoint, self.clock.today())
        minute_key = (app_id, endpoint, int(self.clock.timestamp() // 60))
        with self.lock:
            if self.daily_used.get(day_key, 0) >= self.config.daily_quota:
                return 45009
            minute_quota = self.config.minute_quota
            if minute_quota is not None and self.minute_used.get(minute_key, 0) >= minute_quota:
                return 45011
            self.daily_used[day_key] = self.daily_used.get(day_key, 0) + 1
            if minute_quota is not None:
                self.minute_used[minute_key] = self.minute_used.get(minute_key, 0) + 1
        return 0

    def quota_used(self, app_id: str, endpoint: str) -> int:
        with self.lock:
            return self.daily_used.get((app_id, endpoint, self.clock.today()), 0)

    def clear_quota(self, app_id: str) -> None:
        with self.lock:
            self.daily_used = {k: n for k, n in self.daily_used.items() if k[0] != app_id}
            self.minute_used = {k: n for k, n in self.minute_used.items() if k[0] != app_id}

    def next_sequence(self, app_id: str) -> int:
        with self.lock:
            self.sequence[app_id] = self.sequence.get(app_id, 0) + 1
            return self.sequence[app_id]
