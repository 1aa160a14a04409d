"""The Dagster instance the CLI runs in, and ``wx-pipeline dev`` (the UI and daemon on it).

Both use one instance under ``$WX_HOME/dagster`` whose storage is Postgres (the embedded
server's ``dagster`` database, or the configured warehouse), so a run started by
``wx-pipeline run`` shows up in the UI of ``wx-pipeline dev`` with every partition's status.
Event writes are batched (``DAGSTER_EVENT_BATCH_SIZE``): Dagster writes one event per asset
and partition, and at a year of partitions that bookkeeping dominates a run.

The instance's settings reach Dagster as environment variables, set only while an instance is
open (``scoped_environ``) or for the ``dagster dev`` child: the storage URL because a password
must not land in ``dagster.yaml``, and the event batching and planned-events switches because
Dagster reads those two from ``os.environ`` and nowhere else.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from wx_pipeline.core.errors import WxUserError
from wx_pipeline.core.settings import Settings
from wx_pipeline.runtime.environ import scoped_environ
from wx_pipeline.runtime.supervise import supervise

#: Events per write to the instance's event log; measured in bench/backfill.py.
EVENT_BATCH_SIZE = 1000
#: One "materialisation planned" event per asset and run instead of one per asset and partition.
#: Dagster plans every asset of a range run per partition, the unpartitioned dbt models too, and
#: stores those events one by one: 48 keys x 365 days took ~220 s of a year's backfill before
#: its first step (bench/backfill.py). The cost: partitions of a failed run show as missing, not
#: failed, and a running backfill's partitions are not shown in progress.
PLANNED_EVENTS_AS_SUBSET = True
#: API-bound ops that may run at once across all runs (the ``wechat_api`` pool).
API_POOL_LIMIT = 2

_DAGSTER_YAML = """\
# Written by wx-pipeline from the WX_* settings; edits are overwritten.
storage:
  postgres:
    postgres_url:
      env: WX_DAGSTER_STORAGE_URL
concurrency:
  pools:
    default_limit: {pool_limit}
    granularity: op
python_logs:  # the client's retry warnings show in the run's event log
  managed_python_loggers: [wx_pipeline]
  python_log_level: {log_level}
retention:  # the daemon's tick history, kept as long as the runs' detail (WX_RETENTION_DAYS)
  schedule:
    purge_after_days: {retention_days}
  sensor:
    purge_after_days:
      skipped: {skipped_days}
      failure: {retention_days}
      success: {retention_days}
telemetry:
  enabled: false
"""
#: Days a sensor's skipped ticks are kept (every 30 s, they say only that nothing happened).
SKIPPED_TICK_DAYS = 7


def dagster_home(settings: Settings) -> Path:
    return settings.home / "dagster"


def write_dagster_yaml(home: Path, log_level: str = "WARNING", retention_days: int = 90) -> Path:
    """Write the instance config into ``home`` (``DAGSTER_HOME``)."""
    home.mkdir(parents=True, exist_ok=True)
    text = _DAGSTER_YAML.format(
        pool_limit=API_POOL_LIMIT,
        log_level=log_level,
        retention_days=retention_days,
        skipped_days=min(SKIPPED_TICK_DAYS, retention_days),
    )
    (home / "dagster.yaml").write_text(text)
    return home


def prepare_instance(settings: Settings) -> dict[str, str]:
    """Write ``dagster.yaml`` under WX_HOME and return the environment Dagster needs.

    The storage URL reaches Dagster through an environment variable, so a password never
    lands in a file or in the UI.
    """
    from wx_pipeline.warehouse.embedded import ensure_database, warehouse_url

    home = write_dagster_yaml(dagster_home(settings), settings.log_level, settings.retention_days)
    url = warehouse_url(settings)
    if settings.warehouse_url is None:
        url = ensure_database(url, "dagster")  # the embedded server: keep run history apart
    storage = make_url(url).set(drivername="postgresql+psycopg2")  # dagster-postgres' driver
    return {
        "DAGSTER_HOME": str(home),
        "WX_DAGSTER_STORAGE_URL": storage.render_as_string(hide_password=False),
        "DAGSTER_EVENT_BATCH_SIZE": str(EVENT_BATCH_SIZE),
        "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": str(PLANNED_EVENTS_AS_SUBSET).lower(),
    }


#: How long `dagster dev` gets to stop its services after a stop signal (a container stop
#: waits 10 s before SIGKILL).
DEV_STOP_GRACE = 7.0


def dev(settings: Settings, host: str, port: int) -> None:
    """The Dagster UI and daemon on ``workspace.yaml``, until a stop signal (`dagster dev`
    treats SIGTERM as Ctrl-C: it shuts its services down in order; see supervise.py)."""
    env = {**os.environ, **prepare_instance(settings)}
    dagster = Path(sys.executable).with_name("dagster")
    executable = str(dagster) if dagster.exists() else shutil.which("dagster") or "dagster"
    argv = [executable, "dev", "-w", str(_workspace_file()), "-h", host, "-p", str(port)]
    sys.exit(supervise(argv, env, grace=DEV_STOP_GRACE))


def _workspace_file() -> Path:
    for candidate in (Path.cwd() / "workspace.yaml", Path(__file__).parents[2] / "workspace.yaml"):
        if candidate.exists():
            return candidate
    raise WxUserError("workspace.yaml not found: run from the wx-pipeline checkout")


def _definitions(settings: Settings) -> Any:
    """The code location's definitions for ``settings`` (the module's own when they are the
    process's settings: building them again costs half a second)."""
    from wx_pipeline import definitions

    if settings == definitions.SETTINGS:
        return definitions.defs
    return definitions.build_definitions(settings)


