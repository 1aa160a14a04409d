"""What the reliability tests share: `wx-pipeline` as a real process against the simulator, a
proxy that spoils chosen answers, and the checks that a warehouse was left whole.

The pipeline runs as `python -m wx_pipeline.cli` in a session of its own (so a test can SIGKILL
the process group, as a container stop or an OOM kill would), configured through the
environment only, with its clock pinned like the simulator's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wx_pipeline.registry import ENDPOINTS
from wx_pipeline.simulator import SimAccount
from wx_pipeline.warehouse.db import make_engine

#: What a spoiled answer becomes: (path, answer bytes) -> (HTTP status, bytes), or None to
#: pass the answer on untouched.
Spoil = Callable[[str, bytes], tuple[int, bytes] | None]


def pipeline_env(
    home: Path,
    base_url: str,
    url: str,
    accounts: Sequence[SimAccount],
    now: datetime,
    secrets: Mapping[str, str] | None = None,
    **settings: str,
) -> dict[str, str]:
    """The environment of a pipeline process: `accounts` (secrets from the simulator unless
    `secrets` overrides an app id's), the API at `base_url`, the warehouse at `url`."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WX_")}
    entries = []
    for i, account in enumerate(accounts):
        env[f"WX_SECRET_{i}"] = (secrets or {}).get(account.app_id, account.secret)
        entries.append(
            {"app_id": account.app_id, "name": account.name, "secret_env": f"WX_SECRET_{i}"}
        )
    (home / "accounts.yaml").write_text(yaml.safe_dump(entries))
    env.update(
        WX_HOME=str(home),
        WX_ACCOUNTS_FILE=str(home / "accounts.yaml"),
        WX_API_BASE_URL=base_url,
        WX_WAREHOUSE_URL=url,
        WX_NOW=now.isoformat(),
        **{f"WX_{k.upper()}": v for k, v in settings.items()},
    )
    return env


def start_cli(env: Mapping[str, str], *args: str) -> subprocess.Popen[str]:
    """`wx-pipeline ARGS` as a process group of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "wx_pipeline.cli", *args],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def cli_process(env: Mapping[str, str], *args: str, timeout: float = 300) -> Outcome:
    """Run `wx-pipeline ARGS` to the end, as a process of its own."""
    proc = start_cli(env, *args)
    out, err = proc.communicate(timeout=timeout)
    return Outcome(proc.returncode, out, err)


def cli(env: Mapping[str, str], *args: str) -> Outcome:
    """Run `wx-pipeline ARGS` in this process (the same entry point, exit status and streams
    as the command; a process's start-up costs seconds a case)."""
    from click.testing import CliRunner

    from wx_pipeline.cli import main
    from wx_pipeline.core.settings import get_settings
    from wx_pipeline.wechat.tokens import PROCESS_TOKENS

    get_settings.cache_clear()
    PROCESS_TOKENS.clear()  # a process starts without tokens
    # Only the given WX_* variables, as in a fresh process.
    cleared: dict[str, str | None] = dict.fromkeys(k for k in os.environ if k.startswith("WX_"))
    result = CliRunner().invoke(main, list(args), env={**cleared, **env}, catch_exceptions=False)
    get_settings.cache_clear()
    return Outcome(result.exit_code, result.stdout, result.stderr)


def ledger_agrees_with_facts(url: str) -> list[tuple[object, ...]]:
    """Days where the coverage ledger and the facts disagree (none: nothing is half loaded).
    The ledger row of a day is written in the transaction that loads the day's facts."""
    checks = " union all ".join(
        f"select '{e.name}' as endpoint, account_id, ref_date as day, count(*) as n "
        f"from wechat.{e.table.name} group by account_id, ref_date"
        for e in ENDPOINTS
    )
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.text(
                        f"with facts as ({checks}) "
                        "select c.endpoint, c.account_id, c.day, c.rows, f.n "
                        "from wechat_meta.coverage c full join facts f "
                        "using (endpoint, account_id, day) "
                        "where coalesce(c.rows, -1) <> coalesce(f.n, -1) "
                        "and not (c.rows = 0 and f.n is null)"
                    )
                ).all()
            )
    finally:
        engine.dispose()


def _free_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def spoiling_proxy(upstream: str, spoil: Spoil) -> Iterator[str]:
    """A real HTTP proxy in front of the simulator that spoils the answers `spoil` picks."""
    client = httpx.AsyncClient(base_url=upstream, timeout=60)

    async def forward(request: Request) -> Response:
        answer = await client.request(
            request.method,
            request.url.path,
            params=request.query_params,
            content=await request.body(),
            headers={"content-type": request.headers.get("content-type", "application/json")},
        )
        spoiled = spoil(request.url.path, answer.content)
        status, content = spoiled or (answer.status_code, answer.content)
        return Response(content, status_code=status, media_type="application/json")

    app = Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST"])])
    sock = _free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("proxy did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
