"""Superset on embedded defaults, as an analyst meets it: the pipeline's run on the simulator,
then `wx-pipeline bi serve` (the read-only role, Superset's metadata, the admin, the dashboards
imported), then Playwright on Debian's chromium logs in, opens each dashboard, waits for every
chart's data, and reads a figure off the page to compare with the mart. The export gives back
the committed dashboards; SIGTERM stops it all within 10 s.

Screenshots land in the test's directory, or in ``deploy/screenshots/`` with `make screenshots`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
import yaml

from wx_pipeline.bi import assets
from wx_pipeline.bi.client import SupersetClient
from wx_pipeline.warehouse.embedded import libpq_url, stop_embedded
from wx_pipeline_tests.browser import launched_chromium, screenshots
from wx_pipeline_tests.deploy.processes import STOP_SECONDS, default_signals, free_port, terminate

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DAYS = 7
#: Generous: two cores running the rest of the suite beside this (a cold Superset start
#: upgrades its metadata database, sets up its roles and imports the assets).
START_SECONDS = 480
CHART_SECONDS = 180
#: The one console error allowed: the browser refusing Superset 6.1.0's telemetry pixel, which
#: its front end embeds whatever the configuration says (superset_config.py's CSP blocks it).
PIXEL = re.compile(
    r"^Loading the image 'https://apachesuperset\.gateway\.scarf\.sh/[^']*' violates the "
    r"following Content Security Policy directive"
)
#: Chromium aborts requests in flight when the machine's network interfaces change (other
#: containers starting on a shared test machine): the page is then loaded again.
NETWORK_CHANGED = "net::ERR_NETWORK_CHANGED"
#: What a chart in error shows in place of its drawing.
CHART_ERROR = "[role='alert'], .ant-alert-error"
#: The overview's table of net growth per account: the figure read off the page.
GROWTH_TABLE = "Net follower growth by account"


def _cli(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "wx_pipeline.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return result.stdout


@dataclass
class Bi:
    process: subprocess.Popen[bytes]
    base: str
    output: Path
    env: dict[str, str]
    warehouse: str
    home: Path
    dashboards: dict[str, str] = field(default_factory=dict)

    def tail(self) -> str:
        said = self.output.read_text(errors="replace").splitlines()[-20:]
        log = self.home / "bi" / "superset.log"
        logged = log.read_text(errors="replace").splitlines()[-30:] if log.exists() else []
        return "\n".join([*said, "--- superset.log", *logged])

    def password(self) -> str:
        return (self.home / "bi" / "admin-password").read_text(encoding="utf-8").strip()

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(libpq_url(self.warehouse)) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def bi(pinned_now: datetime) -> Iterator[Bi]:
    # Under /tmp rather than tmp_path: the embedded PostgreSQL (run as its own system user
    # when the tests run as root) must reach its data directory (see conftest.py).
    root = Path(tempfile.mkdtemp(prefix="wx-test-bi-"))
    home = root / "wx"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WX_")}
    env.update(WX_HOME=str(home), WX_NOW=pinned_now.isoformat())
    try:
        _cli(env, "run", "--days", str(DAYS))
        warehouse = _cli(env, "warehouse", "url").strip()
        output = root / "bi.out"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with output.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "wx_pipeline.cli", "bi", "serve", "--port", str(port)],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=default_signals,
            )
        server = Bi(process, base, output, env, warehouse, home)
        try:
            deadline = time.monotonic() + START_SECONDS
            while "wx-agency-overview" not in output.read_text(errors="replace"):
                assert process.poll() is None, f"wx-pipeline bi serve exited:\n{server.tail()}"
                assert time.monotonic() < deadline, f"no Superset in time:\n{server.tail()}"
                time.sleep(1)
            for line in output.read_text().splitlines():
                title, _, address = line.partition(": http")
                if address:
                    server.dashboards[title] = "http" + address
            yield server
        finally:
            # Asked first, so that Superset's web server (in a session of its own) stops too.
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(30)
    finally:
        # The embedded PostgreSQL outlives the commands by design (a later one reuses it).
        stop_embedded(home)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as launched:
        yield launched


@dataclass
class Watched:
    """What a page did: console errors, chart data answers, answers from another host."""

    page: Any
    errors: list[str] = field(default_factory=list)
    chart_data: list[Any] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def analyst(browser: Any, bi: Bi) -> Iterator[Watched]:
    """One analyst's session in the browser, logged in through Superset's login page."""
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    watched = Watched(page)
    page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.errors.append(str(e)))

    def answered(response: Any) -> None:
        if not response.url.startswith(bi.base):
            watched.foreign.append(response.url)
        elif "/api/v1/chart/data" in response.url:
            watched.chart_data.append(response)

    page.on("response", answered)
    page.goto(f"{bi.base}/login/")
    page.fill("#username", "admin")
    page.fill("#password", bi.password())
    page.get_by_role("button", name="Sign in").click()
    # Signed in once the welcome page's address is reached; its "load" (every script of the
    # heavy home page) is not what this waits for, and a busy machine once kept it over 120 s.
    page.wait_for_url("**/superset/welcome/**", wait_until="commit", timeout=120_000)
    yield watched
    page.close()


def _dashboard(slug: str) -> dict[str, Any]:
    for path in (assets.ASSETS_DIR / "dashboards").glob("*.yaml"):
        loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        if loaded["slug"] == slug:
            return loaded
    raise AssertionError(f"no dashboard {slug} in {assets.ASSETS_DIR}")


def _chart_names(dashboard: dict[str, Any]) -> list[str]:
    return [
        node["meta"]["sliceName"]
        for node in dashboard["position"].values()
        if isinstance(node, dict) and node.get("type") == "CHART"
    ]


def _open(watched: Watched, bi: Bi, slug: str, attempts: int = 3) -> list[str]:
    """Open a dashboard and wait until every chart has its data; the charts' names."""
    for _ in range(attempts):
        names = _load(watched, bi, slug)
        if not any(NETWORK_CHANGED in e for e in watched.errors):
            return names
        watched.errors[:] = [e for e in watched.errors if NETWORK_CHANGED not in e]
    raise AssertionError(f"{slug}: the network changed under every one of {attempts} loads")


