"""What a pass came to: its rows, calls and drift (`IngestReport`), and the accounts that failed
as the problems people are shown, one short line per account and cause."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from wx_pipeline.core.settings import Account
from wx_pipeline.pipeline.store import LoaderLostError, WarehouseUnavailableError
from wx_pipeline.warehouse.normalize import Drift, InvalidPayloadError
from wx_pipeline.wechat.errors import TransientError, WeChatError

#: What can keep a chunk from loading.
ChunkError = WeChatError | InvalidPayloadError | WarehouseUnavailableError | LoaderLostError


def transient(error: ChunkError) -> bool:
    """Worth a second round: the API's bad minute past its retries, a lost connection."""
    return isinstance(error, TransientError | WarehouseUnavailableError | LoaderLostError)


@dataclass(frozen=True)
class AccountFailure:
    """An account (or one of its endpoints) that could not be fetched or loaded, and why."""

    account: Account
    endpoint: str
    error: ChunkError


@dataclass
class IngestReport:
    """What a pass did; the Dagster assets turn it into materialisation metadata."""

    first: date
    last: date
    accounts: list[str]
    rows: Counter[str] = field(default_factory=Counter)  # per fact table
    #: Rows those replaced (the windows' rows before), per fact table: re-pulled days
    #: rewrite a table without growing it.
    replaced: Counter[str] = field(default_factory=Counter)
    calls_made: int = 0
    minimum_calls: int = 0
    responses: int = 0
    chunks: int = 0  # chunks loaded (one transaction each)
    #: Of those, the ones whose rows differ from what they replaced (new or restated days);
    #: a late-data refresh with none leaves the marts as they are.
    chunks_changed: int = 0
    #: Unknown fields and codes, non-key fields left out: what real answers differ in.
    drift: Drift = field(default_factory=Drift)
    not_final: int = 0  # cumulative-tail entries left out: their stat_date was not final yet
    retired: set[str] = field(default_factory=set)  # endpoints answering 47009
    failures: list[AccountFailure] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the pass
    store_seconds: float = 0.0  # archiving, normalising and loading, summed over chunks
    #: The most answers held in memory at once (fetched, not yet stored): bounded by the jobs
    #: in flight and the chunk size, whatever the number of accounts and days.
    peak_responses_held: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def growth(self) -> Counter[str]:
        """Rows the pass added to each fact table, net of the rows it replaced."""
        return Counter({t: n - self.replaced[t] for t, n in self.rows.items()})

    @property
    def only_transient_failures(self) -> bool:
        return bool(self.failures) and all(transient(f.error) for f in self.failures)

    def problems(self) -> list[Problem]:
        """The failures as problems: one per account and cause, with the endpoints it hit."""
        return merge_problems(Problem.of(f) for f in self.failures)

    def failure_message(self) -> str:
        """One line per failed account and problem."""
        return "; ".join(p.line() for p in self.problems())


#: WeChat's request ids ("rid: ...", "hint: [...]") differ at every call: not part of the cause.
_REQUEST_ID = re.compile(r"\s*(?:rid:\s*[\w-]+|hint:\s*\[[^\]]*\])")


@dataclass
class Problem:
    """One cause of failure of one account, as shown to people (one short line)."""

    account_id: str
    errcode: int | None
    message: str  # without WeChat's request id
    account_level: bool  # the account's credentials or permissions: every endpoint fails
    endpoints: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, failure: AccountFailure) -> Problem:
        error = failure.error
        context = getattr(error, "context", None)
        return cls(
            account_id=failure.account.app_id,
            errcode=getattr(error, "errcode", None),
            message=_REQUEST_ID.sub("", str(error)),
            account_level=context is not None and context.endpoint is None,
            endpoints={failure.endpoint},
        )

    def line(self) -> str:
        if self.account_level:
            return self.message
        return f"{self.message} [{', '.join(sorted(self.endpoints))}]"

    def as_json(self) -> dict[str, object]:
        return {**asdict(self), "endpoints": sorted(self.endpoints)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Problem:
        return cls(
            account_id=str(data["account_id"]),
            errcode=data.get("errcode"),
            message=str(data["message"]),
            account_level=bool(data["account_level"]),
            endpoints=set(data.get("endpoints", [])),
        )


def merge_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Each problem once, with every endpoint it hit: the same cause met by several endpoints,
    or reported by several assets (a wrong secret fails them all); by account and message."""
    merged: dict[tuple[str, int | None, str], Problem] = {}
    for p in problems:
        key = (p.account_id, p.errcode, p.message)
        if key in merged:
            merged[key].endpoints |= p.endpoints
        else:
            merged[key] = Problem(
                p.account_id, p.errcode, p.message, p.account_level, set(p.endpoints)
            )
    return sorted(merged.values(), key=lambda p: (p.account_id, p.message))
