"""The whole pipeline through Dagster, against the simulator over HTTP and a real Postgres.

What ``wx-pipeline run`` does for two weeks and two accounts must leave every fact table
equal, row for row, to what the simulator's truth API says the endpoints return; running it
again must change nothing; an account with a wrong secret must fail alone.

The run happens at the suite's pinned Beijing time (``TEST_NOW``: noon by default, or whatever
``WX_TEST_NOW`` says), shared by the pipeline's clock and the simulator's, and ends on the
newest day that is final then.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from wx_pipeline.cli.instance import prepare_instance
from wx_pipeline.cli.runner import RunFailedError
from wx_pipeline.cli.summary import RunSummary
from wx_pipeline.core.clock import newest_final_day
from wx_pipeline.core.settings import get_settings, load_settings
from wx_pipeline.defs.report import DOCS_KEY
from wx_pipeline.marts.run import docs_dir, project_version
from wx_pipeline.registry import TABLES
from wx_pipeline.simulator import SimAccount, SimulatorConfig, SimulatorServer, run_in_thread
from wx_pipeline_tests.e2e.harness import assert_equals_truth, configure, run, table

pytestmark = pytest.mark.slow

ACCOUNTS = [
    SimAccount(app_id="wxe2e0000000000001", secret="s" * 32, name="Small", followers=4_000),
    SimAccount(app_id="wxe2e0000000000002", secret="t" * 32, name="Medium", followers=90_000),
]
WRONG = SimAccount(app_id="wxe2e0000000000003", secret="u" * 32, name="Wrong", followers=1_000)


@dataclass
class Pipeline:
    sim: SimulatorServer
    url: str
    first: date
    last: date
    now: datetime
    home: Path
    summary: RunSummary


@pytest.fixture(scope="module")
def pipeline(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, pinned_now: datetime
) -> Iterator[Pipeline]:
    """Two weeks for two accounts up to the newest final day, run once through
    ``run_pipeline`` (what ``make run`` does) at the suite's pinned time."""
    last = newest_final_day(pinned_now)
    first = last - timedelta(days=13)
    tmp = tmp_path_factory.mktemp("e2e")
    config = SimulatorConfig(seed=11, now=pinned_now, accounts=[*ACCOUNTS, WRONG])
    with run_in_thread(config) as sim, pytest.MonkeyPatch.context() as mp:
        configure(mp, tmp, sim, database_url, ACCOUNTS, pinned_now)
        summary = run(first, last)
        yield Pipeline(sim, database_url, first, last, pinned_now, tmp / "home", summary)
        get_settings.cache_clear()


def test_warehouse_equals_simulator_truth(pipeline: Pipeline) -> None:
    compared = assert_equals_truth(
        pipeline.sim, pipeline.url, ACCOUNTS, pipeline.first, pipeline.last
    )
    assert compared > 10_000  # two weeks of two accounts is a real data set


def test_answers_as_real_servers_send_them_raise_no_warning(pipeline: Pipeline) -> None:
    """The simulator sends what real servers send (the undocumented user_source 0, share scene
    5): a run reports no drift, so a warning means something new."""
    assert pipeline.summary.rows  # the summary is the run's
    assert pipeline.summary.drift.lines() == []


def test_the_run_leaves_the_process_environment_as_it_was(pipeline: Pipeline) -> None:
    """dbt got the warehouse and the window for its own process; this one keeps none of it."""
    assert pipeline.summary.rows
    left = sorted(k for k in os.environ if k.startswith("WX_DBT_") or k == "DBT_LOG_LEVEL_FILE")
    assert left == []


def test_every_call_was_needed(pipeline: Pipeline) -> None:
    """No retry storms and no wasted quota: each datacube call answered and was required."""
    calls = [c for c in pipeline.sim.calls if c.path.startswith("/datacube/")]
    assert calls
    assert all(c.errcode == 0 and c.http_status == 200 for c in calls)
    windows = {(c.path, c.app_id, c.begin, c.end) for c in calls}
    assert len(windows) == len(calls)
    assert max(c.end for c in calls if c.end is not None) == pipeline.last


def test_rerun_changes_nothing(pipeline: Pipeline, tmp_path: Path) -> None:
    before = {t: table(pipeline.url, t, pipeline.first, pipeline.last) for t in TABLES}
    with pytest.MonkeyPatch.context() as mp:
        configure(mp, tmp_path, pipeline.sim, pipeline.url, ACCOUNTS, pipeline.now)
        run(pipeline.first, pipeline.last)
        get_settings.cache_clear()
    for name, frame in before.items():
        after = table(pipeline.url, name, pipeline.first, pipeline.last)
        pd.testing.assert_frame_equal(after, frame, obj=name)


def test_wrong_secret_fails_alone(pipeline: Pipeline, tmp_path: Path) -> None:
    day = pipeline.first - timedelta(days=1)  # a day the module's run did not load
    with pytest.MonkeyPatch.context() as mp:
        configure(
            mp,
            tmp_path,
            pipeline.sim,
            pipeline.url,
            [*ACCOUNTS, WRONG],
            pipeline.now,
            secrets={WRONG.app_id: "not-the-secret"},
        )
        with pytest.raises(RunFailedError) as failure:
            run(day, day, groups=["followers"])
        get_settings.cache_clear()
    message = str(failure.value)
    assert WRONG.app_id in message
    assert "40125" in message or "secret" in message.lower()
    assert "not-the-secret" not in message
    loaded = table(pipeline.url, "user_cumulate", day, day)
    assert sorted(loaded["account_id"]) == sorted(a.app_id for a in ACCOUNTS)


def test_docs_are_generated_again_only_when_missing_or_the_project_changed(
    pipeline: Pipeline,
) -> None:
    """The nightly run leaves the dbt docs alone while the project is unchanged."""
    docs = docs_dir(pipeline.home)

    def generated() -> list[str | None]:
        """The project version of each docs materialisation in the run's Dagster instance."""
        with pytest.MonkeyPatch.context() as mp:
            for name, value in prepare_instance(load_settings()).items():
                mp.setenv(name, value)
            with dg.DagsterInstance.get() as instance:
                records = instance.fetch_materializations(DOCS_KEY, limit=10).records
        return [
            r.asset_materialization.tags.get("dagster/code_version")
            for r in records
            if r.asset_materialization and r.asset_materialization.tags
        ]

    assert (docs / "index.html").exists()
    assert (docs / "catalog.json").exists()
    assert not (docs / "dbt.log").exists()  # dbt's debug log is not written (NO_FILE_LOG)
    with pytest.MonkeyPatch.context() as mp:
        configure(mp, pipeline.home.parent, pipeline.sim, pipeline.url, ACCOUNTS, pipeline.now)
        # By the module's run (and by other tests' runs into homes of their own: Dagster's
        # storage is the warehouse's, shared by them).
        before = generated()
        assert before
        assert set(before) == {project_version()}
        run(pipeline.last, pipeline.last, groups=["analytics"])
        assert generated() == before
        (docs / "catalog.json").unlink()
        run(pipeline.last, pipeline.last, groups=["analytics"])
        assert generated() == [project_version(), *before]
        get_settings.cache_clear()
    assert json.loads((docs / "catalog.json").read_text())["nodes"]
