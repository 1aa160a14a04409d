"""`wx-pipeline bi serve`: Apache Superset on the warehouse, provisioned by code.

Superset runs from a virtualenv of its own (`.venv-bi`, made by `make bi` from
`requirements-bi.lock`; in the `bi` image, the one on PATH), never the pipeline's. On start:

1. the warehouse gets the read-only role Superset connects as (`WX_BI_ROLE`, default `wx_bi`):
   created if missing, its password set, then `grant-bi` (SELECT on `analytics` and `wechat`);
2. Superset's own metadata database (SQLite in `$WX_HOME/bi`) is upgraded, the `admin` user
   made and Superset's roles set up (`superset db upgrade`, `fab create-admin`, `init`), once
   per Superset version;
3. Superset's web server (gunicorn) starts, and the assets (`assets/`: the warehouse, the
   datasets, the two dashboards) are imported through its REST API, the role's password given
   apart from them.

The secrets are generated once into `$WX_HOME/bi` (mode 0600) and never printed: Superset's
SECRET_KEY, the role's password and, unless `WX_BI_ADMIN_PASSWORD` is set, the admin's.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx
import sqlalchemy as sa
from psycopg import sql

from wx_pipeline.bi import assets
from wx_pipeline.bi.client import SupersetClient, Unauthorized
from wx_pipeline.core.errors import WxUserError
from wx_pipeline.core.settings import Settings
from wx_pipeline.runtime.supervise import supervise
from wx_pipeline.warehouse.db import driver_connection, make_engine
from wx_pipeline.warehouse.embedded import warehouse_url
from wx_pipeline.warehouse.grants import grant_bi

#: The virtualenv `make bi` installs Superset into, beside the package's checkout.
BI_VENV: Final = Path(__file__).resolve().parents[2] / ".venv-bi"
ADMIN: Final = "admin"
#: Superset's start-up (a cold import, the first request) on a busy machine.
START_SECONDS: Final = 300.0
#: How long Superset's web server gets to stop after a stop signal (below a container's 10 s).
STOP_GRACE: Final = 7.0
#: The configuration Superset loads (SUPERSET_CONFIG_PATH).
CONFIG_FILE: Final = Path(__file__).with_name("superset_config.py")
#: The mart whose absence means the pipeline has not built the marts yet.
PROBE_MART: Final = "analytics.dim_account"


class BiError(WxUserError):
    """Superset could not be set up or started."""


@dataclass(frozen=True)
class BiHome:
    """Superset's state under `$WX_HOME/bi`: its metadata database, log and secrets."""

    path: Path

    @property
    def log(self) -> Path:
        return self.path / "superset.log"

    @property
    def admin_password_file(self) -> Path:
        return self.path / "admin-password"

    def ensure(self) -> None:
        """The directory, the owner's alone: Superset's metadata database in it holds the
        warehouse password (encrypted with the secret key kept beside it)."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.path.chmod(0o700)

    def secret(self, name: str) -> str:
        """The secret kept in the file `name` (0600), generated on first use."""
        target = self.path / name
        if not target.exists():
            self.ensure()
            fd = os.open(target.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(secrets.token_urlsafe(32))
            os.replace(target.with_suffix(".tmp"), target)
        return target.read_text(encoding="utf-8").strip()

    def stamp(self) -> Path:
        """Marks Superset's metadata as set up for the installed Superset version."""
        return self.path / f".initialised-{superset_version()}"


def superset_version() -> str:
    """The installed Superset's version, from its virtualenv's package metadata."""
    venv = superset_bin().parent.parent
    found = sorted(venv.glob("lib/python*/site-packages/apache_superset-*.dist-info"))
    if not found:
        return "unknown"
    return found[-1].name.removeprefix("apache_superset-").removesuffix(".dist-info")


def superset_bin() -> Path:
    """The `superset` executable: `.venv-bi`'s, else the one on PATH."""
    local = BI_VENV / "bin" / "superset"
    if local.exists():
        return local
    found = shutil.which("superset")
    if found is None:
        raise BiError(
            "Apache Superset is not installed: `make bi` installs it into .venv-bi "
            "(from requirements-bi.lock)"
        )
    return Path(found)


def admin_password(settings: Settings, home: BiHome) -> str:
    if settings.bi_admin_password is not None:
        return settings.bi_admin_password.get_secret_value()
    return home.secret(home.admin_password_file.name)


