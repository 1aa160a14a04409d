"""Alerts: the webhook client against a real local HTTP receiver, and the sensors evaluated the
way the daemon does, on runs and check results executed in a test instance."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

import dagster as dg
import pytest
from dagster._core.storage.tags import WILL_RETRY_TAG
from sqlalchemy.engine import make_url

from wx_pipeline.defs.alerts import (
    alert_on_check_failure,
    alert_on_run_failure,
    alert_settings,
    build_alert_sensors,
    partition_range,
)
from wx_pipeline.defs.tags import RUN_PID_TAG
from wx_pipeline.runtime.alerts import (
    alert_payload,
    format_check_failure,
    format_run_failure,
    is_wecom,
    post_alert,
    redact_webhook_url,
)
from wx_pipeline.wechat.redaction import register_secret
from wx_pipeline_tests.chat import SLACK_SECRET, WECOM_KEY, Receiver, chat_receiver

APP_SECRET = "app-secret-5f4e3d2c1b"
ACCESS_TOKEN = "ACCESS_TOKEN_VALUE_77"
SECRETS = (WECOM_KEY, SLACK_SECRET, APP_SECRET, ACCESS_TOKEN)
UI_URL = "http://dagster.example:3000"
FEBRUARY = "2026-02-01..2026-02-28"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with chat_receiver() as r:
        yield r


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# --- the webhook client ---------------------------------------------------------------------------


def test_wecom_gets_markdown(receiver: Receiver) -> None:
    text = format_run_failure("daily", "2026-03-01..2026-03-07", "boom", f"{UI_URL}/runs/r1")
    assert post_alert(receiver.wecom, text)
    (message,) = receiver.messages
    assert message.path == "/cgi-bin/webhook/send"
    assert message.query == {"key": [WECOM_KEY]}
    assert message.body["msgtype"] == "markdown"
    content = message.body["markdown"]["content"]
    assert content.startswith("wx-pipeline: run of daily failed\n")
    # WeCom's markdown links only [text](url).
    assert f"run: [{UI_URL}/runs/r1]({UI_URL}/runs/r1)" in content


def test_slack_gets_text(receiver: Receiver) -> None:
    assert post_alert(receiver.slack, "check <x> & y failed")
    (message,) = receiver.messages
    # Slack reads <...> as links and mentions: the literal text is escaped.
    assert message.body == {"text": "check &lt;x&gt; &amp; y failed"}


def test_wecom_content_is_cut_to_its_limit() -> None:
    body = alert_payload("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "数" * 3000)
    assert len(body["markdown"]["content"].encode()) <= 4096


def test_refusals_return_false_and_log_one_redacted_line(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="wx_pipeline.runtime.alerts")
    wrong_key = receiver.wecom.replace(WECOM_KEY, f"x{WECOM_KEY}")
    assert not post_alert(wrong_key, "text")  # HTTP 200, errcode 93000
    assert not post_alert(f"{receiver.base}/hooks/gone/{SLACK_SECRET}", "text")  # HTTP 404
    warnings = _warnings(caplog)
    assert len(warnings) == 2
    assert "93000" in warnings[0]
    assert "HTTP 404" in warnings[1]
    _assert_no_secret(*warnings)
    assert all("\n" not in w for w in warnings)


def test_a_down_webhook_returns_false_within_the_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="wx_pipeline.runtime.alerts")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key={WECOM_KEY}"
    started = time.monotonic()
    assert post_alert(url, "text", timeout=2.0) is False
    assert time.monotonic() - started < 2.0
    (warning,) = _warnings(caplog)
    assert "ConnectError" in warning
    assert "key=***" in warning
    _assert_no_secret(warning)


def test_a_webhook_that_never_answers_returns_false_after_the_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="wx_pipeline.runtime.alerts")
    with socket.socket() as sock:  # accepts connections (backlog), never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/services/T/B/{SLACK_SECRET}"
        started = time.monotonic()
        assert post_alert(url, "text", timeout=0.5) is False
        assert time.monotonic() - started < 3.0
    (warning,) = _warnings(caplog)
    assert "Timeout" in warning
    _assert_no_secret(warning)


@pytest.mark.parametrize(
    "url", ["", "not a url", "ftp://example.com/x", "http://[::1", "http://host:99999/"]
)
def test_a_bad_url_never_raises(url: str) -> None:
    assert post_alert(url, "text", timeout=1.0) is False


def test_the_webhook_key_is_scrubbed_from_the_message(receiver: Receiver) -> None:
    assert post_alert(receiver.wecom, f"the robot at {receiver.wecom} is misconfigured")
    (text,) = receiver.texts()
    _assert_no_secret(text)
    assert "key=***" in text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***",
        ),
        (
            f"https://hooks.slack.com/services/T0000/B0000/{SLACK_SECRET}",
            "https://hooks.slack.com/services/***",
        ),
        (f"https://user:{APP_SECRET}@chat.example/hook", "https://chat.example/***"),
        ("https://chat.example", "https://chat.example"),
    ],
)
def test_redacted_webhook_urls(url: str, shown: str) -> None:
    assert redact_webhook_url(url) == shown


def test_wecom_is_recognised_by_its_path() -> None:
    assert is_wecom("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")
    assert is_wecom("http://wecom.internal:8080/cgi-bin/webhook/send/?key=k")
    assert not is_wecom("https://hooks.slack.com/services/T/B/x")


# --- the messages ---------------------------------------------------------------------------------


def test_format_run_failure() -> None:
    failure = "wechat__followers: WX_APP_SECRET is wrong (40001)\n  Traceback ...\n"
    text = format_run_failure("daily", "2026-03-01..2026-03-07", failure, f"{UI_URL}/runs/abc")
    assert text.splitlines() == [
        "wx-pipeline: run of daily failed",
        "partitions: 2026-03-01..2026-03-07",
        "failure: wechat__followers: WX_APP_SECRET is wrong (40001)",
        f"run: {UI_URL}/runs/abc",
    ]
    bare = format_run_failure("analytics", None, "x" * 2000, None)
    assert bare.splitlines()[0] == "wx-pipeline: run of analytics failed"
    assert len(bare.splitlines()[1]) < 520
    assert len(bare.splitlines()) == 2


def test_format_check_failure() -> None:
    text = format_check_failure("wechat/followers", "follower_reconciliation", "3 days off", None)
    assert text.splitlines() == [
        "wx-pipeline: check follower_reconciliation on wechat/followers failed",
        "3 days off",
    ]


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (
            {
                "dagster/asset_partition_range_start": "2026-03-01",
                "dagster/asset_partition_range_end": "2026-03-07",
            },
            "2026-03-01..2026-03-07",
        ),
        ({"dagster/partition": "2026-03-05"}, "2026-03-05"),
        ({"wx/window_start": "2026-03-01", "wx/window_end": "2026-03-01"}, "2026-03-01"),
        (
            {"wx/window_start": "2026-02-01", "wx/window_end": "2026-02-28"},
            "2026-02-01..2026-02-28",
        ),
        ({}, None),
    ],
)
def test_partition_range_from_run_tags(tags: dict[str, str], expected: str | None) -> None:
    assert partition_range(tags) == expected


def test_alert_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert alert_settings() == (None, None)
    monkeypatch.setenv("WX_ALERT_WEBHOOK", "")  # empty counts as unset
    monkeypatch.setenv("WX_UI_URL", f"{UI_URL}/")
    assert alert_settings() == (None, UI_URL)


# --- the sensors ----------------------------------------------------------------------------------


@dg.op
def fetch_followers() -> None:
    # As an error could carry them: a secret the client registered, a token in a URL.
    raise RuntimeError(
        f"WeChat said 40001 for app secret {APP_SECRET} at "
        f"/datacube/getusersummary?access_token={ACCESS_TOKEN}\nsecond line"
    )


@dg.op
def fine() -> None:
    pass


@dg.job
def failing() -> None:
    fetch_followers()


@dg.job
def succeeding() -> None:
    fine()


@pytest.fixture
def alerting(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Receiver:
    register_secret(APP_SECRET)
    monkeypatch.setenv("WX_ALERT_WEBHOOK", receiver.wecom)
    monkeypatch.setenv("WX_UI_URL", UI_URL)
    return receiver


def _tick(
    sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None
) -> str | None:
    """One evaluation as the daemon makes it; returns the new cursor."""
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    return sensor.evaluate_tick(context).cursor


def test_one_message_per_failed_run(alerting: Receiver) -> None:
    with dg.instance_for_test() as instance:
        cursor = _tick(alert_on_run_failure, instance, None)  # starts after existing runs
        ranged = failing.execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags={
                "dagster/asset_partition_range_start": "2026-03-01",
                "dagster/asset_partition_range_end": "2026-03-07",
            },
        )
        windowed = failing.execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags={"wx/window_start": "2026-03-05", "wx/window_end": "2026-03-05"},
        )
        assert succeeding.execute_in_process(instance=instance).success
        cursor = _tick(alert_on_run_failure, instance, cursor)
        assert _tick(alert_on_run_failure, instance, cursor) == cursor  # nothing new

    contents = [m.body["markdown"]["content"] for m in alerting.messages]
    assert len(contents) == 2
    for content, result, days in (
        (contents[0], ranged, "2026-03-01..2026-03-07"),
        (contents[1], windowed, "2026-03-05"),
    ):
        lines = content.splitlines()
        assert lines[0] == "wx-pipeline: run of failing failed"
        assert lines[1] == f"partitions: {days}"
        # The op's own error, first line only, without Dagster's wrapper.
        assert lines[2] == (
            "failure: fetch_followers: WeChat said 40001 for app secret *** at "
            "/datacube/getusersummary?access_token=***"
        )
        url = f"{UI_URL}/runs/{result.run_id}"
        assert lines[3] == f"run: [{url}]({url})"
    _assert_no_secret(*alerting.texts())


def test_a_run_of_a_wx_pipeline_process_is_left_to_that_process(alerting: Receiver) -> None:
    """`wx-pipeline run` posts its own failures (with or without a daemon): the sensor of a
    daemon sharing the instance must not post them a second time."""
    with dg.instance_for_test() as instance:
        cursor = _tick(alert_on_run_failure, instance, None)
        failing.execute_in_process(
            instance=instance, raise_on_error=False, tags={RUN_PID_TAG: "4242"}
        )
        failing.execute_in_process(instance=instance, raise_on_error=False)
        _tick(alert_on_run_failure, instance, cursor)
    assert len(alerting.messages) == 1


def test_a_run_dagster_will_retry_is_not_reported_yet(alerting: Receiver) -> None:
    with dg.instance_for_test() as instance:
        result = failing.execute_in_process(instance=instance, raise_on_error=False)
        instance.add_run_tags(result.run_id, {WILL_RETRY_TAG: "true"})
        run = instance.get_run_by_id(result.run_id)
        assert run is not None
        context = dg.build_run_status_sensor_context(
            sensor_name=alert_on_run_failure.name,
            dagster_event=result.get_run_failure_event(),
            dagster_instance=instance,
            dagster_run=run,
        ).for_run_failure()
        assert alert_on_run_failure(context) is None
        assert alerting.messages == []


def test_without_a_webhook_the_sensor_says_so(receiver: Receiver) -> None:
    with dg.instance_for_test() as instance:
        result = failing.execute_in_process(instance=instance, raise_on_error=False)
        context = dg.build_run_status_sensor_context(
            sensor_name=alert_on_run_failure.name,
            dagster_event=result.get_run_failure_event(),
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        ).for_run_failure()
        skipped = alert_on_run_failure(context)
    assert isinstance(skipped, dg.SkipReason)
    assert "WX_ALERT_WEBHOOK" in (skipped.skip_message or "")
    assert receiver.messages == []


def test_a_down_webhook_does_not_fail_the_sensor(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("WX_ALERT_WEBHOOK", f"http://127.0.0.1:{port}/services/T/B/{SLACK_SECRET}")
    with dg.instance_for_test() as instance:
        cursor = _tick(alert_on_run_failure, instance, None)
        failing.execute_in_process(instance=instance, raise_on_error=False)
        context = dg.build_sensor_context(instance=instance, cursor=cursor)
        data = alert_on_run_failure.evaluate_tick(context)
    assert data.cursor != cursor  # the run was handled, not left to repeat
    assert all(reaction.error is None for reaction in data.dagster_run_reactions or [])


@dg.asset(
    check_specs=[
        dg.AssetCheckSpec("rows_match", asset="followers"),
        dg.AssetCheckSpec("history_complete", asset="followers"),
        dg.AssetCheckSpec("fresh", asset="followers"),
    ]
)
def followers() -> Iterator[dg.MaterializeResult[None] | dg.AssetCheckResult]:
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(
        check_name="rows_match",
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"3 days differ (token {ACCESS_TOKEN} was fine)",
    )
    yield dg.AssetCheckResult(
        check_name="history_complete", passed=False, severity=dg.AssetCheckSeverity.WARN
    )
    yield dg.AssetCheckResult(check_name="fresh", passed=True)


@pytest.fixture
def pg_instance(database_url: str) -> Iterator[dg.DagsterInstance]:
    """An instance whose storage is Postgres, as in every deployment (the check sensor reads
    the event log across runs, which SQLite's per-run shards cannot serve)."""
    url = make_url(database_url).set(drivername="postgresql+psycopg2")
    storage = {"postgres": {"postgres_url": url.render_as_string(hide_password=False)}}
    with dg.instance_for_test(overrides={"storage": storage}) as instance:
        yield instance


def test_failed_error_checks_are_reported_once(
    alerting: Receiver, pg_instance: dg.DagsterInstance
) -> None:
    register_secret(ACCESS_TOKEN)
    cursor = _tick(alert_on_check_failure, pg_instance, None)
    result = dg.materialize([followers], instance=pg_instance)
    assert result.success  # non-blocking checks: the run itself succeeds
    cursor = _tick(alert_on_check_failure, pg_instance, cursor)
    assert _tick(alert_on_check_failure, pg_instance, cursor) == cursor

    (message,) = alerting.messages
    content = message.body["markdown"]["content"]
    assert content.startswith("wx-pipeline: check rows_match on followers failed\n")
    assert "3 days differ" in content
    assert "history_complete" not in content  # WARN: the UI's business
    assert "fresh" not in content
    assert f"{UI_URL}/runs/{result.run_id}" in content
    _assert_no_secret(*alerting.texts())


def test_the_check_sensor_starts_after_existing_evaluations(
    alerting: Receiver, pg_instance: dg.DagsterInstance
) -> None:
    dg.materialize([followers], instance=pg_instance)
    cursor = _tick(alert_on_check_failure, pg_instance, None)
    assert cursor is not None
    assert int(cursor) > 0
    _tick(alert_on_check_failure, pg_instance, cursor)
    assert alerting.messages == []


def test_the_check_sensor_skips_on_a_sqlite_instance(alerting: Receiver) -> None:
    with dg.instance_for_test() as instance:
        dg.materialize([followers], instance=instance)
        context = dg.build_sensor_context(instance=instance, cursor="0")
        data = alert_on_check_failure.evaluate_tick(context)
    assert "Postgres" in (data.skip_message or "")
    assert alerting.messages == []


def test_the_sensors_belong_in_definitions() -> None:
    sensors = build_alert_sensors()
    assert {s.name for s in sensors} == {"alert_on_run_failure", "alert_on_check_failure"}
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in sensors)

    defs = dg.Definitions(jobs=[failing], sensors=sensors)
    assert defs.resolve_sensor_def("alert_on_run_failure") is alert_on_run_failure
