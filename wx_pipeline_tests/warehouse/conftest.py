"""Fixtures of the warehouse tests: a migrated database per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.migrate import migrate


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[sa.Engine]:
    """An engine on this module's own database, migrated to head."""
    engine = make_engine(database_url)
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()
