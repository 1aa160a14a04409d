"""The report page: one self-contained HTML document from ReportData (pure, no I/O).

Plotly's JavaScript is inlined once, with the first chart in document order; every other chart
only calls it, so the file opens offline and stays one copy of plotly.js large. The key figures
are also embedded as JSON (`<script type="application/json" id="wx-figures">`) and as data
attributes of the overview table, for tools and tests to read back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from html import escape
from typing import Any

import plotly.io as pio  # type: ignore[import-untyped, unused-ignore]

from wx_pipeline.report import charts
from wx_pipeline.report.charts import Chart
from wx_pipeline.report.model import KeyFigures, ReportData, Row

FIGURES_ID = "wx-figures"
#: Schema version of the embedded JSON figures.
FIGURES_VERSION = 1
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
#: Sections of every account, in page order: (key, heading).
SECTIONS = (
    ("followers", "Followers"),
    ("articles", "Articles"),
    ("reads-by-hour", "Reads and shares by hour"),
    ("messages", "Messages from users"),
    ("callbacks", "Callbacks to the account's server"),
)
NO_HOURLY_MESSAGES = (
    "Messages by hour of day are not shown: the analytics schema has no hourly message mart "
    "(only the daily fct_message_activity_daily), and this report reads nothing but the "
    "analytics marts."
)

CSS = """
:root { --fg: #1d2733; --muted: #5b6775; --line: #dde3ea; --accent: #1f6fb2; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #f6f8fa; font-size: 15px; line-height: 1.5; }
header, main { max-width: 1180px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 24px; }
h1 { margin: 0 0 4px; font-size: 26px; }
h2 { margin: 36px 0 8px; font-size: 22px; border-bottom: 2px solid var(--line); }
h3 { margin: 24px 0 6px; font-size: 18px; }
.muted, figcaption small { color: var(--muted); }
nav a { margin-right: 14px; color: var(--accent); }
section.block { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 4px 18px 14px; margin: 14px 0; }
figure.chart { margin: 10px 0; }
figcaption { font-weight: 600; }
figcaption small { display: block; font-weight: 400; }
.no-data { border: 1px dashed #b6c0cc; border-radius: 6px; padding: 22px; margin: 8px 0;
  color: var(--muted); background: #fafbfc; text-align: center; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; }
th { background: #eef2f6; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { border-left: 4px solid #e0a800; background: #fff8e1; padding: 8px 12px; }
.alert { color: #c0392b; font-weight: 600; }
"""

#: Overview table columns: (KeyFigures field, heading, formatter).
OVERVIEW_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("followers_end", "Followers at end", "int"),
    ("net_growth", "Net growth", "signed"),
    ("articles_sent", "Articles sent", "int"),
    ("article_readers", "Article readers", "int"),
    ("reads", "Page reads", "int"),
    ("shares", "Shares", "int"),
    ("messages", "Messages", "int"),
    ("callbacks", "Callbacks", "int"),
    ("failure_rate", "Failure rate", "pct"),
    ("avg_latency_ms", "Avg latency", "ms"),
    ("latency_breach_days", "Days above threshold", "int"),
)


def fmt(value: Any, kind: str = "int") -> str:
    """A figure for people: thousands separators, signs, percentages; "–" for no data."""
    if value is None:
        return "–"
    if kind == "signed":
        return f"{value:+,}"
    if kind == "pct":
        return f"{value:.2%}"
    if kind == "ms":
        return f"{value:,.0f} ms"
    if kind == "rate":
        return f"{value:.1%}"
    return f"{value:,}"


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def figures_json(data: ReportData, generated_at: datetime) -> str:
    """The key figures as JSON safe inside a <script> element (no "<", ">" or "&" literal)."""
    accounts = []
    for kf in data.figures:
        entry = kf.as_json()
        entry["latency_breach_dates"] = [
            r["date_day"].isoformat()
            for r in data.rows_for("callbacks_daily", kf.account_id)
            if r["breached"]
        ]
        accounts.append(entry)
    payload = {
        "version": FIGURES_VERSION,
        "period": {"first": data.period.first.isoformat(), "last": data.period.last.isoformat()},
        "latency_threshold_ms": data.latency_threshold_ms,
        "generated_at": generated_at.isoformat(),
        "accounts": accounts,
    }
    text = json.dumps(payload, ensure_ascii=False, default=_json_value, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class _Figures:
    """Renders figures in document order: plotly.js inlined with the first only."""

    def __init__(self) -> None:
        self.count = 0

    def render(self, figure: Any) -> str:
        self.count += 1
        rendered: str = pio.to_html(
            figure,
            full_html=False,
            include_plotlyjs=self.count == 1,
            include_mathjax=False,
            config=PLOTLY_CONFIG,
            div_id=f"wx-fig-{self.count}",  # stable ids: the same data gives the same file
        )
        return rendered


def _chart(chart: Chart, figures: _Figures) -> str:
    label = escape(f"{chart.title}. {chart.subtitle}")
    head = f'<figure class="chart" data-chart="{escape(chart.key)}" aria-label="{label}"'
    if chart.figure is None:
        # Without a figure, its title and subtitle go in the caption above the message.
        return (
            f'{head} data-state="empty"><figcaption>{escape(chart.title)}'
            f"<small>{escape(chart.subtitle)}</small></figcaption>"
            f'<div class="no-data">No data. {escape(chart.empty)}</div></figure>'
        )
    # The figure carries its own title and subtitle.
    return f'{head} data-state="ok">{figures.render(chart.figure)}</figure>'


def _attrs(**values: Any) -> str:
    return "".join(
        f' data-{k.replace("_", "-")}="{escape("" if v is None else str(_json_value(v)))}"'
        for k, v in values.items()
    )


def _overview(data: ReportData, figures: _Figures, anchors: Mapping[str, str]) -> str:
    head = "".join(f'<th class="num">{escape(h)}</th>' for _, h, _ in OVERVIEW_COLUMNS)
    body = []
    for kf in data.figures:
        cells = "".join(
            f'<td class="num"{_attrs(key=key, value=getattr(kf, key))}>'
            f"{escape(fmt(getattr(kf, key), kind))}</td>"
            for key, _, kind in OVERVIEW_COLUMNS
        )
        app_id = (
            f'<br><small class="muted">{escape(kf.account_id)}</small>'
            if kf.name != kf.account_id
            else ""
        )
        body.append(
            f"<tr{_attrs(account=kf.account_id)}>"
            f'<td><a href="#{anchors[kf.account_id]}">{escape(kf.name)}</a>{app_id}</td>'
            f"{cells}</tr>"
        )
    table = (
        f'<table id="wx-key-figures"><thead><tr><th>Account</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
        if body
        else '<div class="no-data">No data. No account to report on.</div>'
    )
    names = {kf.account_id: kf.name for kf in data.figures}
    growth = data.rows.get("followers_daily", ())
    threshold = fmt(data.latency_threshold_ms, "ms")
    return (
        '<section id="overview" class="block" data-section="overview"><h2>Overview</h2>'
        f'<p class="muted">Key figures per account over {escape(data.period.label())}. '
        "Followers at end: the newest daily total in the period. Article readers: readers of "
        "the articles sent in the period, each on its newest day (0 to 6 days after sending). "
        "Page reads and shares: all article pages, per hour, summed. Failure rate and average "
        "latency: sums over the period divided by the callbacks (a ratio of sums). Days above "
        f"threshold: days whose average latency exceeded {escape(threshold)}.</p>"
        f"{table}"
        f"{_chart(charts.overview_followers(growth, data.period, names), figures)}"
        f"{_chart(charts.overview_net_growth(growth, data.period, names), figures)}"
        "</section>"
    )


def _leaderboard(rows: Sequence[Row]) -> str:
    if not rows:
        return (
            '<div class="no-data" data-table="articles-leaderboard">'
            "No data. No articles sent by this account in this period.</div>"
        )
    head = (
        "<tr><th>#</th><th>Sent</th><th>Title</th>"
        '<th class="num">Readers</th><th class="num">Read rate</th>'
        '<th class="num">Sharers</th><th class="num">Favourites</th>'
        '<th class="num">Figures through</th></tr>'
    )
    body = "".join(
        f"<tr{_attrs(msgid=r['msgid'])}><td>{r['rank']}</td>"
        f"<td>{r['send_date'].isoformat()}</td><td>{escape(r['title'] or '')}</td>"
        f'<td class="num">{fmt(r["readers"])}</td>'
        f'<td class="num" title="readers / followers it was sent to '
        f'({fmt(r["target_user"])}{", estimated" if r["target_user_is_estimated"] else ""})">'
        f"{fmt(r['read_rate'], 'rate')}</td>"
        f'<td class="num">{fmt(r["sharers"])}</td>'
        f'<td class="num">{fmt(r["favourites"])}</td>'
        f'<td class="num">day {r["stats_through_day"]}</td></tr>'
        for r in rows
    )
    return (
        f'<table class="leaderboard" data-table="articles-leaderboard"><thead>{head}</thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _block(key: str, heading: str, intro: str, parts: Iterable[str]) -> str:
    return (
        f'<section class="block" data-section="{key}"><h3>{escape(heading)}</h3>'
        f"<p>{intro}</p>{''.join(parts)}</section>"
    )


def _account(kf: KeyFigures, data: ReportData, figures: _Figures, anchor: str) -> str:
    period = data.period

    def rows(query: str) -> list[Row]:
        return data.rows_for(query, kf.account_id)

    followers_end = (
        f"{fmt(kf.followers_end)} on {kf.followers_end_date.isoformat()}"
        if kf.followers_end_date is not None
        else fmt(None)
    )
    leaders = rows("article_leaderboard")
    breaches = [r["date_day"].isoformat() for r in rows("callbacks_daily") if r["breached"]]
    threshold = fmt(data.latency_threshold_ms, "ms")
    breach_text = (
        f'<span class="alert">{escape(", ".join(breaches))}</span>' if breaches else "none"
    )
    blocks = {
        "followers": (
            f"Followers at end: <b>{followers_end}</b>. Net growth: "
            f"<b>{fmt(kf.net_growth, 'signed')}</b> ({fmt(kf.new_followers)} gained, "
            f"{fmt(kf.cancelled_followers)} lost).",
            [
                charts.followers_total(rows("followers_daily"), period),
                charts.net_growth(rows("followers_daily"), period),
                charts.follower_sources(rows("follower_sources"), period),
            ],
            [],
        ),
        "articles": (
            f"Articles sent: <b>{fmt(kf.articles_sent)}</b>, read by "
            f"<b>{fmt(kf.article_readers)}</b> users (each article on its newest day). "
            f"Top {data.top_articles} by readers:",
            [
                charts.article_read_curve(leaders, period),
                charts.article_read_sources(rows("article_read_sources"), period),
            ],
            [_leaderboard(leaders)],
        ),
        "reads-by-hour": (
            f"Page reads: <b>{fmt(kf.reads)}</b>, shares: <b>{fmt(kf.shares)}</b> in the period.",
            [
                charts.reads_heatmap(rows("reads_by_weekday_hour"), period, "reads"),
                charts.reads_heatmap(rows("reads_by_weekday_hour"), period, "shares"),
            ],
            [],
        ),
        "messages": (
            f"Messages users sent: <b>{fmt(kf.messages)}</b>.",
            [
                charts.messages_by_type(rows("messages_by_type"), period),
                charts.message_senders(rows("message_senders"), period),
            ],
            [f'<p class="note" data-note="no-hourly-messages">{escape(NO_HOURLY_MESSAGES)}</p>'],
        ),
        "callbacks": (
            f"Callbacks: <b>{fmt(kf.callbacks)}</b>, failed: {fmt(kf.callback_failures)} "
            f"(failure rate <b>{fmt(kf.failure_rate, 'pct')}</b>). Average latency: "
            f"<b>{fmt(kf.avg_latency_ms, 'ms')}</b> (total latency / callbacks), slowest "
            f"{fmt(kf.max_latency_ms, 'ms')}. Days above {escape(threshold)}: {breach_text}.",
            [
                charts.callback_volume(rows("callbacks_daily"), period),
                charts.callback_latency(rows("callbacks_daily"), period, data.latency_threshold_ms),
            ],
            [],
        ),
    }
    parts = []
    for key, heading in SECTIONS:
        intro, section_charts, before = blocks[key]
        rendered = [_chart(c, figures) for c in section_charts]
        parts.append(_block(key, heading, intro, [*before, *rendered]))
    title = kf.name if kf.name == kf.account_id else f"{kf.name} ({kf.account_id})"
    return (
        f'<section id="{anchor}" class="account"{_attrs(account=kf.account_id)}>'
        f"<h2>{escape(title)}</h2>{''.join(parts)}</section>"
    )


def render(data: ReportData, generated_at: datetime) -> str:
    """The whole HTML document."""
    anchors = {kf.account_id: f"account-{n}" for n, kf in enumerate(data.figures, start=1)}
    figures = _Figures()
    # Rendered in document order: the first figure rendered carries plotly.js.
    with charts.theme():  # once for all the charts (see charts.theme)
        overview = _overview(data, figures, anchors)
        accounts = [_account(kf, data, figures, anchors[kf.account_id]) for kf in data.figures]
    nav = "".join(
        f'<a href="#{anchors[kf.account_id]}">{escape(kf.name)}</a>' for kf in data.figures
    )
    title = f"WeChat Official Accounts report, {data.period.label()}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f"<style>{CSS}body {{ font-family: {charts.FONTS}; }}</style>\n</head>\n<body>\n"
        f"<header><h1>{escape(title)}</h1>"
        f'<p class="muted">{len(data.figures)} account(s); Beijing days '
        f"{escape(data.period.label())}, both included. Generated "
        f"{generated_at:%Y-%m-%d %H:%M} (Beijing) from the analytics marts.</p>"
        f'<nav><a href="#overview">Overview</a>{nav}</nav>'
        '<noscript><p class="note">The charts need JavaScript; the tables and figures '
        "read without it.</p></noscript></header>\n"
        f"<main>{overview}{''.join(accounts)}</main>\n"
        f'<script type="application/json" id="{FIGURES_ID}">{figures_json(data, generated_at)}'
        "</script>\n</body>\n</html>\n"
    )
