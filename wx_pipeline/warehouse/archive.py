"""The raw archive `wechat_raw.api_response`: every answer as received, and reading it back.

Archiving happens before normalizing, so a response whose data turns out invalid is still kept
(the error names its archive row) and every fact table can be rebuilt from the archive without
calling the API again (`renormalize.py`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy.dialects.postgresql import distinct_on

from wx_pipeline.warehouse.db import driver_connection
from wx_pipeline.warehouse.schema import RAW_SCHEMA, api_response
from wx_pipeline.wechat.raw import RawResponse

_COLUMNS = (
    "id",
    "account_id",
    "endpoint",
    "begin_date",
    "end_date",
    "fetched_at",
    "run_id",
    "final_through",
    "body",
)


@dataclass(frozen=True)
class ArchivedResponse:
    """A response read back from the archive, with its archive row id."""

    id: int
    run_id: str | None
    response: RawResponse


def archive_responses(
    target: sa.Engine | sa.Connection, responses: Sequence[RawResponse], run_id: str | None
) -> list[int]:
    """Store `responses`; returns their archive ids, in order.

    With an engine this commits on its own; with a connection it joins the caller's
    transaction. Ids are drawn from the identity sequence first, then the rows go in with one
    COPY, so a year of responses (~3,000) is one round of statements.
    """
    if isinstance(target, sa.Engine):
        with target.begin() as conn:
            return archive_responses(conn, responses, run_id)
    ids = reserve_ids(target, len(responses))
    write_archive(target, ids, responses, run_id)
    return ids


def reserve_ids(target: sa.Engine | sa.Connection, count: int) -> list[int]:
    """Draw `count` archive ids, so rows can be named (e.g. by normalizer errors) while
    `write_archive` is still storing them."""
    if isinstance(target, sa.Engine):
        with target.begin() as conn:
            return reserve_ids(conn, count)
    if count == 0:
        return []
    with driver_connection(target).cursor() as cur:
        cur.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            (f"{RAW_SCHEMA}.{api_response.name}", count),
        )
        return [int(row[0]) for row in cur.fetchall()]


def write_archive(
    target: sa.Engine | sa.Connection,
    ids: Sequence[int],
    responses: Sequence[RawResponse],
    run_id: str | None,
) -> None:
    """COPY `responses` into the archive under the reserved `ids`."""
    if isinstance(target, sa.Engine):
        with target.begin() as conn:
            write_archive(conn, ids, responses, run_id)
        return
    if not responses:
        return
    statement = sql.SQL("COPY {}.{} ({}) FROM STDIN").format(
        sql.Identifier(RAW_SCHEMA),
        sql.Identifier(api_response.name),
        sql.SQL(", ").join(map(sql.Identifier, _COLUMNS)),
    )
    with driver_connection(target).cursor() as cur, cur.copy(statement) as copy:
        for archive_id, r in zip(ids, responses, strict=True):
            copy.write_row(
                (
                    archive_id,
                    r.account_id,
                    r.endpoint,
                    r.begin,
                    r.end,
                    r.fetched_at,
                    run_id,
                    r.final_through,
                    Jsonb(r.content, dumps=_as_received),
                )
            )


def _as_received(content: bytes) -> bytes:
    """The body's JSON text as it came (PostgreSQL parses it into JSONB; nothing re-encodes)."""
    return content


def iter_archived(
    engine: sa.Engine,
    endpoint: str | None = None,
    start: date | None = None,
    end: date | None = None,
    account_id: str | None = None,
) -> Iterator[ArchivedResponse]:
    """Archived responses whose window overlaps [start, end], by endpoint, account, fetch time.

    Of several responses for the same (account, endpoint, begin, end) only the latest fetch is
    returned. Windows that overlap without being equal all come back; `renormalize` decides
    per day which one wins.
    """
    t = api_response
    conditions = []
    if endpoint is not None:
        conditions.append(t.c.endpoint == endpoint)
    if account_id is not None:
        conditions.append(t.c.account_id == account_id)
    if start is not None:
        conditions.append(t.c.end_date >= start)
    if end is not None:
        conditions.append(t.c.begin_date <= end)
    latest = (
        sa.select(
            *(t.c[name] for name in _COLUMNS if name != "body"),
            # As JSON text: the normaliser parses it, as it parses an answer just fetched.
            sa.cast(t.c.body, sa.Text).label("body"),
        )
        .where(*conditions)
        .ext(distinct_on(t.c.account_id, t.c.endpoint, t.c.begin_date, t.c.end_date))
        .order_by(
            t.c.account_id,
            t.c.endpoint,
            t.c.begin_date,
            t.c.end_date,
            t.c.fetched_at.desc(),
            t.c.id.desc(),
        )
        .subquery()
    )
    query = sa.select(latest).order_by(
        latest.c.endpoint, latest.c.account_id, latest.c.fetched_at, latest.c.id
    )
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=500).execute(query)
        for row in result:
            yield ArchivedResponse(
                id=row.id,
                run_id=row.run_id,
                response=RawResponse(
                    account_id=row.account_id,
                    endpoint=row.endpoint,
                    begin=row.begin_date,
                    end=row.end_date,
                    fetched_at=row.fetched_at,
                    content=row.body.encode(),
                    final_through=row.final_through,
                ),
            )
