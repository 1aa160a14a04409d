"""Connections to the warehouse: SQLAlchemy engines on psycopg 3, and the raw psycopg handle.

Settings and the embedded server hand out `postgresql://` URLs (libpq form); SQLAlchemy would
pick psycopg2 for those, so every engine of the project is made here with the psycopg 3 driver.
"""

from __future__ import annotations

from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine import make_url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url` (any `postgresql[+driver]://` form) using psycopg 3."""
    parsed = make_url(url).set(drivername="postgresql+psycopg")
    return create_engine(parsed, **kwargs)


def driver_connection(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under a SQLAlchemy connection (for COPY), same transaction."""
    raw = conn.connection.driver_connection
    if not isinstance(raw, psycopg.Connection):
        raise TypeError(f"the warehouse needs the psycopg 3 driver, got {type(raw).__name__}")
    return raw
