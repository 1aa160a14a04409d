"""Connections to the warehouse: SQLAlchemy engines on psycopg 3, and the raw psycopg handle.

Settings and the embedded server hand out `postgresql://` URLs (libpq form); SQLAlchemy would
pick psycopg2 for those, so every engine of the project is made here with the psycopg 3 driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from wx_pipeline.core.errors import WxUserError


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url` (any `postgresql[+driver]://` form) using psycopg 3."""
    parsed = make_url(url).set(drivername="postgresql+psycopg")
    # A pooled connection may have died with a restart of the server: test it on checkout.
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


class WarehouseUnreachableError(WxUserError):
    """The warehouse did not answer; str() is one line with what the server or libpq said."""


def require_reachable(url: str, timeout: int = 10) -> None:
    """Connect once (within ``timeout`` seconds), or raise one line saying why not."""
    from sqlalchemy.engine import make_url as parse

    target = parse(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(target, connect_timeout=timeout) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        said = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        where = parse(url).render_as_string(hide_password=True)
        raise WarehouseUnreachableError(
            f"warehouse unreachable at {where}: {said[-1] if said else type(exc).__name__}"
        ) from None


def driver_connection(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under a SQLAlchemy connection (for COPY), same transaction."""
    raw = conn.connection.driver_connection
    if not isinstance(raw, psycopg.Connection):
        raise TypeError(f"the warehouse needs the psycopg 3 driver, got {type(raw).__name__}")
    return raw


@contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[None]:
    """Hold the warehouse-wide lock ``name`` while the block runs (other holders wait).

    A session-level advisory lock on a connection of its own: it serialises work done by other
    processes (a dbt build) across every process using the warehouse, and it is released when
    the connection closes, however the holder ends (a killed process included).
    """
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(hashtextextended(:name, 0))"), {"name": name})
        try:
            yield
        finally:
            unlock = text("SELECT pg_advisory_unlock(hashtextextended(:name, 0))")
            conn.execute(unlock, {"name": name})
            conn.commit()
