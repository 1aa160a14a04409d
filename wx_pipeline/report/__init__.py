"""A visual HTML report of the `analytics` marts, for people who do not write SQL.

`build_report` reads the marts (only them: `sql/*.sql`) in one read-only, repeatable-read
transaction, so a dbt build finishing meanwhile cannot mix two states into one report, and
renders one self-contained HTML file: an overview of every account, then per account its
followers, articles, reads by hour, messages and callbacks. `write_report` saves it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine

from wx_pipeline.core.clock import now
from wx_pipeline.report import page, queries
from wx_pipeline.report.model import KeyFigures, Period
from wx_pipeline.report.page import FIGURES_ID, fmt
from wx_pipeline.report.queries import ReportError

__all__ = [
    "FIGURES_ID",
    "KeyFigures",
    "Period",
    "Report",
    "ReportError",
    "build_report",
    "remove_reports_before",
    "report_path",
    "reports_dir",
    "write_report",
]

#: Default threshold for a day's average callback latency to count as breached, in ms.
DEFAULT_LATENCY_THRESHOLD_MS = 1000.0
#: Default number of articles in each account's leaderboard.
DEFAULT_TOP_ARTICLES = 10

#: Markdown preview columns: (heading, KeyFigures field, page.fmt kind).
PREVIEW_COLUMNS = (
    ("followers at end", "followers_end", "int"),
    ("net growth", "net_growth", "signed"),
    ("articles sent", "articles_sent", "int"),
    ("page reads", "reads", "int"),
    ("callbacks", "callbacks", "int"),
    ("avg latency", "avg_latency_ms", "ms"),
)


@dataclass(frozen=True)
class Report:
    """A rendered report: the HTML document and the key figures it shows."""

    html: str
    period: Period
    latency_threshold_ms: float
    accounts: tuple[KeyFigures, ...]
    generated_at: datetime

    def preview_markdown(self) -> str:
        """The key figures per account as a Markdown table (e.g. Dagster metadata)."""
        head = "| account | " + " | ".join(h for h, _, _ in PREVIEW_COLUMNS) + " |"
        rule = "|---|" + "---:|" * len(PREVIEW_COLUMNS)
        lines = [f"Report {self.period.label()} (Beijing days)", "", head, rule]
        for kf in self.accounts:
            cells = " | ".join(fmt(getattr(kf, attr), kind) for _, attr, kind in PREVIEW_COLUMNS)
            name = kf.name.replace("|", "\\|")
            lines.append(f"| {name} | {cells} |")
        if not self.accounts:
            lines.append("| (no account) |" + " |" * len(PREVIEW_COLUMNS))
        return "\n".join(lines) + "\n"


def build_report(
    engine: Engine,
    *,
    accounts: Sequence[str] | None = None,
    first: date | None = None,
    last: date | None = None,
    latency_threshold_ms: float = DEFAULT_LATENCY_THRESHOLD_MS,
    top_articles: int = DEFAULT_TOP_ARTICLES,
    account_names: Mapping[str, str] | None = None,
) -> Report:
    """Read the marts and render the report.

    `accounts`: app ids, None or empty for every account in `analytics.dim_account` (an id
    without data gets its sections, each saying there is no data). `first`/`last`: Beijing
    days, both included; no `last`: the newest day the accounts have data for; no `first`: the
    28 days up to `last`. `account_names`: app id -> display name (the warehouse has no names).
    Raises ReportError when the marts are not built or the period is empty.
    """
    if isinstance(accounts, str):
        raise TypeError("accounts must be a sequence of app ids, not one string")
    if top_articles < 1:
        raise ValueError("top_articles must be at least 1")
    options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        queries.require_marts(conn)
        selected, period = queries.resolve(conn, accounts, first, last)
        data = queries.fetch(
            conn,
            selected,
            period,
            names=account_names or {},
            latency_threshold_ms=latency_threshold_ms,
            top_articles=top_articles,
        )
    generated_at = now()
    return Report(
        html=page.render(data, generated_at),
        period=period,
        latency_threshold_ms=latency_threshold_ms,
        accounts=data.figures,
        generated_at=generated_at,
    )


def reports_dir(home: Path) -> Path:
    """Where the pipeline writes its reports under ``WX_HOME``."""
    return home / "reports"


def report_path(directory: Path, last: date) -> Path:
    """The report of the period ending on ``last`` in ``directory``."""
    return directory / f"report-{last.isoformat()}.html"


def remove_reports_before(directory: Path, day: date) -> int:
    """Delete the reports in ``directory`` of periods ending before ``day`` (``latest.html``
    and anything not named as ``report_path`` names a report stay); how many went."""
    removed = 0
    for path in directory.glob("report-*.html"):
        try:
            last = date.fromisoformat(path.stem.removeprefix("report-"))
        except ValueError:
            continue
        if last < day:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def write_report(report: Report, path: str | os.PathLike[str]) -> Path:
    """Write the report's HTML (UTF-8) to `path`, creating its directory; returns the absolute
    path. Written to a temporary file and renamed, so a reader never sees half a report."""
    target = Path(path).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(report.html)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would keep a shared report private
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
