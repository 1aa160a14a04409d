"""What answers carried that the registry does not expect, kept as one record per kind,
endpoint and field (or code): how often, and the first archive row that showed it.

Real answers differ from the documentation: fields the docs omit, fields an older or newer
version leaves out, codes no list names. None of that stops a load (see the README's "Real
answers"): the rows are stored and the difference is reported - in the materialisation's
metadata, a WARN check, and one line per record at the end of `wx-pipeline run` - so someone
looks once, not on every row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class DriftKind(StrEnum):
    """The kinds of difference; the values are the metadata keys."""

    UNKNOWN_FIELD = "unknown_fields"  # a field the registry does not know: archived, not loaded
    MISSING_FIELD = "missing_fields"  # a non-key field absent or null: loaded as NULL
    UNKNOWN_CODE = "unknown_codes"  # a value outside the column's code list: the row is kept


_SAID: dict[DriftKind, str] = {
    DriftKind.UNKNOWN_FIELD: "sent field {what}, which the registry does not know (kept in the "
    "raw archive)",
    DriftKind.MISSING_FIELD: "left out field {what} (loaded as NULL)",
    DriftKind.UNKNOWN_CODE: "sent code {what}, which no code list names (the rows are kept)",
}


@dataclass(frozen=True, order=True)
class DriftKey:
    kind: DriftKind
    endpoint: str
    what: str  # a field path (`list[].detail.title`) or `table.column=value`


@dataclass
class Seen:
    count: int  # objects (fields) or rows (codes)
    first_archive_id: int | None  # the lowest archive row showing it; None: not archived


@dataclass
class Drift:
    """Drift records; merged across chunks, loader processes and assets."""

    records: dict[DriftKey, Seen] = field(default_factory=dict)

    def add(
        self, kind: DriftKind, endpoint: str, what: str, count: int, archive_id: int | None
    ) -> None:
        if count <= 0:
            return
        key = DriftKey(kind, endpoint, what)
        seen = self.records.get(key)
        if seen is None:
            self.records[key] = Seen(count, archive_id)
            return
        seen.count += count
        if archive_id is not None and (
            seen.first_archive_id is None or archive_id < seen.first_archive_id
        ):
            seen.first_archive_id = archive_id

    def update(self, other: Drift) -> None:
        for key, seen in other.records.items():
            self.add(key.kind, key.endpoint, key.what, seen.count, seen.first_archive_id)

    def __bool__(self) -> bool:
        return bool(self.records)

    def counts(self, kind: DriftKind) -> dict[str, int]:
        """What -> how often, over every endpoint, for one kind."""
        out: dict[str, int] = {}
        for key, seen in self.records.items():
            if key.kind is kind:
                out[key.what] = out.get(key.what, 0) + seen.count
        return out

    def of(self, kind: DriftKind) -> dict[DriftKey, Seen]:
        return {k: v for k, v in sorted(self.records.items()) if k.kind is kind}

    def lines(self) -> list[str]:
        """One line per record: what, where, how often, and where to look."""
        out = []
        for key, seen in sorted(self.records.items()):
            where = (
                f"first in archive row {seen.first_archive_id}"
                if seen.first_archive_id is not None
                else "not archived"
            )
            said = _SAID[key.kind].format(what=key.what)
            times = "once" if seen.count == 1 else f"{seen.count:,} times"
            out.append(f"{key.endpoint} {said}: {times}, {where}")
        return out

    def summary(self, kind: DriftKind) -> str:
        """The records of one kind for metadata: `endpoint what xN`, or `none`."""
        return (
            ", ".join(f"{k.endpoint} {k.what} x{s.count}" for k, s in self.of(kind).items())
            or "none"
        )

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {
                "kind": k.kind.value,
                "endpoint": k.endpoint,
                "what": k.what,
                "count": s.count,
                "first_archive_id": s.first_archive_id,
            }
            for k, s in sorted(self.records.items())
        ]

    @classmethod
    def from_json(cls, records: list[dict[str, Any]]) -> Drift:
        drift = cls()
        for r in records:
            drift.add(
                DriftKind(r["kind"]), r["endpoint"], r["what"], r["count"], r["first_archive_id"]
            )
        return drift
