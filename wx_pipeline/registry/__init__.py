"""The endpoint registry: what WeChat's datacube API is, as data every room reads.

``types.py`` (what an endpoint, a table and a column are), ``codes.py`` (the code lists),
``columns.py`` (the spec's field groups), ``endpoints.py`` (the 21 endpoints) and ``periods.py``
(weeks, months and the fewest calls a range takes). The names below are the ones the rest of
the package uses.
"""

from wx_pipeline.registry.endpoints import BY_NAME, ENDPOINTS, TABLES, get, with_spans
from wx_pipeline.registry.periods import (
    Window,
    next_period,
    period_end,
    period_start,
    period_starts,
    plan_windows,
)
from wx_pipeline.registry.types import (
    DATA_START,
    V2025_START,
    Agg,
    Column,
    Endpoint,
    Family,
    Grain,
    Level,
    Nesting,
    Period,
    SqlType,
    Table,
    Transform,
)

__all__ = [
    "BY_NAME",
    "DATA_START",
    "ENDPOINTS",
    "TABLES",
    "V2025_START",
    "Agg",
    "Column",
    "Endpoint",
    "Family",
    "Grain",
    "Level",
    "Nesting",
    "Period",
    "SqlType",
    "Table",
    "Transform",
    "Window",
    "get",
    "next_period",
    "period_end",
    "period_start",
    "period_starts",
    "plan_windows",
    "with_spans",
]
