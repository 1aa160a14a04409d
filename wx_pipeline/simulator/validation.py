"""Request checks of the datacube API: body format, date format and the date-range rules."""

from __future__ import annotations

import json
import re
from datetime import date

from wx_pipeline.registry import Endpoint, Period, period_start

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BODY_KEYS = frozenset({"begin_date", "end_date"})


class RequestError(Exception):
    def __init__(self, errcode: int) -> None:
        super().__init__(errcode)
        self.errcode = errcode


def parse_dates(body: bytes) -> tuple[date, date]:
    """begin/end of a datacube body; 44002 empty, 47001 malformed, 61500 bad date format."""
    if not body.strip():
        raise RequestError(44002)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RequestError(47001) from None
    if not isinstance(data, dict) or set(data) != _BODY_KEYS:
        raise RequestError(47001)
    begin, end = data["begin_date"], data["end_date"]
    if not isinstance(begin, str) or not isinstance(end, str):
        raise RequestError(47001)
    return _date(begin), _date(end)


def _date(text: str) -> date:
    if not _DATE.fullmatch(text):
        raise RequestError(61500)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RequestError(61500) from None


def check_range(endpoint: Endpoint, begin: date, end: date, today: date) -> None:
    """61501 unless the range is one the endpoint accepts (see the registry docstring)."""
    if begin > end or end >= today or (end - begin).days >= endpoint.max_span:
        raise RequestError(61501)
    if endpoint.period is not Period.DAY and (
        period_start(endpoint.period, begin) != begin or period_start(endpoint.period, end) != end
    ):
        raise RequestError(61501)
