"""Runs from the CLI: ``wx-pipeline run`` (a range, as few runs as the partitions allow) and
``wx-pipeline history``, each job executed in this process on the UI's instance
(``instance.py``), a failed run reduced to one line."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from wx_pipeline.cli.instance import alert_failure, open_instance, process_tags
from wx_pipeline.cli.summary import HistorySummary, RunSummary, collect, key_metrics, op_metadata
from wx_pipeline.core import clock
from wx_pipeline.core.errors import WxUserError
from wx_pipeline.core.settings import Settings


class RunFailedError(WxUserError):
    """A pipeline run failed; the message says which step and why."""


def check_range(settings: Settings, first: date, last: date) -> None:
    """Refuse a range that cannot be run, with one line (before anything starts)."""
    if first > last:
        raise WxUserError(f"--start {first} is after --end {last}")
    if first < settings.start_date:
        raise WxUserError(f"--start {first} is before WX_START_DATE ({settings.start_date})")
    # Refused rather than loaded provisionally: a partial day would look like a real drop.
    clock.require_final(last, clock.now(settings), settings.data_ready_time)


def execute_job(
    settings: Settings,
    defs: Any,
    instance: Any,
    job_name: str,
    tags: dict[str, str],
    selected: Any = None,
) -> Any:
    """One job in this process; a failure is one line (RunFailedError)."""
    import sqlalchemy.exc

    tags = {**tags, **process_tags()}
    try:
        with _stderr_kept_for_debug(settings.log_level == "DEBUG"):
            result = defs.resolve_job_def(job_name).execute_in_process(
                instance=instance,
                tags=tags,
                asset_selection=selected,
                raise_on_error=False,
                # Progress bars and the one-line failure replace Dagster's console log.
                run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            )
    except sqlalchemy.exc.OperationalError as exc:
        # Dagster's own storage went away (a Postgres restart) and it gave up on the run: the
        # warehouse kept only whole loads, so running again completes it.
        said = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        line = (
            f"{job_name}: lost the connection to Dagster's storage in PostgreSQL ({said}); "
            "nothing partial was loaded: run the same command again"
        )
        alert_failure(settings, job_name, tags, line, "")
        raise RunFailedError(line) from None
    if not result.success:
        line = _failure_text(result, job_name)
        alert_failure(settings, job_name, tags, line, result.run_id)
        raise RunFailedError(line)
    return result


@contextmanager
def _stderr_kept_for_debug(show: bool) -> Iterator[None]:
    """Dagster writes its storage errors straight to stderr, traceback after traceback; the
    run's event log (the UI) has them, so the CLI keeps them for WX_LOG_LEVEL=DEBUG only."""
    import io
    from contextlib import redirect_stderr

    kept = io.StringIO()
    try:
        with redirect_stderr(kept):
            yield
    finally:
        if show and kept.getvalue():
            from wx_pipeline.wechat.redaction import redact

            sys.stderr.write(redact(kept.getvalue()))


def run_pipeline(
    settings: Settings,
    first: date,
    last: date,
    groups: Sequence[str] = (),
    accounts: Sequence[str] = (),
) -> RunSummary:
    """Materialise every asset (or the selected groups) over [first, last] in as few runs as
    the partitions allow: one daily run (ingestion, checks), weekly and monthly runs, then one
    run of the marts over the same days; ``accounts`` (app ids) limits every run to them."""
    from wx_pipeline.defs.tags import accounts_tags, select_accounts
    from wx_pipeline.warehouse.embedded import warehouse_url

    check_range(settings, first, last)
    if accounts and not settings.uses_simulator:
        select_accounts(settings.accounts(), accounts)  # an unknown id: one line, before anything
    started = time.perf_counter()
    summary = RunSummary(first, last)
    with open_instance(settings) as (defs, instance):
        for job_name, tags in run_plan(first, last):
            selected = _selection(defs, defs.resolve_job_def(job_name), groups)
            if selected is not None and not selected:
                continue
            result = execute_job(
                settings, defs, instance, job_name, {**tags, **accounts_tags(accounts)}, selected
            )
            summary.run_ids.append(result.run_id)
            collect(result, summary)
        summary.metrics = key_metrics(warehouse_url(settings), first, last)
    summary.seconds = time.perf_counter() - started
    return summary


def run_history(settings: Settings, accounts: Sequence[str] = ()) -> HistorySummary:
    """The history fill in this process (recorded in the UI), then the marts for what it
    loaded, as the sensor does after a scheduled fill."""
    from wx_pipeline.defs.history import HISTORY_JOB, marts_tags_after
    from wx_pipeline.defs.schedules import ANALYTICS_JOB
    from wx_pipeline.defs.tags import accounts_tags, select_accounts
    from wx_pipeline.warehouse.db import make_engine
    from wx_pipeline.warehouse.embedded import warehouse_url

    if accounts and not settings.uses_simulator:
        select_accounts(settings.accounts(), accounts)
    started = time.perf_counter()
    with open_instance(settings) as (defs, instance):
        result = execute_job(settings, defs, instance, HISTORY_JOB, accounts_tags(accounts))
        meta = op_metadata(result)
        out = HistorySummary(
            str(meta.get("summary", "history: done")),
            calls=int(meta.get("api_calls", 0)),
            planned=int(meta.get("api_calls_planned", 0)),
            run_ids=[result.run_id],
        )
        engine = make_engine(warehouse_url(settings))
        try:
            with engine.connect() as conn:
                after = marts_tags_after(conn, result.run_id)
        finally:
            engine.dispose()
        if after is not None:
            out.run_ids.append(execute_job(settings, defs, instance, ANALYTICS_JOB, after).run_id)
    out.seconds = time.perf_counter() - started
    return out


def run_plan(first: date, last: date) -> list[tuple[str, dict[str, str]]]:
    """(job, tags): the daily range, the whole weeks/months inside it, then the marts."""
    from wx_pipeline.defs.partitions import range_tags, window_tags
    from wx_pipeline.defs.schedules import ANALYTICS_JOB
    from wx_pipeline.registry import Period, period_end, period_starts

    plan = [("daily", range_tags(first, last))]
    for job, period in (("weekly", Period.WEEK), ("monthly", Period.MONTH)):
        starts = [s for s in period_starts(period, first, last) if period_end(period, s) <= last]
        if starts:
            plan.append((job, range_tags(starts[0], starts[-1])))
    # As the sensor does after a scheduled or UI run: one windowed dbt build after the facts.
    plan.append((ANALYTICS_JOB, window_tags(first, last)))
    return plan


def _selection(defs: Any, job: Any, groups: Sequence[str]) -> Any:
    if not groups:
        return None
    graph = defs.resolve_asset_graph()
    known = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    unknown = sorted(set(groups) - known)
    if unknown:
        raise WxUserError(
            f"--select: unknown group {', '.join(unknown)}; groups: {', '.join(sorted(known))}"
        )
    return [k for k in job.asset_layer.executable_asset_keys if graph.get(k).group_name in groups]


def _failure_text(result: Any, job_name: str) -> str:
    """One line, as the run-failure alert words it (``failure_line``)."""
    from wx_pipeline.defs.alerts import failure_line

    failures = [e for e in result.all_events if e.is_step_failure]
    ended = [e for e in result.all_events if e.is_run_failure]
    said = failure_line(failures, ended[-1] if ended else None)
    return f"the {job_name} run failed" + (f": {said}" if said else "")
