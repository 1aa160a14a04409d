"""Running and looking at the pipeline: `run`, `history`, `status`, `report`, `docs`, `dev`,
`renormalize`. Each command imports what it runs inside itself, so `--help` stays fast."""

from __future__ import annotations

import os
import sys
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from wx_pipeline.core.errors import WxUserError
from wx_pipeline.core.settings import get_settings

#: --account, repeatable: the commands that can be limited to some accounts.
ACCOUNTS = click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="APP_ID",
    help="Only this account (repeatable); default: every configured account.",
)


@click.command()
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First Beijing day (YYYY-MM-DD).")
@click.option(
    "--end",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Last Beijing day (default: the newest final day; a day is final from "
    "WX_DATA_READY_TIME, 08:00 Beijing, on the next day).",
)
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Without --start: this many days up to --end.",
)
@click.option(
    "--select",
    "groups",
    multiple=True,
    metavar="GROUP",
    help="Only these asset groups (followers, articles, hourly_reads, messages, callbacks).",
)
@ACCOUNTS
def run(
    start: Any, end: Any, days: int, groups: tuple[str, ...], accounts: tuple[str, ...]
) -> None:
    """Migrate, fetch and load a date range for every account, build the marts, summarise."""
    from datetime import timedelta

    from wx_pipeline.cli.runner import check_range, run_pipeline
    from wx_pipeline.cli.summary import print_summary
    from wx_pipeline.core.clock import newest_final
    from wx_pipeline.runtime.progress import live_progress

    settings = get_settings()
    last = end.date() if end is not None else newest_final(settings)
    first = start.date() if start is not None else last - timedelta(days=days - 1)
    check_range(settings, first, last)
    with live_progress():
        summary = run_pipeline(settings, first, last, groups, accounts)
    print_summary(summary)


@click.command()
@ACCOUNTS
def history(accounts: tuple[str, ...]) -> None:
    """Fill missing history within today's quota (newest days first), then the marts."""
    from wx_pipeline.cli.runner import run_history
    from wx_pipeline.runtime.progress import live_progress

    with live_progress():
        result = run_history(get_settings(), accounts)
    click.echo(result.summary)
    click.echo(f"done in {result.seconds:.1f} s; runs: {', '.join(result.run_ids)}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def status(as_json: bool) -> None:
    """Per account: its credential (AppSecret, or the platform and whether that authorisation
    is live) and, per asset family, days loaded, gaps, provisional days, calls, history left."""
    import json

    from wx_pipeline.core import clock
    from wx_pipeline.defs.resources import configured_accounts
    from wx_pipeline.pipeline.history import keeps_headroom
    from wx_pipeline.pipeline.status import account_status, print_status
    from wx_pipeline.pipeline.status import as_json as status_json
    from wx_pipeline.registry import with_spans
    from wx_pipeline.warehouse.db import make_engine
    from wx_pipeline.warehouse.embedded import warehouse_url
    from wx_pipeline.warehouse.migrate import migrate

    settings = get_settings()
    today = clock.now(settings).date()
    engine = make_engine(warehouse_url(settings))
    try:
        migrate(engine)
        with engine.connect() as conn:
            statuses = account_status(
                conn,
                configured_accounts(settings),
                list(with_spans(settings.span_overrides).values()),
                settings.start_date,
                clock.newest_final(settings),
                today,
                settings.daily_budget,
                keeps_headroom(clock.now(settings), settings.data_ready_time),
                component_app_id=component.app_id if (component := settings.component()) else None,
            )
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(status_json(statuses, today), indent=2))
    else:
        print_status(statuses, today)


@click.command()
@ACCOUNTS
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First day (default: 28 days).")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last day (default: the newest).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (default: $WX_HOME/reports/report-<last day>.html).",
)
def report(accounts: tuple[str, ...], start: Any, end: Any, output: Path | None) -> None:
    """Write the HTML report of the marts (one self-contained file) and print its path."""
    from wx_pipeline.defs.resources import configured_accounts
    from wx_pipeline.report import build_report, report_path, reports_dir, write_report
    from wx_pipeline.warehouse.db import make_engine
    from wx_pipeline.warehouse.embedded import warehouse_url

    settings = get_settings()
    engine = make_engine(warehouse_url(settings))
    try:
        built = build_report(
            engine,
            accounts=list(accounts) or None,
            first=start.date() if start else None,
            last=end.date() if end else None,
            account_names={a.app_id: a.name for a in configured_accounts(settings)},
        )
    finally:
        engine.dispose()
    path = output or report_path(reports_dir(settings.home), built.period.last)
    click.echo(write_report(built, path))


