"""Judging a datacube answer as received, before anything is archived: pure, no I/O.

An answer is stored only when it is a JSON object with a `list` array, no `errcode` and, on the
2025 endpoints, not flagged `is_delay`. Everything else is a typed error: WeChat's codes by
`error_for` (a token to refresh, quota, configuration, retired, transient), a body that is not
JSON or has no list as malformed (retried like a truncated transfer), `is_delay` as not final
yet. What the answer's rows hold is the normalizer's business (`warehouse/normalize`).
"""

from __future__ import annotations

import contextlib
from typing import Any

import orjson

from wx_pipeline.wechat.errors import (
    NOT_READY,
    CallContext,
    MalformedResponseError,
    TransientError,
    error_for,
)


def errcode(body: dict[str, Any]) -> int:
    """The answer's errcode: 0 for none, -1 for one that is not an integer."""
    code = body.get("errcode", 0)
    return code if isinstance(code, int) else -1


def errmsg(body: dict[str, Any]) -> str:
    return str(body.get("errmsg", ""))


def parse(content: bytes, context: CallContext) -> dict[str, Any]:
    """The answer's JSON object, or `MalformedResponseError` with a preview of what came."""
    body: Any = None
    with contextlib.suppress(orjson.JSONDecodeError):
        # orjson: a year's backfill parses ~3,700 bodies; json.loads was a visible share.
        body = orjson.loads(content)
    if not isinstance(body, dict):
        preview = content[:80].decode(errors="replace").replace("\n", " ")
        raise MalformedResponseError(
            f"{context.describe()}: answer is not a JSON object ({len(content)} bytes: "
            f"{preview!r})",
            context,
        )
    return body


def judge_datacube(body: dict[str, Any], context: CallContext) -> None:
    """Raise what a datacube answer that is not loadable data means; return if it is."""
    if code := errcode(body):
        raise error_for(code, errmsg(body), context)
    if not isinstance(body.get("list"), list):
        raise MalformedResponseError(
            f"{context.describe()}: answer has no 'list' array (keys: {sorted(body)})", context
        )
    if body.get("is_delay") is True:
        # WeChat itself says the window is not final: never load it as if it were.
        raise TransientError(
            f"{context.describe()}: WeChat flags the data as not final yet (is_delay)",
            context,
            errcode=NOT_READY,
        )
