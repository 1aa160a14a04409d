"""The Dagster code location: ``dagster dev -w workspace.yaml`` and ``wx-pipeline run`` load it."""

from __future__ import annotations

import warnings

import dagster as dg

from wx_pipeline.core.settings import Settings, get_settings
from wx_pipeline.defs.alerts import build_alert_sensors
from wx_pipeline.defs.checks import build_reconciliation_checks
from wx_pipeline.defs.dbt import build_dbt_assets, dbt_resource
from wx_pipeline.defs.exposures import exposure_specs
from wx_pipeline.defs.freshness import build_freshness
from wx_pipeline.defs.history import build_coverage_checks, history_fill, history_schedule
from wx_pipeline.defs.ingestion import asset_key_by_table, build_ingestion_asset, ingestion_groups
from wx_pipeline.defs.report import build_report_assets
from wx_pipeline.defs.resources import WarehouseResource, WeChatApiResource
from wx_pipeline.defs.retention import retention, retention_schedule
from wx_pipeline.defs.schedules import ANALYTICS_JOB, build_jobs, build_schedules
from wx_pipeline.defs.sensors import build_analytics_sensor
from wx_pipeline.marts.run import MANIFEST_PATH, prepare_manifest
from wx_pipeline.registry import Period, with_spans

# single_run backfill policies and asset-check specs are marked beta/preview; they are what the
# pipeline is built on, so the warnings would only repeat at every load.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)


def build_definitions(settings: Settings) -> dg.Definitions:
    """Everything Dagster shows, derived from the registry and the ``WX_*`` settings."""
    groups = ingestion_groups(list(with_spans(settings.span_overrides).values()))
    ingestion = [
        build_ingestion_asset(g, settings.start_date, settings.data_ready_time) for g in groups
    ]
    if not MANIFEST_PATH.exists():  # normally prepared by `make install`; a fresh checkout once
        prepare_manifest()
    dbt = build_dbt_assets(asset_key_by_table(groups))
    readable = build_report_assets(dbt)
    daily = [a for g, a in zip(groups, ingestion, strict=True) if g.period is Period.DAY]
    freshness, freshness_sensor = build_freshness(daily, settings.data_ready_time)
    marts = dg.AssetSelection.assets(dbt, *readable)
    jobs = build_jobs(groups, marts, freshness)
    everything = [*ingestion, dbt, *readable]
    # After a late-data refresh, the marts that read what it re-pulled.
    late_marts = (jobs["late_data"].selection.downstream() & marts).resolve(everything)
    return dg.Definitions(
        assets=[*everything, *exposure_specs()],
        asset_checks=[
            build_reconciliation_checks(groups),
            build_coverage_checks(groups),
            *freshness,
        ],
        jobs=[*jobs.values(), history_fill, retention],
        schedules=[
            *build_schedules(jobs, groups, settings.data_ready_time),
            history_schedule(settings.data_ready_time),
            retention_schedule(settings.data_ready_time),
        ],
        sensors=[
            build_analytics_sensor(jobs[ANALYTICS_JOB], groups, {"late_data": sorted(late_marts)}),
            freshness_sensor,
            *build_alert_sensors(),
        ],
        resources={
            "wechat": WeChatApiResource(
                app_id=settings.app_id,
                app_secret=dg.EnvVar("WX_APP_SECRET") if settings.app_secret else None,
            ),
            "dbt": dbt_resource(),
            "warehouse": WarehouseResource(
                url=dg.EnvVar("WX_WAREHOUSE_URL") if settings.warehouse_url else None
            ),
        },
    )


#: The settings the code location was built with (``wx-pipeline run`` reuses ``defs`` for them).
SETTINGS = get_settings()
defs = build_definitions(SETTINGS)
