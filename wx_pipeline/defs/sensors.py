"""Sensors: what Dagster starts when something else has happened.

``analytics_after_ingestion``: every successful ingestion run of daily data (the nightly and
late-data schedules, a job launched from the UI, an asset backfill, the history fill) is
followed by one ``analytics`` run that rebuilds the marts for exactly the days (and accounts)
that run loaded: from its partition tags, or for the history fill from the coverage ledger. It
is on by default: the marts must never lag the facts because a toggle was forgotten. After a
late-data refresh it rebuilds only the marts downstream of what the refresh re-pulled (the
article figures): the others' inputs did not change, and a whole build is twice the time; and
none at all when the refresh changed no fact row (WeChat restated nothing since the nightly
run), as its materialisations' ``chunks_changed`` say: most days, on a real installation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import dagster as dg

from wx_pipeline.defs.history import HISTORY_JOB, marts_tags_after
from wx_pipeline.defs.ingestion import CHUNKS_CHANGED, IngestionGroup
from wx_pipeline.defs.partitions import run_window, window_tags
from wx_pipeline.defs.resources import WarehouseResource
from wx_pipeline.defs.schedules import ANALYTICS_JOB, INGESTION_JOBS
from wx_pipeline.defs.tags import accounts_tags, run_accounts
from wx_pipeline.registry import Period

if TYPE_CHECKING:  # define_asset_job's return type, not exported by dagster itself
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


def build_analytics_sensor(
    analytics: UnresolvedAssetJobDefinition,
    groups: Sequence[IngestionGroup],
    marts_after: Mapping[str, Sequence[dg.AssetKey]] | None = None,
) -> dg.SensorDefinition:
    """``marts_after``: for a job whose runs re-pull only some assets (the late-data refresh),
    the assets of ``analytics`` downstream of them, the only ones its marts' run rebuilds, if
    the run changed any fact row; every other run's marts' run rebuilds all."""
    daily = {g.key for g in groups if g.period is Period.DAY}
    subsets = dict(marts_after or {})

    @dg.run_status_sensor(
        name="analytics_after_ingestion",
        run_status=dg.DagsterRunStatus.SUCCESS,
        request_job=analytics,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"After each successful ingestion run of daily data, an `{ANALYTICS_JOB}` "
        "run rebuilds the marts for the days it loaded.",
    )
    def analytics_after_ingestion(
        context: dg.RunStatusSensorContext, warehouse: WarehouseResource
    ) -> dg.RunRequest | dg.SkipReason:
        run = context.dagster_run
        if run.job_name == HISTORY_JOB:
            with warehouse.engine().connect() as conn:
                after = marts_tags_after(conn, run.run_id)
            if after is None:
                return dg.SkipReason(f"run {run.run_id} loaded nothing")
            return dg.RunRequest(run_key=run.run_id, tags=after)
        loaded_daily = run.job_name in INGESTION_JOBS or bool(
            run.asset_selection and run.asset_selection & daily
        )
        window = run_window(run.tags)
        if not loaded_daily or window is None:
            return dg.SkipReason(f"run {run.run_id} loaded no daily partitions")
        if run.job_name in subsets and not changed_rows(context.instance, run.run_id):
            return dg.SkipReason(f"run {run.run_id} re-pulled the same rows: the marts stand")
        # The same days, and the same accounts when the run was limited to some.
        tags = {**window_tags(*window), **accounts_tags(run_accounts(run.tags))}
        return dg.RunRequest(
            run_key=run.run_id, tags=tags, asset_selection=subsets.get(run.job_name)
        )

    return analytics_after_ingestion


def changed_rows(instance: dg.DagsterInstance, run_id: str) -> bool:
    """Whether the run's loads changed any fact row, by its materialisations' metadata (one
    without the figure counts as a change)."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    for record in records:
        materialization = record.asset_materialization
        figure = materialization.metadata.get(CHUNKS_CHANGED) if materialization else None
        if not isinstance(figure, dg.IntMetadataValue) or figure.value != 0:
            return True
    return False
