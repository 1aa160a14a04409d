"""The warehouse's commands: `warehouse start|stop|url|psql|migrate|grant-bi`, `purge`, and
`dbt` on the project against the warehouse."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from wx_pipeline.core.errors import WxUserError
from wx_pipeline.core.settings import get_settings

if TYPE_CHECKING:
    import sqlalchemy as sa


def _engine() -> sa.Engine:
    from wx_pipeline.core.settings import get_settings
    from wx_pipeline.warehouse.db import make_engine
    from wx_pipeline.warehouse.embedded import warehouse_url

    return make_engine(warehouse_url(get_settings()))


@click.command("migrate")
def migrate_command() -> None:
    """Bring the warehouse schemas (wechat, wechat_raw) to the newest migration."""
    from wx_pipeline.warehouse.migrate import current_revision, migrate

    engine = _engine()
    try:
        before = current_revision(engine)
        head = migrate(engine)
    finally:
        engine.dispose()
    if before == head:
        click.echo(f"warehouse schema up to date (revision {head})")
    else:
        click.echo(f"warehouse schema migrated from {before or 'empty'} to revision {head}")


@click.command("grant-bi")
@click.argument("role")
def grant_bi_command(role: str) -> None:
    """Give ROLE read-only access to the analytics and wechat schemas (present and future
    tables); nothing on wechat_raw, no writes, no CREATE."""
    from wx_pipeline.warehouse.grants import BI_SCHEMAS, grant_bi
    from wx_pipeline.warehouse.migrate import migrate

    engine = _engine()
    try:
        migrate(engine)
        grant_bi(engine, role)
    finally:
        engine.dispose()
    click.echo(f"{role} can now read {', '.join(BI_SCHEMAS)} (SELECT only)")


@click.command("purge")
@click.option(
    "--account", "account", required=True, metavar="APP_ID", help="The account to remove."
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge_command(account: str, yes: bool) -> None:
    """Delete one account's facts, raw answers, ledger and mart rows (one transaction)."""
    from wx_pipeline.warehouse.migrate import migrate
    from wx_pipeline.warehouse.purge import purge_account

    if not yes and not click.confirm(
        f"Delete every row of account {account} (facts, raw answers, ledger, marts)?",
        default=False,
    ):
        raise WxUserError("purge cancelled; nothing was deleted")
    engine = _engine()
    try:
        migrate(engine)
        deleted = purge_account(engine, account)
    finally:
        engine.dispose()
    if not deleted:
        click.echo(f"account {account} has no rows in the warehouse")
        return
    for table, rows in sorted(deleted.items()):
        click.echo(f"{table}: {rows:,} rows deleted")
    click.echo(f"account {account} purged ({sum(deleted.values()):,} rows)")


@click.group()
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


@click.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def dbt(args: tuple[str, ...]) -> None:
    """Run dbt on the project in dbt/ against the warehouse, e.g. `dbt build`."""
    from wx_pipeline.marts.run import needs_warehouse, run_dbt
    from wx_pipeline.warehouse.embedded import warehouse_url

    url = warehouse_url(get_settings()) if needs_warehouse(args) else None
    sys.exit(run_dbt(args, url).returncode)


def _display_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    # Only a real password is hidden; the embedded URL (no password) is shown exactly as `url`.
    parsed = make_url(url)
    return parsed.render_as_string(hide_password=True) if parsed.password else url


warehouse.add_command(migrate_command)
warehouse.add_command(grant_bi_command)
