"""The third-party platform's credentials and authorisation events, kept in the warehouse
(`wechat_meta.component_credentials`, `wechat_meta.component_events`): the client's shared
``CredentialStore`` (``wechat/component.py``), what the ticket receiver writes, and what
``wx-pipeline status`` reads.

A process that refreshes a token holds a session-level advisory lock on the token's key (the
platform's, or one account's) on a connection of its own until it has written the new one; the
lock goes with the connection, so a killed process never leaves it behind. The credentials are
secrets at rest: they are written here and read back by the client only, never logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on, insert

from wx_pipeline.warehouse.schema import component_credentials, component_events
from wx_pipeline.wechat.component import (
    AUTHORIZER_TOKEN,
    PLATFORM,
    TICKET,
    TICKET_LIFETIME,
    WECHAT_EVENTS,
    AuthorizationEvent,
    Stored,
)

_c = component_credentials
_e = component_events
_TRY_LOCK = sa.text("SELECT pg_try_advisory_lock(hashtextextended(:key, 0))")
_UNLOCK = sa.text("SELECT pg_advisory_unlock(hashtextextended(:key, 0))")


def _where(component_app_id: str, authorizer_app_id: str, kind: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        _c.c.component_app_id == component_app_id,
        _c.c.authorizer_app_id == authorizer_app_id,
        _c.c.kind == kind,
    )


def _read(
    conn: sa.Connection, component_app_id: str, kind: str, authorizer_app_id: str
) -> Stored | None:
    row = conn.execute(
        sa.select(_c.c.value, _c.c.expires_at, _c.c.seed).where(
            _where(component_app_id, authorizer_app_id, kind)
        )
    ).one_or_none()
    return None if row is None else Stored(row.value, row.expires_at, row.seed)


def _write(
    conn: sa.Connection, component_app_id: str, authorizer_app_id: str, kind: str, item: Stored
) -> None:
    values = {"value": item.value, "expires_at": item.expires_at, "seed": item.seed}
    conn.execute(
        insert(_c)
        .values(
            component_app_id=component_app_id,
            authorizer_app_id=authorizer_app_id,
            kind=kind,
            **values,
        )
        .on_conflict_do_update(
            index_elements=[_c.c.component_app_id, _c.c.authorizer_app_id, _c.c.kind],
            set_={**values, "updated_at": sa.func.now()},
        )
    )


def _record(
    conn: sa.Connection,
    component_app_id: str,
    authorizer_app_id: str,
    event: str,
    *,
    created_at: datetime | None = None,
    detail: str | None = None,
) -> None:
    conn.execute(
        sa.insert(_e).values(
            component_app_id=component_app_id,
            authorizer_app_id=authorizer_app_id,
            event=event,
            created_at=created_at,
            detail=detail,
        )
    )


class _Held:
    """One key's credentials under this process's advisory lock (``HeldCredentials``)."""

    def __init__(self, conn: sa.Connection, lock_key: str, cid: str, authorizer: str) -> None:
        self._conn = conn
        self._lock_key = lock_key
        self._cid = cid
        self._authorizer = authorizer

    def get(self, kind: str) -> Stored | None:
        found = _read(self._conn, self._cid, kind, self._authorizer)
        self._conn.commit()
        return found

    def put(self, kind: str, credential: Stored) -> None:
        _write(self._conn, self._cid, self._authorizer, kind, credential)
        self._conn.commit()

    def record(self, event: str, detail: str | None = None) -> None:
        _record(self._conn, self._cid, self._authorizer, event, detail=detail)
        self._conn.commit()

    def release(self) -> None:
        try:
            self._conn.rollback()
            self._conn.execute(_UNLOCK, {"key": self._lock_key})
            self._conn.commit()
        except sa.exc.SQLAlchemyError:
            # A pooled connection must never keep the lock: drop it (the session ends).
            self._conn.invalidate()
        finally:
            self._conn.close()


class WarehouseCredentialStore:
    """The client's ``CredentialStore``, in the warehouse."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def __repr__(self) -> str:
        return "WarehouseCredentialStore()"

    def get(
        self, component_app_id: str, kind: str, authorizer_app_id: str = PLATFORM
    ) -> Stored | None:
        with self.engine.connect() as conn:
            return _read(conn, component_app_id, kind, authorizer_app_id)

    def try_hold(self, component_app_id: str, authorizer_app_id: str = PLATFORM) -> _Held | None:
        key = f"wx:component:{component_app_id}:{authorizer_app_id}"
        conn = self.engine.connect()
        try:
            got = bool(conn.execute(_TRY_LOCK, {"key": key}).scalar())
            conn.commit()
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            return None
        return _Held(conn, key, component_app_id, authorizer_app_id)

    def latest_event(
        self, component_app_id: str, authorizer_app_id: str
    ) -> AuthorizationEvent | None:
        with self.engine.connect() as conn:
            return latest_events(conn, component_app_id, [authorizer_app_id]).get(authorizer_app_id)


