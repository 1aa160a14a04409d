"""Every errcode and transport failure takes its documented path (spec section 5).

Run over real HTTP against a scripted server, because the simulator cannot be made to send every
code. Each test checks the error type, what the message tells the user, and how many datacube
calls the client made: non-retryable errors make exactly one, retryable ones are bounded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from pydantic import SecretStr

from wx_pipeline.core.settings import Account
from wx_pipeline.wechat.errors import (
    ConfigurationError,
    EndpointRetiredError,
    IpNotWhitelistedError,
    MalformedResponseError,
    QuotaExhaustedError,
    RequestError,
    TokenRejectedError,
    TransientError,
    WeChatError,
)
from wx_pipeline.wechat.tokens import TokenCache
from wx_pipeline_tests.wechat.conftest import FAST_RETRY, NOW, ClientFactory, Clock, Sleeps
from wx_pipeline_tests.wechat.fetching import FetchingClient
from wx_pipeline_tests.wechat.scripted import OK, Script, scripted_server

ACCOUNT = Account(app_id="wxscripted0000001", name="Scripted", secret=SecretStr("s3cret-value"))
# 28 days of getusersummary (span 7): four windows, so "one call" is a real claim.
START, END = NOW.date() - timedelta(days=28), NOW.date() - timedelta(days=1)


def _err(code: int, msg: str = "some error") -> tuple[int, dict[str, object]]:
    return 200, {"errcode": code, "errmsg": f"{msg} rid: 6801a2b3-0c1d2e3f-4a5b6c7d"}


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    with scripted_server() as pair:
        yield pair


@pytest.fixture
def client(server: tuple[str, Script], make_client: ClientFactory) -> FetchingClient:
    return make_client(server[0], [ACCOUNT], concurrency=2)


def _fetch(client: FetchingClient, endpoint: str = "getusersummary") -> WeChatError:
    with pytest.raises(WeChatError) as info:
        client.fetch_sync(ACCOUNT, endpoint, START, END)
    return info.value


def test_range_needs_four_calls(client: FetchingClient, server: tuple[str, Script]) -> None:
    # The premise of the one-call assertions below.
    assert len(client.fetch_sync(ACCOUNT, "getusersummary", START, END)) == 4
    assert len(server[1].datacube_calls) == 4


CONFIG_CASES = [
    (40013, "WX_APP_ID"),
    (40125, "secret"),
    (40243, "frozen"),
    (41001, "access token"),
    (41002, "WX_APP_ID"),
    (41003, "secret"),
    (41004, "WX_APP_SECRET"),
    (48001, "verified"),
    (48004, "ban"),
]


@pytest.mark.parametrize(("code", "fix"), CONFIG_CASES)
def test_configuration_codes_stop_at_once(
    client: FetchingClient, server: tuple[str, Script], code: int, fix: str
) -> None:
    server[1].datacube.extend([_err(code)] * 4)
    error = _fetch(client)
    assert type(error) is ConfigurationError
    assert error.errcode == code
    message = str(error)
    assert "'Scripted'" in message
    assert ACCOUNT.app_id in message
    assert str(code) in message
    assert fix in message
    assert len(server[1].datacube_calls) == 1


@pytest.mark.parametrize(("code", "fix"), CONFIG_CASES[:3])
def test_configuration_codes_from_token_api_stop_before_any_datacube_call(
    client: FetchingClient, server: tuple[str, Script], code: int, fix: str
) -> None:
    _, script = server
    script.token_answers.append(dict(_err(code)[1]))
    error = _fetch(client)
    assert type(error) is ConfigurationError
    assert fix in str(error)
    assert "'Scripted'" in str(error)
    assert "access token" in str(error)
    # A second endpoint for the same account fails from memory: no token storm.
    error2 = _fetch(client, "getusercumulate")
    assert type(error2) is ConfigurationError
    assert script.token_calls == 1
    assert script.datacube_calls == []


def test_ip_not_whitelisted_quotes_the_ip(
    client: FetchingClient, server: tuple[str, Script]
) -> None:
    server[1].datacube.append(
        _err(40164, "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist")
    )
    error = _fetch(client)
    assert isinstance(error, IpNotWhitelistedError)
    assert isinstance(error, ConfigurationError)
    assert error.ip == "203.0.113.7"
    assert "caller IP 203.0.113.7 is not whitelisted" in str(error)
    assert "whitelist in the WeChat admin console" in str(error)
    assert len(server[1].datacube_calls) == 1


def test_quota_exhausted_stops_at_once(client: FetchingClient, server: tuple[str, Script]) -> None:
    server[1].datacube.append(_err(45009, "reach max api daily quota limit"))
    error = _fetch(client)
    assert type(error) is QuotaExhaustedError
    assert "getusersummary" in str(error)
    assert "'Scripted'" in str(error)
    assert "midnight Beijing" in str(error)
    assert len(server[1].datacube_calls) == 1


def test_retired_endpoint_is_reported_as_such(
    client: FetchingClient, server: tuple[str, Script]
) -> None:
    _, script = server
    script.datacube.append(_err(47009, "this api is offline, please use the new api"))
    report = client.fetch_many_sync(
        [(ACCOUNT, "getusershare", START, END), (ACCOUNT, "getusersummary", START, END)]
    )
    retired, fine = report.results
    assert retired.retired
    assert isinstance(retired.error, EndpointRetiredError)
    assert "retired" in str(retired.error)
    assert "getusershare" in str(retired.error)
    # The other job is untouched by the first one's error.
    assert fine.ok
    assert len(fine.responses) == 4
    assert [c[0] for c in script.datacube_calls].count("getusershare") == 1


@pytest.mark.parametrize("code", [43002, 44002, 47001, 61500, 61501])
def test_request_bugs_stop_at_once_and_name_the_request(
    client: FetchingClient, server: tuple[str, Script], code: int
) -> None:
    server[1].datacube.append(_err(code))
    error = _fetch(client)
    assert type(error) is RequestError
    assert error.errcode == code
    first_window_end = START + timedelta(days=6)
    assert f"getusersummary {START.isoformat()}..{first_window_end.isoformat()}" in str(error)
    assert "bug" in str(error)
    assert len(server[1].datacube_calls) == 1


def test_unknown_code_is_a_request_error_naming_code_and_message(
    client: FetchingClient, server: tuple[str, Script]
) -> None:
    server[1].datacube.append(_err(88888, "brand new failure"))
    error = _fetch(client)
    assert type(error) is RequestError
    assert "88888" in str(error)
    assert "brand new failure" in str(error)
    assert len(server[1].datacube_calls) == 1


def test_http_404_is_a_request_error(client: FetchingClient, server: tuple[str, Script]) -> None:
    server[1].datacube.append((404, {"detail": "not found"}))
    error = _fetch(client)
    assert type(error) is RequestError
    assert "HTTP 404" in str(error)
    assert len(server[1].datacube_calls) == 1


TRANSIENT_CASES = [
    _err(-1, "system error"),
    _err(61503, "data not ready"),
    (500, {"detail": "boom"}),
    (502, {"detail": "bad gateway"}),
    (503, {"detail": "unavailable"}),
    (200, b'{"list": [{"ref_date": "2026-0'),  # truncated JSON
    (200, b"<html>busy</html>"),
    (200, {"items": []}),  # a JSON object without the list
]


@pytest.mark.parametrize("failure", TRANSIENT_CASES)
def test_transient_failures_are_retried_then_succeed(
    server: tuple[str, Script],
    make_client: ClientFactory,
    failure: tuple[int, dict[str, object] | bytes],
) -> None:
    base_url, script = server
    sleeps = Sleeps()
    client = make_client(base_url, [ACCOUNT], concurrency=1, sleep=sleeps)
    script.datacube.extend([failure, failure, OK])
    one_day = END
    responses = client.fetch_sync(ACCOUNT, "getusersummary", one_day, one_day)
    assert len(responses) == 1
    assert responses[0].body == {"list": []}
    assert len(script.datacube_calls) == 3
    assert len(sleeps.requested) == 2
    assert all(0 < s <= FAST_RETRY.max_wait + FAST_RETRY.jitter for s in sleeps.requested)


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (_err(-1, "system error"), TransientError),
        ((503, {"detail": "unavailable"}), TransientError),
        ((200, b'{"list": ['), MalformedResponseError),
    ],
)
def test_transient_failures_give_up_after_the_attempt_limit(
    client: FetchingClient,
    server: tuple[str, Script],
    failure: tuple[int, dict[str, object] | bytes],
    kind: type[TransientError],
) -> None:
    server[1].datacube.extend([failure] * 10)
    with pytest.raises(kind) as info:
        client.fetch_sync(ACCOUNT, "getusersummary", END, END)
    error = info.value
    assert error.attempts == FAST_RETRY.max_attempts
    assert f"gave up after {FAST_RETRY.max_attempts} attempt(s)" in str(error)
    assert "'Scripted'" in str(error)
    assert len(server[1].datacube_calls) == FAST_RETRY.max_attempts


def test_total_time_bounds_retries(server: tuple[str, Script], make_client: ClientFactory) -> None:
    from wx_pipeline.wechat.retry import RetryPolicy

    base_url, script = server
    script.datacube.extend([_err(-1)] * 10)
    # Every wait would end past the total-time limit: the first failure is final.
    policy = RetryPolicy(max_attempts=10, max_total_seconds=0.5, initial_wait=5, max_wait=5)
    client = make_client(base_url, [ACCOUNT], retry=policy)
    with pytest.raises(TransientError) as info:
        client.fetch_sync(ACCOUNT, "getusersummary", END, END)
    assert info.value.attempts == 1
    assert len(script.datacube_calls) == 1


def test_minute_limit_waits_for_the_next_minute(
    server: tuple[str, Script], make_client: ClientFactory
) -> None:
    base_url, script = server
    sleeps = Sleeps()
    clock = Clock(NOW.replace(second=42, microsecond=500_000))
    # The default cap on a wait (60 s), not the fast one of the other tests.
    retry = dataclasses.replace(FAST_RETRY, max_wait=60.0)
    client = make_client(base_url, [ACCOUNT], sleep=sleeps, clock=clock, retry=retry)
    script.datacube.extend([_err(45011, "api minute-quota reach limit"), OK])
    assert len(client.fetch_sync(ACCOUNT, "getusersummary", END, END)) == 1
    assert len(script.datacube_calls) == 2
    (wait,) = sleeps.requested
    assert 17.5 <= wait <= 17.5 + FAST_RETRY.jitter


@pytest.mark.parametrize("code", [40001, 40014, 42001])
def test_rejected_token_is_refreshed_once_and_the_call_retried(
    client: FetchingClient, server: tuple[str, Script], code: int
) -> None:
    _, script = server
    script.datacube.append(_err(code, "invalid credential, access_token is invalid or not latest"))
    assert len(client.fetch_sync(ACCOUNT, "getusersummary", END, END)) == 1
    assert script.token_calls == 2
    (_, first_token, _), (_, second_token, _) = script.datacube_calls
    assert first_token == script.issued[0]
    assert second_token == script.issued[1]


def test_token_rejected_after_refresh_is_retried_with_backoff(
    client: FetchingClient, server: tuple[str, Script]
) -> None:
    _, script = server
    script.datacube.extend([_err(40001), _err(40001), OK])
    assert len(client.fetch_sync(ACCOUNT, "getusersummary", END, END)) == 1
    # call, refresh, call (rejected again: TokenRejectedError), backoff, call with a fresh one.
    assert len(script.datacube_calls) == 3


def test_token_rejected_forever_gives_up(
    client: FetchingClient, server: tuple[str, Script]
) -> None:
    server[1].datacube.extend([_err(40001)] * 20)
    with pytest.raises(TokenRejectedError) as info:
        client.fetch_sync(ACCOUNT, "getusersummary", END, END)
    assert "another process" in str(info.value)
    # Each attempt is a call, a refresh and one retried call: bounded, no storm.
    assert len(server[1].datacube_calls) <= 2 * FAST_RETRY.max_attempts


def test_connection_refused_is_transient(make_client: ClientFactory) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(f"http://127.0.0.1:{port}", [ACCOUNT])
    with pytest.raises(TransientError) as info:
        client.fetch_sync(ACCOUNT, "getusersummary", END, END)
    assert "connection failed" in str(info.value)
    assert info.value.attempts == FAST_RETRY.max_attempts


def test_token_cache_is_shared_by_clients_of_a_process(
    server: tuple[str, Script], make_client: ClientFactory
) -> None:
    base_url, script = server
    cache = TokenCache()
    for _ in range(3):
        client = make_client(base_url, [ACCOUNT], token_cache=cache)
        client.fetch_sync(ACCOUNT, "getusersummary", END, END)
    assert script.token_calls == 1
    assert {token for _, token, _ in script.datacube_calls} == {script.issued[0]}


def test_nothing_to_fetch_makes_no_call(client: FetchingClient, server: tuple[str, Script]) -> None:
    today = NOW.date()
    assert client.fetch_sync(ACCOUNT, "getusersummary", today, today + timedelta(days=3)) == []
    assert client.fetch_sync(ACCOUNT, "getbizsummary", date(2025, 1, 1), date(2025, 10, 31)) == []
    assert script_calls(server) == (0, 0)


def script_calls(server: tuple[str, Script]) -> tuple[int, int]:
    return len(server[1].datacube_calls), server[1].token_calls


def test_token_api_down_gives_up_once_for_the_whole_job(
    client: FetchingClient, server: tuple[str, Script]
) -> None:
    _, script = server
    script.token_answers.extend([dict(_err(-1, "system error")[1])] * 50)
    error = _fetch(client)
    assert type(error) is TransientError
    assert "access token" in str(error)
    # The token's own retries only: not nested inside datacube retries, not once per window.
    assert script.token_calls == FAST_RETRY.max_attempts
    assert script.datacube_calls == []


def test_data_flagged_not_final_is_retried_then_never_returned(
    client: FetchingClient, server: tuple[str, Script]
) -> None:
    """A 2025 endpoint's ``is_delay: true`` means WeChat has not finished the window: retried
    like "data not ready", and never handed on to be loaded."""
    delayed = (200, {"list": [], "is_delay": True})
    server[1].datacube.extend([delayed, (200, {"list": [], "is_delay": False})])
    responses = client.fetch_sync(ACCOUNT, "getbizsummary", END, END)
    assert [r.body for r in responses] == [{"list": [], "is_delay": False}]
    server[1].datacube.extend([delayed] * 10)
    with pytest.raises(TransientError, match="not final yet \\(is_delay\\)"):
        client.fetch_sync(ACCOUNT, "getbizsummary", END, END)