def provision_role(engine: sa.Engine, role: str, password: str) -> None:
    """Make `role` (LOGIN, with `password`) if missing, set its password, grant it BI reads."""
    with engine.begin() as conn:
        raw = driver_connection(conn)
        exists = raw.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        raw.execute(
            sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
    grant_bi(engine, role)


def marts_built(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(sa.text("select to_regclass(:m)"), {"m": PROBE_MART}).scalar() is not None
        )


def superset_env(home: BiHome) -> dict[str, str]:
    """The environment of Superset's processes: its home, secret key, no tracking pixel."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WX_", "SUPERSET_"))}
    env.update(
        SUPERSET_HOME=str(home.path),
        SUPERSET_CONFIG_PATH=str(CONFIG_FILE),
        SUPERSET_SECRET_KEY=home.secret("secret-key"),
        SCARF_ANALYTICS="false",
        PYTHONUNBUFFERED="1",
    )
    return env


def _superset(args: list[str], env: Mapping[str, str], home: BiHome) -> None:
    """One `superset` command, its output appended to the log; one line if it fails."""
    with home.log.open("a", encoding="utf-8") as log:
        result = subprocess.run(
            [str(superset_bin()), *args],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        raise BiError(f"`superset {' '.join(args)}` failed; see {home.log}")


def prepare_metadata(home: BiHome, env: Mapping[str, str], password: str) -> None:
    """Superset's metadata database upgraded, its roles set up and the admin made: once per
    Superset version (a later start finds the stamp and skips ~30 s of it)."""
    if home.stamp().exists():
        return
    _superset(["db", "upgrade"], env, home)
    # The password reaches the CLI through Flask's environment variable for the option, never
    # its command line (which other users of the machine can read).
    admin_env = {**env, "FLASK_FAB_CREATE_ADMIN_PASSWORD": password}
    names = ["--firstname", "wx-pipeline", "--lastname", "admin", "--email", "admin@localhost"]
    _superset(["fab", "create-admin", "--username", ADMIN, *names], admin_env, home)
    _superset(["init"], env, home)
    home.stamp().touch()


def reset_admin_password(home: BiHome, env: Mapping[str, str], password: str) -> None:
    reset_env = {**env, "FLASK_FAB_RESET_PASSWORD_PASSWORD": password}
    _superset(["fab", "reset-password", "--username", ADMIN], reset_env, home)


def wait_until_up(base_url: str, alive: Callable[[], bool], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/health", timeout=5).status_code == 200:
                return
        if not alive():
            raise BiError(f"Superset's web server exited; see {log}")
        if time.monotonic() > deadline:
            raise BiError(f"Superset did not answer on {base_url} in {START_SECONDS:.0f} s")
        time.sleep(1)


def login(base_url: str, home: BiHome, env: Mapping[str, str], password: str) -> SupersetClient:
    """The admin's session; the admin's password is set again when it was changed since."""
    try:
        return SupersetClient(base_url, ADMIN, password)
    except Unauthorized:
        reset_admin_password(home, env, password)
        return SupersetClient(base_url, ADMIN, password)


def serve(settings: Settings, host: str, port: int) -> None:
    """Set up and run Superset on `host:port` against the warehouse until a stop signal."""
    home = BiHome(settings.home / "bi")
    home.ensure()
    url = warehouse_url(settings)
    engine = make_engine(url)
    try:
        provision_role(engine, settings.bi_role, home.secret("role-password"))
        built = marts_built(engine)
    finally:
        engine.dispose()
    env = superset_env(home)
    password = admin_password(settings, home)
    prepare_metadata(home, env, password)
    base_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    argv = [
        str(superset_bin().with_name("gunicorn")),
        "--bind",
        f"{host}:{port}",
        "--workers",
        "1",
        "--threads",
        "8",
        "--worker-class",
        "gthread",
        "--timeout",
        "120",
        "--graceful-timeout",
        str(int(STOP_GRACE) - 2),
        "superset.app:create_app()",
    ]

    def provision(child_alive: Callable[[], bool]) -> None:
        wait_until_up(base_url, child_alive, home.log)
        with login(base_url, home, env, password) as client:
            bundle = assets.bundle(assets.superset_uri(url, settings.bi_role))
            client.import_assets(bundle, {assets.DATABASE_FILE: home.secret("role-password")})
            dashboards = client.dashboards()
        print(f"Superset on {base_url} (log: {home.log})", flush=True)
        where = (
            "WX_BI_ADMIN_PASSWORD"
            if settings.bi_admin_password is not None
            else str(home.admin_password_file)
        )
        print(f"user {ADMIN}, password in {where}", flush=True)
        for title, address in sorted(dashboards.items()):
            print(f"{title}: {address}", flush=True)
        if not built:
            print(
                f"warning: {PROBE_MART} is missing: the dashboards fill in once the pipeline has "
                "built the marts (`make run`)",
                flush=True,
            )

    with home.log.open("a", encoding="utf-8") as log:
        status = supervise(argv, env, grace=STOP_GRACE, started=provision, output=log)
    sys.exit(status)


def export(settings: Settings, base_url: str, root: Path = assets.ASSETS_DIR) -> list[str]:
    """Take the charts and dashboards of the Superset at `base_url` into `root`."""
    home = BiHome(settings.home / "bi")
    if settings.bi_admin_password is None and not home.admin_password_file.exists():
        raise BiError(
            f"no admin password: {home.admin_password_file} is missing (`wx-pipeline bi serve` "
            "writes it, with this WX_HOME) and WX_BI_ADMIN_PASSWORD is not set"
        )
    with SupersetClient(base_url, ADMIN, admin_password(settings, home)) as client:
        return assets.unbundle(client.export_assets(), root)