def store_ticket(
    engine: sa.Engine, component_app_id: str, ticket: str, pushed_at: datetime
) -> bool:
    """Keep ``ticket`` as the newest unless a newer push is stored already (a replayed or late
    push never replaces it); True when it was stored."""
    expires = pushed_at + TICKET_LIFETIME
    row = {"value": ticket, "expires_at": expires, "seed": None}
    statement = (
        insert(_c)
        .values(component_app_id=component_app_id, authorizer_app_id=PLATFORM, kind=TICKET, **row)
        .on_conflict_do_update(
            index_elements=[_c.c.component_app_id, _c.c.authorizer_app_id, _c.c.kind],
            set_={**row, "updated_at": sa.func.now()},
            where=sa.or_(_c.c.expires_at.is_(None), _c.c.expires_at <= expires),
        )
        .returning(_c.c.kind)  # a row back only when inserted or replaced
    )
    with engine.begin() as conn:
        return conn.execute(statement).first() is not None


def record_event(
    engine: sa.Engine,
    component_app_id: str,
    authorizer_app_id: str,
    event: str,
    *,
    created_at: datetime | None = None,
    detail: str | None = None,
) -> None:
    """Add an authorisation event to the ledger."""
    with engine.begin() as conn:
        _record(
            conn, component_app_id, authorizer_app_id, event, created_at=created_at, detail=detail
        )


def latest_events(
    conn: sa.Connection, component_app_id: str, authorizer_app_ids: Sequence[str]
) -> dict[str, AuthorizationEvent]:
    """Each account's newest authorisation event (accounts without one are left out)."""
    newest = (
        sa.select(_e.c.authorizer_app_id, _e.c.event, _e.c.at, _e.c.detail)
        .where(
            _e.c.component_app_id == component_app_id,
            _e.c.authorizer_app_id.in_(list(authorizer_app_ids)),
        )
        .ext(distinct_on(_e.c.authorizer_app_id))
        .order_by(_e.c.authorizer_app_id, _e.c.id.desc())
    )
    return {
        row.authorizer_app_id: AuthorizationEvent(row.event, row.at, row.detail)
        for row in conn.execute(newest)
    }


@dataclass(frozen=True)
class Authorisation:
    """Where an authorised account stands, for ``wx-pipeline status`` (no credential in it)."""

    latest: AuthorizationEvent | None
    token_refreshed_at: datetime | None  # the last authorizer access token any process got

    @property
    def live(self) -> bool | None:
        """False once revoked; True when WeChat last said it granted it, or a token was got
        after the last event; None: not known yet (nothing tried since)."""
        latest, refreshed = self.latest, self.token_refreshed_at
        if latest is not None and latest.revoked:
            return False
        if latest is not None and latest.event in WECHAT_EVENTS:
            return True
        if refreshed is not None and (latest is None or refreshed >= latest.at):
            return True
        return None


def authorisations(
    conn: sa.Connection, component_app_id: str, authorizer_app_ids: Sequence[str]
) -> dict[str, Authorisation]:
    """Per account: its newest event and its last token refresh."""
    events = latest_events(conn, component_app_id, authorizer_app_ids)
    tokens = {
        row.authorizer_app_id: row.updated_at
        for row in conn.execute(
            sa.select(_c.c.authorizer_app_id, _c.c.updated_at).where(
                _c.c.component_app_id == component_app_id,
                _c.c.kind == AUTHORIZER_TOKEN,
                _c.c.authorizer_app_id.in_(list(authorizer_app_ids)),
            )
        )
    }
    return {
        app_id: Authorisation(events.get(app_id), tokens.get(app_id))
        for app_id in authorizer_app_ids
    }


def ticket_received(conn: sa.Connection, component_app_id: str) -> datetime | None:
    """When the newest verify ticket was pushed (None: never)."""
    expires = conn.execute(
        sa.select(_c.c.expires_at).where(_where(component_app_id, PLATFORM, TICKET))
    ).scalar_one_or_none()
    return None if expires is None else expires - TICKET_LIFETIME
