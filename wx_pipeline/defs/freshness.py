"""Freshness: every daily asset must hold its newest final day two hours after that day became
final (10:00 Beijing with the default ``WX_DATA_READY_TIME`` of 08:00).

Dagster's own time-partition freshness checks: after the deadline, a check fails when the
newest complete partition (the newest final day, see ``partitions.py``) is not materialised.
They are ERROR checks, so a missed nightly run is red in the UI and reaches the team through
``alert_on_check_failure``. Dagster's freshness sensor evaluates them; it is on by default.

Not ``FreshnessPolicy.cron``, which Dagster now prefers: it judges the latest materialisation of
any partition, so a history fill of 2015 at 09:00 would make a missing yesterday look fresh.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import datetime, time, timedelta

import dagster as dg

from wx_pipeline.defs.partitions import TIMEZONE

#: Time given to the nightly run (and one retry) after a day becomes final.
GRACE = timedelta(hours=2)


def deadline_cron(ready: time) -> str:
    """The daily cron (Beijing) by which the newest final day must be loaded."""
    due = (datetime.combine(datetime.min, ready) + GRACE).time()
    return f"{due.minute} {due.hour} * * *"


def build_freshness(
    daily_assets: Sequence[dg.AssetsDefinition], ready: time
) -> tuple[Sequence[dg.AssetChecksDefinition], dg.SensorDefinition]:
    """The freshness checks of ``daily_assets`` and the sensor that evaluates them."""
    warnings.filterwarnings("ignore", category=dg.SupersessionWarning, module=__name__)
    checks = dg.build_time_partition_freshness_checks(
        assets=daily_assets,
        deadline_cron=deadline_cron(ready),
        timezone=TIMEZONE,
        severity=dg.AssetCheckSeverity.ERROR,
    )
    sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=checks,
        name="freshness_checks",
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    return checks, sensor
