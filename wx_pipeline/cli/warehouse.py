"""CLI commands of the warehouse room: `warehouse migrate`, `warehouse grant-bi`, `purge`.

Registered on the `wx-pipeline` group in `cli.py`; the heavy imports happen inside the commands
so `wx-pipeline --help` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from wx_pipeline.core.errors import WxUserError

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
