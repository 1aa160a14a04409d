"""The `wx-pipeline` CLI: warehouse commands and one-line user errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from wx_pipeline import __version__
from wx_pipeline.cli import main


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a child process (needed where it execs psql)."""
    return subprocess.run(
        [sys.executable, "-m", "wx_pipeline.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_warehouse_url_prints_the_configured_url(
    wx_env: pytest.MonkeyPatch, database_url: str
) -> None:
    wx_env.setenv("WX_WAREHOUSE_URL", database_url)
    result = CliRunner().invoke(main, ["warehouse", "url"])
    assert result.exit_code == 0, result.output
    assert result.output == f"{database_url}\n"


def test_warehouse_start_checks_the_configured_url(
    wx_env: pytest.MonkeyPatch, database_url: str
) -> None:
    wx_env.setenv("WX_WAREHOUSE_URL", database_url)
    result = CliRunner().invoke(main, ["warehouse", "start"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "warehouse ready"


def test_warehouse_stop_refuses_a_configured_url(
    wx_env: pytest.MonkeyPatch, database_url: str
) -> None:
    wx_env.setenv("WX_WAREHOUSE_URL", database_url)
    result = CliRunner().invoke(main, ["warehouse", "stop"])
    assert result.exit_code == 2
    assert result.stderr.startswith("wx-pipeline: WX_WAREHOUSE_URL is set")


def test_warehouse_psql_passes_args(wx_env: pytest.MonkeyPatch, database_url: str) -> None:
    wx_env.setenv("WX_WAREHOUSE_URL", database_url)
    result = _cli("warehouse", "psql", "-tA", "-c", "select 1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"


@pytest.mark.slow
def test_embedded_warehouse_start_psql_stop(wx_home: Path) -> None:
    started = _cli("warehouse", "start")
    assert started.returncode == 0, started.stderr
    assert started.stdout.splitlines()[-1] == "warehouse ready"
    result = _cli("warehouse", "psql", "-c", "select 1")
    assert result.returncode == 0, result.stderr
    assert "(1 row)" in result.stdout
    stopped = _cli("warehouse", "stop")
    assert stopped.stdout == "warehouse stopped\n"


@pytest.mark.parametrize(
    ("var", "value"),
    [("WX_START_DATE", "2014-13-01"), ("WX_WAREHOUSE_URL", "nonsense")],
)
def test_bad_setting_exits_2_with_one_line(
    wx_env: pytest.MonkeyPatch, var: str, value: str
) -> None:
    wx_env.setenv(var, value)
    result = _cli("warehouse", "url")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"wx-pipeline: {var}: expected ")
    assert repr(value) in lines[0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        # The suite's clock stands at TEST_NOW; these days come after its newest final day.
        (["--start", "2027-12-05", "--end", "2027-12-06"], "is in the future for WeChat's data"),
        (["--end", "{yesterday}"], "is not final yet"),
    ],
)
def test_run_refuses_days_that_are_not_final(
    wx_env: pytest.MonkeyPatch, args: list[str], says: str
) -> None:
    from datetime import timedelta

    from wx_pipeline.core.clock import newest_final_day
    from wx_pipeline_tests.conftest import TEST_NOW

    yesterday = TEST_NOW.date() - timedelta(days=1)
    if newest_final_day(TEST_NOW) == yesterday:  # after the ready time: pretend 03:00
        wx_env.setenv("WX_NOW", TEST_NOW.replace(hour=3, minute=0).isoformat())
    result = _cli("run", *(a.format(yesterday=yesterday) for a in args))
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert says in lines[0]
