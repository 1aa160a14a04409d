"""Storing fetched chunks: archive, normalise, load - in a thread or in a loader process.

A chunk is consecutive API windows of one (account, endpoint) (``stream.py`` forms them). Its
answers are archived first (committed), then, when every window came back, normalised and
loaded in one transaction that replaces exactly its days and records them in the coverage
ledger. An invalid payload loads nothing of the chunk; a lost connection rolls it back.

Chunks of one endpoint (different accounts') may be stored together (``store_chunks``): two
transactions for all of them instead of two each. Storing is the CPU-heavy half of a pass
(JSON to JSONB, pandas, COPY encoding). A large pass runs it in loader processes
(``store_in_loader``) so that it does not hold the fetching process's one interpreter lock
while answers wait to be read; everything a chunk needs travels with it and everything the
pass reports comes back in ``Stored``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import psycopg
import sqlalchemy as sa

from wx_pipeline.core.errors import WxUserError
from wx_pipeline.registry import Endpoint
from wx_pipeline.runtime.heap import freeze_long_lived
from wx_pipeline.warehouse.archive import archive_responses
from wx_pipeline.warehouse.coverage import ledger_days
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.load import WindowLoad, load_windows
from wx_pipeline.warehouse.normalize import Drift, InvalidPayloadError, normalize_many
from wx_pipeline.wechat.raw import RawResponse


class WarehouseUnavailableError(WxUserError):
    """The warehouse could not be reached (or went away) while a chunk was stored; nothing of
    the chunk was loaded (its transaction rolled back)."""

    @classmethod
    def during(cls, chunk: Chunk, exc: Exception) -> WarehouseUnavailableError:
        said = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        detail = said[0] if said else type(exc).__name__
        return cls(
            f"warehouse connection lost while loading {chunk.endpoint.name} of account "
            f"{chunk.account_name!r} ({chunk.account_id}): {detail}"
        )


class LoaderLostError(WxUserError):
    """A loader process died (killed, out of memory) while it stored a chunk; the chunk's
    transaction went with it, so nothing of it was loaded."""


@dataclass(frozen=True)
class Chunk:
    """A fetched chunk: what storing it needs, and nothing secret (it may cross processes)."""

    endpoint: Endpoint
    account_id: str
    account_name: str
    begin: date  # the first window's first day
    end: date  # the last window's last day
    responses: list[RawResponse]
    complete: bool  # every window answered: the chunk may replace its days


@dataclass
class Stored:
    """What storing a chunk did."""

    loaded: bool = False  # its days were replaced (one transaction)
    changed: bool = False  # ... with rows other than they held (new or restated days)
    rows: dict[str, int] = field(default_factory=dict)  # per fact table
    replaced: dict[str, int] = field(default_factory=dict)  # rows deleted, per fact table
    not_final: int = 0
    drift: Drift = field(default_factory=Drift)
    error: InvalidPayloadError | WarehouseUnavailableError | LoaderLostError | None = None
    seconds: float = 0.0


def store_chunks(engine: sa.Engine, chunks: Sequence[Chunk], run_id: str | None) -> list[Stored]:
    """Store chunks of one endpoint (different accounts') together: their answers archived in
    one transaction, the complete ones' days replaced in one more. Each chunk keeps its own
    guarantees: an invalid payload loads nothing of its chunk (the others load), and a lost
    connection loads nothing of any. Storing costs two transactions and some fixed pandas work
    per call whatever the size: a nightly run of a hundred accounts has thousands of one-window
    chunks, which the pass hands over in batches while the loaders are busy."""
    started = time.perf_counter()
    out = [Stored() for _ in chunks]
    try:
        responses = [r for chunk in chunks for r in chunk.responses]
        ids = iter(archive_responses(engine, responses, run_id) if responses else [])
        loads: list[tuple[int, WindowLoad]] = []
        for i, chunk in enumerate(chunks):
            chunk_ids = [next(ids) for _ in chunk.responses]
            if not chunk.complete:
                continue
            try:
                batch = normalize_many(chunk.responses, chunk_ids)
            except InvalidPayloadError as exc:
                out[i] = Stored(error=exc)
                continue
            frames = batch.frames_for(chunk.endpoint, chunk.account_id)
            ledger = ledger_days(chunk.endpoint, chunk.responses, chunk_ids)
            loads.append((i, WindowLoad(chunk.account_id, chunk.begin, chunk.end, frames, ledger)))
            out[i] = Stored(not_final=batch.not_final, drift=batch.drift)
        if loads:
            done = load_windows(engine, chunks[0].endpoint, [load for _, load in loads], run_id)
            for (i, _), loaded in zip(loads, done, strict=True):
                out[i].rows, out[i].replaced = loaded.rows, loaded.replaced
                out[i].changed, out[i].loaded = loaded.changed, True
    except (sa.exc.OperationalError, sa.exc.InterfaceError, psycopg.OperationalError) as exc:
        out = [
            Stored(error=o.error or WarehouseUnavailableError.during(c, exc))
            for o, c in zip(out, chunks, strict=True)
        ]
    share = (time.perf_counter() - started) / max(1, len(chunks))
    for o in out:
        o.seconds = share
    return out


#: A loader process's engines, by warehouse URL (one process serves every pass of its parent).
_engines: dict[str, sa.Engine] = {}


def store_in_loader(url: str, chunks: Sequence[Chunk], run_id: str | None) -> list[Stored]:
    """``store_chunks`` in a loader process, on its own engine for ``url``."""
    engine = _engines.get(url)
    if engine is None:
        engine = _engines[url] = make_engine(url, pool_size=2)
    return store_chunks(engine, chunks, run_id)


def warm_up() -> None:
    """A loader process's start: importing this module brought the libraries in (submitted
    when the pool starts, so that happens beside the first fetch); they are frozen out of the
    collector's way."""
    freeze_long_lived()
