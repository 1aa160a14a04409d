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

    @property
    def is_delay(self) -> bool:
        """The 2025 endpoints flag data that is not final yet."""
        return bool(self.body.get("is_delay", False))
