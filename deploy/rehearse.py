"""`make rehearse`: the image built from the Dockerfile and docker-compose.yml brought up for
real, under podman on this machine, each step asserted, printed with its result and seconds.

    make rehearse                                  # torn down at the end; images stay cached
    .venv/bin/python -m deploy.rehearse --keep     # leave the stack running to look at
    .venv/bin/python -m deploy.rehearse --pull     # the official base images, where reachable

What it needs it installs: Debian's podman (with runc, netavark, catatonit) and debootstrap
when missing, podman-compose from the dev lock. Where Docker Hub cannot be reached, the base
images the Dockerfile and docker-compose.yml name are stand-ins built from Debian's packages
(built once, kept): `python:3.11-slim` is Debian bookworm's Python 3.11 with pip, `postgres:16`
is bookworm's PostgreSQL 15 with an entrypoint that honours the official image's
POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB and data volume (deploy/rehearsal/).

The stack runs from a copy of the checkout as a clone would have it (committed and new files,
nothing ignored) with `.env` made from `.env.example`; deploy/rehearsal/compose.override.yml
adds WeChat's API as the project's simulator in a container of its own. The containers talk
to each other on the project's network and to this host on loopback only.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import inspect
import json
import os
import re
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import yaml
from psycopg import errors, sql

from wx_pipeline.core.settings import load_settings
from wx_pipeline.simulator import demo_accounts
from wx_pipeline_tests.deploy.dagster_api import (
    GROUP,
    GraphQLError,
    WebserverApi,
    backfill_days,
    backfill_problem,
    wait_for,
)

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
REHEARSAL = ROOT / "deploy" / "rehearsal"
OVERRIDE = REHEARSAL / "compose.override.yml"
#: Everything the rehearsal writes: the checkout's copy, its .env, podman's settings, the log.
STATE = ROOT / ".wx" / "rehearsal"
LOG = STATE / "rehearsal.log"
#: A project name of its own: tearing the rehearsal down never touches a real deployment.
PROJECT = "wx-pipeline-rehearsal"
IMAGE = "wx-pipeline:latest"
K8S_IMAGE = "wx-pipeline:k8s"
UID = 10001
STOP_SECONDS = 10
HEALTHY_SECONDS = 300
BACKFILL_SECONDS = 600
BI_ROLE = "bi_rehearsal"
#: The marts' table read back through the published port, one row per account and day.
MART = "analytics.fct_follower_growth_daily"

#: Debian's packages the rehearsal runs on: podman with runc (crun refuses hybrid cgroups),
#: netavark and aardvark-dns (the compose network and its service names), catatonit
#: (`init: true`), iptables (netavark's port forwarding), debootstrap (the stand-ins).
PACKAGES = ("podman", "runc", "netavark", "aardvark-dns", "catatonit", "iptables", "debootstrap")
SUITE = "bookworm"
#: Image label of a stand-in: the hash of its recipe, so a changed recipe rebuilds it.
STANDIN_LABEL = "org.wx-pipeline.stand-in"
#: Pip and uv settings passed to the build when this environment sets them (a mirror); the
#: Dockerfile's build stage declares them, the final stage does not see them.
INDEX_VARIABLES = ("PIP_INDEX_URL", "UV_DEFAULT_INDEX")


class RehearsalError(Exception):
    """A step's assertion failed: one line, the log has the rest."""


# --- output ---------------------------------------------------------------------------------


@dataclass
class Report:
    """The steps as they run: one line each, its result and its seconds."""

    started: float = field(default_factory=time.monotonic)
    steps: list[tuple[str, float]] = field(default_factory=list)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[list[str]]:
        """Run a step; what it appends to the yielded list is its result."""
        number = len(self.steps) + 1
        print(f"{number:>2}. {name} ...", flush=True)
        result: list[str] = []
        begun = time.monotonic()
        try:
            yield result
        except Exception:
            print(f"    FAILED after {time.monotonic() - begun:.1f} s", flush=True)
            raise
        seconds = time.monotonic() - begun
        self.steps.append((name, seconds))
        print(f"    ok {'; '.join(result)} ({seconds:.1f} s)", flush=True)

    def total(self) -> float:
        return time.monotonic() - self.started


