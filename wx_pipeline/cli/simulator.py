"""``wx-pipeline simulator``: serve the datacube simulator in the foreground."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from wx_pipeline.core.errors import WxUserError

_RATE = click.FloatRange(0.0, 1.0)
_FAULT_OPTIONS = (
    ("system_busy", "errcode -1 (system busy)"),
    ("minute_limit", "errcode 45011 (per-minute limit)"),
    ("not_ready", "errcode 61503 (data not ready)"),
    ("http_500", "HTTP 500"),
    ("http_502", "HTTP 502"),
    ("http_503", "HTTP 503"),
    ("slow", "a slow answer (see --slow-seconds)"),
    ("reset", "connection closed mid-body"),
    ("truncated", "truncated JSON body"),
)


def _fault_options(func: click.decorators.FC) -> click.decorators.FC:
    for name, what in reversed(_FAULT_OPTIONS):
        flag = "--fault-" + name.replace("_", "-")
        func = click.option(
            flag,
            name,
            type=_RATE,
            default=0.0,
            show_default=True,
            help=f"Rate of {what} per datacube call.",
        )(func)
    return func


def _parse_now(text: str | None) -> datetime | None:
    if text is None:
        return None
    from wx_pipeline.core.settings import BEIJING

    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=BEIJING)
    except ValueError:
        raise WxUserError(
            f"--now: expected 'YYYY-MM-DD HH:MM' (Beijing time), got {text!r}"
        ) from None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8700, show_default=True, type=click.IntRange(0, 65535))
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of data and faults.")
@click.option(
    "--now",
    "now_text",
    metavar="'YYYY-MM-DD HH:MM'",
    help="Start the clock at this Beijing time (default: the real clock).",
)
@click.option(
    "--accounts",
    "accounts_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="YAML list of {app_id, name, secret | secret_env, followers, ip_whitelist}.",
)
@click.option(
    "--legacy-retired-from",
    type=click.DateTime(["%Y-%m-%d"]),
    help="From this Beijing date the six legacy article endpoints answer 47009.",
)
@click.option(
    "--daily-quota",
    default=1000,
    show_default=True,
    type=click.IntRange(1),
    help="Calls per account, endpoint and day (45009 beyond).",
)
@click.option(
    "--minute-quota",
    type=click.IntRange(1),
    help="Calls per account, endpoint and minute (45011 beyond).",
)
@click.option(
    "--latency-ms",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0.0),
    help="Delay every datacube answer by this much, like a real API's round trip.",
)
@_fault_options
@click.option("--slow-seconds", default=2.0, show_default=True, type=click.FloatRange(0.0))
@click.option(
    "--invalidate-token-every",
    type=click.IntRange(1),
    help="Invalidate an account's token every N datacube calls (40001).",
)
@click.option(
    "--component",
    is_flag=True,
    help="Simulate a third-party platform every account authorised (its credentials and each "
    "account's refresh token are printed; an accounts file's authorizer_refresh_token_env is "
    "used).",
)
@click.option(
    "--push-ticket-to",
    metavar="URL",
    help="With --component: push verify tickets (and authorisation events) to this "
    "authorisation event URL, e.g. http://127.0.0.1:8800/ (wx-pipeline component-receiver).",
)
@click.option(
    "--push-every",
    default=600.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds between two ticket pushes (WeChat: 10 minutes).",
)
def simulator(
    host: str,
    port: int,
    seed: int,
    now_text: str | None,
    accounts_file: Path | None,
    legacy_retired_from: datetime | None,
    daily_quota: int,
    minute_quota: int | None,
    latency_ms: float,
    slow_seconds: float,
    invalidate_token_every: int | None,
    component: bool,
    push_ticket_to: str | None,
    push_every: float,
    **rates: float,
) -> None:
    """Serve a local stand-in for the WeChat datacube API (faults off by default)."""
    from wx_pipeline.simulator.config import (
        FaultConfig,
        SimulatorConfig,
        demo_accounts,
        demo_component,
        load_accounts_file,
        load_refresh_tokens,
    )
    from wx_pipeline.simulator.server import SimulatorServer

    if push_ticket_to is not None and not component:
        raise WxUserError("--push-ticket-to: expected --component as well")
    retired: date | None = legacy_retired_from.date() if legacy_retired_from else None
    accounts = load_accounts_file(accounts_file) if accounts_file else None
    platform = None
    if component:
        given = load_refresh_tokens(accounts_file) if accounts_file else {}
        platform = demo_component(seed, accounts or demo_accounts(seed), given)
    config = SimulatorConfig(
        seed=seed,
        now=_parse_now(now_text),
        now_ticks=True,
        accounts=accounts,
        component=platform,
        push_ticket_to=push_ticket_to,
        push_every=push_every if push_ticket_to else None,
        faults=FaultConfig(
            slow_seconds=slow_seconds, invalidate_token_every=invalidate_token_every, **rates
        ),
        legacy_retired_from=retired,
        daily_quota=daily_quota,
        minute_quota=minute_quota,
        latency_ms=latency_ms,
    )
    try:
        server = SimulatorServer(config, host=host, port=port)
    except OSError as exc:
        raise WxUserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"WeChat datacube simulator on {server.base_url}  (seed {seed})")
    for account in server.accounts:
        click.echo(
            f"  {account.name}: app id: {account.app_id}  secret: {account.secret}"
            f"  (~{account.followers:,} followers)"
        )
    first = server.accounts[0]
    click.echo(
        f"Point a client at it: WX_API_BASE_URL={server.base_url} "
        f"WX_APP_ID={first.app_id} WX_APP_SECRET={first.secret}"
    )
    if platform is not None:
        click.echo(
            f"Third-party platform: WX_COMPONENT_APP_ID={platform.app_id} "
            f"WX_COMPONENT_APP_SECRET={platform.secret} WX_COMPONENT_TOKEN={platform.token} "
            f"WX_COMPONENT_AES_KEY={platform.aes_key}"
        )
        for authorizer in platform.authorizers:
            click.echo(f"  {authorizer.app_id}: refresh token: {authorizer.refresh_token}")
        if push_ticket_to:
            click.echo(f"Pushing verify tickets to {push_ticket_to} every {push_every:g} s")
        else:
            click.echo(f"New verify ticket: POST {server.base_url}/_sim/component/ticket")
    click.echo("Ctrl-C to stop.", err=True)
    server.serve_forever()
