"""The quota-aware history fill: the `history_fill` job, its daily schedule, and the coverage
checks that show every account's history in the UI.

The job plans with ``pipeline/history.py`` (newest days first, within today's budget less
headroom for the nightly and late-data runs, WeChat's own remaining quota where its quota API
answers) and loads the plan with the same streaming pass as the assets. It runs after the
nightly run and the late-data refresh; each day it continues from the ledger, where it stopped.
A new account in WX_ACCOUNTS_FILE is filled with no other action. The marts follow (the sensor
reads from the ledger what the run loaded).
"""

from collections.abc import Iterator, Sequence
from datetime import time, timedelta

import dagster as dg
from sqlalchemy.engine import Connection

from wx_pipeline.defs.ingestion import POOL, IngestionGroup, accounts_of_run
from wx_pipeline.defs.partitions import TIMEZONE, window_tags
from wx_pipeline.defs.resources import WarehouseResource, WeChatApiResource
from wx_pipeline.defs.schedules import after_ready
from wx_pipeline.defs.tags import accounts_tags
from wx_pipeline.pipeline.history import (
    LATE_DATA_AFTER_READY,
    apply_quota,
    gather_state,
    keeps_headroom,
    plan_history,
    shown_days,
    slowest,
)
from wx_pipeline.pipeline.outcome import IngestReport
from wx_pipeline.pipeline.status import account_status, as_markdown
from wx_pipeline.pipeline.stream import ingest_work
from wx_pipeline.runtime import progress
from wx_pipeline.warehouse.coverage import loaded_by_run
from wx_pipeline.wechat.errors import BudgetExceededError

HISTORY_JOB = "history_fill"


@dg.op(
    name="fill_history",
    pool=POOL,
    description="Load the missing history of every account, newest days first, within today's "
    "budget; says how far it got and when the history will be complete.",
)
def fill_history(
    context: dg.OpExecutionContext, wechat: WeChatApiResource, warehouse: WarehouseResource
) -> dg.Output[int]:
    settings = wechat.settings()
    engine = warehouse.engine()
    client = wechat.warehouse_client(engine)
    accounts = accounts_of_run(client.accounts, context.run.tags)
    endpoints = list(client.endpoints.values())
    newest, today = client.newest_final_day(), client.today()
    with engine.connect() as conn:
        keeping = keeps_headroom(client.now(), settings.data_ready_time)
        state = gather_state(
            conn,
            accounts,
            endpoints,
            settings.start_date,
            newest,
            today,
            settings.daily_budget,
            keeping,
        )
    by_id = {a.app_id: a for a in accounts}
    quota = client.quota_remaining_sync([(by_id[a], client.endpoints[e]) for a, e in state])
    plan = plan_history(accounts, endpoints, apply_quota(state, quota))
    report = IngestReport(newest, newest, [a.app_id for a in accounts])
    ingest_work(
        client,
        engine,
        plan.work,
        report,
        run_id=context.run_id,
        progress=lambda phase, done, total: progress.report("history", phase, done, total),
    )
    budget_stops = [f for f in report.failures if isinstance(f.error, BudgetExceededError)]
    others = [f for f in report.failures if f not in budget_stops]
    for failure in budget_stops:  # another process took today's quota meanwhile: tomorrow
        context.log.warning(str(failure.error))
    if others:
        report.failures = others
        raise dg.Failure(description=report.failure_message(), allow_retries=False)
    days = slowest(p.days_of_quota for p in plan.accounts.values())
    if not plan.remaining_calls:
        left = "every account's history is complete"
    elif days is None:
        left = (
            f"{plan.remaining_calls:,} calls left, but the daily budget leaves none after the "
            "scheduled runs: raise WX_DAILY_BUDGET"
        )
    else:
        left = f"{plan.remaining_calls:,} calls left, complete by {today + timedelta(days=days)}"
    summary = (
        f"history: {report.calls_made:,} calls today for {len(accounts)} account(s), "
        f"{report.total_rows:,} rows; {left} (Beijing)"
    )
    context.log.info(summary)
    return dg.Output(
        report.calls_made,
        metadata={
            "summary": summary,
            "api_calls": report.calls_made,
            "api_calls_planned": plan.planned_calls,
            "rows": report.total_rows,
            "calls_left": plan.remaining_calls,
            "days_of_quota": shown_days(days),
            "accounts": dg.MetadataValue.md(
                "| account | missing days | calls today | calls left | quota days |\n"
                "|---|---|---|---|---|\n"
                + "\n".join(
                    f"| {p.app_id} | {p.missing_days:,} | {p.planned_calls:,} | "
                    f"{p.remaining_calls:,} | {shown_days(p.days_of_quota)} |"
                    for p in plan.accounts.values()
                )
            ),
        },
    )