def _load(watched: Watched, bi: Bi, slug: str) -> list[str]:
    names = _chart_names(_dashboard(slug))
    watched.chart_data.clear()
    page = watched.page
    page.goto(f"{bi.base}/superset/dashboard/{slug}/")
    for name in names:
        # A chart draws into its slice container, or shows an error alert in its place.
        drawn = f'[data-test="slice-container"], {CHART_ERROR}'
        holder = page.locator(f'[data-test-chart-name="{name}"]')
        holder.locator(drawn).first.wait_for(timeout=CHART_SECONDS * 1000)
    deadline = time.monotonic() + CHART_SECONDS
    while page.locator(".loading, [data-test='loading-indicator']").count():
        assert time.monotonic() < deadline, f"charts still loading on {slug}"
        page.wait_for_timeout(500)
    page.wait_for_timeout(1_500)  # the last charts draw after their data arrives
    return names


def _check_answers(watched: Watched, names: list[str]) -> None:
    # One data query per chart; the account filter's own query for its options comes on top.
    assert len(watched.chart_data) >= len(names)
    for response in watched.chart_data:
        # A chart whose query failed says so in its answer (HTTP 400 with the database's error).
        assert response.status == 200, response.text()[:500]
        for result in json.loads(response.text())["result"]:
            assert not result.get("error"), result["error"]
            assert result["rowcount"] > 0, result.get("query", "")[:500]


def test_every_chart_of_both_dashboards_draws_without_error(
    bi: Bi, analyst: Watched, tmp_path: Path
) -> None:
    assert set(bi.dashboards) == {"WeChat accounts: agency overview", "WeChat account detail"}
    watched = analyst
    for slug, shot in (
        ("wx-agency-overview", "bi-agency-overview.png"),
        ("wx-account-detail", "bi-account-detail.png"),
    ):
        names = _open(watched, bi, slug)
        assert len(names) >= 7
        _check_answers(watched, names)
        page = watched.page
        for name in names:
            holder = page.locator(f'[data-test-chart-name="{name}"]')
            assert holder.count() == 1, name
            assert holder.locator(CHART_ERROR).count() == 0, f"{name}: {holder.inner_text()}"
            assert holder.locator("svg, canvas, table").count() > 0, name
        page.screenshot(path=screenshots(tmp_path) / shot, full_page=True)
    assert [e for e in watched.errors if not PIXEL.match(e)] == []
    assert watched.foreign == []  # nothing left the browser for another host


