"""``wx-pipeline component-receiver`` and ``wx-pipeline component-ticket store``."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from wx_pipeline.core.errors import WxUserError
from wx_pipeline.core.settings import COMPONENT_FIELDS, Component, Settings, env_name, get_settings


def _component(settings: Settings) -> Component:
    component = settings.component()
    if component is None:
        names = ", ".join(env_name(f) for f in COMPONENT_FIELDS)
        raise WxUserError(
            f"WX_COMPONENT_APP_ID: expected the third-party platform's settings ({names})"
        )
    return component


@click.command("component-receiver")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8800, show_default=True, type=click.IntRange(0, 65535))
def component_receiver(host: str, port: int) -> None:
    """Receive WeChat's pushes at the platform's authorisation event URL: check each push's
    signature, keep its ticket or authorisation event in the warehouse (behind an HTTPS proxy)."""
    import logging

    from wx_pipeline.receiver.server import ReceiverServer
    from wx_pipeline.warehouse.db import make_engine
    from wx_pipeline.warehouse.embedded import warehouse_url
    from wx_pipeline.warehouse.migrate import migrate

    settings = get_settings()
    component = _component(settings)
    engine = make_engine(warehouse_url(settings))
    migrate(engine)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")
    try:
        server = ReceiverServer(engine, component, host=host, port=port)
    except OSError as exc:
        raise WxUserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"component receiver for platform {component.app_id} on {server.url}")
    click.echo("Ctrl-C to stop.", err=True)
    try:
        server.serve_forever()
    finally:
        engine.dispose()


@click.group("component-ticket")
def component_ticket() -> None:
    """The platform's component_verify_ticket, for a platform server that receives it itself."""


@component_ticket.command("store")
@click.option(
    "--pushed-at",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M"]),
    help="When WeChat pushed it (default: now; a time without offset is Beijing time).",
)
def store(pushed_at: datetime | None) -> None:
    """Store the ticket read from stdin (never from the command line, which `ps` shows) as the
    newest, unless a later push is stored already."""
    from wx_pipeline.core import clock
    from wx_pipeline.core.settings import BEIJING
    from wx_pipeline.warehouse.component import store_ticket
    from wx_pipeline.warehouse.db import make_engine
    from wx_pipeline.warehouse.embedded import warehouse_url
    from wx_pipeline.warehouse.migrate import migrate

    settings = get_settings()
    component = _component(settings)
    stdin = sys.stdin
    if stdin.isatty():
        ticket = click.prompt("component_verify_ticket", hide_input=True, err=True)
    else:
        ticket = stdin.read()
    ticket = ticket.strip()
    if not ticket or any(c.isspace() for c in ticket):
        raise WxUserError("stdin: expected one component_verify_ticket (no spaces), got none")
    if pushed_at is None:
        when = clock.now(settings)
    else:
        when = pushed_at if pushed_at.tzinfo else pushed_at.replace(tzinfo=BEIJING)
    engine = make_engine(warehouse_url(settings))
    try:
        migrate(engine)
        stored = store_ticket(engine, component.app_id, ticket, when)
    finally:
        engine.dispose()
    if stored:
        click.echo(f"ticket stored for platform {component.app_id}")
    else:
        click.echo(f"a later ticket is stored for platform {component.app_id} already: kept it")
