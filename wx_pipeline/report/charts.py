"""The report's charts: pure functions from section rows to plotly figures.

Every chart carries its grain and period in its subtitle, and has no figure at all when its
rows are empty, so the page shows a "no data" message instead of an empty axis. Text from the
warehouse (titles, labels, names) is HTML-escaped before it reaches plotly, which renders a
subset of HTML in every string.
"""

from __future__ import annotations

import functools
import html
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, ParamSpec, TypeVar

import plotly.graph_objects as go  # type: ignore[import-untyped, unused-ignore]
import plotly.io as pio  # type: ignore[import-untyped, unused-ignore]

from wx_pipeline.report.model import Period, Row

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
GAINED, LOST, ALERT = "#2e8b57", "#c0392b", "#d62728"
#: Articles drawn in the read-curve chart (the leaderboard lists more).
CURVE_ARTICLES = 5
LEGEND_TITLE_CHARS = 24
#: System fonts, Chinese ones included: the file embeds none (it must work offline).
FONTS = (
    'system-ui, -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB", '
    '"Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif'
)


@dataclass(frozen=True)
class Chart:
    """One chart of the page: `figure` is None when its query returned nothing."""

    key: str
    title: str
    #: Grain, period and source mart, in words.
    subtitle: str
    figure: Any | None
    #: What is missing, shown in place of the chart when there is no figure.
    empty: str


def text(value: object) -> str:
    """A warehouse string made safe for plotly's HTML-like text rendering."""
    return html.escape(str(value), quote=False)


def short(title: str, limit: int = LEGEND_TITLE_CHARS) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"


def subtitle(grain: str, period: Period, mart: str) -> str:
    return f"{grain} · {period.label()} (Beijing days) · analytics.{mart}"


P = ParamSpec("P")
R = TypeVar("R")

#: The trace types these charts draw (their defaults are all they need of a template).
_TRACE_TYPES = ("scatter", "bar", "heatmap")


#: The report's plotly template, registered under this name (``theme``).
TEMPLATE = "wx_report"


def _template() -> Any:
    """plotly_white cut to the layout and these trace types, with the layout every chart
    shares: assigning the whole template, or that layout, to each figure validated them again
    (~9 ms a figure, and a report of a hundred accounts draws ~900); as plotly's default
    template it is applied without that."""
    white = pio.templates["plotly_white"].to_plotly_json()
    data = {k: v for k, v in white["data"].items() if k in _TRACE_TYPES}
    layout = {
        k: v for k, v in white["layout"].items() if k not in ("geo", "polar", "scene", "ternary")
    }
    template = go.layout.Template(layout=layout, data=data)
    template.layout.update(
        title={"x": 0.01},
        margin={"l": 60, "r": 30, "t": 90, "b": 50},
        legend={"orientation": "h", "yanchor": "top", "y": -0.15, "x": 0},
        hovermode="x unified",
        font={"family": FONTS},
    )
    return template


@contextmanager
def theme() -> Iterator[None]:
    """The report's template as plotly's default while charts are drawn (the process's own
    default is restored after). Setting it costs a few ms: the page sets it once around all
    its charts, and a chart function drawn on its own sets it itself."""
    saved = pio.templates.default
    if saved == TEMPLATE:
        yield
        return
    if TEMPLATE not in pio.templates:
        pio.templates[TEMPLATE] = _template()
    pio.templates.default = TEMPLATE
    try:
        yield
    finally:
        pio.templates.default = saved


def _themed(draw: Callable[P, R]) -> Callable[P, R]:
    """A chart function whose figures start from the report's template."""

    @functools.wraps(draw)
    def themed(*args: P.args, **kwargs: P.kwargs) -> R:
        with theme():
            return draw(*args, **kwargs)

    return themed


def _figure(traces: Sequence[Any], layout: dict[str, Any]) -> go.Figure:
    """A figure built at once: plotly validates its traces and layout one time, where each
    update_layout/update_xaxes/make_subplots call validated and copied them again (a chart
    took 3-16 ms, ~900 of them in a report of a hundred accounts)."""
    return go.Figure(data=list(traces), layout=layout)


