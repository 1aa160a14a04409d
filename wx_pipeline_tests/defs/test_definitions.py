"""The Dagster definitions: they load, their shape is pinned, schedules pick Beijing days."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from wx_pipeline.core.settings import load_settings
from wx_pipeline.definitions import build_definitions
from wx_pipeline.defs.ingestion import POOL, ingestion_groups
from wx_pipeline.defs.resources import WarehouseResource
from wx_pipeline.defs.schedules import late_day
from wx_pipeline.registry import ENDPOINTS
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.migrate import migrate

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_definitions(load_settings())


def _partitions(p: dg.PartitionsDefinition | None) -> Any:
    if p is None:
        return None
    assert isinstance(p, dg.TimeWindowPartitionsDefinition)
    return {"cron": p.cron_schedule, "start": p.start.isoformat(), "timezone": p.timezone}


def _shape(defs: dg.Definitions) -> dict[str, Any]:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        if not node.is_materializable:
            continue
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "partitions": _partitions(node.partitions_def),
            "pools": sorted(node.pools or []),
            "kinds": sorted(node.kinds),
            "checks": sorted(c.name for c in node.check_keys),
        }
    schedules = {
        s.name: {
            "cron": s.cron_schedule,
            "timezone": s.execution_timezone,
            "job": s.job_name,
        }
        for s in defs.get_repository_def().schedule_defs
    }
    return {"assets": assets, "schedules": schedules}


def test_definitions_load(defs: dg.Definitions) -> None:
    dg.Definitions.validate_loadable(defs)
    jobs = {j.name for j in defs.resolve_all_job_defs()}
    assert jobs >= {"daily", "late_data", "weekly", "monthly"}


def test_every_endpoint_has_exactly_one_asset() -> None:
    groups = ingestion_groups(list(ENDPOINTS))
    names = [e.name for g in groups for e in g.endpoints]
    assert sorted(names) == sorted(e.name for e in ENDPOINTS)


def test_shape_matches_snapshot(defs: dg.Definitions) -> None:
    """Asset keys, groups, partitions, pools, checks and schedules are pinned; to accept a
    deliberate change, rerun with UPDATE_SNAPSHOTS=1 and review the diff."""
    shape = _shape(defs)
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(shape, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    assert shape == json.loads(SNAPSHOT.read_text())


def test_ingestion_assets_share_the_api_pool(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    wechat = [k for k in graph.get_all_asset_keys() if k.path[0] == "wechat"]
    assert wechat
    for key in wechat:
        assert graph.get(key).pools == {POOL}


@pytest.mark.parametrize(
    ("tick_utc", "partition"),
    [
        # 08:30 Beijing is 00:30 UTC: the UTC date is already the Beijing date.
        (datetime(2026, 3, 10, 0, 30, tzinfo=UTC), "2026-03-09"),
        # Month and year boundaries.
        (datetime(2026, 3, 1, 0, 30, tzinfo=UTC), "2026-02-28"),
        (datetime(2027, 1, 1, 0, 30, tzinfo=UTC), "2026-12-31"),
    ],
)
def test_nightly_schedule_picks_yesterday_in_beijing(
    defs: dg.Definitions, tick_utc: datetime, partition: str
) -> None:
    schedule = defs.resolve_schedule_def("nightly")
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=tick_utc,
            repository_def=defs.get_repository_def(),
        )
        data = schedule.evaluate_tick(context)
    assert data.run_requests is not None
    assert [r.partition_key for r in data.run_requests] == [partition]


def test_nightly_schedule_runs_at_0830_beijing(defs: dg.Definitions) -> None:
    schedule = defs.resolve_schedule_def("nightly")
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert schedule.cron_schedule == "30 8 * * *"


@pytest.mark.parametrize(
    ("tick_utc", "expected"),
    [
        # 10:00 Beijing is 02:00 UTC: yesterday is final.
        (datetime(2026, 3, 10, 2, 0, tzinfo=UTC), date(2026, 3, 9)),
        # 16:30 UTC on the 9th is 00:30 on the 10th in Beijing: the 9th is not final yet.
        (datetime(2026, 3, 9, 16, 30, tzinfo=UTC), date(2026, 3, 8)),
        # 07:59 Beijing on the 10th: still the 8th.
        (datetime(2026, 3, 9, 23, 59, tzinfo=UTC), date(2026, 3, 8)),
    ],
)
def test_late_day_is_the_newest_final_day(tick_utc: datetime, expected: date) -> None:
    assert late_day(tick_utc, time(8, 0)) == expected


@pytest.mark.parametrize(
    ("schedule_name", "tick_utc", "partition"),
    [
        # Monday 2026-03-23 09:00 Beijing: the week of Monday 16th ended and is final.
        ("weekly", datetime(2026, 3, 23, 1, 0, tzinfo=UTC), "2026-03-16"),
        # April 1st 09:30 Beijing: March is final.
        ("monthly", datetime(2026, 4, 1, 1, 30, tzinfo=UTC), "2026-03-01"),
    ],
)
def test_period_schedules_pick_the_newest_final_period(
    defs: dg.Definitions, schedule_name: str, tick_utc: datetime, partition: str
) -> None:
    schedule = defs.resolve_schedule_def(schedule_name)
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=tick_utc,
            repository_def=defs.get_repository_def(),
        )
        data = schedule.evaluate_tick(context)
    assert data.run_requests is not None
    assert [r.partition_key for r in data.run_requests] == [partition]


def test_schedules_and_partitions_follow_the_data_ready_time(wx_env: pytest.MonkeyPatch) -> None:
    wx_env.setenv("WX_DATA_READY_TIME", "10:15")
    defs = build_definitions(load_settings())
    with dg.instance_for_test():
        crons = {s.name: s.cron_schedule for s in defs.get_repository_def().schedule_defs}
    assert crons == {
        "nightly": "45 10 * * *",
        "weekly": "15 11 * * 1",
        "monthly": "45 11 1 * *",
        "late_data_refresh": "15 12 * * *",
        "history_fill": "15 13 * * *",
        "retention": "45 13 * * *",
    }
    followers = defs.resolve_asset_graph().get(dg.AssetKey(["wechat", "followers"]))
    partitions = followers.partitions_def
    assert isinstance(partitions, dg.TimeWindowPartitionsDefinition)
    window = partitions.time_window_for_partition_key("2026-03-17")
    assert (window.start.hour, window.start.minute) == (10, 15)
    assert window.end.date() == date(2026, 3, 18)


@pytest.mark.parametrize(
    ("job_name", "tags", "window"),
    [
        (
            "daily",
            {
                "dagster/asset_partition_range_start": "2026-03-01",
                "dagster/asset_partition_range_end": "2026-03-07",
            },
            ("2026-03-01", "2026-03-07"),
        ),
        # late_data: e2e/test_late_data.py (its marts' run depends on what the run loaded)
        ("weekly", {"dagster/partition": "2026-03-02"}, None),  # the marts use no weekly facts
    ],
)
def test_marts_follow_every_successful_daily_ingestion(
    defs: dg.Definitions, job_name: str, tags: dict[str, str], window: tuple[str, str] | None
) -> None:
    sensor = defs.get_sensor_def("analytics_after_ingestion")
    assert sensor.default_status is dg.DefaultSensorStatus.RUNNING
    with dg.instance_for_test() as instance:
        run = instance.create_run_for_job(
            defs.resolve_job_def(job_name), tags=tags, status=dg.DagsterRunStatus.SUCCESS
        )
        event = dg.DagsterEvent(
            event_type_value=dg.DagsterEventType.RUN_SUCCESS.value, job_name=job_name
        )
        context = dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=event,
            dagster_instance=instance,
            dagster_run=run,
            resources={"warehouse": WarehouseResource(url="postgresql://unused/here")},
        )
        result = sensor(context)
    if window is None:
        assert isinstance(result, dg.SkipReason)
    else:
        assert isinstance(result, dg.RunRequest)
        assert result.run_key == run.run_id
        assert (result.tags["wx/window_start"], result.tags["wx/window_end"]) == window
        assert result.asset_selection is None  # every mart


def test_marts_follow_a_history_fill_over_what_it_loaded(
    defs: dg.Definitions, database_url: str
) -> None:
    """The fill's days and accounts are not in its tags: the ledger says what the run loaded."""
    migrate(database_url)
    sensor = defs.get_sensor_def("analytics_after_ingestion")
    with dg.instance_for_test() as instance:
        run = instance.create_run_for_job(
            defs.resolve_job_def("history_fill"), status=dg.DagsterRunStatus.SUCCESS
        )
        engine = make_engine(database_url)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "insert into wechat_meta.coverage (account_id, endpoint, day, rows, final, "
                    "run_id) values ('wxb', 'getusersummary', '2021-05-01', 3, true, :r), "
                    "('wxa', 'getusersummary', '2020-01-31', 3, true, :r), "
                    "('wxc', 'getusersummary', '2019-01-01', 3, true, 'another-run')"
                ),
                {"r": run.run_id},
            )
        engine.dispose()
        context = dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=dg.DagsterEvent(
                event_type_value=dg.DagsterEventType.RUN_SUCCESS.value, job_name="history_fill"
            ),
            dagster_instance=instance,
            dagster_run=run,
            resources={"warehouse": WarehouseResource(url=database_url)},
        )
        result = sensor(context)
    assert isinstance(result, dg.RunRequest)
    assert result.tags == {
        "wx/window_start": "2020-01-31",
        "wx/window_end": "2021-05-01",
        "wx/accounts": "wxa,wxb",
    }
