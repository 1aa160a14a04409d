"""The late-data refresh rebuilds the marts only when WeChat restated something since.

The refresh re-pulls the article endpoints WeChat revises; its marts' run costs a whole dbt
build. Here the refresh runs three times for the same day through Dagster, as its schedule asks,
and the `analytics_after_ingestion` sensor is evaluated after each: the first loads the day
(marts follow), the second gets the same answers (no marts' run), and after the simulator
restates the day the third does (marts follow, for that day).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import pytest

from wx_pipeline.cli.instance import open_instance
from wx_pipeline.cli.runner import execute_job
from wx_pipeline.core.clock import newest_final_day
from wx_pipeline.core.settings import get_settings
from wx_pipeline.defs.resources import WarehouseResource
from wx_pipeline.simulator import SimAccount, SimulatorConfig, run_in_thread
from wx_pipeline_tests.e2e.harness import configure

pytestmark = pytest.mark.slow

ACCOUNT = SimAccount(app_id="wxlate000000000001", secret="l" * 32, name="Late", followers=40_000)


def _refresh_then_sensor(
    defs: dg.Definitions, instance: dg.DagsterInstance, now: datetime
) -> tuple[dict[str, int], dg.RunRequest | dg.SkipReason]:
    """The late-data schedule's run at ``now``, then what the sensor asks for after it; with
    the run's `chunks_changed` per asset."""
    schedule = defs.resolve_schedule_def("late_data_refresh")
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=now, repository_def=defs.get_repository_def()
    )
    (request,) = schedule.evaluate_tick(context).run_requests or []
    assert request.partition_key is not None
    tags = {**request.tags, "dagster/partition": request.partition_key}
    result = execute_job(get_settings(), defs, instance, "late_data", tags)
    assert result.success
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    changed: dict[str, int] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        figure = materialization.metadata["chunks_changed"]
        assert isinstance(figure, dg.IntMetadataValue)
        assert figure.value is not None
        changed[materialization.asset_key.to_user_string()] = figure.value
    sensor = defs.resolve_sensor_def("analytics_after_ingestion")
    sensor_context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=dg.DagsterEvent(
            event_type_value=dg.DagsterEventType.RUN_SUCCESS.value, job_name="late_data"
        ),
        dagster_instance=instance,
        dagster_run=run,
        resources={"warehouse": WarehouseResource()},
    )
    answer = sensor(sensor_context)
    assert isinstance(answer, dg.RunRequest | dg.SkipReason)
    return changed, answer


def test_the_late_refresh_rebuilds_the_marts_only_after_a_restatement(
    new_database: Callable[[str], str], tmp_path: Path, pinned_now: datetime
) -> None:
    day: date = newest_final_day(pinned_now)
    config = SimulatorConfig(seed=31, now=pinned_now, accounts=[ACCOUNT])
    with run_in_thread(config) as sim, pytest.MonkeyPatch.context() as mp:
        configure(mp, tmp_path, sim, new_database("late"), [ACCOUNT], pinned_now)
        with open_instance(get_settings()) as (defs, instance):
            first = _refresh_then_sensor(defs, instance, pinned_now)
            same = _refresh_then_sensor(defs, instance, pinned_now)
            sim.restate({day: 1})
            restated = _refresh_then_sensor(defs, instance, pinned_now)
        get_settings.cache_clear()

    window = {"wx/window_start": day.isoformat(), "wx/window_end": day.isoformat()}
    for changed, answer in (first, restated):
        assert sum(changed.values()) > 0, changed
        assert isinstance(answer, dg.RunRequest), answer
        assert window.items() <= answer.tags.items()
        # The marts downstream of the article figures only.
        rebuilt = {k.to_user_string() for k in answer.asset_selection or []}
        assert {"analytics/fct_article_performance", "analytics/report"} <= rebuilt
        assert "analytics/fct_follower_growth_daily" not in rebuilt
        assert not any(k.startswith("wechat/") for k in rebuilt)
    changed, answer = same
    assert changed
    assert set(changed.values()) == {0}, changed
    assert isinstance(answer, dg.SkipReason)
    assert "re-pulled the same rows" in (answer.skip_message or "")
