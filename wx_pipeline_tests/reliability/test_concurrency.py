"""Concurrency: runs that overlap (two backfills of the same days and accounts at once on a
fresh warehouse, the nightly run during a backfill, a rebuild from the archive during a run)
all succeed and end exactly as one clean run does, facts and marts.

Every run is `wx-pipeline run` as a process of its own, as two people or a schedule and a
person would start them.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from wx_pipeline.core.clock import newest_final_day
from wx_pipeline.simulator import SimAccount, SimulatorConfig, SimulatorServer, run_in_thread
from wx_pipeline_tests.fingerprint import differences, fingerprint
from wx_pipeline_tests.reliability.harness import Outcome, cli, pipeline_env, start_cli

pytestmark = pytest.mark.slow

ACCOUNTS = [
    SimAccount(app_id=f"wxoverlap000000000{i}", secret=f"{i}" * 32, name=f"O{i}", followers=n)
    for i, n in enumerate((3_000, 12_000), start=1)
]
DAYS = 5


@dataclass
class Stage:
    sim: SimulatorServer
    now: datetime
    first: date
    last: date
    clean: dict[str, tuple[int, str]]


@pytest.fixture(scope="module")
def stage(
    new_database_module: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
    pinned_now: datetime,
) -> Iterator[Stage]:
    last = newest_final_day(pinned_now)
    first = last - timedelta(days=DAYS - 1)
    config = SimulatorConfig(seed=71, now=pinned_now, accounts=ACCOUNTS, daily_quota=10**6)
    with run_in_thread(config) as sim:
        url = new_database_module("overlap_clean")
        env = pipeline_env(
            tmp_path_factory.mktemp("clean"), sim.base_url, url, ACCOUNTS, pinned_now
        )
        outcome = cli(env, "run", "--start", str(first), "--end", str(last))
        assert outcome.code == 0, outcome.stderr
        yield Stage(sim, pinned_now, first, last, fingerprint(url))


def _finish(*procs: subprocess.Popen[str]) -> list[Outcome]:
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        outcomes.append(Outcome(proc.returncode, out, err))
    return outcomes


def test_two_overlapping_backfills_on_a_fresh_warehouse(
    stage: Stage, new_database: Callable[[str], str], tmp_path: Path
) -> None:
    """The whole range, and its second half started 3 s later: both build the marts on a
    warehouse that has none yet (they used to race creating the same relations)."""
    url = new_database("overlap_two")
    env = pipeline_env(tmp_path, stage.sim.base_url, url, ACCOUNTS, stage.now)
    whole = start_cli(env, "run", "--start", str(stage.first), "--end", str(stage.last))
    time.sleep(3)
    half = start_cli(
        env, "run", "--start", str(stage.last - timedelta(days=4)), "--end", str(stage.last)
    )
    for outcome in _finish(whole, half):
        assert outcome.code == 0, outcome.stderr
    assert differences(fingerprint(url), stage.clean) == []


def test_the_nightly_run_during_a_backfill(
    stage: Stage, new_database: Callable[[str], str], tmp_path: Path
) -> None:
    url = new_database("overlap_nightly")
    env = pipeline_env(tmp_path, stage.sim.base_url, url, ACCOUNTS, stage.now)
    backfill = start_cli(env, "run", "--start", str(stage.first), "--end", str(stage.last))
    time.sleep(2)
    nightly = start_cli(env, "run", "--start", str(stage.last), "--end", str(stage.last))
    for outcome in _finish(backfill, nightly):
        assert outcome.code == 0, outcome.stderr
    assert differences(fingerprint(url), stage.clean) == []


def test_a_rebuild_from_the_archive_during_a_run(
    stage: Stage, new_database: Callable[[str], str], tmp_path: Path
) -> None:
    url = new_database("overlap_renormalize")
    env = pipeline_env(tmp_path, stage.sim.base_url, url, ACCOUNTS, stage.now)
    first = cli(env, "run", "--start", str(stage.first), "--end", str(stage.last))
    assert first.code == 0, first.stderr
    again = start_cli(env, "run", "--start", str(stage.first), "--end", str(stage.last))
    time.sleep(2)
    rebuild = start_cli(env, "renormalize")
    for outcome in _finish(again, rebuild):
        assert outcome.code == 0, outcome.stderr
    assert differences(fingerprint(url), stage.clean) == []
