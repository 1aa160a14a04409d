"""The whole pipeline through Dagster, against the simulator over HTTP and a real Postgres.

What ``wx-pipeline run`` does for two weeks and two accounts must leave every fact table
equal, row for row, to what the simulator's truth API says the endpoints return; running it
again must change nothing; an account with a wrong secret must fail alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from wx_pipeline.runner import RunFailedError, run_pipeline
from wx_pipeline.settings import BEIJING, get_settings, load_settings
from wx_pipeline.simulator import SimAccount, SimulatorConfig, SimulatorServer, run_in_thread
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.normalize import empty_frame, normalize_many
from wx_pipeline.wechat.endpoints import BY_NAME, ENDPOINTS, TABLES, period_end
from wx_pipeline_tests.simtruth import truth_responses

pytestmark = pytest.mark.slow

ACCOUNTS = [
    SimAccount(app_id="wxe2e0000000000001", secret="s" * 32, name="Small", followers=4_000),
    SimAccount(app_id="wxe2e0000000000002", secret="t" * 32, name="Medium", followers=90_000),
]
WRONG = SimAccount(app_id="wxe2e0000000000003", secret="u" * 32, name="Wrong", followers=1_000)
_BOOKKEEPING = ["_loaded_at", "_run_id"]


@dataclass
class Pipeline:
    sim: SimulatorServer
    url: str
    first: date
    last: date


def _configure(
    monkeypatch: pytest.MonkeyPatch, tmp: Path, sim: SimulatorServer, url: str, wrong: bool
) -> None:
    entries = [
        {"app_id": a.app_id, "name": a.name, "secret_env": f"SECRET_{i}"}
        for i, a in enumerate([*ACCOUNTS, WRONG])
    ]
    for i, account in enumerate(ACCOUNTS):
        monkeypatch.setenv(f"SECRET_{i}", account.secret)
    monkeypatch.setenv(f"SECRET_{len(ACCOUNTS)}", "not-the-secret")
    accounts_file = tmp / "accounts.yaml"
    accounts_file.write_text(yaml.safe_dump(entries if wrong else entries[: len(ACCOUNTS)]))
    monkeypatch.setenv("WX_ACCOUNTS_FILE", str(accounts_file))
    monkeypatch.setenv("WX_API_BASE_URL", sim.base_url)
    monkeypatch.setenv("WX_WAREHOUSE_URL", url)
    monkeypatch.setenv("WX_HOME", str(tmp / "home"))
    get_settings.cache_clear()


def _table(url: str, name: str, first: date, last: date) -> pd.DataFrame:
    with make_engine(url).connect() as conn:
        frame = pd.read_sql(
            sa.text(f"select * from wechat.{name} where ref_date between :f and :l"),
            conn,
            params={"f": first, "l": last},
        )
    return _canonical(frame.drop(columns=_BOOKKEEPING), TABLES[name].key)


def _canonical(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    frame = frame.sort_values(["account_id", *key]).reset_index(drop=True)
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name]):
            frame[name] = frame[name].dt.date
    return frame.astype(object).where(frame.notna(), None)


@pytest.fixture(scope="module")
def pipeline(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """Two weeks for two accounts, run once through ``run_pipeline`` (what ``make run`` does)."""
    # The range ends two days back: yesterday's data is only final after 08:00 Beijing.
    last = datetime.now(BEIJING).date() - timedelta(days=2)
    first = last - timedelta(days=13)
    tmp = tmp_path_factory.mktemp("e2e")
    with (
        run_in_thread(SimulatorConfig(seed=11, accounts=[*ACCOUNTS, WRONG])) as sim,
        pytest.MonkeyPatch.context() as mp,
    ):
        _configure(mp, tmp, sim, database_url, wrong=False)
        run_pipeline(load_settings(), first, last)
        yield Pipeline(sim, database_url, first, last)
        get_settings.cache_clear()


def _expected(p: Pipeline) -> dict[str, pd.DataFrame]:
    """The truth, normalised by the same registry-driven normaliser, for whole periods."""
    responses = [
        r
        for r in truth_responses(p.sim, ACCOUNTS, p.first, p.last)
        if r.begin >= p.first and _period_ends_by(r.endpoint, r.begin, p.last)
    ]
    return normalize_many(responses).frames


def _period_ends_by(endpoint: str, start: date, last: date) -> bool:
    return period_end(BY_NAME[endpoint].period, start) <= last


def test_warehouse_equals_simulator_truth(pipeline: Pipeline) -> None:
    expected = _expected(pipeline)
    compared = 0
    for endpoint in ENDPOINTS:
        for table in endpoint.tables:
            want = _canonical(expected.get(table.name, empty_frame(table)), table.key)
            got = _table(pipeline.url, table.name, pipeline.first, pipeline.last)
            assert list(got.columns) == list(want.columns), table.name
            pd.testing.assert_frame_equal(got, want, check_dtype=False, obj=table.name)
            compared += len(want)
    assert compared > 10_000  # two weeks of two accounts is a real data set


def test_every_call_was_needed(pipeline: Pipeline) -> None:
    """No retry storms and no wasted quota: each datacube call answered and was required."""
    calls = [c for c in pipeline.sim.calls if c.path.startswith("/datacube/")]
    assert calls
    assert all(c.errcode == 0 and c.http_status == 200 for c in calls)
    windows = {(c.path, c.app_id, c.begin, c.end) for c in calls}
    assert len(windows) == len(calls)


def test_rerun_changes_nothing(pipeline: Pipeline, tmp_path: Path) -> None:
    before = {t: _table(pipeline.url, t, pipeline.first, pipeline.last) for t in TABLES}
    with pytest.MonkeyPatch.context() as mp:
        _configure(mp, tmp_path, pipeline.sim, pipeline.url, wrong=False)
        run_pipeline(load_settings(), pipeline.first, pipeline.last)
        get_settings.cache_clear()
    for name, frame in before.items():
        after = _table(pipeline.url, name, pipeline.first, pipeline.last)
        pd.testing.assert_frame_equal(after, frame, obj=name)


def test_wrong_secret_fails_alone(pipeline: Pipeline, tmp_path: Path) -> None:
    day = pipeline.last + timedelta(days=1)  # a day the module's run did not load
    with pytest.MonkeyPatch.context() as mp:
        _configure(mp, tmp_path, pipeline.sim, pipeline.url, wrong=True)
        with pytest.raises(RunFailedError) as failure:
            run_pipeline(load_settings(), day, day, groups=["followers"])
        get_settings.cache_clear()
    message = str(failure.value)
    assert WRONG.app_id in message
    assert "40125" in message or "secret" in message.lower()
    assert "not-the-secret" not in message
    loaded = _table(pipeline.url, "user_cumulate", day, day)
    assert sorted(loaded["account_id"]) == sorted(a.app_id for a in ACCOUNTS)
