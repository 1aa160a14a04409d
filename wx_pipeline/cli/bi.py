"""`wx-pipeline bi`: Apache Superset on the marts (`wx_pipeline/bi/`)."""

from __future__ import annotations

import click

from wx_pipeline.core.settings import get_settings


@click.group()
def bi() -> None:
    """Apache Superset on the marts: the dashboards kept in wx_pipeline/bi/assets."""


@bi.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8088, show_default=True)
def serve(host: str, port: int) -> None:
    """Set up Superset (the read-only role, its metadata, the admin, the dashboards) and run it
    until stopped; prints its address and where the admin's password is."""
    from wx_pipeline.bi.superset import serve as run_serve

    run_serve(get_settings(), host, port)


@bi.command()
@click.option("--url", default="http://127.0.0.1:8088", show_default=True, help="Superset.")
def export(url: str) -> None:
    """Take the charts and dashboards of a running Superset into wx_pipeline/bi/assets (to
    commit); the datasets stay generated from the dbt contracts and semantic layer."""
    from wx_pipeline.bi.superset import export as run_export

    changed = run_export(get_settings(), url)
    for path in changed:
        click.echo(path)
    click.echo(f"{len(changed)} file(s) changed")
