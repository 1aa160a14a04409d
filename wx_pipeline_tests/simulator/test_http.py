"""The simulator over real loopback HTTP: every validation rule and error code, tokens, quotas,
"data not ready", determinism across span splits, the call log and the truth API."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta

import httpx
import pytest

from wx_pipeline.core.settings import BEIJING
from wx_pipeline.registry import ENDPOINTS
from wx_pipeline.simulator import SimAccount, SimulatorConfig, SimulatorServer, demo_accounts
from wx_pipeline_tests.simulator.conftest import NOON, datacube, get_token

Start = Callable[[SimulatorConfig], SimulatorServer]
RID = re.compile(r" rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$")


def errcode(answer: httpx.Response) -> int:
    assert answer.status_code == 200
    body = answer.json()
    if "errcode" in body:
        assert RID.search(body["errmsg"]), body["errmsg"]
        return int(body["errcode"])
    assert isinstance(body["list"], list)
    return 0


def token_call(sim: SimulatorServer, **params: str) -> httpx.Response:
    return httpx.get(f"{sim.base_url}/cgi-bin/token", params=params)


def test_token_checks_credentials(simulator: SimulatorServer) -> None:
    acc = simulator.accounts[0]
    good = {"grant_type": "client_credential", "appid": acc.app_id, "secret": acc.secret}
    answer = token_call(simulator, **good)
    assert answer.json()["expires_in"] == 7200
    assert answer.json()["access_token"] in simulator.issued_tokens
    assert errcode(token_call(simulator, **(good | {"secret": "x" * 32}))) == 40125
    assert errcode(token_call(simulator, **(good | {"appid": "wx0000000000000000"}))) == 40013
    assert errcode(token_call(simulator, **(good | {"grant_type": "password"}))) == 40002
    assert (
        errcode(token_call(simulator, grant_type="client_credential", secret=acc.secret)) == 41002
    )
    assert errcode(token_call(simulator, grant_type="client_credential", appid=acc.app_id)) == 41004
    assert errcode(httpx.post(f"{simulator.base_url}/cgi-bin/token", params=good)) == 43001


def test_new_token_supersedes_the_old_one_after_an_overlap(simulator: SimulatorServer) -> None:
    old, new = get_token(simulator), get_token(simulator)
    assert old != new
    assert errcode(datacube(simulator, "getusersummary", "2025-12-01", "2025-12-01", old)) == 0
    simulator.advance(301)
    assert errcode(datacube(simulator, "getusersummary", "2025-12-01", "2025-12-01", old)) == 40001
    assert errcode(datacube(simulator, "getusersummary", "2025-12-01", "2025-12-01", new)) == 0
    simulator.advance(7200)
    assert errcode(datacube(simulator, "getusersummary", "2025-12-01", "2025-12-01", new)) == 42001


def test_token_errors_on_datacube(simulator: SimulatorServer) -> None:
    url = f"{simulator.base_url}/datacube/getusersummary"
    body = {"begin_date": "2025-12-01", "end_date": "2025-12-01"}
    assert errcode(httpx.post(url, json=body)) == 41001
    assert errcode(httpx.post(url, params={"access_token": "nope"}, json=body)) == 40014
    token = get_token(simulator)
    simulator.invalidate_tokens(simulator.accounts[0].app_id)
    assert (
        errcode(datacube(simulator, "getusersummary", "2025-12-01", "2025-12-01", token)) == 40001
    )


def test_stable_token_is_shared_until_it_rolls_over(simulator: SimulatorServer) -> None:
    acc = simulator.accounts[1]
    url = f"{simulator.base_url}/cgi-bin/stable_token"
    body = {"grant_type": "client_credential", "appid": acc.app_id, "secret": acc.secret}
    first = httpx.post(url, json=body).json()
    simulator.advance(100)
    second = httpx.post(url, json=body).json()
    assert second["access_token"] == first["access_token"]
    assert second["expires_in"] == first["expires_in"] - 100
    simulator.advance(7200 - 100 - 299)  # inside the last 5 minutes: a new token
    third = httpx.post(url, json=body).json()
    assert third["access_token"] != first["access_token"]
    forced = httpx.post(url, json=body | {"force_refresh": True}).json()
    assert forced["access_token"] != third["access_token"]
    assert errcode(httpx.post(url, json=body | {"force_refresh": True})) == 45011  # < 30 s apart
    assert errcode(httpx.post(url, json=body | {"secret": "wrong"})) == 40125
    assert errcode(httpx.post(url, content=b"")) == 44002
    assert errcode(httpx.post(url, content=b"{not json")) == 47001
    assert errcode(httpx.get(url)) == 43002


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", 44002),
        (b"   ", 44002),
        (b"{begin_date:", 47001),
        (b"[]", 47001),
        (b'{"begin_date": "2025-12-01"}', 47001),
        (b'{"begin_date": "2025-12-01", "end_date": "2025-12-01", "x": 1}', 47001),
        (b'{"begin_date": 20251201, "end_date": "2025-12-01"}', 47001),
        (b'{"begin_date": "2025/12/01", "end_date": "2025-12-01"}', 61500),
        (b'{"begin_date": "2025-02-30", "end_date": "2025-03-01"}', 61500),
        (b'{"begin_date": "2025-12-1", "end_date": "2025-12-01"}', 61500),
    ],
)
def test_malformed_bodies(simulator: SimulatorServer, body: bytes, code: int) -> None:
    token = get_token(simulator)
    url = f"{simulator.base_url}/datacube/getusersummary"
    assert errcode(httpx.post(url, params={"access_token": token}, content=body)) == code


def test_wrong_method_and_paths(simulator: SimulatorServer) -> None:
    token = get_token(simulator)
    url = f"{simulator.base_url}/datacube/getusersummary"
    assert errcode(httpx.get(url, params={"access_token": token})) == 43002
    wrong = f"{simulator.base_url}/cgi-bin/datacube/getusersummary"
    assert httpx.post(wrong, params={"access_token": token}, json={}).status_code == 404
    unknown = f"{simulator.base_url}/datacube/getnothing"
    assert httpx.post(unknown, params={"access_token": token}, json={}).status_code == 404


@pytest.mark.parametrize(
    ("endpoint", "begin", "end", "code"),
    [
        ("getusersummary", "2025-12-01", "2025-12-07", 0),  # 7 days: the maximum
        ("getusersummary", "2025-12-01", "2025-12-08", 61501),  # 8 days
        ("getuserread", "2025-12-01", "2025-12-03", 0),
        ("getuserread", "2025-12-01", "2025-12-04", 61501),
        ("getarticlesummary", "2025-12-01", "2025-12-02", 61501),
        ("getuserreadhour", "2025-12-01", "2025-12-01", 0),
        ("getusersummary", "2025-12-05", "2025-12-04", 61501),  # begin after end
        ("getusersummary", "2025-12-09", "2025-12-09", 0),  # yesterday
        ("getusersummary", "2025-12-09", "2025-12-10", 61501),  # today
        ("getusersummary", "2025-12-11", "2025-12-11", 61501),  # the future
        ("getupstreammsgweek", "2025-11-03", "2025-11-24", 0),  # Mondays, 21 days apart
        ("getupstreammsgweek", "2025-11-04", "2025-11-24", 61501),  # not a Monday
        ("getupstreammsgweek", "2025-11-03", "2025-11-05", 61501),
        ("getupstreammsgweek", "2025-10-06", "2025-11-10", 61501),  # 35 days >= span 30
        ("getupstreammsgdistweek", "2025-11-03", "2025-11-17", 0),  # 14 days < span 15
        ("getupstreammsgdistweek", "2025-11-03", "2025-11-24", 61501),
        ("getupstreammsgmonth", "2025-11-01", "2025-11-01", 0),
        ("getupstreammsgmonth", "2025-11-01", "2025-11-30", 61501),  # end not a 1st
        ("getupstreammsgmonth", "2025-02-01", "2025-03-01", 0),  # 28 days < 30
        ("getupstreammsgmonth", "2025-10-01", "2025-11-01", 61501),  # 31 days
        ("getinterfacesummary", "2025-11-01", "2025-11-30", 0),
        ("getbizsummary", "2025-11-01", "2025-12-01", 61501),
    ],
)
def test_date_range_rules(
    simulator: SimulatorServer, endpoint: str, begin: str, end: str, code: int
) -> None:
    token = get_token(simulator)
    assert errcode(datacube(simulator, endpoint, begin, end, token)) == code


def test_span_overrides_apply(start_simulator: Start) -> None:
    sim = start_simulator(SimulatorConfig(now=NOON, span_overrides={"getupstreammsgweek": 1}))
    token = get_token(sim)
    assert errcode(datacube(sim, "getupstreammsgweek", "2025-11-03", "2025-11-03", token)) == 0
    assert errcode(datacube(sim, "getupstreammsgweek", "2025-11-03", "2025-11-10", token)) == 61501


def test_ip_whitelist(start_simulator: Start) -> None:
    outside = SimAccount("wxaaaaaaaaaaaaaaaa", "a" * 32, "outside", 5000, ("10.0.0.1",))
    inside = SimAccount("wxbbbbbbbbbbbbbbbb", "b" * 32, "inside", 5000, ("10.0.0.1", "127.0.0.1"))
    sim = start_simulator(SimulatorConfig(now=NOON, accounts=[outside, inside]))
    denied = token_call(
        sim, grant_type="client_credential", appid=outside.app_id, secret=outside.secret
    )
    assert errcode(denied) == 40164
    assert denied.json()["errmsg"].startswith(
        "invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1, not in whitelist rid: "
    )
    token = get_token(sim, 1)
    assert errcode(datacube(sim, "getusersummary", "2025-12-01", "2025-12-01", token)) == 0


def test_legacy_endpoints_retire(start_simulator: Start) -> None:
    sim = start_simulator(SimulatorConfig(now=NOON, legacy_retired_from=date(2025, 12, 10)))
    token = get_token(sim)
    for ep in ENDPOINTS:
        day = "2025-11-01" if ep.period.value == "month" else "2025-11-03"
        code = errcode(datacube(sim, ep.name, day, day, token))
        assert code == (47009 if ep.legacy else 0), ep.name
    assert sum(ep.legacy for ep in ENDPOINTS) == 6
    still = start_simulator(SimulatorConfig(now=NOON, legacy_retired_from=date(2025, 12, 11)))
    token = get_token(still)
    assert errcode(datacube(still, "getarticlesummary", "2025-11-03", "2025-11-03", token)) == 0


def test_daily_quota_per_endpoint_and_clear_quota(start_simulator: Start) -> None:
    sim = start_simulator(SimulatorConfig(now=NOON, daily_quota=3))
    token = get_token(sim)
    codes = [
        errcode(datacube(sim, "getusersummary", "2025-12-01", "2025-12-01", token))
        for _ in range(4)
    ]
    assert codes == [0, 0, 0, 45009]
    assert errcode(datacube(sim, "getusercumulate", "2025-12-01", "2025-12-01", token)) == 0
    quota = httpx.post(
        f"{sim.base_url}/cgi-bin/openapi/quota/get",
        params={"access_token": token},
        json={"cgi_path": "/datacube/getusersummary"},
    ).json()
    assert quota["quota"] == {"daily_limit": 3, "used": 3, "remain": 0}
    cleared = httpx.post(
        f"{sim.base_url}/cgi-bin/clear_quota",
        params={"access_token": token},
        json={"appid": sim.accounts[0].app_id},
    ).json()
    assert cleared["errcode"] == 0
    assert errcode(datacube(sim, "getusersummary", "2025-12-01", "2025-12-01", token)) == 0
    for _ in range(3):
        datacube(sim, "getusersummary", "2025-12-01", "2025-12-01", token)
    sim.advance(12 * 3600)  # past midnight Beijing: a new quota day
    token = get_token(sim)
    assert errcode(datacube(sim, "getusersummary", "2025-12-01", "2025-12-01", token)) == 0
    # Other accounts have their own quota.
    assert (
        errcode(datacube(sim, "getusersummary", "2025-12-01", "2025-12-01", get_token(sim, 2))) == 0
    )


def test_minute_quota(start_simulator: Start) -> None:
    sim = start_simulator(SimulatorConfig(now=NOON, minute_quota=2))
    token = get_token(sim)
    codes = [
        errcode(datacube(sim, "getuserread", "2025-12-01", "2025-12-01", token)) for _ in range(3)
    ]
    assert codes == [0, 0, 45011]
    sim.advance(60)
    assert errcode(datacube(sim, "getuserread", "2025-12-01", "2025-12-01", token)) == 0


def test_yesterday_is_partial_before_eight(start_simulator: Start) -> None:
    early = datetime(2025, 12, 10, 7, 0, tzinfo=BEIJING)
    sim = start_simulator(SimulatorConfig(seed=4, now=early))
    token = get_token(sim, 2)
    hours = datacube(sim, "getuserreadhour", "2025-12-09", "2025-12-09", token).json()["list"]
    reads = datacube(sim, "getarticleread", "2025-12-09", "2025-12-09", token).json()
    earlier = datacube(sim, "getarticleread", "2025-12-08", "2025-12-08", token).json()
    assert reads["is_delay"] is True
    assert earlier["is_delay"] is False
    sim.advance(3600)  # 08:00: final
    final_hours = datacube(sim, "getuserreadhour", "2025-12-09", "2025-12-09", token).json()["list"]
    final_reads = datacube(sim, "getarticleread", "2025-12-09", "2025-12-09", token).json()
    assert final_reads["is_delay"] is False
    shown = {r["ref_hour"] for r in hours}
    assert max(shown) < 2300
    assert max({r["ref_hour"] for r in final_hours}) == 2300
    assert hours == [r for r in final_hours if r["ref_hour"] <= max(shown)]
    total = sum(r["detail"]["read_user"] for r in reads["list"])
    assert total < sum(r["detail"]["read_user"] for r in final_reads["list"])
    assert all(c.errcode == 0 for c in sim.calls)  # no 61503 unless injected


def test_a_day_is_the_same_whatever_the_span_or_order(start_simulator: Start) -> None:
    one = start_simulator(SimulatorConfig(seed=9, now=NOON))
    two = start_simulator(SimulatorConfig(seed=9, now=NOON))
    t1, t2 = get_token(one, 1), get_token(two, 1)
    app_id = one.accounts[1].app_id
    for endpoint, begin, span in (
        ("getusersummary", date(2025, 11, 24), 7),
        ("getuserread", date(2025, 11, 10), 3),
        ("getinterfacesummary", date(2025, 11, 1), 30),
    ):
        end = begin + timedelta(days=span - 1)
        whole = datacube(one, endpoint, begin.isoformat(), end.isoformat(), t1).json()["list"]
        days = [begin + timedelta(days=i) for i in range(span)]
        pieces = {
            d: datacube(two, endpoint, d.isoformat(), d.isoformat(), t2).json()["list"]
            for d in reversed(days)
        }
        assert whole == [item for d in days for item in pieces[d]]
        assert whole == [item for d in days for item in one.truth(app_id, endpoint, d)]
        assert whole


def test_truth_matches_every_endpoint(simulator: SimulatorServer) -> None:
    token = get_token(simulator, 2)
    app_id = simulator.accounts[2].app_id
    for ep in ENDPOINTS:
        day = {"week": date(2025, 11, 24), "month": date(2025, 11, 1)}.get(
            ep.period.value, date(2025, 12, 2)
        )
        answer = datacube(simulator, ep.name, day.isoformat(), day.isoformat(), token).json()
        assert answer["list"] == simulator.truth(app_id, ep.name, day), ep.name
        assert ("is_delay" in answer) == ep.has_is_delay
    via_http = httpx.get(
        f"{simulator.base_url}/_sim/truth",
        params={"appid": app_id, "endpoint": "getusersummary", "date": "2025-12-02"},
    ).json()
    assert via_http["list"] == simulator.truth(app_id, "getusersummary", date(2025, 12, 2))
    assert simulator.truth(app_id, "getusersummary", date(2025, 12, 10)) == []


def test_call_log(simulator: SimulatorServer) -> None:
    token = get_token(simulator)
    datacube(simulator, "getusersummary", "2025-12-01", "2025-12-03", token)
    datacube(simulator, "getusersummary", "2025-12-01", "2025-12-30", token)
    calls = simulator.calls
    assert [c.path for c in calls] == ["/cgi-bin/token"] + ["/datacube/getusersummary"] * 2
    app_id = simulator.accounts[0].app_id
    assert all(c.app_id == app_id for c in calls)
    assert (calls[1].begin, calls[1].end, calls[1].errcode) == (
        date(2025, 12, 1),
        date(2025, 12, 3),
        0,
    )
    assert calls[2].errcode == 61501
    assert calls[2].at == NOON
    logged = httpx.get(f"{simulator.base_url}/_sim/calls").json()
    assert [c["errcode"] for c in logged] == [0, 0, 61501]
    simulator.reset_calls()
    assert simulator.calls == []


def test_clock_moves_over_http(simulator: SimulatorServer) -> None:
    """A replay of consecutive days moves an out-of-process simulator's clock with the
    pipeline's: a day it refused as not yet final is served once the clock has passed it."""
    clock = f"{simulator.base_url}/_sim/clock"
    assert httpx.get(clock).json() == {"now": NOON.isoformat()}
    today = NOON.date().isoformat()
    assert errcode(datacube(simulator, "getusersummary", today, today, get_token(simulator))) != 0
    moved = httpx.post(clock, params={"now": (NOON + timedelta(days=1)).isoformat()})
    assert moved.json() == {"now": (NOON + timedelta(days=1)).isoformat()}
    assert errcode(datacube(simulator, "getusersummary", today, today, get_token(simulator))) == 0
    for bad in ({"now": "2025-12-11 12:00"}, {"now": "tomorrow"}, {}):
        refused = httpx.post(clock, params=bad)
        assert refused.status_code == 400
        assert "error" in refused.json()
    assert httpx.get(clock).json() == {"now": (NOON + timedelta(days=1)).isoformat()}


def test_demo_accounts_differ_in_size_and_are_seeded() -> None:
    accounts = demo_accounts(1)
    sizes = sorted(a.followers for a in accounts)
    assert len(accounts) >= 3
    assert sizes[0] < 10_000
    assert sizes[-1] > 1_000_000
    assert demo_accounts(1) == accounts
    assert demo_accounts(2) != accounts
    assert json.dumps([a.app_id for a in accounts])