def log(text: str) -> None:
    with LOG.open("a", encoding="utf-8") as out:
        out.write(text if text.endswith("\n") else text + "\n")


def run(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    stdin: Any = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, its output into the log; a failure (if ``check``) is a RehearsalError
    naming the command, with the output's last line."""
    log(f"$ {' '.join(argv)}")
    done = subprocess.run(
        argv,
        env=env,
        cwd=cwd,
        stdin=stdin,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        check=False,
    )
    log(done.stdout + done.stderr)
    if check and done.returncode != 0:
        last = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        why = last[-1] if last else f"exit status {done.returncode}"
        raise RehearsalError(f"`{' '.join(argv[:3])} ...` failed: {why} (see {LOG})")
    return done


# --- podman ---------------------------------------------------------------------------------


@dataclass
class Podman:
    """podman and podman-compose with the rehearsal's settings (CONTAINERS_CONF: nothing of
    the machine's own configuration is changed)."""

    env: dict[str, str]
    compose_files: list[Path]
    project_dir: Path

    def __call__(self, *args: str, check: bool = True, timeout: float | None = None) -> str:
        return run(["podman", *args], env=self.env, check=check, timeout=timeout).stdout

    def compose(self, *args: str, profiles: Sequence[str] = (), check: bool = True) -> str:
        files = [f"--file={path}" for path in self.compose_files]
        profile_args = [f"--profile={p}" for p in profiles]
        argv = [
            str(Path(sys.executable).with_name("podman-compose")),
            "--in-pod=false",  # one network namespace per container, as Docker Compose does
            f"--project-name={PROJECT}",
            *files,
            *profile_args,
            *args,
        ]
        return run(argv, env=self.env, cwd=self.project_dir, check=check).stdout

    def containers(self) -> dict[str, dict[str, Any]]:
        """The project's containers by service."""
        found = json.loads(
            self(
                "ps",
                "--all",
                "--format=json",
                f"--filter=label=io.podman.compose.project={PROJECT}",
            )
        )
        return {c["Labels"]["io.podman.compose.service"]: c for c in found}

    def has_image(self, name: str) -> bool:
        return run(["podman", "image", "exists", name], env=self.env, check=False).returncode == 0

    def inspect(self, container: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = json.loads(self("inspect", container))
        return found[0]


def podman_settings() -> str:
    """containers.conf for the rehearsal: runc and cgroupfs (no systemd needed), and the
    containers' file and process limits at this shell's own hard limits, which podman would
    otherwise raise (a sandbox may forbid that; a process count cannot exceed pid_max)."""
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    limits = []
    if nofile != resource.RLIM_INFINITY:
        limits.append(f'"nofile={nofile}:{nofile}"')
    nproc = pid_max if nproc == resource.RLIM_INFINITY else min(nproc, pid_max)
    limits.append(f'"nproc={nproc}:{nproc}"')
    return (
        "[containers]\n"
        f"default_ulimits = [{', '.join(limits)}]\n"
        "[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        "[network]\n"
        'network_backend = "netavark"\n'
    )


def ensure_packages() -> str:
    """Install what is missing of PACKAGES with apt-get; what was installed, or "present"."""
    missing = [
        p
        for p in PACKAGES
        if run(["dpkg-query", "-W", "-f=${Status}", p], check=False).stdout
        != "install ok installed"
    ]
    if not missing:
        return "present"
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run([*sudo, "apt-get", "update", "-qq"], env=env)
    run([*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env)
    return f"installed {' '.join(missing)}"


# --- stand-in base images -------------------------------------------------------------------


@dataclass(frozen=True)
class StandIn:
    """A base image built from Debian's packages where the official one cannot be pulled."""

    tag: str
    packages: tuple[str, ...]
    changes: tuple[str, ...]  # Dockerfile instructions applied by `podman import`
    prepare: Callable[[Path], None]  # what the root filesystem gets before it is imported

    def recipe(self) -> str:
        parts = [SUITE, *self.packages, *self.changes, _source(self.prepare)]
        if self.tag.startswith("postgres"):
            parts.append((REHEARSAL / "postgres-entrypoint.sh").read_text())
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _source(function: Callable[[Path], None]) -> str:
    return inspect.getsource(function)


def _prepare_python(rootfs: Path) -> None:
    """As the official image: `python` and `pip` on PATH, pip free to install system-wide (the
    official image has no EXTERNALLY-MANAGED marker)."""
    (rootfs / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)
    (rootfs / "usr/local/bin/python").symlink_to("/usr/bin/python3")
    (rootfs / "usr/local/bin/pip").symlink_to("/usr/bin/pip3")


def _prepare_postgres(rootfs: Path) -> None:
    """No Debian cluster: the entrypoint makes one in the data volume, as the official image."""
    shutil.rmtree(rootfs / "etc/postgresql/15", ignore_errors=True)
    shutil.rmtree(rootfs / "var/lib/postgresql/15", ignore_errors=True)
    entrypoint = rootfs / "usr/local/bin/docker-entrypoint.sh"
    shutil.copyfile(REHEARSAL / "postgres-entrypoint.sh", entrypoint)
    entrypoint.chmod(0o755)


_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
STANDINS = (
    StandIn(
        "python:3.11-slim",
        ("python3.11", "python3-pip", "python3.11-venv", "ca-certificates", "netbase", "tzdata"),
        (f"ENV PATH={_PATH}", "ENV LANG=C.UTF-8", 'CMD ["python3"]'),
        _prepare_python,
    ),
    StandIn(
        "postgres:16",
        ("postgresql-15", "ca-certificates", "tzdata"),
        (
            f"ENV PATH=/usr/lib/postgresql/15/bin:{_PATH}",
            "ENV PGDATA=/var/lib/postgresql/data",
            "ENV LANG=C.UTF-8",
            "VOLUME /var/lib/postgresql/data",
            'ENTRYPOINT ["docker-entrypoint.sh"]',
            'CMD ["postgres"]',
            "STOPSIGNAL SIGINT",  # fast shutdown, as the official image
            "EXPOSE 5432",
        ),
        _prepare_postgres,
    ),
)


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (no host name is written in this project)."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for block in re.split(r"\n\s*\n", text):  # deb822: Types/URIs/Suites per paragraph
            uris = re.search(r"^URIs:\s*(\S+)", block, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", block, re.M)
            if uris and suites and SUITE in suites.group(1).split():
                return uris.group(1)
        for line in text.splitlines():  # one-line format
            match = re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", line.strip())
            if match and match.group(2) == SUITE:
                return match.group(1)
    raise RehearsalError(f"no Debian {SUITE} mirror in /etc/apt/sources.list(.d): the stand-ins")


def ensure_standin(podman: Podman, standin: StandIn, pull: bool) -> str:
    """The base image ``standin.tag``: kept if present (a stand-in of this recipe, or an
    official image pulled before), pulled with ``pull``, else built; how it was had."""
    recipe = standin.recipe()
    if podman.has_image(standin.tag):
        labels = json.loads(podman("image", "inspect", "--format={{json .Labels}}", standin.tag))
        found = (labels or {}).get(STANDIN_LABEL)
        if found is None:
            return "present (the official image)"
        if found == recipe:
            return "stand-in cached"
    if pull:
        podman("pull", f"docker.io/library/{standin.tag}")
        return "pulled"
    mirror = debian_mirror()
    with tempfile.TemporaryDirectory(prefix="standin-", dir=STATE) as scratch:
        rootfs = Path(scratch) / "rootfs"
        packages = ",".join(standin.packages)
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={packages}",
                SUITE,
                str(rootfs),
                mirror,
            ]
        )
        # What the image needs only: no downloaded packages, no package lists.
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (rootfs / cache).glob("*"):
                if item.is_file():
                    item.unlink()
        standin.prepare(rootfs)
        archive = Path(scratch) / "rootfs.tar"
        run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(archive), "."])
        changes = [*standin.changes, f"LABEL {STANDIN_LABEL}={recipe}"]
        podman("import", *[f"--change={c}" for c in changes], str(archive), standin.tag)
    return "stand-in built"


