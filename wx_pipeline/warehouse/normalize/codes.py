"""Which code list (spec section 4) a column's values come from.

The registry builds the description of every code column from its list (`describe_codes`), so
the list is found by matching that text: no second mapping of columns to lists to keep in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Final

from wx_pipeline.registry import Column, codes

_CODE_LISTS: Final[tuple[Mapping[int, str] | Mapping[str, str], ...]] = (
    codes.FOLLOWER_SOURCE,
    codes.READ_SOURCE,
    codes.SHARE_SCENE,
    codes.MSG_TYPE,
    codes.COUNT_INTERVAL,
    codes.SCENE_DESC,
    codes.PUBLISH_TYPE,
)


@cache
def code_list(col: Column) -> frozenset[int | str] | None:
    """The known codes of `col`, or None if it is not a code column."""
    matches = [c for c in _CODE_LISTS if codes.describe_codes(dict(c)) in col.description]
    if not matches:
        return None
    # The longest rendering wins should one list's text ever contain another's.
    best = max(matches, key=lambda c: len(codes.describe_codes(dict(c))))
    return frozenset(best)
