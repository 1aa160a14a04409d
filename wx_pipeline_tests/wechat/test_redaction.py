"""No AppSecret and no access token in logs, exception messages, reprs or tracebacks."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from datetime import timedelta

import pytest

from wx_pipeline.simulator import FaultConfig, SimulatorConfig, run_in_thread
from wx_pipeline.wechat.errors import WeChatError
from wx_pipeline.wechat.redaction import MASK, redact, register_secret
from wx_pipeline.wechat.retry import RetryPolicy
from wx_pipeline_tests.wechat.conftest import NOW, ClientFactory, as_account

YESTERDAY = NOW.date() - timedelta(days=1)
RANGE = (YESTERDAY - timedelta(days=20), YESTERDAY)
FAULTS = FaultConfig(system_busy=0.1, http_503=0.1, reset=0.05, invalidate_token_every=5)


def _leaks(texts: Iterable[str], secrets: set[str]) -> list[str]:
    return [s for text in texts for s in secrets if s in text]


def _exception_texts(exc: BaseException) -> list[str]:
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


@pytest.mark.parametrize("mode", ["stable", "token"])
def test_a_faulty_run_leaks_nothing(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    for name in (None, "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    raised: list[BaseException] = []
    config = SimulatorConfig(now=NOW, faults=FAULTS)
    with run_in_thread(config) as sim:
        accounts = [as_account(a) for a in sim.accounts]
        retry = RetryPolicy(max_attempts=10, initial_wait=0.001, max_wait=0.01, jitter=0.001)
        client = make_client(sim.base_url, accounts, retry=retry, token_mode=mode)
        report = client.fetch_many_sync(
            [(a, e, *RANGE) for a in accounts[:2] for e in ("getusersummary", "getuserreadhour")]
        )
        assert report.ok, report.errors
        # Failures raised to the caller: retries exhausted, and a rejected (wrong) secret.
        stubborn = make_client(
            sim.base_url, accounts, retry=RetryPolicy(max_attempts=2, initial_wait=0.001)
        )
        sim.invalidate_tokens()
        with run_in_thread(SimulatorConfig(now=NOW, faults=FaultConfig(http_503=1.0))) as down:
            down_client = make_client(down.base_url, [as_account(down.accounts[0])])
            with pytest.raises(WeChatError) as info:
                down_client.fetch_sync(as_account(down.accounts[0]), "getusersummary", *RANGE)
            raised.append(info.value)
            issued = sim.issued_tokens | down.issued_tokens
        wrong = as_account(sim.accounts[2], secret=sim.accounts[1].secret + "-but-wrong")
        with pytest.raises(WeChatError) as info:
            stubborn.fetch_sync(wrong, "getusersummary", *RANGE)
        raised.append(info.value)
        issued |= sim.issued_tokens
        reprs = [repr(client), repr(client.tokens), repr(accounts), repr(report.results[0])]

    secrets = {a.secret.get_secret_value() for a in [*accounts, wrong] if a.secret is not None}
    assert len(issued) >= 3
    messages = [r.getMessage() for r in caplog.records]
    # The test can fail: httpx did log the URLs (with the token masked) at this level.
    assert any("HTTP Request" in m and f"access_token={MASK}" in m for m in messages)
    formatted = [logging.Formatter().format(r) for r in caplog.records]
    assert _leaks(messages + formatted + [caplog.text], secrets | issued) == []
    for exc in raised:
        assert _leaks(_exception_texts(exc), secrets | issued) == []
        tb = "".join(traceback.format_exception(exc))
        assert "During handling" not in tb
        assert "direct cause" not in tb
        assert exc.__cause__ is None
        assert exc.__suppress_context__ or exc.__context__ is None
    assert _leaks(reprs, secrets | issued) == []


def test_logged_exceptions_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    from wx_pipeline.wechat.redaction import install_log_redaction

    install_log_redaction()
    register_secret("tok-abcdef-123456")
    logger = logging.getLogger("some.library")
    try:
        raise RuntimeError("failed GET https://x/cgi-bin/token?appid=wx1&secret=plain-secret")
    except RuntimeError:
        logger.exception("call to %s failed", "https://x/?access_token=tok-abcdef-123456")
    (record,) = caplog.records
    text = logging.Formatter().format(record)
    assert "tok-abcdef-123456" not in text
    assert "plain-secret" not in text
    assert "secret=***" in text
    assert "access_token=***" in text


def test_redact_masks_registered_values_and_credential_parameters() -> None:
    register_secret("registered-value-42")
    assert redact("x registered-value-42 y") == f"x {MASK} y"
    assert (
        redact("/datacube/a?access_token=ABC.def-1&x=2") == f"/datacube/a?access_token={MASK}&x=2"
    )
    assert redact('{"appid": "wx1", "secret": "s3"}') == f'{{"appid": "wx1", "secret": "{MASK}"}}'
    assert redact("nothing to hide") == "nothing to hide"