def _style(chart: str, sub: str, height: int = 380, **layout: Any) -> dict[str, Any]:
    """The layout of a chart: its title and subtitle, its height, and ``layout``."""
    # The subtitle breaks after its grain: plotly does not wrap text.
    grain, _, rest = sub.partition(" · ")
    title = {
        "text": text(chart),
        "subtitle": {"text": f"{text(grain)}<br>{text(rest)}" if rest else text(grain)},
    }
    return {"title": title, "height": height, **layout}


def _axis(title: str | None = None, **axis: Any) -> dict[str, Any]:
    return {"title": {"text": title}, **axis} if title is not None else axis


def _day_axis(period: Period, **axis: Any) -> dict[str, Any]:
    # The whole period on the axis, so a gap in the data shows as a gap, not a shorter chart.
    half = timedelta(hours=12)
    start = datetime.combine(period.first, time()) - half
    end = datetime.combine(period.last, time()) + half
    return {"range": [start.isoformat(), end.isoformat()], **_axis("Beijing day"), **axis}


def _series(rows: Sequence[Row], period: Period, column: str) -> list[Any]:
    by_day = {r["date_day"]: r[column] for r in rows}
    return [by_day.get(day) for day in period.dates()]


def _chart(key: str, title: str, sub: str, empty: str, fig: Any | None) -> Chart:
    return Chart(key=key, title=title, subtitle=sub, figure=fig, empty=empty)


# --- overview ---------------------------------------------------------------------------


def _line_per_account(
    by_account: Mapping[str, Sequence[Row]],
    period: Period,
    column: str,
    names: Mapping[str, str],
    hover: str,
) -> list[go.Scatter]:
    """One line of ``column`` per account over the period's days."""
    return [
        go.Scatter(
            x=period.dates(),
            y=_series(account_rows, period, column),
            name=text(names.get(account_id, account_id)),
            mode="lines+markers",
            hovertemplate=hover,
        )
        for account_id, account_rows in by_account.items()
    ]


@_themed
def overview_followers(rows: Sequence[Row], period: Period, names: Mapping[str, str]) -> Chart:
    title = "Followers at the end of each day, all accounts"
    sub = subtitle("Daily", period, "fct_follower_growth_daily")
    empty = "No follower totals for any account in this period."
    by_account = _group(rows)
    if not any(r["cumulative_followers"] is not None for r in rows):
        return _chart("overview-followers", title, sub, empty, None)
    lines = _line_per_account(by_account, period, "cumulative_followers", names, "%{y:,}")
    layout = _style(
        title, sub, xaxis=_day_axis(period), yaxis=_axis("followers", rangemode="tozero")
    )
    fig = _figure(lines, layout)
    return _chart("overview-followers", title, sub, empty, fig)


@_themed
def overview_net_growth(rows: Sequence[Row], period: Period, names: Mapping[str, str]) -> Chart:
    title = "Net follower growth per day, all accounts"
    sub = subtitle("Daily, new minus cancelled", period, "fct_follower_growth_daily")
    empty = "No follower gains or losses for any account in this period."
    if not rows:
        return _chart("overview-net-growth", title, sub, empty, None)
    lines = _line_per_account(_group(rows), period, "net_growth", names, "%{y:+,}")
    layout = _style(
        title, sub, xaxis=_day_axis(period), yaxis=_axis("net followers", zeroline=True)
    )
    fig = _figure(lines, layout)
    return _chart("overview-net-growth", title, sub, empty, fig)


def _group(rows: Sequence[Row]) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row["account_id"]].append(row)
    return dict(grouped)


# --- followers --------------------------------------------------------------------------


@_themed
def followers_total(rows: Sequence[Row], period: Period) -> Chart:
    title = "Followers at the end of each day"
    sub = subtitle("Daily", period, "fct_follower_growth_daily")
    empty = "No follower totals (getusercumulate) for this account in this period."
    if not any(r["cumulative_followers"] is not None for r in rows):
        return _chart("followers-total", title, sub, empty, None)
    line = go.Scatter(
        x=period.dates(),
        y=_series(rows, period, "cumulative_followers"),
        name="followers",
        mode="lines+markers",
        hovertemplate="%{y:,} followers",
    )
    layout = _style(title, sub, 320, xaxis=_day_axis(period), yaxis=_axis("followers"))
    fig = _figure([line], layout)
    return _chart("followers-total", title, sub, empty, fig)


