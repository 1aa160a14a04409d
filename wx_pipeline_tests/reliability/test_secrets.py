"""Secrets never leak: a full run with known secrets and the tokens the API issued, DEBUG
logging and a forced failure (an account with a wrong secret), then every place a secret could
end up is searched: the process's output, every table of the warehouse (the raw archive too)
and of Dagster's storage (event log, run storage, the UI's run config), and every file under
WX_HOME (the embedded PostgreSQL's data files, Dagster's compute logs, dbt's parse state)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from wx_pipeline.simulator import SimAccount, SimulatorConfig, run_in_thread
from wx_pipeline.warehouse.embedded import libpq_url, start_embedded, stop_embedded
from wx_pipeline_tests.chat import chat_receiver
from wx_pipeline_tests.platform import platform_accounts, sim_component
from wx_pipeline_tests.reliability.harness import cli_process, pipeline_env, start_cli

pytestmark = pytest.mark.slow

GOOD = SimAccount(
    app_id="wxsecrets000000001", secret="GoodSecret-7f3a9c1e5b", name="Good", followers=8_000
)
BAD = SimAccount(
    app_id="wxsecrets000000002", secret="RealSecret-0d8e2b4f6a", name="Bad", followers=3_000
)
WRONG = "WrongSecret-5c7e9a1b3d"  # what the accounts file names for BAD: rejected (40125)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """WX_HOME of the run, its embedded warehouse stopped afterwards."""
    path = tmp_path / "home"
    try:
        yield path
    finally:
        stop_embedded(path)


def _table_text(url: str) -> Iterator[tuple[str, str]]:
    """(schema.table, every row as text) of every table of the database at ``url``."""
    with psycopg.connect(libpq_url(url)) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' "
            "and table_schema not in ('pg_catalog', 'information_schema')"
        ).fetchall()
        for schema, table in tables:
            with conn.cursor().copy(
                sql.SQL("COPY (SELECT * FROM {}.{}) TO STDOUT").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            ) as copy:
                text = b"".join(bytes(chunk) for chunk in copy).decode("utf-8", "replace")
            yield f"{schema}.{table}", text


def test_no_secret_anywhere_after_a_failed_debug_run(home: Path, pinned_now: datetime) -> None:
    config = SimulatorConfig(seed=81, now=pinned_now, accounts=[GOOD, BAD])
    with run_in_thread(config) as sim:
        env = pipeline_env(home, sim.base_url, "", [GOOD, BAD], pinned_now, {BAD.app_id: WRONG})
        del env["WX_WAREHOUSE_URL"]  # the embedded warehouse, under WX_HOME
        env["WX_LOG_LEVEL"] = "DEBUG"
        outcome = cli_process(env, "run", "--days", "3")
        tokens = sim.issued_tokens
    assert outcome.code == 2, outcome.stderr
    assert "AppSecret rejected (40125" in outcome.stderr
    assert tokens  # the good account got one, and used it
    secrets = [GOOD.secret, BAD.secret, WRONG, *tokens]

    found: list[str] = []
    for secret in secrets:
        if secret in outcome.stdout or secret in outcome.stderr:
            found.append(f"output: {secret[:6]}...")
    wx = start_embedded(home)
    for database in ("wx", "dagster"):
        url = wx.rsplit("/", 1)[0] + f"/{database}?" + wx.split("?", 1)[1]
        tables = 0
        for table, text in _table_text(url):
            tables += 1
            found += [f"{database}: {table}: {s[:6]}..." for s in secrets if s in text]
        assert tables > 10, database
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any("pgdata" in p.parts for p in files)
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        found += [f"{path}: {s[:6]}..." for s in secrets if s.encode() in data]
    assert found == []


# --- the third-party platform -----------------------------------------------------------------

AGENCY = [
    SimAccount(app_id="wxsecrets000000003", secret="unused-secret-3", name="Kept", followers=5_000),
    SimAccount(app_id="wxsecrets000000004", secret="unused-secret-4", name="Gone", followers=2_000),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_healthy(url: str, receiver: subprocess.Popen[str]) -> None:
    for _ in range(300):
        if receiver.poll() is not None:
            raise AssertionError(f"the receiver stopped: {receiver.communicate()[1]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).text == "ok":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the receiver did not start")


def test_no_platform_secret_anywhere_after_a_revocation_mid_run(
    tmp_path: Path, new_database: Callable[[str], str], pinned_now: datetime
) -> None:
    """An agency's run through the platform at DEBUG, the receiver fed by the simulator's
    pushes, one account revoking mid-run (the run fails, the team is alerted): the platform's
    AppSecret, its message token and EncodingAESKey, every ticket pushed, every refresh token
    and every component and authorizer access token are nowhere but in the warehouse's
    credential store: not in the pipeline's or the receiver's output, the alert, any other
    table (Dagster's event log and run storage included) or any file under WX_HOME."""
    url = new_database("secrets_platform")
    home = tmp_path / "home"
    home.mkdir()
    component = sim_component(83, AGENCY)
    component = replace(
        component,
        authorizers=(
            component.authorizers[0],
            replace(component.authorizers[1], revoke_after_calls=3),
        ),
        rotate_refresh_tokens=True,  # WeChat hands out new refresh tokens: those too
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("WX_")}
    env.update(platform_accounts(home / "accounts.yaml", AGENCY, component))
    port = _free_port()
    with chat_receiver() as chat:
        env.update(
            WX_HOME=str(home),
            WX_WAREHOUSE_URL=url,
            WX_NOW=pinned_now.isoformat(),
            WX_LOG_LEVEL="DEBUG",
            WX_ALERT_WEBHOOK=chat.slack,
        )
        receiver = start_cli(env, "component-receiver", "--port", str(port))
        try:
            _wait_until_healthy(f"http://127.0.0.1:{port}", receiver)
            config = SimulatorConfig(
                seed=83,
                now=pinned_now,
                accounts=AGENCY,
                component=component,
                push_ticket_to=f"http://127.0.0.1:{port}/",
            )
            with run_in_thread(config) as sim:
                env["WX_API_BASE_URL"] = sim.base_url
                outcome = cli_process(env, "run", "--days", "2")
                platform = sim.state.require_platform()
                with sim.state.lock:
                    tickets = list(platform.tickets)
                    refresh = list(platform.refresh_tokens.values())
                    tokens = [*sim.state.tokens.issued, *platform.tokens.issued]
        finally:
            receiver.terminate()
            received = receiver.communicate(timeout=30)
        alerts = chat.texts()
    assert outcome.code == 2, outcome.stderr
    assert "revoked the platform's authorisation" in outcome.stderr
    assert len(alerts) == 1
    assert "revoked the platform's authorisation" in alerts[0]
    assert tickets
    assert len(tokens) >= 3  # a component token, an authorizer token per account
    assert len(refresh) == 2
    initial = [a.refresh_token for a in component.authorizers]
    assert set(refresh) != set(initial)  # rotated: the new ones count as much
    secrets = [
        component.secret,
        component.token,
        component.aes_key,
        *tickets,
        *initial,
        *refresh,
        *tokens,
    ]

    found: list[str] = []
    texts = {
        "pipeline output": outcome.stdout + outcome.stderr,
        "receiver output": "".join(received),
        "alert": "".join(alerts),
    }
    for where, text in texts.items():
        found += [f"{where}: {s[:6]}..." for s in secrets if s in text]
    store = "wechat_meta.component_credentials"
    tables = dict(_table_text(url))
    assert any(s in tables.pop(store) for s in tokens)  # what the scan reads holds values
    assert {"public.event_logs", "public.runs", "wechat_meta.component_events"} <= set(tables)
    for table, text in tables.items():
        found += [f"{table}: {s[:6]}..." for s in secrets if s in text]
    for path in (p for p in home.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path}: {s[:6]}..." for s in secrets if s.encode() in data]
    assert found == []
