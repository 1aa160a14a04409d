"""Alerts to a chat webhook (WeCom group robot or Slack), from Dagster's own sensors.

* ``alert_on_run_failure`` (a ``run_failure_sensor`` over every job of this code location): one
  message per failed run: the job, the days it covered, what failed in one line (the accounts'
  problems, the failed steps' errors: ``failure_line``, which ``wx-pipeline run`` prints too)
  and a link to the run. A run Dagster is about to retry (``run_retries`` in dagster.yaml)
  is reported when its last attempt fails, not at every attempt.
* ``alert_on_check_failure``: failed asset checks of ERROR severity (WARN ones, such as
  ``history_complete``, only show in the UI), read from the instance's event log after a
  cursor, one message per run whose checks failed (listing up to 10). Dagster has no
  asset-check counterpart of the run failure sensor.

Both start at the events after their first evaluation (no flood of old failures when they are
turned on) and are on by default; the check sensor needs the event log in Postgres, as every
instance wx-pipeline sets up has it. Without ``WX_ALERT_WEBHOOK`` they skip, saying so in the UI.
Texts are scrubbed of secrets twice (``redact`` here, the webhook's own key in ``post_alert``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from wx_pipeline.core.settings import load_settings
from wx_pipeline.defs.ingestion import PROBLEMS_KEY
from wx_pipeline.defs.partitions import PARTITION_TAG, run_window
from wx_pipeline.defs.tags import RUN_PID_TAG, WILL_RETRY_TAG
from wx_pipeline.pipeline.outcome import Problem, merge_problems
from wx_pipeline.runtime.alerts import (
    format_check_failure,
    format_run_failure,
    one_line,
    post_alert,
)
from wx_pipeline.wechat.redaction import redact

ALERT_WEBHOOK_ENV: Final = "WX_ALERT_WEBHOOK"
RUN_FAILURE_SENSOR: Final = "alert_on_run_failure"
CHECK_FAILURE_SENSOR: Final = "alert_on_check_failure"
#: Check evaluations read per tick; the cursor takes the rest at the next tick.
CHECK_EVENTS_PER_TICK: Final = 500
#: Failed checks listed in one run's message (dbt can fail dozens at once; WeCom robots take
#: 20 messages a minute).
CHECKS_PER_MESSAGE: Final = 10
#: Dagster's wrappers around an op's own exception: the message worth sending is their cause.
_WRAPPERS: Final = frozenset(
    {"DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError"}
)
_CLASS_PREFIX = re.compile(r"^[\w.]+: ")
_ASSET_JOB_PREFIX: Final = "__ASSET_JOB"
#: Where a run's days are, first match wins: a partition range, else the marts' window.


def alert_settings() -> tuple[str | None, str | None]:
    """(webhook URL, Dagster UI base URL) from ``WX_ALERT_WEBHOOK`` and ``WX_UI_URL``, read at
    each evaluation, not at import, like every secret the code uses."""
    settings = load_settings()
    webhook = settings.alert_webhook.get_secret_value() if settings.alert_webhook else None
    return webhook, settings.ui_url


def run_url(ui_url: str | None, run_id: str) -> str | None:
    return f"{ui_url}/runs/{run_id}" if ui_url and run_id else None


def partition_range(tags: Mapping[str, str]) -> str | None:
    """The days (partitions) a run covered, as `run_window` reads them from its tags (a range
    run's, a single partition's, or the window of an unpartitioned ``analytics`` run)."""
    try:
        window = run_window(tags)
    except ValueError:  # a hand-set tag that is not a date: shown as it is
        return tags.get(PARTITION_TAG) or None
    if window is None:
        return None
    first, last = window
    return first.isoformat() if first == last else f"{first}..{last}"


def job_label(run: dg.DagsterRun) -> str:
    """The job's name; an ad-hoc asset run (launched from the asset graph) by its assets."""
    if not run.job_name.startswith(_ASSET_JOB_PREFIX):
        return run.job_name
    keys = sorted(k.to_user_string() for k in run.asset_selection or ())
    if not keys:
        return "assets"
    more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
    return f"assets {', '.join(keys[:3])}{more}"


def error_line(error: SerializableErrorInfo | None) -> str:
    """An error as one line: the op's own exception, without Dagster's wrapper or class path."""
    while error is not None and error.cls_name in _WRAPPERS and error.cause is not None:
        error = error.cause
    if error is None:
        return ""
    return _CLASS_PREFIX.sub("", one_line(error.message))


def failure_line(
    step_failures: Sequence[dg.DagsterEvent], run_failure: dg.DagsterEvent | None = None
) -> str:
    """A failed run in one line, for the alert and for the CLI alike: the accounts' problems
    once each (a wrong secret fails every asset of the account), then each other failed step's
    error as the op said it (dbt's own words out of dagster-dbt's advice to read the logs);
    without a failed step, the run's own failure (a run worker that died, a launch that failed).
    """
    problems: list[Problem] = []
    lines: list[str] = []
    for event in step_failures:
        data = event.step_failure_data
        metadata = data.user_failure_data.metadata if data.user_failure_data else {}
        if PROBLEMS_KEY in metadata:
            said: Any = metadata[PROBLEMS_KEY].value  # a JSON list of Problem.to_json
            problems += [Problem.from_json(p) for p in said]
            continue
        line = tool_said(error_line(data.error)) or "failed"
        lines.append(f"{event.step_key}: {line}" if event.step_key else line)
    lines = [p.line() for p in merge_problems(problems)] + lines
    if lines or run_failure is None:
        return " | ".join(lines)
    ended = run_failure.job_failure_data
    return error_line(ended.error if ended else None) or one_line(run_failure.message or "")


