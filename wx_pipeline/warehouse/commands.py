"""CLI commands of the warehouse room: `warehouse migrate`, `warehouse grant-bi`, `renormalize`.

Registered on the `wx-pipeline` group in `cli.py`; the heavy imports happen inside the commands
so `wx-pipeline --help` stays fast.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

import click

from wx_pipeline.errors import WxUserError

if TYPE_CHECKING:
    import sqlalchemy as sa


def _engine() -> sa.Engine:
    from wx_pipeline.settings import get_settings
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
def renormalize_command(
    endpoints: tuple[str, ...], start: date | None, end: date | None, account: str | None
) -> None:
    """Rebuild fact tables from the raw archive (wechat_raw.api_response), without API calls."""
    from wx_pipeline.warehouse.migrate import migrate
    from wx_pipeline.warehouse.renormalize import renormalize
    from wx_pipeline.wechat import endpoints as registry

    if start and end and start > end:
        raise WxUserError(f"--start {start} is after --end {end}")
    for name in endpoints:
        if name not in registry.BY_NAME:
            raise WxUserError(f"unknown endpoint {name!r}; known: {', '.join(registry.BY_NAME)}")
    run_id = f"renormalize-{uuid.uuid4().hex[:12]}"
    engine = _engine()
    try:
        migrate(engine)
        result = renormalize(
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
    if result.unknown_fields:
        drift = ", ".join(f"{k} ({n})" for k, n in result.unknown_fields.most_common())
        click.echo(f"  unknown fields (kept in the archive): {drift}")
    if result.unknown_codes:
        codes = ", ".join(f"{c}={v} ({n})" for (c, v), n in result.unknown_codes.most_common())
        click.echo(f"  unknown codes (kept): {codes}")


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