@_themed
def net_growth(rows: Sequence[Row], period: Period) -> Chart:
    title = "Net follower growth per day, with 7- and 28-day rolling sums"
    sub = subtitle(
        "Daily; top: new minus cancelled, bottom: rolling sums ending that day",
        period,
        "fct_follower_growth_daily",
    )
    empty = "No follower gains or losses for this account in this period."
    if not rows:
        return _chart("followers-net-growth", title, sub, empty, None)
    days = period.dates()
    daily = _series(rows, period, "net_growth")
    bars = go.Bar(
        x=days,
        y=daily,
        name="net growth",
        marker_color=[LOST if (v or 0) < 0 else GAINED for v in daily],
        hovertemplate="%{y:+,}",
        xaxis="x",
        yaxis="y",
    )
    sums = [
        go.Scatter(
            x=days,
            y=_series(rows, period, column),
            name=label,
            mode="lines",
            line={"dash": dash},
            hovertemplate="%{y:+,}",
            xaxis="x2",
            yaxis="y2",
        )
        for column, label, dash in (
            ("net_growth_7d", "7-day rolling sum", "solid"),
            ("net_growth_28d", "28-day rolling sum", "dot"),
        )
    ]
    # Two panels on one time axis (the top one's follows the bottom one's): a 28-day sum
    # dwarfs a day, so they get their own scales.
    axis = _day_axis(period)
    top = {k: v for k, v in axis.items() if k != "title"}
    layout = _style(
        title,
        sub,
        480,
        xaxis={
            **top,
            "anchor": "y",
            "domain": [0.0, 1.0],
            "matches": "x2",
            "showticklabels": False,
        },
        yaxis=_axis("per day", zeroline=True, anchor="x", domain=[0.54, 1.0]),
        xaxis2={**axis, "anchor": "y2", "domain": [0.0, 1.0]},
        yaxis2=_axis("rolling sum", zeroline=True, anchor="x2", domain=[0.0, 0.46]),
    )
    fig = _figure([bars, *sums], layout)
    return _chart("followers-net-growth", title, sub, empty, fig)


@_themed
def follower_sources(rows: Sequence[Row], period: Period) -> Chart:
    title = "Followers gained and lost by source"
    sub = subtitle(
        "Sums over the period, per acquisition source", period, "fct_follower_sources_daily"
    )
    empty = "No follower gains or losses by source for this account in this period."
    if not rows:
        return _chart("followers-sources", title, sub, empty, None)
    ordered = list(reversed(rows))  # largest first from the top of a horizontal bar chart
    labels = [text(r["source"]) for r in ordered]
    bars = [
        go.Bar(
            y=labels,
            x=[r["gained"] for r in ordered],
            name="gained",
            orientation="h",
            marker_color=GAINED,
            hovertemplate="%{x:,} gained<extra></extra>",
        ),
        go.Bar(
            y=labels,
            x=[-r["lost"] for r in ordered],
            customdata=[r["lost"] for r in ordered],
            name="lost",
            orientation="h",
            marker_color=LOST,
            hovertemplate="%{customdata:,} lost<extra></extra>",
        ),
    ]
    layout = _style(
        title,
        sub,
        max(320, 90 + 28 * len(rows)),
        barmode="relative",
        hovermode="y unified",
        xaxis=_axis("followers (lost shown left of zero)", zeroline=True),
        yaxis=_axis(automargin=True),
    )
    fig = _figure(bars, layout)
    return _chart("followers-sources", title, sub, empty, fig)


# --- articles ---------------------------------------------------------------------------


