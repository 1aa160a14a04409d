"""Response bodies are serialised once per day and joined: the bytes must be exactly what the
standard library writes for the same answer (compact, UTF-8, registry field order), whatever
span the day is fetched in."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from wx_pipeline.core.settings import BEIJING
from wx_pipeline.registry import ENDPOINTS, Period, period_start
from wx_pipeline.simulator import SimulatorConfig
from wx_pipeline.simulator.state import SimulatorState

#: Before 08:00: yesterday is partial, so partial hours and is_delay are covered too.
EARLY = datetime(2025, 12, 10, 5, 30, tzinfo=BEIJING)


def test_bodies_are_the_standard_compact_json_of_their_items() -> None:
    state = SimulatorState(SimulatorConfig(seed=5, now=EARLY))
    large = state.accounts[-1].app_id  # many articles: Chinese titles, nested lists, floats
    last = EARLY.date() - timedelta(days=1)
    checked = 0
    for ep in ENDPOINTS:
        if ep.period is Period.DAY:
            begin, end = last - timedelta(days=min(ep.max_span, 7) - 1), last
        else:
            begin = end = period_start(ep.period, date(2025, 11, 3))
        body = state.list_body(large, ep, begin, end)
        answer = json.loads(body)
        assert body == json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
        # The same days fetched one by one give the same items.
        days = [begin + timedelta(days=i) for i in range((end - begin).days + 1)]
        singles = [json.loads(state.list_body(large, ep, d, d))["list"] for d in days]
        assert answer["list"] == [item for one in singles for item in one]
        checked += len(answer["list"])
    assert checked > 500