def tool_said(message: str) -> str:
    """dagster-dbt's failure wraps what dbt said in advice to read logs: keep dbt's words."""
    _, found, said = message.partition("Errors parsed from dbt logs:")
    return " ".join(said.split()) if found and said.strip() else message


def run_failure_line(context: dg.RunFailureSensorContext) -> str:
    return failure_line(context.get_step_failure_events(), context.failure_event)


def run_failure_message(
    job: str, tags: Mapping[str, str], line: str, ui_url: str | None, run_id: str
) -> str:
    """The alert for a failed run, scrubbed of secrets: the sensor's, and `wx-pipeline run`'s
    for the runs it executes itself."""
    return redact(format_run_failure(job, partition_range(tags), line, run_url(ui_url, run_id)))


def run_failure_text(context: dg.RunFailureSensorContext, ui_url: str | None) -> str:
    run = context.dagster_run
    return run_failure_message(
        job_label(run), run.tags, run_failure_line(context), ui_url, run.run_id
    )


@dg.run_failure_sensor(
    name=RUN_FAILURE_SENSOR,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Posts one message per failed run to WX_ALERT_WEBHOOK (WeCom or Slack).",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext) -> dg.SkipReason | None:
    webhook, ui_url = alert_settings()
    if webhook is None:
        return dg.SkipReason(f"{ALERT_WEBHOOK_ENV} is not set: no alert sent")
    run = context.dagster_run
    if RUN_PID_TAG in run.tags:
        # `wx-pipeline run` alerted on it itself (or the process that reaped it did).
        return None
    if run.tags.get(WILL_RETRY_TAG) == "true":
        context.log.info(f"run {run.run_id} will be retried: alerting on its last attempt only")
        return None
    if not post_alert(webhook, run_failure_text(context, ui_url)):
        # Not retried: the tick moves on, as a second delivery could duplicate the message.
        context.log.warning(f"the alert for run {run.run_id} was not delivered")
    # None, not a SkipReason: the sensor then goes on to the next failed run in this tick.
    return None


def _check_description(evaluation: dg.AssetCheckEvaluation) -> str:
    """The evaluation's description, else its short metadata values (counts, dates)."""
    if evaluation.description:
        return evaluation.description
    shown = []
    for key, value in evaluation.metadata.items():
        text = str(value.value)
        if "\n" not in text and len(text) <= 80:
            shown.append(f"{key}={text}")
    return ", ".join(shown[:5])


def check_failure_text(
    failures: Sequence[dg.AssetCheckEvaluation], run_id: str, ui_url: str | None
) -> str:
    """One message for the failed checks of one run."""
    url = run_url(ui_url, run_id)
    parts = []
    for evaluation in failures[:CHECKS_PER_MESSAGE]:
        asset = evaluation.asset_key.to_user_string()
        if evaluation.partition:
            asset = f"{asset} [{evaluation.partition}]"
        parts.append(
            format_check_failure(asset, evaluation.check_name, _check_description(evaluation), None)
        )
    if len(failures) > CHECKS_PER_MESSAGE:
        parts.append(f"... and {len(failures) - CHECKS_PER_MESSAGE} more failed checks")
    if url:
        parts.append(f"run: {url}")
    return redact("\n\n".join(parts))


def _latest_check_event_id(instance: dg.DagsterInstance) -> int:
    records = instance.event_log_storage.get_event_records(
        dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION),
        limit=1,
        ascending=False,
    )
    return records[0].storage_id if records else 0


@dg.sensor(
    name=CHECK_FAILURE_SENSOR,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Posts failed asset checks of ERROR severity to WX_ALERT_WEBHOOK, one message "
    "per run.",
)
def alert_on_check_failure(context: dg.SensorEvaluationContext) -> dg.SkipReason | None:
    instance = context.instance
    if instance.event_log_storage.is_run_sharded:
        # A SQLite instance keeps events per run: no cursor over all of them. Every instance
        # wx-pipeline sets up (runner, compose, Helm) stores events in Postgres.
        return dg.SkipReason("needs an instance whose event log is not sharded by run (Postgres)")
    if context.cursor is None:
        start = _latest_check_event_id(instance)
        context.update_cursor(str(start))
        return dg.SkipReason(f"started: alerting on check evaluations after event {start}")
    records = instance.event_log_storage.get_event_records(
        dg.EventRecordsFilter(
            event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=int(context.cursor)
        ),
        limit=CHECK_EVENTS_PER_TICK,
        ascending=True,
    )
    if not records:
        return dg.SkipReason("no new check evaluations")
    failed: dict[str, list[dg.AssetCheckEvaluation]] = {}
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        evaluation = event.asset_check_evaluation_data
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            failed.setdefault(record.run_id, []).append(evaluation)
    # Moved on first: a webhook that is down loses these alerts rather than repeating others.
    context.update_cursor(str(records[-1].storage_id))
    webhook, ui_url = alert_settings()
    if not failed:
        return dg.SkipReason(f"{len(records)} check evaluations, none failed with ERROR")
    if webhook is None:
        return dg.SkipReason(f"{ALERT_WEBHOOK_ENV} is not set: no alert sent")
    undelivered = [
        run_id
        for run_id, evaluations in failed.items()
        if not post_alert(webhook, check_failure_text(evaluations, run_id, ui_url))
    ]
    if undelivered:
        return dg.SkipReason(f"alerts not delivered for runs {', '.join(undelivered)}")
    return None


def build_alert_sensors() -> list[dg.SensorDefinition]:
    """The alert sensors, for ``Definitions(sensors=[...])``."""
    return [alert_on_run_failure, alert_on_check_failure]