# --- the checkout and its .env ----------------------------------------------------------------


def copy_checkout(target: Path) -> int:
    """The working tree as a clone would have it (tracked and new files, nothing ignored): the
    build context and the compose project directory. The number of files."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    files = run(
        ["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard", "-z"]
    ).stdout.split("\0")
    files = [f for f in files if f and (ROOT / f).is_file()]  # a deleted, uncommitted file
    for name in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    return len(files)


def write_dotenv(checkout: Path) -> dict[str, str]:
    """`.env` as a team makes it: `.env.example` copied, the password and the account set (here
    the simulator's first account), and the Open Platform's four settings for the `receiver`.
    The values set, which the image must not contain."""
    account = demo_accounts(0)[0]
    values = {
        "POSTGRES_PASSWORD": secrets.token_urlsafe(18),  # URL-safe, as .env.example asks
        "WX_APP_ID": account.app_id,
        "WX_APP_SECRET": account.secret,
        "WX_COMPONENT_APP_ID": "wx" + secrets.token_hex(8),
        "WX_COMPONENT_APP_SECRET": secrets.token_hex(16),
        "WX_COMPONENT_TOKEN": secrets.token_hex(12),
        "WX_COMPONENT_AES_KEY": secrets.token_urlsafe(32)[:43].replace("-", "A").replace("_", "B"),
    }
    lines = []
    for line in (checkout / ".env.example").read_text(encoding="utf-8").splitlines():
        key = line.split("=", 1)[0]
        lines.append(f"{key}={values[key]}" if key in values and line == f"{key}=" else line)
    missing = set(values) - {line.split("=", 1)[0] for line in lines if "=" in line}
    if missing:
        raise RehearsalError(f".env.example has no {sorted(missing)}")
    dotenv = checkout / ".env"
    dotenv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dotenv.chmod(0o600)
    return values


def build_arguments() -> list[str]:
    """The registry settings of this environment, for the build stage only: the CA bundle this
    machine trusts (mounted, never copied into a layer; uv reads it with UV_NATIVE_TLS) and a
    package index when one is configured (PIP_INDEX_URL, UV_DEFAULT_INDEX)."""
    bundle = Path(os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"))
    args = []
    if bundle.is_file():
        args += [f"--volume={bundle}:/etc/ssl/certs/ca-certificates.crt:ro"]
        args += ["--build-arg=UV_NATIVE_TLS=1"]
    index = os.environ.get("PIP_INDEX_URL") or _pip_config("global.index-url")
    for name in INDEX_VARIABLES:
        value = os.environ.get(name) or index
        if value and value.startswith(("http://", "https://")):
            args.append(f"--build-arg={name}={value}")
    return args


def _pip_config(key: str) -> str | None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", key], capture_output=True, text=True
    )
    return done.stdout.strip() or None if done.returncode == 0 else None


# --- the stack ------------------------------------------------------------------------------


@dataclass
class Stack:
    podman: Podman
    config: dict[str, Any]  # the merged compose configuration (`podman-compose config`)

    def services(self, profiles: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
        return {
            name: service
            for name, service in self.config["services"].items()
            if not service.get("profiles") or set(service["profiles"]) & set(profiles)
        }

    def tiers(self, profiles: Sequence[str] = ()) -> list[list[str]]:
        """The services in the order depends_on starts them: each tier once the ones before
        it are healthy."""
        services = self.services(profiles)
        placed: list[str] = []
        tiers: list[list[str]] = []
        while len(placed) < len(services):
            tier = sorted(
                name
                for name, service in services.items()
                if name not in placed and set(service.get("depends_on") or {}) <= set(placed)
            )
            if not tier:
                raise RehearsalError(f"depends_on has a cycle among {set(services) - set(placed)}")
            tiers.append(tier)
            placed += tier
        return tiers

    def up(self) -> dict[str, float]:
        """Start the services tier by tier, each after the services it depends on are healthy:
        podman-compose 1.6 waits for `service_healthy` only on podman 4.6 and later. The
        seconds each service took from its `up` to healthy."""
        healthy: dict[str, float] = {}
        for tier in self.tiers():
            healthy.update(self.start(tier))
        return healthy

    def start(self, names: Sequence[str], profiles: Sequence[str] = ()) -> dict[str, float]:
        """`compose up` of these services alone, then each healthy: the seconds it took."""
        started = time.monotonic()
        self.podman.compose("up", "--detach", "--no-build", "--no-deps", *names, profiles=profiles)
        return self.wait_healthy(names, started)

    def wait_healthy(self, names: Sequence[str], started: float) -> dict[str, float]:
        """Run each service's own healthcheck at its interval until it reports healthy, as the
        engine's timer would (podman 4.3 times healthchecks with systemd, absent here); the
        seconds from ``started`` until each was."""
        containers = self.podman.containers()
        pending = {name: containers[name]["Names"][0] for name in names}
        interval = {
            name: _seconds(self.config["services"][name]["healthcheck"].get("interval", "30s"))
            for name in names
        }
        next_check = dict.fromkeys(names, time.monotonic())
        healthy: dict[str, float] = {}
        while pending:
            now = time.monotonic()
            if now - started > HEALTHY_SECONDS:
                name, container = next(iter(pending.items()))
                raise RehearsalError(
                    f"{name} not healthy in {HEALTHY_SECONDS} s: {self.tail(container)}"
                )
            for name, container in list(pending.items()):
                if now < next_check[name]:
                    continue
                next_check[name] = now + interval[name]
                self.podman("healthcheck", "run", container, check=False)
                state = self.podman.inspect(container)["State"]
                status = (state.get("Health") or state.get("Healthcheck") or {}).get("Status")
                if state["Status"] != "running":
                    raise RehearsalError(f"{name} is {state['Status']}: {self.tail(container)}")
                if status == "unhealthy":
                    raise RehearsalError(f"{name} is unhealthy: {self.tail(container)}")
                if status == "healthy":
                    healthy[name] = time.monotonic() - started
                    del pending[name]
            time.sleep(0.5)
        return healthy

    def alive(self) -> None:
        """Every started service still runs (a crash fails the step at once)."""
        for name, container in self.podman.containers().items():
            if container["State"] != "running":
                logs = self.tail(container["Names"][0])
                raise RehearsalError(f"{name} is {container['State']}: {logs}")

    def tail(self, container: str, lines: int = 5) -> str:
        logs = run(
            ["podman", "logs", f"--tail={lines}", container], env=self.podman.env, check=False
        )
        text = (logs.stdout + logs.stderr).strip().splitlines()
        return " | ".join(line.strip() for line in text[-lines:])

    def stop_each(self) -> dict[str, float]:
        """`compose stop`, service by service, dependents first (as Docker Compose stops them);
        the seconds from the command to the container's exit. A service the engine had to kill
        (exit 137) fails the step."""
        order = [name for tier in reversed(self.tiers()) for name in tier]
        containers = self.podman.containers()
        seconds: dict[str, float] = {}
        for name in order:
            begun = datetime.now(UTC)
            self.podman.compose("stop", name)
            state = self.podman.inspect(containers[name]["Names"][0])["State"]
            if state["Status"] != "exited":
                raise RehearsalError(f"{name} is {state['Status']} after `compose stop`")
            finished = datetime.fromisoformat(state["FinishedAt"])
            seconds[name] = (finished - begun).total_seconds()
            if state["ExitCode"] == 137 or seconds[name] > STOP_SECONDS:
                raise RehearsalError(
                    f"{name} did not stop within {STOP_SECONDS} s of SIGTERM "
                    f"({seconds[name]:.1f} s, exit {state['ExitCode']})"
                )
        return seconds


def _seconds(duration: str | int | float) -> float:
    """A compose duration (``10s``, ``1m30s``, ``500ms``) in seconds."""
    if isinstance(duration, int | float):
        return float(duration)
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", duration)
    return sum(float(n) * units[u] for n, u in parts)


# --- the checks -------------------------------------------------------------------------------


def published_port(service: dict[str, Any]) -> int:
    """The host port of a service's first published port (``127.0.0.1:5432:5432`` or the
    long form)."""
    port = service["ports"][0]
    if isinstance(port, dict):
        return int(port["published"])
    return int(str(port).split(":")[-2])


def ports_free(stack: Stack) -> list[str]:
    """Every port the stack publishes must be free on loopback, else one line says which."""
    taken, ports = [], []
    for name, service in stack.config["services"].items():
        if not service.get("ports"):
            continue
        port = published_port(service)
        ports.append(f"{port} ({name})")
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                taken.append(f"{port} ({name})")
    if taken:
        raise RehearsalError(
            f"port {', '.join(taken)} on 127.0.0.1 is in use: the stack publishes it; stop "
            "what listens there and run again"
        )
    return ports


def run_backfill(stack: Stack, api: WebserverApi, now: datetime) -> tuple[list[str], list[str]]:
    """A backfill of GROUP's assets over the newest final days, launched through the UI's
    GraphQL API, run by the daemon on the code server; then the marts' run the sensor asks
    for. Its days and run ids."""
    keys = api.partitioned_assets(GROUP)
    if not keys:
        raise RehearsalError(f"the webserver shows no partitioned asset in group {GROUP}")
    days = backfill_days(now)
    backfill_id = api.launch_backfill(keys, days, title="rehearsal")
    backfill = wait_for(lambda: api.finished_backfill(backfill_id), BACKFILL_SECONDS, stack.alive)
    if backfill is None:
        raise RehearsalError(f"backfill {backfill_id} not done in {BACKFILL_SECONDS} s")
    problem = backfill_problem(backfill)
    if problem:
        raise RehearsalError(f"backfill {backfill_id}: {problem}")
    runs = wait_for(api.settled_runs, BACKFILL_SECONDS, stack.alive)
    if runs is None:
        raise RehearsalError(f"no marts' run finished within {BACKFILL_SECONDS} s of the backfill")
    failed = [f"{r['jobName']} {r['status']}" for r in runs if r["status"] != "SUCCESS"]
    if failed:
        raise RehearsalError(f"runs not successful: {', '.join(failed)}")
    return days, [r["runId"] for r in backfill["runs"]]


def read_marts_as_bi(stack: Stack, bi_password: str, days: list[str]) -> int:
    """The marts through the published port as BI reads them: a login role given read access
    with `wx-pipeline warehouse grant-bi` in the code container. The rows read; a role that
    can read the raw answers fails."""
    port = published_port(stack.config["services"]["postgres"])
    url = f"postgresql://{BI_ROLE}:{bi_password}@127.0.0.1:{port}/wx"
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            found = conn.execute(
                sql.SQL("SELECT date_day::text FROM {} WHERE date_day = ANY(%s::date[])").format(
                    sql.SQL(MART)
                ),
                (days,),
            ).fetchall()
            try:
                conn.execute("SELECT 1 FROM wechat_raw.api_response LIMIT 1")
            except errors.InsufficientPrivilege:
                conn.rollback()
            else:
                raise RehearsalError(f"{BI_ROLE} can read wechat_raw: grant-bi gives too much")
    except psycopg.OperationalError as error:
        raise RehearsalError(f"{BI_ROLE} cannot connect to 127.0.0.1:{port}: {error}") from None
    if {day for (day,) in found} != set(days):
        raise RehearsalError(f"{MART} has days {sorted({d for (d,) in found})}, not {days}")
    return len(found)


def make_bi_role(stack: Stack, password: str) -> str:
    """A login role for BI, made by the warehouse's owner; read access from grant-bi."""
    port = published_port(stack.config["services"]["postgres"])
    bi_password = secrets.token_urlsafe(12)
    owner = f"postgresql://wx:{password}@127.0.0.1:{port}/wx"
    with psycopg.connect(owner, autocommit=True, connect_timeout=10) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(BI_ROLE), sql.Literal(bi_password)
            )
        )
    stack.podman.compose("exec", "-T", "code", "wx-pipeline", "warehouse", "grant-bi", BI_ROLE)
    return bi_password


