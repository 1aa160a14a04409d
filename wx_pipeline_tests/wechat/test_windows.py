"""Fewest calls, clamping and period rules, checked against the simulator over real HTTP.

The expected call counts are computed here from the spans and period rules directly (ceil of
days over span; whole ended weeks/months packed per the span), not through ``plan_windows``, and
compared with the calls the simulator saw; the simulator rejecting any window (61501) fails the
test too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from wx_pipeline.registry import ENDPOINTS, Endpoint, Period
from wx_pipeline.simulator import SimulatorConfig, run_in_thread
from wx_pipeline.simulator.server import SimulatorServer
from wx_pipeline.wechat.raw import RawResponse
from wx_pipeline_tests.wechat.conftest import NOW, ClientFactory, as_account

YESTERDAY = NOW.date() - timedelta(days=1)
ONE_YEAR = (YESTERDAY - timedelta(days=364), YESTERDAY)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with run_in_thread(SimulatorConfig(seed=7, now=NOW)) as server:
        yield server


def _month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def expected_calls(endpoint: Endpoint, start: date, end: date) -> int:
    """The fewest calls for [start, end], from the spec's rules alone."""
    first, last = max(start, endpoint.first_date), min(end, YESTERDAY)
    if first > last:
        return 0
    if endpoint.period is Period.DAY:
        return math.ceil(((last - first).days + 1) / endpoint.max_span)
    if endpoint.period is Period.WEEK:
        monday = first + timedelta(days=(7 - first.weekday()) % 7)
        weeks = 0
        while monday + timedelta(days=6) <= last:
            weeks += 1
            monday += timedelta(days=7)
        # Both ends are Mondays and (end - begin).days < span: this many weeks fit in one call.
        per_call = (endpoint.max_span - 1) // 7 + 1
        return math.ceil(weeks / per_call)
    month = first if first.day == 1 else _month_end(first) + timedelta(days=1)
    starts = []
    while _month_end(month) <= last:
        starts.append(month)
        month = _month_end(month) + timedelta(days=1)
    calls, i = 0, 0
    while i < len(starts):  # month lengths vary: pack greedily from the first month
        begin, calls = starts[i], calls + 1
        while i < len(starts) and (starts[i] - begin).days < endpoint.max_span:
            i += 1
    return calls


def _datacube_calls(
    sim: SimulatorServer, endpoint: Endpoint, app_id: str
) -> list[tuple[date, date]]:
    return [
        (c.begin, c.end)
        for c in sim.calls
        if c.path == endpoint.path and c.app_id == app_id and c.begin and c.end
    ]


def _items_from_truth(sim: SimulatorServer, app_id: str, response: RawResponse) -> list[object]:
    endpoint = next(e for e in ENDPOINTS if e.name == response.endpoint)
    days = [response.begin]
    while days[-1] < response.end:
        nxt = days[-1] + timedelta(days=1)
        if endpoint.period is Period.WEEK:
            nxt = days[-1] + timedelta(days=7)
        elif endpoint.period is Period.MONTH:
            nxt = _month_end(days[-1]) + timedelta(days=1)
        days.append(nxt)
    return [item for day in days for item in sim.truth(app_id, response.endpoint, day)]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_one_year_takes_the_fewest_calls(
    sim: SimulatorServer, make_client: ClientFactory, endpoint: Endpoint
) -> None:
    account = as_account(sim.accounts[0])
    client = make_client(sim.base_url, [account])
    responses = client.fetch_sync(account, endpoint.name, *ONE_YEAR)

    expected = expected_calls(endpoint, *ONE_YEAR)
    assert expected > 0
    assert client.minimum_calls(endpoint.name, *ONE_YEAR) == expected
    assert len(responses) == expected
    assert len(_datacube_calls(sim, endpoint, account.app_id)) == expected
    assert client.calls.total() == expected
    # Every body is exactly what the API holds for its window, none thrown away.
    for response in responses:
        assert response.body["list"] == _items_from_truth(sim, account.app_id, response)
        assert response.account_id == account.app_id
        assert response.fetched_at == NOW


