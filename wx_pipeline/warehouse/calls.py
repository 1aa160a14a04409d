"""API calls per account, endpoint and Beijing day, counted in the warehouse
(`wechat_meta.api_calls`): the client's shared ``CallStore``, and reading the counts back.

Every process and run takes its calls from the same row under a row lock, so a daily budget
holds however many runs overlap; a 45009 from WeChat marks the row exhausted for the day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from wx_pipeline.warehouse.schema import api_calls
from wx_pipeline.wechat.quota import CallKey

_t = api_calls


def _where(key: CallKey) -> sa.ColumnElement[bool]:
    return sa.and_(
        _t.c.account_id == key.account_id, _t.c.endpoint == key.endpoint, _t.c.day == key.day
    )


class WarehouseCallStore:
    """The ``CallStore`` of the client (``wechat/quota.py``), kept in the warehouse."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def take(self, key: CallKey, calls: int, budget: int | None) -> int:
        with self.engine.begin() as conn:
            conn.execute(
                insert(_t)
                .values(account_id=key.account_id, endpoint=key.endpoint, day=key.day, calls=0)
                .on_conflict_do_nothing()
            )
            row = conn.execute(
                sa.select(_t.c.calls, _t.c.exhausted).where(_where(key)).with_for_update()
            ).one()
            if row.exhausted:
                return 0
            granted = calls if budget is None else max(0, min(calls, budget - row.calls))
            if granted:
                conn.execute(sa.update(_t).where(_where(key)).values(calls=_t.c.calls + granted))
            return granted

    def give_back(self, key: CallKey, calls: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(_t)
                .where(_where(key))
                .values(calls=sa.func.greatest(_t.c.calls - calls, 0))
            )

    def mark_exhausted(self, key: CallKey) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(_t)
                .values(
                    account_id=key.account_id,
                    endpoint=key.endpoint,
                    day=key.day,
                    calls=0,
                    exhausted=True,
                )
                .on_conflict_do_update(
                    index_elements=[_t.c.account_id, _t.c.endpoint, _t.c.day],
                    set_={"exhausted": True},
                )
            )


@dataclass(frozen=True)
class DayCalls:
    """An account's calls to one endpoint on one day."""

    calls: int
    exhausted: bool


def calls_on(
    conn: sa.Connection, day: date, account_ids: Sequence[str] | None = None
) -> dict[tuple[str, str], DayCalls]:
    """(account, endpoint) -> the calls counted on ``day`` (Beijing)."""
    query = sa.select(_t.c.account_id, _t.c.endpoint, _t.c.calls, _t.c.exhausted).where(
        _t.c.day == day
    )
    if account_ids is not None:
        query = query.where(_t.c.account_id.in_(list(account_ids)))
    return {
        (row.account_id, row.endpoint): DayCalls(int(row.calls), bool(row.exhausted))
        for row in conn.execute(query)
    }


def forget_calls_before(conn: sa.Connection, day: date) -> int:
    """Delete the counts of days before ``day``: a budget is only ever taken from today's;
    returns how many rows went."""
    return int(conn.execute(sa.delete(_t).where(_t.c.day < day)).rowcount)
