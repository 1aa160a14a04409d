"""Freshness: each daily asset's newest final day must be loaded by 10:00 Beijing; a miss is a
failed ERROR check (red in the UI, alerted by the check sensor); Dagster's clock is pinned."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._core.test_utils import freeze_time

from wx_pipeline.core.settings import load_settings
from wx_pipeline.definitions import build_definitions
from wx_pipeline.defs.freshness import deadline_cron
from wx_pipeline.defs.ingestion import ingestion_groups
from wx_pipeline.registry import ENDPOINTS, Period

BEIJING = ZoneInfo("Asia/Shanghai")
DAILY = {g.key for g in ingestion_groups(list(ENDPOINTS)) if g.period is Period.DAY}
FOLLOWERS = dg.AssetKey(["wechat", "followers"])


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_definitions(load_settings())


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def _freshness_keys(defs: dg.Definitions) -> set[dg.AssetCheckKey]:
    keys = defs.resolve_asset_graph().asset_check_keys
    return {k for k in keys if k.name == "freshness_check"}


def _evaluate(
    defs: dg.Definitions, instance: dg.DagsterInstance, at: datetime
) -> dict[dg.AssetKey, dg.AssetCheckEvaluation]:
    """The freshness checks of the followers asset as the sensor's run evaluates them at ``at``."""
    checks = {k for k in _freshness_keys(defs) if k.asset_key == FOLLOWERS}
    job = dg.define_asset_job("freshness_now", selection=dg.AssetSelection.checks(*checks))
    local = dg.Definitions(
        assets=[defs.resolve_assets_def(FOLLOWERS)],
        asset_checks=[defs.resolve_asset_graph().assets_def_for_key(next(iter(checks)))],
        jobs=[job],
    )
    with freeze_time(at):
        result = local.resolve_job_def("freshness_now").execute_in_process(instance=instance)
    return {e.asset_key: e for e in result.get_asset_check_evaluations()}


def _loaded(instance: dg.DagsterInstance, day: date) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=FOLLOWERS, partition=day.isoformat())
    )


def test_every_daily_asset_has_an_error_freshness_check(defs: dg.Definitions) -> None:
    keys = _freshness_keys(defs)
    assert {k.asset_key for k in keys} == DAILY
    graph = defs.resolve_asset_graph()
    for key in keys:
        spec = graph.get_check_spec(key)
        assert spec.metadata["dagster/freshness_params"].value["deadline_cron"] == "0 10 * * *"
        assert spec.metadata["dagster/freshness_params"].value["timezone"] == "Asia/Shanghai"
    assert defs.resolve_sensor_def("freshness_checks").default_status == (
        dg.DefaultSensorStatus.RUNNING
    )


def test_the_deadline_follows_the_data_ready_time() -> None:
    assert deadline_cron(time(8, 0)) == "0 10 * * *"
    assert deadline_cron(time(9, 30)) == "30 11 * * *"


def test_a_missing_newest_final_day_fails_after_ten(
    defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    # 10:30 Beijing on 2026-03-18: 03-17 has been final since 08:00 and is not loaded.
    _loaded(instance, date(2026, 3, 16))
    at = datetime(2026, 3, 18, 10, 30, tzinfo=BEIJING)
    evaluation = _evaluate(defs, instance, at)[FOLLOWERS]
    assert not evaluation.passed
    assert evaluation.severity is dg.AssetCheckSeverity.ERROR
    _loaded(instance, date(2026, 3, 17))
    assert _evaluate(defs, instance, at)[FOLLOWERS].passed


def test_before_the_deadline_the_previous_day_is_enough(
    defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    # 09:30 Beijing: 03-17 is final but its nightly run still has until 10:00.
    _loaded(instance, date(2026, 3, 16))
    at = datetime(2026, 3, 18, 9, 30, tzinfo=BEIJING)
    assert _evaluate(defs, instance, at)[FOLLOWERS].passed


def test_ingestion_runs_leave_freshness_to_its_sensor(defs: dg.Definitions) -> None:
    """A run cannot judge freshness (that is the clock's business), and in a backfill Dagster
    would plan each freshness check once per partition."""
    for name in ("daily", "late_data"):
        planned = defs.resolve_job_def(name).asset_layer.asset_graph.asset_check_keys
        assert planned, name  # the run's own checks remain
        assert not planned & _freshness_keys(defs), name
