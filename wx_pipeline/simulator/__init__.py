"""A local stand-in for the WeChat datacube API, strict like the real one (see ``app`` for the
checks, ``data`` for the synthetic data, ``faults`` for injected failures).

Assumptions where the spec is silent:

* "Data not ready": before 08:00 Beijing, yesterday is partly processed. Every endpoint answers
  without error but with partial data: hourly endpoints list only the first 12..23 hours (12 at
  midnight, growing to 23 just before 08:00), daily ones the sum of those hours (followers and
  articles: the same fraction of the day), and the 2025 endpoints add ``is_delay: true``. 61503
  is only ever an injected fault.
* Requests for days before the endpoint's first date (2014-12-01, 2025-11-01 for the 2025
  endpoints) are valid and answer an empty list.
* A superseded token keeps working for 5 minutes (the spec's overlap); ``invalidate_tokens`` and
  the injected token fault end a token at once (40001).
* Quota is counted per account, endpoint and Beijing day for every authenticated datacube call
  that gets past the body checks; injected API-error faults use none.
"""

from typing import TYPE_CHECKING, Any

from wx_pipeline.simulator.config import (
    FaultConfig,
    SimAccount,
    SimulatorConfig,
    demo_accounts,
)

if TYPE_CHECKING:
    from wx_pipeline.simulator.server import SimulatorServer, run_in_thread
    from wx_pipeline.simulator.state import CallRecord


def __getattr__(name: str) -> Any:
    # The server side (uvicorn, numpy) loads on first use, so `wx-pipeline --help` stays fast.
    if name in ("SimulatorServer", "run_in_thread"):
        from wx_pipeline.simulator import server

        return getattr(server, name)
    if name == "CallRecord":
        from wx_pipeline.simulator.state import CallRecord

        return CallRecord
    raise AttributeError(name)


__all__ = [
    "CallRecord",
    "FaultConfig",
    "SimAccount",
    "SimulatorConfig",
    "SimulatorServer",
    "demo_accounts",
    "run_in_thread",
]