@contextmanager
def open_instance(settings: Settings) -> Iterator[tuple[Any, Any]]:
    """(definitions, instance) for in-process runs recorded in the UI's instance."""
    import dagster as dg

    from wx_pipeline.warehouse.db import require_reachable

    if settings.warehouse_url is not None:  # one line, not Dagster's traceback
        require_reachable(settings.warehouse_url)
    with scoped_environ(prepare_instance(settings)):
        defs = _definitions(settings)
        # Entered, the instance is also the one definitions load against (Dagster looks
        # its state storage up from context).
        with dg.DagsterInstance.get() as instance:
            # dagster-postgres otherwise opens a connection per event write and query: ~3 s
            # of a year's run. A long-lived process may hold a small pool, as the UI does.
            instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=4)
            reap_dead_runs(instance, settings)
            yield defs, instance


def process_tags() -> dict[str, str]:
    """Which process runs a run of `wx-pipeline run` (no daemon watches those)."""
    from wx_pipeline.defs.tags import RUN_HOST_TAG, RUN_PID_TAG

    return {RUN_HOST_TAG: socket.gethostname(), RUN_PID_TAG: str(os.getpid())}


def alert_failure(
    settings: Settings, job: str, tags: dict[str, str], failure: str, run_id: str
) -> None:
    """The message Dagster's run-failure sensor would post; it leaves runs tagged with a
    process to that process, so the team gets each failure once, daemon running or not."""
    if settings.alert_webhook is None:
        return
    from wx_pipeline.defs.alerts import run_failure_message
    from wx_pipeline.runtime.alerts import post_alert

    text = run_failure_message(job, tags, failure, settings.ui_url, run_id)
    post_alert(settings.alert_webhook.get_secret_value(), text)


def reap_dead_runs(instance: Any, settings: Settings | None = None) -> list[str]:
    """Runs that a `wx-pipeline` process of this host started and that died with it (killed,
    out of memory): marked failed, their pool slots freed and alerted, as Dagster's run
    monitoring does for runs it launched, so a later run does not wait on slots no one holds.
    Returns their ids.
    """
    import dagster as dg
    import psutil

    from wx_pipeline.defs.tags import RUN_HOST_TAG, RUN_PID_TAG

    alive = {dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED}
    runs = instance.get_runs(
        filters=dg.RunsFilter(statuses=list(alive), tags={RUN_HOST_TAG: socket.gethostname()})
    )
    reaped = []
    for run in runs:
        pid = int(run.tags.get(RUN_PID_TAG, "0"))
        record = instance.get_run_record_by_id(run.run_id)
        started = record.start_time if record and record.start_time else 0.0
        try:
            # The same pid, started after the run: another process now.
            gone = psutil.Process(pid).create_time() > started + 1
        except (psutil.NoSuchProcess, ValueError):
            gone = True
        if pid and gone:
            said = "the wx-pipeline process running it ended before the run did (killed)"
            instance.report_run_failed(run, said)
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            if settings is not None:
                alert_failure(settings, run.job_name, run.tags, said, run.run_id)
            reaped.append(run.run_id)
    return reaped
