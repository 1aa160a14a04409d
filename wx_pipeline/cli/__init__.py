"""The `wx-pipeline` command line, one module per family of commands: `pipeline.py` (run,
history, status, report, docs, dev, renormalize), `warehouse.py` (the warehouse group, purge,
dbt), `bi.py`, `platform.py` (the Open Platform's receiver and tickets), `simulator.py`; and
what they run the pipeline with: `instance.py` (the Dagster instance, `dev`), `runner.py`
(in-process runs, a failure in one line), `summary.py` (what a run prints).

Adding a command is one small function in its family's module, registered below: import the
implementing module inside the function so `wx-pipeline --help` stays fast, and raise a
`WxUserError` subclass for anything the user can fix; the top-level group turns those into one
line on stderr and exit status 2.
"""

from __future__ import annotations

from typing import Any

import click

from wx_pipeline import __version__
from wx_pipeline.cli import bi, pipeline, warehouse
from wx_pipeline.cli.platform import component_receiver, component_ticket
from wx_pipeline.cli.simulator import simulator
from wx_pipeline.core.errors import WxUserError

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


for command in (
    pipeline.run,
    pipeline.history,
    pipeline.status,
    pipeline.report,
    pipeline.docs,
    pipeline.dev,
    pipeline.renormalize,
    warehouse.warehouse,
    warehouse.purge_command,
    warehouse.dbt,
    bi.bi,
    simulator,
    component_receiver,
    component_ticket,
):
    main.add_command(command)
