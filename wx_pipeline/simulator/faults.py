"""Which injected fault (if any) a datacube call gets.

A decision is a pure function of (seed, app id, endpoint, the account's call sequence number),
so the same seed and the same sequence of calls meet the same faults.
"""

from __future__ import annotations

from dataclasses import dataclass

from wx_pipeline.simulator.config import EXCLUSIVE_FAULTS, FaultConfig
from wx_pipeline.simulator.data.common import stable_seed

#: errcode answered for the faults that are API errors (the others are transport failures).
FAULT_ERRCODES: dict[str, int] = {"system_busy": -1, "minute_limit": 45011, "not_ready": 61503}
FAULT_HTTP_STATUS: dict[str, int] = {"http_500": 500, "http_502": 502, "http_503": 503}


@dataclass(frozen=True)
class FaultDecision:
    fault: str | None  # one of EXCLUSIVE_FAULTS, "invalidate_token", or None
    slow: bool


def _unit(*parts: object) -> float:
    return stable_seed(*parts) / 2**64


def decide(config: FaultConfig, seed: int, app_id: str, endpoint: str, seq: int) -> FaultDecision:
    """The fault of the account's ``seq``-th datacube call (counting from 1)."""
    every = config.invalidate_token_every
    if every and seq % every == 0:
        return FaultDecision("invalidate_token", slow=False)
    draw = _unit(seed, app_id, endpoint, seq, "fault")
    fault = None
    threshold = 0.0
    for name in EXCLUSIVE_FAULTS:
        threshold += getattr(config, name)
        if draw < threshold:
            fault = name
            break
    slow = config.slow > 0 and _unit(seed, app_id, endpoint, seq, "slow") < config.slow
    return FaultDecision(fault, slow)