def users(stack: Stack) -> dict[str, set[str]]:
    """The host uid of every process of the containers that run the project's image."""
    found: dict[str, set[str]] = {}
    for name, container in stack.podman.containers().items():
        if container["Image"].rsplit("/", 1)[-1] != IMAGE or container["State"] != "running":
            continue
        lines = stack.podman("top", container["Names"][0], "huser").split()[1:]
        found[name] = set(lines)
    return found


def image_secrets(podman: Podman, values: dict[str, str]) -> tuple[int, list[str]]:
    """`podman save` of the image searched for every .env value, layer by layer (the archive's
    layers are plain tar files). The archive's size, and the names of the values found."""
    needles = {name: value.encode() for name, value in values.items() if len(value) >= 8}
    width = max(len(v) for v in needles.values())
    found: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="save-", dir=STATE) as scratch:
        archive = Path(scratch) / "image.tar"
        podman("save", "--format=docker-archive", f"--output={archive}", IMAGE)
        size = archive.stat().st_size
        with archive.open("rb") as stream:
            tail = b""
            while chunk := stream.read(1 << 22):
                window = tail + chunk
                found |= {name for name, needle in needles.items() if needle in window}
                tail = window[-width:]
        with tarfile.open(archive) as outer:  # a compressed layer would hide a value
            (manifest,) = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
            compressed = [layer for layer in manifest["Layers"] if not layer.endswith(".tar")]
            if compressed:
                raise RehearsalError(f"cannot search compressed layers {compressed}")
    return size, sorted(found)