@click.command()
@click.option("--port", default=8080, show_default=True)
def docs(port: int) -> None:
    """Serve the dbt docs of the marts (generated first when the pipeline has not yet)."""
    from wx_pipeline.marts.run import dbt_executable, dbt_process_env, docs_dir, run_dbt
    from wx_pipeline.warehouse.embedded import warehouse_url

    settings = get_settings()
    target = docs_dir(settings.home)
    if not (target / "catalog.json").exists():
        url = warehouse_url(settings)
        result = run_dbt(["docs", "generate", "--target-path", str(target)], url, capture=True)
        if result.returncode != 0:
            said = (result.stdout + result.stderr).strip().splitlines()
            raise WxUserError(f"dbt docs generate failed: {said[-1] if said else 'no output'}")
    executable = str(dbt_executable())
    args = ["docs", "serve", "--target-path", str(target), "--port", str(port), "--no-browser"]
    sys.stdout.flush()
    os.execve(executable, [executable, *args], dbt_process_env(None))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3000, show_default=True)
def dev(host: str, port: int) -> None:
    """The Dagster UI and daemon (backfills, schedules) on workspace.yaml."""
    from wx_pipeline.cli.instance import dev as run_dev

    run_dev(get_settings(), host, port)


def _parse_date(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param=param) from None


@click.command("renormalize")
@click.option(
    "--endpoint",
    "endpoints",
    multiple=True,
    metavar="NAME",
    help="Endpoint to rebuild, e.g. getusersummary (repeatable; default: all).",
)
@click.option("--start", callback=_parse_date, metavar="YYYY-MM-DD", help="First ref_date.")
@click.option("--end", callback=_parse_date, metavar="YYYY-MM-DD", help="Last ref_date.")
@click.option("--account", metavar="APP_ID", help="Only this account.")
@click.option("--facts-only", is_flag=True, help="Leave the marts to the next analytics run.")
def renormalize(
    endpoints: tuple[str, ...],
    start: date | None,
    end: date | None,
    account: str | None,
    facts_only: bool,
) -> None:
    """Rebuild fact tables from the raw archive (wechat_raw.api_response), without API calls,
    then the marts over the days rebuilt."""
    from wx_pipeline import registry
    from wx_pipeline.marts.run import build_marts
    from wx_pipeline.warehouse.db import make_engine
    from wx_pipeline.warehouse.embedded import warehouse_url
    from wx_pipeline.warehouse.migrate import migrate
    from wx_pipeline.warehouse.renormalize import renormalize as rebuild

    if start and end and start > end:
        raise WxUserError(f"--start {start} is after --end {end}")
    for name in endpoints:
        if name not in registry.BY_NAME:
            raise WxUserError(f"unknown endpoint {name!r}; known: {', '.join(registry.BY_NAME)}")
    settings = get_settings()
    url = warehouse_url(settings)
    run_id = f"renormalize-{uuid.uuid4().hex[:12]}"
    engine = make_engine(url)
    try:
        migrate(engine)
        result = rebuild(
            engine,
            endpoints=endpoints or None,
            start=start,
            end=end,
            account_id=account,
            run_id=run_id,
        )
    finally:
        engine.dispose()
    click.echo(
        f"rebuilt from {result.responses} archived responses in {result.windows} windows "
        f"(run id {run_id})"
    )
    for table, rows in sorted(result.rows.items()):
        click.echo(f"  wechat.{table}: {rows} rows")
    for line in result.drift.lines():
        click.echo(f"  warning: {line}")
    if facts_only or result.first is None or result.last is None:
        return
    # The marts replace the rebuilt days' rows (keys the archive no longer has go with them).
    build_marts(url, settings.home, (result.first, result.last), [account] if account else ())
    click.echo(f"marts rebuilt for {result.first} .. {result.last}")