@_themed
def article_read_curve(rows: Sequence[Row], period: Period) -> Chart:
    top = rows[:CURVE_ARTICLES]
    title = f"Read curve of the top {len(top) or CURVE_ARTICLES} articles, day 0 to 6"
    sub = subtitle(
        "Cumulative readers by day after sending, articles sent in the period",
        period,
        "fct_article_performance",
    )
    empty = "No articles sent by this account in this period."
    if not top:
        return _chart("articles-read-curve", title, sub, empty, None)
    days = [f"day {n}" for n in range(7)]
    curves = []
    for row in top:
        article = row["title"] or row["msgid"]
        full = f"{row['send_date'].isoformat()} {article}"
        curves.append(
            go.Scatter(
                x=days,
                y=list(row["read_curve"]),
                name=text(f"#{row['rank']} {short(article)}"),
                mode="lines+markers",
                hovertemplate=f"{text(short(full, 60))}: %{{y:,}} readers<extra></extra>",
            )
        )
    layout = _style(
        title,
        sub,
        hovermode="closest",
        xaxis=_axis("days after sending (day 0 = send date)"),
        yaxis=_axis("readers (cumulative)", rangemode="tozero"),
    )
    fig = _figure(curves, layout)
    return _chart("articles-read-curve", title, sub, empty, fig)


@_themed
def article_read_sources(rows: Sequence[Row], period: Period) -> Chart:
    title = "Article readers by source"
    sub = subtitle(
        "Readers of the articles sent in the period, each on its newest day; sources the API "
        "did not report are left out",
        period,
        "fct_article_performance",
    )
    empty = "No articles sent by this account in this period."
    reported = [r for r in rows if r["readers"] is not None]
    if not reported:
        return _chart("articles-read-sources", title, sub, empty, None)
    ordered = sorted(reported, key=lambda r: r["readers"])
    bars = go.Bar(
        y=[text(r["source"]) for r in ordered],
        x=[r["readers"] for r in ordered],
        orientation="h",
        name="readers",
        hovertemplate="%{x:,} readers<extra></extra>",
    )
    layout = _style(
        title,
        sub,
        max(320, 90 + 32 * len(ordered)),
        hovermode="closest",
        showlegend=False,
        xaxis=_axis("readers"),
        yaxis=_axis(automargin=True),
    )
    fig = _figure([bars], layout)
    return _chart("articles-read-sources", title, sub, empty, fig)


# --- reads by hour ----------------------------------------------------------------------


@_themed
def reads_heatmap(rows: Sequence[Row], period: Period, measure: str) -> Chart:
    """`measure` is "reads" or "shares": the average per day of that weekday, per hour."""
    title = f"{measure.capitalize()} by weekday and hour of day"
    sub = subtitle(
        f"Hourly, average {measure} per day of each weekday (all read sources)",
        period,
        "fct_reads_hourly",
    )
    empty = f"No hourly {measure} for this account in this period."
    key = f"reads-heatmap-{measure}"
    if not rows:
        return _chart(key, title, sub, empty, None)
    # None, not 0, where a weekday has no data: an empty cell is not a quiet hour.
    z: list[list[float | None]] = [[None] * 24 for _ in WEEKDAYS]
    days: list[list[int | None]] = [[None] * 24 for _ in WEEKDAYS]
    for r in rows:
        z[r["day_of_week"] - 1][r["hour"]] = r[f"{measure}_per_day"]
        days[r["day_of_week"] - 1][r["hour"]] = r["days"]
    heatmap = go.Heatmap(
        z=z,
        x=list(range(24)),
        y=list(WEEKDAYS),
        customdata=days,
        colorscale="Blues",
        colorbar={"title": {"text": f"{measure}/day"}},
        hovertemplate=(
            "%{y} %{x}:00-%{x}:59<br>%{z:,.1f} "
            + measure
            + " per day (%{customdata} days)<extra></extra>"
        ),
    )
    layout = _style(
        title,
        sub,
        340,
        hovermode="closest",
        xaxis=_axis("hour of the Beijing day", dtick=1),
        yaxis=_axis(autorange="reversed"),
    )
    fig = _figure([heatmap], layout)
    return _chart(key, title, sub, empty, fig)


# --- messages ---------------------------------------------------------------------------


@_themed
def messages_by_type(rows: Sequence[Row], period: Period) -> Chart:
    title = "Messages users sent, by type"
    sub = subtitle("Daily, messages per message type", period, "fct_message_activity_daily")
    empty = "No messages from users to this account in this period."
    return _stacked_days(
        "messages-by-type", title, sub, empty, rows, period, "messages", "messages"
    )


