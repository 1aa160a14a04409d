"""The `wx-pipeline` command line.

Adding a command is one small function here: decorate it with `@main.command()` (or
`@warehouse.command()` for warehouse chores), import the implementing module inside the function
so `wx-pipeline --help` stays fast, and raise a `WxUserError` subclass for anything the user can
fix; the top-level group turns those into one line on stderr and exit status 2.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from wx_pipeline import __version__
from wx_pipeline.errors import WxUserError
from wx_pipeline.receiver.cli import component_receiver, component_ticket
from wx_pipeline.settings import get_settings
from wx_pipeline.simulator.cli import simulator
from wx_pipeline.warehouse.commands import (
    grant_bi_command,
    migrate_command,
    purge_command,
    renormalize_command,
)

# Exit status for errors the user can fix (click uses 2 for usage errors as well).
USER_ERROR_EXIT = 2


class _Cli(click.Group):
    """Reports `WxUserError` as `wx-pipeline: <one line>` and exit 2, without a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WxUserError as exc:
            message = " ".join(str(exc).split()) or type(exc).__name__
            click.echo(f"wx-pipeline: {message}", err=True)
            ctx.exit(USER_ERROR_EXIT)


@click.group(cls=_Cli)
@click.version_option(__version__, prog_name="wx-pipeline")
def main() -> None:
    """WeChat Official Account datacube analytics: API -> Postgres -> dbt marts."""


@main.group()
def warehouse() -> None:
    """The Postgres warehouse (embedded under WX_HOME unless WX_WAREHOUSE_URL is set)."""


@warehouse.command()
def start() -> None:
    """Start the embedded warehouse (or check the configured one) and print its URL."""
    from wx_pipeline.warehouse.db import require_reachable
    from wx_pipeline.warehouse.embedded import warehouse_url

    url = warehouse_url(get_settings())
    require_reachable(url)
    click.echo(_display_url(url))
    click.echo("warehouse ready")


@warehouse.command()
def stop() -> None:
    """Stop the embedded warehouse; its data stays under WX_HOME."""
    from wx_pipeline.warehouse.embedded import stop_embedded

    settings = get_settings()
    if settings.warehouse_url is not None:
        raise WxUserError("WX_WAREHOUSE_URL is set; that warehouse is not managed by wx-pipeline")
    click.echo("warehouse stopped" if stop_embedded(settings.home) else "warehouse not running")


@warehouse.command()
def url() -> None:
    """Print the warehouse URL (starting the embedded warehouse if needed)."""
    from wx_pipeline.warehouse.embedded import warehouse_url

    click.echo(warehouse_url(get_settings()))


@warehouse.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def psql(args: tuple[str, ...]) -> None:
    """Run psql on the warehouse; extra ARGS go to psql (e.g. -c 'select 1')."""
    from wx_pipeline.warehouse.embedded import libpq_url, psql_executable, warehouse_url

    target = libpq_url(warehouse_url(get_settings()))
    executable = str(psql_executable())
    sys.stdout.flush()
    sys.stderr.flush()
    # exec rather than a child process: Ctrl-C and the exit status belong to psql alone.
    os.execv(executable, [executable, "--dbname", target, *args])


@main.command()
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
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="APP_ID",
    help="Only this account (repeatable); default: every configured account.",
)
def run(
    start: Any, end: Any, days: int, groups: tuple[str, ...], accounts: tuple[str, ...]
) -> None:
    """Migrate, fetch and load a date range for every account, build the marts, summarise."""
    from datetime import timedelta

    from wx_pipeline.clock import newest_final
    from wx_pipeline.progress import live_progress
    from wx_pipeline.runner import check_range, print_summary, run_pipeline

    settings = get_settings()
    last = end.date() if end is not None else newest_final(settings)
    first = start.date() if start is not None else last - timedelta(days=days - 1)
    check_range(settings, first, last)
    with live_progress():
        summary = run_pipeline(settings, first, last, groups, accounts)
    print_summary(summary)


@main.command()
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="APP_ID",
    help="Only this account (repeatable); default: every configured account.",
)
def history(accounts: tuple[str, ...]) -> None:
    """Fill missing history within today's quota (newest days first), then the marts."""
    from wx_pipeline.progress import live_progress
    from wx_pipeline.runner import run_history

    with live_progress():
        result = run_history(get_settings(), accounts)
    click.echo(result.summary)
    click.echo(f"done in {result.seconds:.1f} s; runs: {', '.join(result.run_ids)}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def status(as_json: bool) -> None:
    """Per account: its credential (AppSecret, or the platform and whether that authorisation
    is live) and, per asset family, days loaded, gaps, provisional days, calls, history left."""
    import json

    from wx_pipeline import clock
    from wx_pipeline.defs.resources import configured_accounts
    from wx_pipeline.history import keeps_headroom
    from wx_pipeline.status import account_status, print_status
    from wx_pipeline.status import as_json as status_json
    from wx_pipeline.warehouse.db import make_engine
    from wx_pipeline.warehouse.embedded import warehouse_url
    from wx_pipeline.warehouse.migrate import migrate
    from wx_pipeline.wechat.endpoints import registry

    settings = get_settings()
    today = clock.now(settings).date()
    engine = make_engine(warehouse_url(settings))
    try:
        migrate(engine)
        with engine.connect() as conn:
            statuses = account_status(
                conn,
                configured_accounts(settings),
                list(registry(settings.span_overrides).values()),
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


@main.command()
@click.option("--account", "accounts", multiple=True, metavar="APP_ID", help="Only this account.")
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


@main.command()
@click.option("--port", default=8080, show_default=True)
def docs(port: int) -> None:
    """Serve the dbt docs of the marts (generated first when the pipeline has not yet)."""
    from wx_pipeline.dbt_project import dbt_executable, dbt_process_env, docs_dir, run_dbt
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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3000, show_default=True)
def dev(host: str, port: int) -> None:
    """The Dagster UI and daemon (backfills, schedules) on workspace.yaml."""
    from wx_pipeline.runner import dev as run_dev

    run_dev(get_settings(), host, port)


@main.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def dbt(args: tuple[str, ...]) -> None:
    """Run dbt on the project in dbt/ against the warehouse, e.g. `dbt build`."""
    from wx_pipeline.dbt_project import needs_warehouse, run_dbt
    from wx_pipeline.warehouse.embedded import warehouse_url

    url = warehouse_url(get_settings()) if needs_warehouse(args) else None
    sys.exit(run_dbt(args, url).returncode)


def _display_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    # Only a real password is hidden; the embedded URL (no password) is shown exactly as `url`.
    parsed = make_url(url)
    return parsed.render_as_string(hide_password=True) if parsed.password else url


main.add_command(simulator)
main.add_command(component_receiver)
main.add_command(component_ticket)
warehouse.add_command(migrate_command)
warehouse.add_command(grant_bi_command)
main.add_command(renormalize_command)
main.add_command(purge_command)

if __name__ == "__main__":
    main()
