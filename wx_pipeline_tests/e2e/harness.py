"""What the end-to-end tests share: a pipeline configured against a simulator and a warehouse,
on one clock, and the comparison of fact tables with the simulator's truth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from wx_pipeline.cli.runner import run_pipeline
from wx_pipeline.cli.summary import RunSummary
from wx_pipeline.core.settings import get_settings, load_settings
from wx_pipeline.registry import BY_NAME, ENDPOINTS, TABLES, Endpoint, period_end
from wx_pipeline.simulator import SimAccount, SimulatorServer
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.normalize import empty_frame, normalize_many
from wx_pipeline_tests.simtruth import truth_responses

_BOOKKEEPING = ["_loaded_at", "_run_id"]


def configure(
    monkeypatch: pytest.MonkeyPatch,
    tmp: Path,
    sim: SimulatorServer,
    url: str,
    accounts: Sequence[SimAccount],
    now: datetime,
    secrets: dict[str, str] | None = None,
) -> None:
    """Point the pipeline at `sim` and `url` for `accounts` (secrets from the simulator unless
    `secrets` overrides an app id's), with its clock at `now`."""
    entries = []
    for i, account in enumerate(accounts):
        monkeypatch.setenv(f"SECRET_{i}", (secrets or {}).get(account.app_id, account.secret))
        entries.append(
            {"app_id": account.app_id, "name": account.name, "secret_env": f"SECRET_{i}"}
        )
    accounts_file = tmp / "accounts.yaml"
    accounts_file.write_text(yaml.safe_dump(entries))
    monkeypatch.setenv("WX_ACCOUNTS_FILE", str(accounts_file))
    monkeypatch.setenv("WX_API_BASE_URL", sim.base_url)
    monkeypatch.setenv("WX_WAREHOUSE_URL", url)
    monkeypatch.setenv("WX_HOME", str(tmp / "home"))
    set_clock(monkeypatch, sim, now)


def set_clock(monkeypatch: pytest.MonkeyPatch, sim: SimulatorServer, now: datetime) -> None:
    """Move the pipeline's clock (WX_NOW) and the simulator's to `now` together."""
    monkeypatch.setenv("WX_NOW", now.isoformat())
    sim.set_now(now)
    get_settings.cache_clear()


def run(first: date, last: date, groups: Sequence[str] = ()) -> RunSummary:
    """`wx-pipeline run --start first --end last [--select ...]` with the current settings."""
    return run_pipeline(load_settings(), first, last, groups)


def table(
    url: str, name: str, first: date, last: date, accounts: Sequence[str] | None = None
) -> pd.DataFrame:
    """A fact table's rows with ref_date in [first, last] (of ``accounts`` only, when given),
    canonically ordered, no load metadata."""
    engine = make_engine(url)
    only = "" if accounts is None else " and account_id = any(:a)"
    try:
        with engine.connect() as conn:
            frame = pd.read_sql(
                sa.text(f"select * from wechat.{name} where ref_date between :f and :l{only}"),
                conn,
                params={"f": first, "l": last, "a": list(accounts or ())},
            )
    finally:
        engine.dispose()
    return canonical(frame.drop(columns=_BOOKKEEPING), TABLES[name].key)


def canonical(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    frame = frame.sort_values(["account_id", *key]).reset_index(drop=True)
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name]):
            frame[name] = frame[name].dt.date
    return frame.astype(object).where(frame.notna(), None)


def assert_equals_truth(
    sim: SimulatorServer,
    url: str,
    accounts: Sequence[SimAccount],
    first: date,
    last: date,
    endpoints: Sequence[Endpoint] = ENDPOINTS,
    *,
    others_ignored: bool = False,
) -> int:
    """Every fact table of `endpoints` holds, for ref_date in [first, last], exactly the truth as
    of `last` being the newest final day (cumulative tails up to it; whole periods only);
    `others_ignored`: only the rows of `accounts` are compared (other accounts may hold
    anything). Returns the rows compared."""
    names = {e.name for e in endpoints}
    responses = [
        r
        for r in truth_responses(sim, accounts, first, last, final_through=last)
        if r.endpoint in names
        and r.begin >= first
        and period_end(BY_NAME[r.endpoint].period, r.begin) <= last
    ]
    expected = normalize_many(responses).frames
    compared = 0
    for endpoint in endpoints:
        for t in endpoint.tables:
            want = canonical(expected.get(t.name, empty_frame(t)), t.key)
            ids = [a.app_id for a in accounts] if others_ignored else None
            got = table(url, t.name, first, last, ids)
            assert list(got.columns) == list(want.columns), t.name
            pd.testing.assert_frame_equal(got, want, check_dtype=False, obj=t.name)
            compared += len(want)
    return compared


@dataclass(frozen=True)
class Stage:
    """A pipeline, its simulator and its warehouse, sharing one clock."""

    sim: SimulatorServer
    url: str
    accounts: tuple[SimAccount, ...]
    monkeypatch: pytest.MonkeyPatch

    def at(self, now: datetime) -> None:
        set_clock(self.monkeypatch, self.sim, now)
