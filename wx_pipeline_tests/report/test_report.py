"""The HTML report of a warehouse built from simulator truth: every section for every account,
its figures (parsed back from the written file) equal to SQL run here against the marts, a file
that needs no network, Chinese titles intact, and "no data" where an account or period has none.

Reports are built through a role that may read `analytics` and nothing else, so a query that
strayed into `wechat` or the staging views would fail.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape, unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from wx_pipeline.core.settings import BEIJING
from wx_pipeline.marts.run import run_dbt
from wx_pipeline.report import FIGURES_ID, Report, ReportError, build_report, write_report
from wx_pipeline.simulator import SimulatorConfig, demo_accounts, run_in_thread
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.migrate import migrate
from wx_pipeline_tests.browser import chromium, screenshots
from wx_pipeline_tests.simtruth import load_responses, truth_responses

pytestmark = pytest.mark.slow

#: Three Monday-to-Sunday weeks across 2025-11-01: legacy and 2025 article endpoints.
FIRST, LAST = date(2025, 10, 20), date(2025, 11, 9)
NOW = datetime(2025, 12, 20, 12, tzinfo=BEIJING)
SECTIONS = ("followers", "articles", "reads-by-hour", "messages", "callbacks")
CHARTS = {
    "followers": {"followers-total", "followers-net-growth", "followers-sources"},
    "articles": {"articles-read-curve", "articles-read-sources"},
    "reads-by-hour": {"reads-heatmap-reads", "reads-heatmap-shares"},
    "messages": {"messages-by-type", "messages-senders"},
    "callbacks": {"callbacks-volume", "callbacks-latency"},
}
#: Each chart's grain opens its subtitle (in the figure's JSON).
GRAIN = re.compile(
    r'"subtitle":\s*\{\s*"text":\s*"(Daily|Hourly|Sums over the period|Cumulative readers'
    r"|Readers of the articles)"
)
UNKNOWN = "wx0000000000000000"
#: An article's readers on its newest day (stats_through_day), written out once more here.
LATEST_READERS = (
    "case stats_through_day when 6 then read_users_day_6 when 5 then read_users_day_5 "
    "when 4 then read_users_day_4 when 3 then read_users_day_3 when 2 then read_users_day_2 "
    "when 1 then read_users_day_1 else read_users_day_0 end"
)
CJK = re.compile(r"[\u4e00-\u9fff]")


# --- the warehouse --------------------------------------------------------------------


@pytest.fixture(scope="module")
def dbt_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    # Own target and log dirs: the project's dbt/target (Dagster's manifest) stays untouched.
    root = tmp_path_factory.mktemp("dbt")
    return {"DBT_TARGET_PATH": str(root / "target"), "DBT_LOG_PATH": str(root / "logs")}


@pytest.fixture(scope="module")
def warehouse(database_url: str, dbt_dirs: dict[str, str]) -> str:
    migrate(database_url)
    config = SimulatorConfig(seed=11, now=NOW, accounts=demo_accounts(11)[:2])
    with run_in_thread(config) as sim:
        responses = truth_responses(sim, sim.accounts, FIRST, LAST)
    load_responses(database_url, responses, FIRST, LAST)
    # The marts only: their tests run in wx_pipeline_tests/marts.
    result = run_dbt(
        ["build", "--exclude-resource-type", "test"], database_url, capture=True, extra_env=dbt_dirs
    )
    assert result.returncode == 0, result.stdout[-4000:]
    return database_url


@pytest.fixture(scope="module")
def marts(warehouse: str) -> Iterator[Engine]:
    """The test's own connection: superuser, for the reference SQL."""
    engine = make_engine(warehouse)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def reader(warehouse: str, marts: Engine) -> Iterator[Engine]:
    """An engine whose sessions run as a role with SELECT on `analytics` only."""
    role = f"wxt_report_{uuid.uuid4().hex[:8]}"
    with marts.begin() as conn:
        conn.execute(sa.text(f"create role {role} nologin"))
        conn.execute(sa.text(f"grant usage on schema analytics to {role}"))
        conn.execute(sa.text(f"grant select on all tables in schema analytics to {role}"))
    engine = make_engine(warehouse, connect_args={"options": f"-c role={role}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with marts.begin() as conn:
            conn.execute(sa.text(f"drop owned by {role}"))
            conn.execute(sa.text(f"drop role {role}"))


def _all(engine: Engine, sql: str, **params: Any) -> list[Any]:
    """The rows of `sql` (attribute and index access)."""
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


@pytest.fixture(scope="module")
def accounts(marts: Engine) -> list[str]:
    ids = [a for (a,) in _all(marts, "select account_id from analytics.dim_account order by 1")]
    assert len(ids) == 2
    return ids


@pytest.fixture(scope="module")
def threshold(marts: Engine) -> float:
    """The median daily average latency: some days breach it, others do not."""
    (value,) = _all(
        marts,
        "select percentile_disc(0.5) within group (order by avg_latency_ms) "
        "from analytics.fct_callback_latency_daily",
    )[0]
    return float(value)


# --- reading a written report back ------------------------------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.iter()
            if (tag is None or n.tag == tag)
            and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def has(self, attr: str) -> list[Node]:
        return [n for n in self.iter() if attr in n.attrs]

    def content(self) -> str:
        return "".join(self.text) + "".join(c.content() for c in self.children)


class _Tree(HTMLParser):
    VOID = frozenset({"meta", "br", "link", "img", "input", "hr", "area", "base", "col", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].text.append(data)


def parse(text: str) -> Node:
    tree = _Tree()
    tree.feed(text)
    tree.close()
    assert tree.stack == [tree.root], "unclosed elements"
    return tree.root


@dataclass(frozen=True)
class Written:
    report: Report
    path: Path
    text: str
    dom: Node

    def figures(self) -> dict[str, Any]:
        (script,) = self.dom.find_all("script", id=FIGURES_ID)
        assert script.attrs["type"] == "application/json"
        loaded: dict[str, Any] = json.loads(script.content())
        return loaded

    def account(self, account_id: str) -> Node:
        (section,) = self.dom.find_all("section", data_account=account_id)
        return section


def _write(report: Report, path: Path) -> Written:
    written = write_report(report, path)
    assert written == path.absolute()
    text = written.read_bytes().decode("utf-8")  # strict: the file is UTF-8
    return Written(report, written, text, parse(text))


@pytest.fixture(scope="module")
def full(reader: Engine, threshold: float, tmp_path_factory: pytest.TempPathFactory) -> Written:
    report = build_report(
        reader, accounts=None, first=FIRST, last=LAST, latency_threshold_ms=threshold
    )
    return _write(report, tmp_path_factory.mktemp("report") / "out" / "report.html")


# --- tests ------------------------------------------------------------------------------


def test_every_account_has_every_section_with_its_charts(
    full: Written, accounts: list[str]
) -> None:
    assert [a["account_id"] for a in full.figures()["accounts"]] == accounts
    (overview,) = full.dom.find_all("section", id="overview")
    assert {n.attrs["data-chart"] for n in overview.has("data-chart")} == {
        "overview-followers",
        "overview-net-growth",
    }
    assert [r.attrs["data-account"] for r in overview.find_all("tr")[1:]] == accounts
    for account_id in accounts:
        section = full.account(account_id)
        found = [n.attrs["data-section"] for n in section.has("data-section")]
        assert found == list(SECTIONS)
        for key in SECTIONS:
            (block,) = section.find_all("section", data_section=key)
            charts = {n.attrs["data-chart"]: n.attrs["data-state"] for n in block.has("data-chart")}
            assert charts == dict.fromkeys(CHARTS[key], "ok"), (account_id, key)
        (note,) = section.find_all(data_note="no-hourly-messages")
        assert "no hourly message mart" in note.content()
    # Every figure's own title states its grain and period (in its plotly JSON).
    for chart in full.dom.find_all("figure"):
        drawn = chart.content()
        assert f"{FIRST} to {LAST} (Beijing days)" in drawn, chart.attrs["data-chart"]
        assert GRAIN.search(drawn), chart.attrs["data-chart"]


def test_key_figures_in_the_file_equal_the_marts(
    full: Written, marts: Engine, threshold: float
) -> None:
    figures = full.figures()
    assert figures["period"] == {"first": str(FIRST), "last": str(LAST)}
    assert figures["latency_threshold_ms"] == threshold
    period = {"first": FIRST, "last": LAST}
    for entry in figures["accounts"]:
        a = {"account": entry["account_id"], **period}
        where = "account_id = :account and date_day between :first and :last"
        (growth,) = _all(
            marts,
            "select sum(new_followers), sum(cancelled_followers), sum(net_growth) "
            f"from analytics.fct_follower_growth_daily where {where}",
            **a,
        )
        assert (entry["new_followers"], entry["cancelled_followers"], entry["net_growth"]) == tuple(
            growth
        )
        (end,) = _all(
            marts,
            "select cumulative_followers, date_day from analytics.fct_follower_growth_daily "
            f"where {where} and cumulative_followers is not null order by date_day desc limit 1",
            **a,
        )
        assert entry["followers_end"] == end[0]
        assert entry["followers_end_date"] == end[1].isoformat() == str(LAST)
        (articles,) = _all(
            marts,
            f"select count(*), sum({LATEST_READERS}) from analytics.fct_article_performance "
            "where account_id = :account and send_date between :first and :last",
            **a,
        )
        assert (entry["articles_sent"], entry["article_readers"]) == tuple(articles)
        (reads,) = _all(
            marts,
            f"select sum(reads), sum(shares) from analytics.fct_reads_hourly where {where}",
            **a,
        )
        assert (entry["reads"], entry["shares"]) == tuple(reads)
        (messages,) = _all(
            marts,
            "select sum(messages) from analytics.fct_message_activity_daily "
            f"where {where} and breakdown = 'msg_type'",
            **a,
        )
        assert entry["messages"] == messages[0]
        daily = _all(
            marts,
            "select date_day, callback_count, fail_count, total_latency_ms, avg_latency_ms, "
            f"max_latency_ms from analytics.fct_callback_latency_daily where {where} "
            "order by date_day",
            **a,
        )
        calls = sum(d.callback_count for d in daily)
        assert entry["callbacks"] == calls
        assert entry["callback_failures"] == sum(d.fail_count for d in daily)
        assert entry["failure_rate"] == pytest.approx(entry["callback_failures"] / calls)
        # A ratio of sums, not the mean of the daily averages.
        assert entry["avg_latency_ms"] == pytest.approx(
            sum(d.total_latency_ms for d in daily) / calls
        )
        assert entry["max_latency_ms"] == max(d.max_latency_ms for d in daily)
        breached = [d.date_day.isoformat() for d in daily if d.avg_latency_ms > threshold]
        assert entry["latency_breach_dates"] == breached
        assert entry["latency_breach_days"] == len(breached)
        assert all(isinstance(entry[k], int) for k in ("net_growth", "reads", "callbacks"))
    breaches = [len(e["latency_breach_dates"]) for e in figures["accounts"]]
    assert 0 < sum(breaches) < 2 * (LAST - FIRST).days  # the threshold splits the days


def test_overview_table_and_preview_show_the_same_figures(full: Written) -> None:
    (table,) = full.dom.find_all("table", id="wx-key-figures")
    for entry in full.figures()["accounts"]:
        (row,) = table.find_all("tr", data_account=entry["account_id"])
        cells = {c.attrs["data-key"]: c for c in row.has("data-key")}
        assert len(cells) == 11
        for key, cell in cells.items():
            shown = float(cell.attrs["data-value"])
            assert shown == pytest.approx(entry[key]), key
        assert cells["followers_end"].content() == f"{entry['followers_end']:,}"
        assert cells["net_growth"].content() == f"{entry['net_growth']:+,}"
        line = next(
            ln for ln in full.report.preview_markdown().splitlines() if entry["account_id"] in ln
        )
        assert f"| {entry['followers_end']:,} | {entry['net_growth']:+,} |" in line
        assert f"| {entry['articles_sent']:,} | {entry['reads']:,} |" in line
        assert f"| {entry['callbacks']:,} | {entry['avg_latency_ms']:,.0f} ms |" in line


def test_leaderboards_rank_the_marts_articles_with_their_chinese_titles(
    full: Written, marts: Engine, accounts: list[str]
) -> None:
    for account_id in accounts:
        expected = _all(
            marts,
            f"select msgid, title, read_rate, {LATEST_READERS} as readers "
            "from analytics.fct_article_performance "
            "where account_id = :account and send_date between :first and :last "
            "order by readers desc, send_date, msgid limit 10",
            account=account_id,
            first=FIRST,
            last=LAST,
        )
        assert len(expected) >= 5
        (table,) = full.account(account_id).find_all("table", data_table="articles-leaderboard")
        rows = table.has("data-msgid")
        assert [r.attrs["data-msgid"] for r in rows] == [e.msgid for e in expected]
        for row, article in zip(rows, expected, strict=True):
            cells = [c.content() for c in row.find_all("td")]
            assert cells[2] == article.title
            assert CJK.search(cells[2])
            assert cells[3] == f"{article.readers:,}"
            assert cells[4] == f"{article.read_rate:.1%}"
            assert escape(article.title, quote=False) in full.text


def test_the_file_is_self_contained(full: Written) -> None:
    text = full.text
    assert text.startswith("<!DOCTYPE html>")
    assert full.dom.find_all("meta", charset="utf-8")
    for node in full.dom.iter():
        for attr in ("src", "href"):
            value = node.attrs.get(attr, "")
            assert not re.match(r"\s*(https?:)?//", value), (node.tag, attr, value)
        assert node.tag not in {"link", "iframe", "img", "object", "embed"}, node.tag
    remote = r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*[\"']?\s*(https?:)?//"
    assert not re.search(remote, text, re.IGNORECASE)
    # plotly.js inlined once, then every chart only calls it.
    charts = full.dom.find_all("figure", data_state="ok")
    assert len(charts) == 2 + 2 * sum(len(c) for c in CHARTS.values())
    assert text.count("window.PlotlyConfig") == 1
    assert text.count("Plotly.newPlot(") == len(charts)
    assert "window.PlotlyConfig" in charts[0].content()  # before any chart calls it


def test_no_data_is_said_rather_than_drawn(
    reader: Engine, accounts: list[str], tmp_path: Path
) -> None:
    # One account with data and one without in the loaded period.
    mixed = _write(
        build_report(reader, accounts=[accounts[0], UNKNOWN], first=FIRST, last=LAST),
        tmp_path / "mixed.html",
    )
    states = {
        a: {n.attrs["data-state"] for n in mixed.account(a).has("data-state")}
        for a in (accounts[0], UNKNOWN)
    }
    assert states == {accounts[0]: {"ok"}, UNKNOWN: {"empty"}}
    unknown = mixed.account(UNKNOWN)
    assert [n.attrs["data-section"] for n in unknown.has("data-section")] == list(SECTIONS)
    empties = unknown.find_all("div", **{"class": "no-data"})
    assert len(empties) == sum(len(c) for c in CHARTS.values()) + 1  # + the leaderboard
    assert all(e.content().startswith("No data.") for e in empties)
    (entry,) = [e for e in mixed.figures()["accounts"] if e["account_id"] == UNKNOWN]
    assert entry["articles_sent"] == 0
    assert [entry[k] for k in ("followers_end", "net_growth", "reads", "callbacks")] == [None] * 4
    assert entry["latency_breach_dates"] == []

    # A period before any data: every chart of every account says so, and no plotly.js at all.
    before = _write(
        build_report(reader, first=date(2025, 6, 2), last=date(2025, 6, 15)),
        tmp_path / "before.html",
    )
    assert before.report.period.first == date(2025, 6, 2)
    assert {n.attrs["data-state"] for n in before.dom.has("data-state")} == {"empty"}
    assert [a.account_id for a in before.report.accounts] == accounts
    for chart in before.dom.find_all("figure"):
        (caption,) = chart.find_all("figcaption")
        assert "2025-06-02 to 2025-06-15" in caption.content()
    assert "Plotly" not in before.text
    assert "| – | – | 0 | – | – | – |" in before.report.preview_markdown()


def test_defaults_cover_every_account_over_the_four_weeks_to_the_newest_data(
    reader: Engine, accounts: list[str]
) -> None:
    report = build_report(reader)
    assert (report.period.first, report.period.last) == (LAST - timedelta(days=27), LAST)
    assert [a.account_id for a in report.accounts] == accounts
    # Names are the caller's (the warehouse has none), escaped like any text; a quiet period
    # keeps this cheap.
    named = build_report(
        reader,
        accounts=[accounts[1]],
        first=date(2025, 6, 2),
        last=date(2025, 6, 2),
        account_names={accounts[1]: "品牌 <B> & Co"},
    )
    assert named.accounts[0].name == "品牌 <B> & Co"
    assert "品牌 &lt;B&gt; &amp; Co" in named.html
    assert "品牌 <B>" not in named.html


def test_the_reader_role_cannot_read_outside_analytics(reader: Engine) -> None:
    # What makes the reports above proof that the report reads only the marts.
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        _all(reader, "select 1 from wechat.user_summary limit 1")


def test_without_marts_or_with_an_empty_period_it_says_what_to_do(
    new_database: Callable[[str], str], reader: Engine
) -> None:
    engine = make_engine(new_database("no_marts"))
    try:
        with pytest.raises(ReportError, match="not built yet"):
            build_report(engine)
    finally:
        engine.dispose()
    with pytest.raises(ReportError, match="after the last day"):
        build_report(reader, first=LAST, last=FIRST)


def test_it_renders_offline_in_a_browser(full: Written, tmp_path: Path) -> None:
    from playwright.sync_api import ConsoleMessage, Route, sync_playwright

    remote: list[str] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium())
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))

            def console(message: ConsoleMessage) -> None:
                if message.type in {"error", "warning"}:
                    errors.append(f"console {message.type}: {message.text}")

            page.on("console", console)

            def refuse(route: Route) -> None:
                remote.append(route.request.url)
                route.abort()

            page.route(re.compile(r"^(?!file:)"), refuse)
            page.goto(full.path.as_uri())
            page.wait_for_function(
                "document.querySelectorAll('.js-plotly-plot .main-svg').length > 0"
            )
            drawn = page.evaluate("document.querySelectorAll('.js-plotly-plot').length")
            title = page.locator("table.leaderboard td").nth(2).inner_text()
            page.screenshot(path=screenshots(tmp_path) / "report.png")
        finally:
            browser.close()
    assert remote == []
    assert errors == []
    assert drawn == len(full.dom.find_all("figure", data_state="ok"))
    assert CJK.search(title)
    assert unescape(escape(title)) == title


def test_a_chart_drawn_on_its_own_has_the_report_style_and_leaves_plotly_default() -> None:
    import plotly.io as pio  # type: ignore[import-untyped, unused-ignore]

    from wx_pipeline.report import charts
    from wx_pipeline.report.model import Period

    period = Period(date(2026, 3, 1), date(2026, 3, 3))
    rows = [
        {"date_day": day, "cumulative_followers": 100 + n} for n, day in enumerate(period.dates())
    ]
    before = pio.templates.default
    chart = charts.followers_total(rows, period)
    assert pio.templates.default == before
    assert chart.figure is not None
    layout = chart.figure.layout
    # The shared layout comes with the template; the figure holds its own title and size.
    assert layout.template.layout.hovermode == "x unified"
    assert layout.template.layout.legend.orientation == "h"
    assert layout.title.text == "Followers at the end of each day"
    assert layout.height == 320
    with charts.theme():
        assert pio.templates.default == charts.TEMPLATE
    assert pio.templates.default == before


def test_two_axis_charts_keep_their_panels_and_axes() -> None:
    """The charts with two panels or two y axes are laid out by hand (not `make_subplots`):
    each trace on its axes, the panels sharing the day axis, the rate on the right."""
    from wx_pipeline.report import charts
    from wx_pipeline.report.model import Period

    period = Period(date(2026, 3, 1), date(2026, 3, 3))
    growth = [
        {"date_day": d, "net_growth": n - 1, "net_growth_7d": n, "net_growth_28d": 2 * n}
        for n, d in enumerate(period.dates())
    ]
    figure = charts.net_growth(growth, period).figure
    assert figure is not None
    assert [(t.type, t.xaxis, t.yaxis) for t in figure.data] == [
        ("bar", "x", "y"),
        ("scatter", "x2", "y2"),
        ("scatter", "x2", "y2"),
    ]
    top, bottom = figure.layout.xaxis, figure.layout.xaxis2
    assert (top.matches, top.showticklabels, top.title.text) == ("x2", False, None)
    assert (bottom.title.text, bottom.range) == ("Beijing day", top.range)
    assert figure.layout.yaxis.domain[0] > figure.layout.yaxis2.domain[1]  # top above bottom

    callbacks = [
        {"date_day": d, "callback_count": 10, "failure_rate": 0.1, "fail_count": 1}
        for d in period.dates()
    ]
    figure = charts.callback_volume(callbacks, period).figure
    assert figure is not None
    assert [(t.type, t.yaxis) for t in figure.data] == [("bar", "y"), ("scatter", "y2")]
    rate = figure.layout.yaxis2
    assert (rate.overlaying, rate.side, rate.tickformat) == ("y", "right", ".1%")
    assert figure.layout.yaxis.title.text == "callbacks"