def test_ranges_are_clamped_to_first_date_and_yesterday(
    sim: SimulatorServer, make_client: ClientFactory
) -> None:
    account = as_account(sim.accounts[1])
    client = make_client(sim.base_url, [account])
    responses = client.fetch_sync(account, "getarticleread", date(2025, 9, 1), date(2026, 12, 31))
    assert responses[0].begin == date(2025, 11, 1)
    assert responses[-1].end == YESTERDAY
    assert len(responses) == (YESTERDAY - date(2025, 11, 1)).days + 1
    # A range wholly before the first date or from today on costs nothing.
    assert client.fetch_sync(account, "getbizsummary", date(2025, 1, 1), date(2025, 10, 31)) == []
    assert client.fetch_sync(account, "getusersummary", NOW.date(), date(2027, 1, 1)) == []
    bizsummary = next(e for e in ENDPOINTS if e.name == "getbizsummary")
    assert _datacube_calls(sim, bizsummary, account.app_id) == []


def test_configured_start_date_clamps(sim: SimulatorServer, make_client: ClientFactory) -> None:
    account = as_account(sim.accounts[2])
    client = make_client(sim.base_url, [account], start_date=date(2026, 3, 1))
    responses = client.fetch_sync(account, "getusersummary", date(2020, 1, 1), YESTERDAY)
    assert [(r.begin, r.end) for r in responses] == [
        (date(2026, 3, 1), date(2026, 3, 7)),
        (date(2026, 3, 8), date(2026, 3, 14)),
    ]


def test_weekly_endpoints_ask_for_whole_ended_weeks(
    sim: SimulatorServer, make_client: ClientFactory
) -> None:
    account = as_account(sim.accounts[0])
    client = make_client(sim.base_url, [account])
    # Wednesday .. yesterday (Saturday): the running week (from Monday 2026-03-09) has not ended.
    responses = client.fetch_sync(account, "getupstreammsgweek", date(2026, 1, 7), YESTERDAY)
    mondays = [date(2026, 1, 12) + timedelta(days=7 * i) for i in range(8)]
    assert all(r.begin.weekday() == 0 and r.end.weekday() == 0 for r in responses)
    # Span 30: five Mondays (0..28 days apart) per call.
    assert [(r.begin, r.end) for r in responses] == [
        (mondays[0], mondays[4]),
        (mondays[5], mondays[7]),
    ]
    ref_dates = sorted({item["ref_date"] for r in responses for item in r.body["list"]})
    assert ref_dates == [m.isoformat() for m in mondays]


def test_monthly_endpoints_ask_for_whole_ended_months(
    sim: SimulatorServer, make_client: ClientFactory
) -> None:
    account = as_account(sim.accounts[0])
    client = make_client(sim.base_url, [account])
    responses = client.fetch_sync(account, "getupstreammsgmonth", date(2025, 10, 15), YESTERDAY)
    months = [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
    # Span 30: 1 Nov and 1 Dec are 30 days apart, so no two of these months share a call.
    assert [(r.begin, r.end) for r in responses] == [(m, m) for m in months]
    ref_dates = sorted({item["ref_date"] for r in responses for item in r.body["list"]})
    assert ref_dates == [m.isoformat() for m in months]


def test_span_overrides_apply_to_the_plan() -> None:
    config = SimulatorConfig(seed=7, now=NOW, span_overrides={"getupstreammsgweek": 1})
    with run_in_thread(config) as sim:
        account = as_account(sim.accounts[0])
        from wx_pipeline_tests.wechat.fetching import FetchingClient

        client = FetchingClient(
            sim.base_url,
            [account],
            span_overrides={"getupstreammsgweek": 1},
            clock=lambda: NOW,
        )
        responses = client.fetch_sync(account, "getupstreammsgweek", date(2026, 1, 7), YESTERDAY)
    assert [r.begin for r in responses] == [r.end for r in responses]
    assert len(responses) == 8


def test_before_the_ready_time_yesterday_is_left_out(
    sim: SimulatorServer, make_client: ClientFactory
) -> None:
    """At 07:59 Beijing yesterday is not final: the range ends the day before, and cumulative
    answers say how far their data is final (their tails already list the partial day)."""
    early = NOW.replace(hour=7, minute=59)
    sim.set_now(early)
    try:
        account = as_account(sim.accounts[2])  # the large one: articles every day
        client = make_client(sim.base_url, [account], clock=lambda: early)
        before_yesterday = YESTERDAY - timedelta(days=1)
        assert client.newest_final_day() == before_yesterday
        responses = client.fetch_sync(
            account, "getarticletotal", YESTERDAY - timedelta(days=6), YESTERDAY
        )
        assert responses[-1].end == before_yesterday
        assert {r.final_through for r in responses} == {before_yesterday}
        tails = [d["stat_date"] for r in responses for i in r.body["list"] for d in i["details"]]
        assert max(tails) == YESTERDAY.isoformat()  # partial: the normalizer leaves it out
    finally:
        sim.set_now(NOW)
