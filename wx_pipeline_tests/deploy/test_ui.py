"""The Dagster UI in a browser: `wx-pipeline dev` on embedded defaults (the project's clock
pinned), driven by Playwright on Debian's chromium as a user would - the asset groups, the
lineage from the API's assets to the dbt marts, a 3-day backfill of one group launched from the
asset's page and watched to success - then stopped with SIGTERM, as a service manager does.

Screenshots land in the test's directory, or in ``deploy/screenshots/`` with `make screenshots`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from wx_pipeline.core.clock import newest_final_day
from wx_pipeline_tests.browser import launched_chromium, screenshots
from wx_pipeline_tests.deploy.processes import STOP_SECONDS, default_signals, free_port, terminate

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
GROUPS = ("analytics", "articles", "callbacks", "followers", "hourly_reads", "messages")
#: The group the test backfills (one asset: the follower endpoints), and a mart it feeds.
ASSET = "wechat/followers"
MART = "analytics/fct_follower_growth_daily"
DAYS = 3
#: Generous: two cores running the rest of the suite beside this.
START_SECONDS = 240
BACKFILL_SECONDS = 420

BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status runs(limit: 20) { runId status } }
    ... on Error { message }
  }
}"""


@dataclass
class Dev:
    process: subprocess.Popen[bytes]
    base: str
    log: Path
    env: dict[str, str]

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        answer = httpx.post(
            f"{self.base}/graphql", json={"query": query, "variables": variables}, timeout=60
        )
        answer.raise_for_status()
        data: dict[str, Any] = answer.json()["data"]
        return data


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory, pinned_now: datetime) -> Iterator[Dev]:
    home = tmp_path_factory.mktemp("ui")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WX_")}
    env.update(WX_HOME=str(home / "wx"), WX_NOW=pinned_now.isoformat())
    log = home / "dev.log"
    base = f"http://127.0.0.1:{free_port()}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "wx_pipeline.cli", "dev", "--port", base.rsplit(":", 1)[1]],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=default_signals,
        )
    server = Dev(process, base, log, env)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not _answers(f"{base}/server_info"):
            assert process.poll() is None, f"wx-pipeline dev exited:\n{server.tail()}"
            assert time.monotonic() < deadline, f"no UI in {START_SECONDS} s:\n{server.tail()}"
            time.sleep(1)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
        # The embedded PostgreSQL outlives `dev` by design (a later `run` reuses it).
        subprocess.run(
            [sys.executable, "-m", "wx_pipeline.cli", "warehouse", "stop"],
            env=env,
            capture_output=True,
            timeout=120,
        )


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as launched:
        yield launched


def _page(browser: Any, errors: list[str]) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


def _dismiss_welcome(page: Any) -> None:
    """Dagster greets a new browser with a newsletter dialog."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.click(timeout=5_000)
    except Exception:  # not shown: nothing to dismiss
        return


def test_groups_and_lineage_to_the_marts(dev: Dev, browser: Any, tmp_path: Path) -> None:
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(f"{dev.base}/asset-groups")
    _dismiss_welcome(page)
    for group in GROUPS:
        page.get_by_text(group, exact=True).first.wait_for(timeout=60_000)
    page.wait_for_timeout(2_000)  # statuses load after the page
    page.screenshot(path=screenshots(tmp_path) / "ui-asset-groups.png")

    # A mart's upstream lineage reaches the API's asset through the staging models.
    page.goto(f"{dev.base}/assets/{MART}?view=lineage&lineageScope=upstream&lineageDepth=4")
    graph = page.locator("[data-testid='asset-graph'], .react-flow, svg").first
    graph.wait_for(timeout=60_000)
    for name in ("followers", "stg_wechat__user_summary", MART.rsplit("/", 1)[1]):
        page.get_by_text(name, exact=True).first.wait_for(timeout=60_000)
    page.wait_for_timeout(2_000)  # statuses load after the page
    page.screenshot(path=screenshots(tmp_path) / "ui-lineage.png")
    assert errors == []


def test_a_backfill_launched_from_the_ui_succeeds(
    dev: Dev, browser: Any, tmp_path: Path, pinned_now: datetime
) -> None:
    last = newest_final_day(pinned_now)
    first = last - timedelta(days=DAYS - 1)
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(f"{dev.base}/assets/{ASSET}")
    _dismiss_welcome(page)
    page.get_by_role("button", name="Materialize…").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Show all partitions").click()  # the pinned days are years back
    box = dialog.get_by_role("textbox")
    box.fill(f"[{first}...{last}]")
    box.press("Enter")
    dialog.get_by_text(f"{DAYS} partitions").wait_for(timeout=30_000)
    page.wait_for_timeout(2_000)  # statuses load after the page
    page.screenshot(path=screenshots(tmp_path) / "ui-launch-backfill.png")
    dialog.get_by_role("button", name="Launch backfill").click()
    toast = page.get_by_text(re.compile(r"Created backfill \w+"))
    toast.wait_for(timeout=60_000)
    match = re.search(r"Created backfill (\w+)", toast.inner_text())
    assert match, toast.inner_text()
    backfill_id = match.group(1)

    deadline = time.monotonic() + BACKFILL_SECONDS
    while True:
        found = dev.graphql(BACKFILL, id=backfill_id)["partitionBackfillOrError"]
        assert found["__typename"] == "PartitionBackfill", found
        if found["status"] not in {"REQUESTED", "CANCELING", "FAILING"}:
            break
        assert dev.process.poll() is None, f"wx-pipeline dev exited:\n{dev.tail()}"
        assert time.monotonic() < deadline, f"backfill not done in time:\n{dev.tail()}"
        time.sleep(3)
    assert found["status"] in {"COMPLETED", "COMPLETED_SUCCESS"}, found
    assert found["runs"], found
    assert all(r["status"] == "SUCCESS" for r in found["runs"]), found

    # What the user sees: the backfill done, the asset's days materialised.
    page.goto(f"{dev.base}/runs/b/{backfill_id}")
    page.get_by_text("Completed", exact=False).first.wait_for(timeout=60_000)
    page.wait_for_timeout(2_000)  # statuses load after the page
    page.screenshot(path=screenshots(tmp_path) / "ui-backfill.png")
    page.goto(f"{dev.base}/assets/{ASSET}?view=partitions")
    page.get_by_text(f"Materialized ({DAYS})").first.wait_for(timeout=60_000)
    page.wait_for_timeout(2_000)  # statuses load after the page
    page.screenshot(path=screenshots(tmp_path) / "ui-partitions.png")
    assert errors == []


def test_sigterm_stops_the_ui_the_daemon_and_the_code_server(dev: Dev) -> None:
    children = psutil.Process(dev.process.pid).children(recursive=True)
    names = {" ".join(c.cmdline()[1:3]) for c in children}
    assert any("daemon" in n for n in names), names  # what there is to stop
    try:
        seconds, running = terminate(dev.process)
    except subprocess.TimeoutExpired:
        pytest.fail(f"wx-pipeline dev still running 30 s after SIGTERM:\n{dev.tail()}")
    assert not running, running
    assert seconds <= STOP_SECONDS
