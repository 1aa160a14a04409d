"""What one API call returned: the unit the client produces and the archive stores.

The raw body is never thrown away: the archive keeps it as received, and the normalizers are
pure functions of it, so fact tables can be rebuilt without spending quota.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class RawResponse:
    """One successful datacube call: the request and the JSON body as received."""

    account_id: str  # the app id
    endpoint: str  # registry name, e.g. "getusersummary"
    begin: date  # begin_date as requested
    end: date  # end_date as requested
    fetched_at: datetime  # timezone-aware
    body: dict[str, Any]  # parsed JSON object: {"list": [...], ...}
    #: The newest final day when fetched (``clock.py``'s rule): entries of cumulative answers
    #: (``stat_date`` tails) after it are not final and are never loaded. None: all final.
    final_through: date | None = None
