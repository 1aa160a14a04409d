"""What one API call returned: the unit the client produces and the archive stores.

The raw body is never thrown away: the archive keeps it as received, and the normalizers are
pure functions of it, so fact tables can be rebuilt without spending quota.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson


@dataclass(frozen=True)
class RawResponse:
    """One successful datacube call: the request and the JSON body as received."""

    account_id: str  # the app id
    endpoint: str  # registry name, e.g. "getusersummary"
    begin: date  # begin_date as requested
    end: date  # end_date as requested
    fetched_at: datetime  # timezone-aware
    #: The JSON body's bytes as received ({"list": [...], ...}). Held as bytes, not parsed: a
    #: pass holds thousands of answers on their way to a loader, and bytes take a third of the
    #: memory, are never walked by the garbage collector and are pickled as one copy.
    content: bytes
    #: The newest final day when fetched (``clock.py``'s rule): entries of cumulative answers
    #: (``stat_date`` tails) after it are not final and are never loaded. None: all final.
    final_through: date | None = None

    @property
    def body(self) -> Any:
        """The parsed body (parsed at each access: keep it where it is read more than once)."""
        return orjson.loads(self.content)

    @classmethod
    def of(
        cls,
        account_id: str,
        endpoint: str,
        begin: date,
        end: date,
        fetched_at: datetime,
        body: Any,
        final_through: date | None = None,
    ) -> RawResponse:
        """A response whose body is given parsed (a made-up answer). Encoded by the standard
        library, which writes what orjson cannot (integers beyond 64 bits, NaN) as an API might."""
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(account_id, endpoint, begin, end, fetched_at, content, final_through)