@dg.job(name=HISTORY_JOB, description=fill_history.description)
def history_fill() -> None:
    fill_history()


def history_schedule(ready: time) -> dg.ScheduleDefinition:
    """Daily, an hour after the late-data refresh starts (after the nightly run too)."""
    hour, minute = after_ready(ready, LATE_DATA_AFTER_READY + timedelta(hours=1))
    return dg.ScheduleDefinition(
        name="history_fill",
        job=history_fill,
        cron_schedule=f"{minute} {hour} * * *",
        execution_timezone=TIMEZONE,
        description="Fill every account's missing history within today's quota.",
    )


def marts_tags_after(conn: Connection, run_id: str) -> dict[str, str] | None:
    """The tags of the marts' run after the history fill ``run_id``: the days and accounts it
    loaded, from the coverage ledger (the fill has no partitions); None when it loaded nothing.
    The analytics sensor and ``wx-pipeline history`` both start that run."""
    loaded = loaded_by_run(conn, run_id)
    if loaded is None:
        return None
    return {**window_tags(loaded.first, loaded.last), **accounts_tags(loaded.accounts)}


def build_coverage_checks(groups: Sequence[IngestionGroup]) -> dg.AssetChecksDefinition:
    """Per asset family, whether every account's history is loaded; the metadata holds a table
    per account (what `wx-pipeline status` prints). Refreshed by every run of the assets."""
    by_key = {g.key: g for g in groups}

    @dg.multi_asset_check(
        specs=[
            dg.AssetCheckSpec(
                "history_complete",
                asset=g.key,
                description="Every account has every day from WX_START_DATE to the newest "
                "final day (a table per account in the metadata).",
            )
            for g in groups
        ],
        can_subset=True,
        name="coverage",
    )
    def _coverage(
        context: dg.AssetCheckExecutionContext,
        wechat: WeChatApiResource,
        warehouse: WarehouseResource,
    ) -> Iterator[dg.AssetCheckResult]:
        settings = wechat.settings()
        component = settings.component()
        client = wechat.client()  # no API call: the accounts and the clock
        newest, today = client.newest_final_day(), client.today()
        with warehouse.engine().connect() as conn:
            for key in context.selected_asset_check_keys:
                group = by_key[key.asset_key]
                statuses = account_status(
                    conn,
                    client.accounts,
                    group.endpoints,
                    settings.start_date,
                    newest,
                    today,
                    settings.daily_budget,
                    keeps_headroom(client.now(), settings.data_ready_time),
                    component_app_id=component.app_id if component else None,
                )
                missing = sum(f.missing_days for s in statuses for f in s.families)
                yield dg.AssetCheckResult(
                    asset_key=key.asset_key,
                    check_name=key.name,
                    passed=missing == 0,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={
                        "missing_days": missing,
                        "history_calls": sum(s.history_calls for s in statuses),
                        "days_of_quota": -1
                        if (d := slowest(s.days_of_quota for s in statuses)) is None
                        else d,
                        "accounts": dg.MetadataValue.md(
                            "\n\n".join(as_markdown(s, today) for s in statuses)
                        ),
                    },
                )

    return _coverage