@_themed
def message_senders(rows: Sequence[Row], period: Period) -> Chart:
    title = "Users who sent messages, by messages sent"
    sub = subtitle(
        "Daily, senders per bucket of messages sent that day",
        period,
        "fct_message_activity_daily",
    )
    empty = "No message senders for this account in this period."
    return _stacked_days(
        "messages-senders", title, sub, empty, rows, period, "message_users", "senders"
    )


def _stacked_days(
    key: str,
    title: str,
    sub: str,
    empty: str,
    rows: Sequence[Row],
    period: Period,
    column: str,
    unit: str,
) -> Chart:
    if not rows:
        return _chart(key, title, sub, empty, None)
    labels: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        labels[r["label"]].append(r)
    bars = [
        go.Bar(
            x=period.dates(),
            y=_series(label_rows, period, column),
            name=text(label),
            hovertemplate=f"%{{y:,}} {unit}",
        )
        for label, label_rows in labels.items()
    ]
    layout = _style(title, sub, barmode="stack", xaxis=_day_axis(period), yaxis=_axis(unit))
    fig = _figure(bars, layout)
    return _chart(key, title, sub, empty, fig)


# --- callbacks --------------------------------------------------------------------------


@_themed
def callback_volume(rows: Sequence[Row], period: Period) -> Chart:
    title = "Callbacks and failure rate per day"
    sub = subtitle(
        "Daily; bars: callbacks, line: failures / callbacks (right axis)",
        period,
        "fct_callback_latency_daily",
    )
    empty = "No callbacks to this account's server in this period."
    if not rows:
        return _chart("callbacks-volume", title, sub, empty, None)
    days = period.dates()
    bars = go.Bar(
        x=days,
        y=_series(rows, period, "callback_count"),
        name="callbacks",
        hovertemplate="%{y:,}",
        xaxis="x",
        yaxis="y",
    )
    rate = go.Scatter(
        x=days,
        y=_series(rows, period, "failure_rate"),
        customdata=_series(rows, period, "fail_count"),
        name="failure rate",
        mode="lines+markers",
        marker_color=LOST,
        hovertemplate="%{y:.2%} (%{customdata:,} failed)",
        xaxis="x",
        yaxis="y2",
    )
    # The rate on a second y axis, on the right, over the bars' one.
    layout = _style(
        title,
        sub,
        xaxis=_day_axis(period, anchor="y", domain=[0.0, 0.94]),
        yaxis=_axis("callbacks", anchor="x", domain=[0.0, 1.0]),
        yaxis2=_axis(
            "failure rate",
            anchor="x",
            overlaying="y",
            side="right",
            tickformat=".1%",
            rangemode="tozero",
            showgrid=False,
        ),
    )
    fig = _figure([bars, rate], layout)
    return _chart("callbacks-volume", title, sub, empty, fig)


@_themed
def callback_latency(rows: Sequence[Row], period: Period, threshold_ms: float) -> Chart:
    title = "Average callback latency per day"
    sub = subtitle(
        f"Daily, total latency / callbacks; days above {threshold_ms:,.0f} ms marked",
        period,
        "fct_callback_latency_daily",
    )
    empty = "No callbacks to this account's server in this period."
    if not any(r["avg_latency_ms"] is not None for r in rows):
        return _chart("callbacks-latency", title, sub, empty, None)
    lines = [
        go.Scatter(
            x=period.dates(),
            y=_series(rows, period, "avg_latency_ms"),
            name="average latency",
            mode="lines+markers",
            hovertemplate="%{y:,.0f} ms",
        )
    ]
    breached = [r for r in rows if r["breached"]]
    if breached:
        lines.append(
            go.Scatter(
                x=[r["date_day"] for r in breached],
                y=[r["avg_latency_ms"] for r in breached],
                name=f"above {threshold_ms:,.0f} ms",
                mode="markers",
                marker={"color": ALERT, "size": 12, "symbol": "x"},
                hovertemplate="above threshold",
            )
        )
    layout = _style(title, sub, xaxis=_day_axis(period), yaxis=_axis("ms", rangemode="tozero"))
    fig = _figure(lines, layout)
    fig.add_hline(
        y=threshold_ms,
        line={"dash": "dash", "color": ALERT},
        annotation_text=f"threshold {threshold_ms:,.0f} ms",
        annotation_position="top left",
    )
    return _chart("callbacks-latency", title, sub, empty, fig)
