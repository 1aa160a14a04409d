"""Retrying transient failures (spec section 5) with tenacity: exponential backoff with jitter,
bounded in attempts and total time; 45011 (per-minute quota) waits for the next minute."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)

from wx_pipeline.wechat.errors import MINUTE_LIMIT, CallContext, TransientError

logger = logging.getLogger("wx_pipeline.wechat.client")

T = TypeVar("T")
Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried; every attempt counts against the daily quota."""

    max_attempts: int = 6
    max_total_seconds: float = 300.0  # no retry sleep may end later than this after the start
    initial_wait: float = 0.5
    max_wait: float = 30.0
    jitter: float = 0.5


class _Backoff:
    """Exponential backoff with jitter; 45011 instead waits for the next minute of the clock."""

    def __init__(self, policy: RetryPolicy, clock: Clock) -> None:
        self._exponential = wait_exponential_jitter(
            multiplier=policy.initial_wait, max=policy.max_wait, jitter=policy.jitter
        )
        self._clock = clock
        self._jitter = policy.jitter
        self._max_wait = policy.max_wait

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientError) and exc.errcode == MINUTE_LIMIT:
            now = self._clock()
            to_next_minute = 60.0 - now.second - now.microsecond / 1e6
            # WX_RETRY_MAX_WAIT (60 s by default) still bounds it: a lower cap is the user's call.
            return min(to_next_minute + random.uniform(0, self._jitter), self._max_wait)
        return float(self._exponential(state))


async def with_retries(
    attempt: Callable[[], Awaitable[T]],
    context: CallContext,
    policy: RetryPolicy,
    clock: Clock,
    sleep: Sleep,
) -> T:
    """`attempt()`, again after each transient failure within `policy`; the final failure is
    raised with how many attempts and how long it took (and marked exhausted, so an outer retry
    does not start over)."""
    started = time.monotonic()
    try:
        # Most calls succeed at once: tenacity's machinery (~0.3 ms a call on 2 cores, a
        # seventh of the fetching CPU) is set up only once an attempt has failed.
        return await attempt()
    except TransientError as exc:
        if exc.exhausted:
            raise
        failed: TransientError | None = exc
    attempts = 0

    async def counted() -> T:
        nonlocal attempts, failed
        attempts += 1
        if failed is not None:  # the attempt above: its failure, not a second call
            failure, failed = failed, None
            raise failure
        return await attempt()

    def log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.warning("%s; retry %d in %.2fs", exc, state.attempt_number, wait)

    retrying = AsyncRetrying(
        # Counted from the first attempt, made before tenacity started.
        stop=stop_after_attempt(policy.max_attempts)
        | stop_before_delay(policy.max_total_seconds - (time.monotonic() - started)),
        wait=_Backoff(policy, clock),
        # A token fetch retries inside a datacube attempt: its final failure is final here.
        retry=retry_if_exception(lambda e: isinstance(e, TransientError) and not e.exhausted),
        sleep=sleep,
        before_sleep=log_retry,
        reraise=True,
    )
    last: TransientError
    try:
        return await retrying(counted)
    except TransientError as exc:
        last = exc
    if last.exhausted:
        raise last
    # Raised outside the except block: nothing (no httpx request, no URL) is chained.
    final = type(last)(
        f"{last}; gave up after {attempts} attempt(s) in {time.monotonic() - started:.1f}s",
        context,
        errcode=last.errcode,
        errmsg=last.errmsg,
        attempts=attempts,
        elapsed=time.monotonic() - started,
    )
    final.exhausted = True
    raise final