def test_the_figure_on_the_page_equals_the_mart(bi: Bi, analyst: Watched) -> None:
    """An account's net growth over the period, as the overview's table shows it, is the sum
    of the mart's daily net growth."""
    watched = analyst
    _open(watched, bi, "wx-agency-overview")
    # The table draws its header and its body as two <table>s.
    table = watched.page.locator(f'[data-test-chart-name="{GROWTH_TABLE}"]')
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    column = headers.index("Net growth")
    shown = {}
    for row in table.locator("tbody tr").all():
        cells = [c.strip() for c in row.locator("td").all_inner_texts()]
        shown[cells[0]] = int(cells[column].replace(",", ""))
    expected = dict(
        bi.query(
            "select account_id, sum(net_growth)::bigint from analytics.fct_follower_growth_daily "
            "group by account_id"
        )
    )
    assert len(expected) == 3  # the simulator's accounts
    assert shown == expected
    assert any(v != 0 for v in shown.values())


def test_superset_reads_the_warehouse_as_the_read_only_role(bi: Bi) -> None:
    with SupersetClient(bi.base, "admin", bi.password()) as client:
        (database,) = client.get("/api/v1/database/")["result"]
        uri = client.get(f"/api/v1/database/{database['id']}/connection")["result"]
    assert uri["sqlalchemy_uri"].startswith(f"postgresql+psycopg2://wx_bi:{assets.PASSWORD_MASK}@")
    role_password = (bi.home / "bi" / "role-password").read_text(encoding="utf-8").strip()
    privileges = bi.query(
        "select has_schema_privilege('wx_bi', 'analytics', 'USAGE'), "
        "has_schema_privilege('wx_bi', 'wechat_raw', 'USAGE'), "
        "has_table_privilege('wx_bi', 'analytics.fct_follower_growth_daily', 'INSERT'), "
        "has_database_privilege('wx_bi', current_database(), 'CREATE')"
    )
    assert privileges == [(True, False, False, False)]
    # The role's and the admin's passwords are in their 0600 files only.
    for secret_file in ("role-password", "admin-password", "secret-key"):
        assert (bi.home / "bi" / secret_file).stat().st_mode & 0o077 == 0
    said = bi.output.read_text(errors="replace") + (bi.home / "bi" / "superset.log").read_text(
        errors="replace"
    )
    assert role_password not in said
    assert bi.password() not in said


def test_the_export_gives_back_the_committed_dashboards(bi: Bi, tmp_path: Path) -> None:
    """What Superset exports is what the repository holds, but for the ids this Superset gave
    the charts and datasets."""
    with SupersetClient(bi.base, "admin", bi.password()) as client:
        exported = client.export_assets()
    tree = tmp_path / "assets"
    assets.unbundle(exported, tree)
    for folder in assets.EXPORTED:
        committed = sorted(p.name for p in (assets.ASSETS_DIR / folder).glob("*.yaml"))
        assert sorted(p.name for p in (tree / folder).glob("*.yaml")) == committed
        for name in committed:
            ours = yaml.safe_load((assets.ASSETS_DIR / folder / name).read_text("utf-8"))
            theirs = yaml.safe_load((tree / folder / name).read_text("utf-8"))
            assert _without_ids(theirs) == _without_ids(ours), f"{folder}/{name}"


def _without_ids(config: Any) -> Any:
    """`config` without the instance's own ids (chart and dataset ids)."""
    if isinstance(config, dict):
        return {
            k: _without_ids(v)
            for k, v in config.items()
            if k not in ("chartId", "datasource", "slice_id", "datasetId", "chartsInScope")
        }
    if isinstance(config, list):
        return [_without_ids(v) for v in config]
    return config


def test_sigterm_stops_superset_within_10_seconds(bi: Bi) -> None:
    children = psutil.Process(bi.process.pid).children(recursive=True)
    assert any("gunicorn" in " ".join(c.cmdline()) for c in children)
    try:
        seconds, running = terminate(bi.process)
    except subprocess.TimeoutExpired:
        pytest.fail(f"wx-pipeline bi serve still running 30 s after SIGTERM:\n{bi.tail()}")
    assert not running, running
    assert seconds <= STOP_SECONDS
    assert bi.process.returncode == 0