# --- the rehearsal --------------------------------------------------------------------------


def rehearse(report: Report, pull: bool, keep: bool) -> None:
    checkout = STATE / "checkout"
    settings = STATE / "containers.conf"
    with report.step("podman and debootstrap from Debian's packages") as result:
        result.append(ensure_packages())
        settings.write_text(podman_settings(), encoding="utf-8")
        env = {**os.environ, "CONTAINERS_CONF": str(settings)}
        podman = Podman(
            env, [checkout / "docker-compose.yml", checkout / OVERRIDE.relative_to(ROOT)], checkout
        )
        result.append(f"podman {podman('version', '--format={{.Client.Version}}').strip()}")

    with report.step("a clone of the checkout, .env from .env.example") as result:
        result.append(f"{copy_checkout(checkout)} files")
        values = write_dotenv(checkout)
        result.append(f".env sets {', '.join(values)}; nothing else is configured")
        config = yaml.safe_load(podman.compose("config", profiles=["platform"]))
        stack = Stack(podman, config)

    with report.step("no earlier rehearsal left; the published ports free") as result:
        podman.compose("down", "--volumes", "--remove-orphans", profiles=["platform"], check=False)
        result.append(f"127.0.0.1 ports {', '.join(ports_free(stack))}")

    for standin in STANDINS:
        with report.step(f"base image {standin.tag}") as result:
            result.append(ensure_standin(podman, standin, pull))

    with report.step(f"image {IMAGE} from the Dockerfile") as result:
        run(
            ["podman", "build", *build_arguments(), f"--tag={IMAGE}", str(checkout)],
            env=env,
            timeout=3600,
        )
        result.append(f"{image_size(podman, IMAGE)}")

    with report.step("stack up: every service healthy by its own healthcheck") as result:
        healthy = stack.up()
        result.append(", ".join(f"{name} {s:.0f} s" for name, s in healthy.items()))

    now = load_settings(now=config["services"]["code"]["environment"]["WX_NOW"]).now
    assert now is not None
    api = WebserverApi(f"http://127.0.0.1:{published_port(config['services']['webserver'])}")
    with report.step(
        f"a {len(backfill_days(now))}-day backfill through the webserver's GraphQL API"
    ) as result:
        days, run_ids = run_backfill(stack, api, now)
        runs = f"{len(run_ids)} backfill run(s), then the marts' run"
        result.append(f"{days[0]}..{days[-1]}: {runs}, SUCCESS")

    with report.step("the marts read through 127.0.0.1 by a role made with grant-bi") as result:
        bi_password = make_bi_role(stack, values["POSTGRES_PASSWORD"])
        rows = read_marts_as_bi(stack, bi_password, days)
        result.append(f"{rows} rows of {MART}; wechat_raw refused")

    with report.step(f"compose stop: each service within {STOP_SECONDS} s") as result:
        stopped = stack.stop_each()
        result.append(", ".join(f"{name} {s:.1f} s" for name, s in stopped.items()))

    with report.step("compose up again: the warehouse and the run history kept") as result:
        stack.up()
        kept = {r["runId"]: r["status"] for r in api.runs()}
        lost = [run_id for run_id in run_ids if kept.get(run_id) != "SUCCESS"]
        if lost:
            raise RehearsalError(f"the backfill's runs are gone after a restart: {lost}")
        rows = read_marts_as_bi(stack, bi_password, days)
        result.append(f"{len(kept)} runs kept, {rows} mart rows and the BI role's grants too")

    with report.step("platform profile: the receiver healthy") as result:
        healthy = stack.start(["receiver"], profiles=["platform"])
        result.append(f"receiver {healthy['receiver']:.0f} s")

    with report.step(f"the image runs as uid {UID}") as result:
        image_user = podman("run", "--rm", "--entrypoint=id", IMAGE, "-u").strip()
        running = users(stack)
        wrong = {name: uids for name, uids in running.items() if uids != {str(UID)}}
        if image_user != str(UID) or wrong:
            raise RehearsalError(f"not uid {UID}: image {image_user}, processes {wrong}")
        result.append(f"image and every process of {', '.join(sorted(running))}")

    with report.step("the image holds none of the .env values") as result:
        size, found = image_secrets(podman, values)
        if found:
            raise RehearsalError(f"`podman save {IMAGE}` contains the value of {', '.join(found)}")
        result.append(f"{len(values)} values searched in {size / 1e6:.0f} MB")

    with report.step("the Kubernetes image (requirements-k8s.lock) imports dagster_k8s") as result:
        run(
            [
                "podman",
                "build",
                *build_arguments(),
                "--build-arg=REQUIREMENTS=requirements-k8s.lock",
                f"--tag={K8S_IMAGE}",
                str(checkout),
            ],
            env=env,
            timeout=3600,
        )
        version = podman(
            "run",
            "--rm",
            K8S_IMAGE,
            "python",
            "-c",
            "import dagster_k8s; print(dagster_k8s.__version__)",
        ).strip()
        result.append(f"dagster_k8s {version}; {image_size(podman, K8S_IMAGE)}")

    if not keep:
        with report.step("torn down (images kept)") as result:
            teardown(podman, checkout)
            result.append("containers, volumes and .env removed")


def image_size(podman: Podman, image: str) -> str:
    size = int(podman("image", "inspect", "--format={{.Size}}", image))
    return f"{size / 1e6:.0f} MB"


def teardown(podman: Podman, checkout: Path) -> None:
    podman.compose("down", "--volumes", "--remove-orphans", profiles=["platform"])
    (checkout / ".env").unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="leave the stack running")
    parser.add_argument(
        "--pull", action="store_true", help="pull the official base images instead of stand-ins"
    )
    args = parser.parse_args(argv)
    STATE.mkdir(parents=True, exist_ok=True)
    LOG.write_text("", encoding="utf-8")
    report = Report()
    try:
        rehearse(report, pull=args.pull, keep=args.keep)
    except (RehearsalError, GraphQLError) as error:
        print(f"rehearsal failed: {error}", file=sys.stderr)
        print(f"(what runs is left for a look; the next rehearsal removes it; log: {LOG})")
        return 1
    print(f"rehearsal passed: {len(report.steps)} steps in {report.total():.0f} s (log: {LOG})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
