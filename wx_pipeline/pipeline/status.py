"""Where every account's data stands: ``wx-pipeline status``, and the coverage shown in the UI.

Per account and asset family (``followers``, ``articles``, ``messages_weekly``, ...), from the
coverage ledger and today's shared call counts: the first and last day loaded, the days still
missing (and the first gaps), the provisional days (cumulative send dates whose totals were still
growing when fetched), the calls made today against the budget, and what the missing history
still costs: the calls, and the days of quota that takes at today's budget. Each account also
shows its credential kind and, for an account authorised to the third-party platform, whether
that authorisation is live (from its newest authorisation event and its last token refresh in
the warehouse; never a credential).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from wx_pipeline.core.settings import BEIJING, Account
from wx_pipeline.pipeline.history import (
    ASSUMED_DAILY_QUOTA,
    expected_set,
    fewest_calls,
    headroom,
    left_today,
    quota_days,
    shown_days,
    slowest,
)
from wx_pipeline.pipeline.history import needed_days as history_needed
from wx_pipeline.registry import Endpoint
from wx_pipeline.warehouse.calls import calls_on
from wx_pipeline.warehouse.component import Authorisation, authorisations
from wx_pipeline.warehouse.coverage import days_loaded
from wx_pipeline.warehouse.renormalize import day_runs
from wx_pipeline.wechat.component import UNAUTHORIZED

#: Gaps listed per family (the count says how many there are).
SHOWN_GAPS = 3


@dataclass
class FamilyStatus:
    family: str
    first_day: date | None = None
    last_day: date | None = None
    missing_days: int = 0  # days of the family not loaded for at least one endpoint
    gaps: list[tuple[date, date]] = field(default_factory=list)  # the oldest SHOWN_GAPS
    gap_count: int = 0
    provisional_days: int = 0
    calls_today: int = 0
    busiest_endpoint_calls: int = 0  # the most any of its endpoints made today
    history_calls: int = 0  # calls the missing history needs
    days_of_quota: int | None = 0  # days of quota those take beyond today (None: never)


@dataclass
class AccountStatus:
    app_id: str
    name: str
    budget: int  # per endpoint and day
    families: list[FamilyStatus] = field(default_factory=list)
    credential: str = "app_secret"  # or "platform": authorised to the third-party platform
    #: Platform accounts: True live, False revoked, None not known yet (no token got yet).
    authorised: bool | None = None
    authorisation: str | None = None  # what the newest event or refresh says, one phrase

    @property
    def credential_line(self) -> str:
        if self.credential == "app_secret":
            return "AppSecret"
        return f"platform: {self.authorisation or 'authorisation not checked yet'}"

    @property
    def history_calls(self) -> int:
        return sum(f.history_calls for f in self.families)

    @property
    def days_of_quota(self) -> int | None:
        return slowest(f.days_of_quota for f in self.families)

    @property
    def calls_today(self) -> int:
        return sum(f.calls_today for f in self.families)


def account_status(
    conn: sa.Connection,
    accounts: Sequence[Account],
    endpoints: Sequence[Endpoint],
    start: date,
    newest: date,
    today: date,
    daily_budget: int | None,
    keeping: bool = True,
    component_app_id: str | None = None,
) -> list[AccountStatus]:
    used = calls_on(conn, today, [a.app_id for a in accounts])
    budget = daily_budget or ASSUMED_DAILY_QUOTA
    platform_ids = [a.app_id for a in accounts if a.credential_kind == "platform"]
    granted = (
        authorisations(conn, component_app_id, platform_ids)
        if component_app_id is not None and platform_ids
        else {}
    )
    out: list[AccountStatus] = []
    for account in accounts:
        status = AccountStatus(account.app_id, account.name, budget)
        status.credential = account.credential_kind
        if account.app_id in granted:
            status.authorised, status.authorisation = _authorisation(granted[account.app_id])
        by_family: dict[str, tuple[FamilyStatus, set[date]]] = {}
        ledger = days_loaded(conn, account.app_id, [e.name for e in endpoints])
        for endpoint in endpoints:
            family, missing = by_family.setdefault(
                endpoint.asset_group, (FamilyStatus(endpoint.asset_group), set())
            )
            loaded = ledger.get(endpoint.name, {})
            if loaded:
                first, last = min(loaded), max(loaded)
                family.first_day = min(family.first_day or first, first)
                family.last_day = max(family.last_day or last, last)
            family.provisional_days += sum(1 for final in loaded.values() if not final)
            missing.update(expected_set(endpoint, start, newest) - loaded.keys())
            counted = used.get((account.app_id, endpoint.name))
            calls = counted.calls if counted else 0
            family.calls_today += calls
            family.busiest_endpoint_calls = max(family.busiest_endpoint_calls, calls)
            needed = fewest_calls(endpoint, history_needed(endpoint, start, newest, loaded))
            family.history_calls += needed
            keep = headroom(endpoint, newest)
            allowance = budget - keep
            left = left_today(budget, calls, keep, bool(counted and counted.exhausted), keeping)
            days = quota_days(needed, left, allowance)
            family.days_of_quota = slowest([family.days_of_quota, days])
        for family, missing in by_family.values():
            runs = day_runs(missing)
            family.missing_days, family.gap_count = len(missing), len(runs)
            family.gaps = runs[:SHOWN_GAPS]
            status.families.append(family)
        out.append(status)
    return out


def _authorisation(found: Authorisation) -> tuple[bool | None, str]:
    def when(moment: datetime) -> str:
        return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")

    latest, refreshed = found.latest, found.token_refreshed_at
    live = found.live
    if live is False and latest is not None:
        how = "unauthorized event" if latest.event == UNAUTHORIZED else "refresh token refused"
        return False, f"revoked ({how} {when(latest.at)})"
    # Live: say what showed it last, a grant or a token got.
    if live and refreshed is not None and (latest is None or refreshed >= latest.at):
        return True, f"live (token refreshed {when(refreshed)})"
    if live and latest is not None:
        return True, f"live ({latest.event} event {when(latest.at)})"
    return None, "authorisation not checked yet"


def as_json(statuses: Sequence[AccountStatus], today: date) -> dict[str, Any]:
    """The status for scripts (dates as ISO strings)."""

    def plain(value: Any) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {
        "today": today.isoformat(),
        "accounts": [
            {
                **plain(asdict(s)),
                "history_calls": s.history_calls,
                "days_of_quota": s.days_of_quota,
                "calls_today": s.calls_today,
            }
            for s in statuses
        ],
    }


def _gaps(family: FamilyStatus) -> str:
    if not family.gap_count:
        return "none"
    shown = ", ".join(a.isoformat() if a == b else f"{a}..{b}" for a, b in family.gaps)
    more = family.gap_count - len(family.gaps)
    return shown + (f" (+{more} more)" if more > 0 else "")


def _history(status: AccountStatus, today: date) -> str:
    if not status.history_calls:
        return "history complete"
    days = status.days_of_quota
    if days is None:
        return (
            f"{status.history_calls:,} calls of history missing, and the daily budget leaves "
            "none after the scheduled runs: raise WX_DAILY_BUDGET"
        )
    return (
        f"{status.history_calls:,} calls of history missing: {days} more day(s) of quota, "
        f"complete by {today + timedelta(days=days)}"
    )


HEADINGS = (
    "family",
    "first day",
    "last day",
    "missing days",
    "gaps",
    "provisional",
    "calls today",
    "history calls",
    "quota days",
)


def _cells(f: FamilyStatus, budget: int) -> list[str]:
    return [
        f.family,
        str(f.first_day or "-"),
        str(f.last_day or "-"),
        f"{f.missing_days:,}",
        _gaps(f),
        f"{f.provisional_days:,}",
        f"{f.calls_today:,} (max {f.busiest_endpoint_calls}/{budget})",
        f"{f.history_calls:,}",
        shown_days(f.days_of_quota),
    ]


def as_markdown(status: AccountStatus, today: date) -> str:
    """One account's table, for the Dagster UI."""
    lines = [
        f"**{status.name}** ({status.app_id}, {status.credential_line}): {_history(status, today)}",
        "",
        "| " + " | ".join(HEADINGS) + " |",
        "|" + "---|" * len(HEADINGS),
    ]
    lines += ["| " + " | ".join(_cells(f, status.budget)) + " |" for f in status.families]
    return "\n".join(lines)


def print_status(statuses: Sequence[AccountStatus], today: date) -> None:
    """The tables ``wx-pipeline status`` prints."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for status in statuses:
        table = Table(
            title=f"{status.name} ({status.app_id}, {status.credential_line}): "
            f"{_history(status, today)}"
        )
        for i, heading in enumerate(HEADINGS):
            table.add_column(heading, justify="left" if i in (0, 4) else "right")
        for family in status.families:
            table.add_row(*_cells(family, status.budget))
        console.print(table)
