"""Bad input gets one clear line: each case runs `wx-pipeline run` as a real process and
asserts exit status 2 with one line on stderr naming what is wrong, and the facts as they were
(a previous clean load of the same day stays); what is only odd (an unknown code, an extra field,
a retired endpoint) loads, exit 0, with a warning line.

The API is the simulator over HTTP, behind a proxy that spoils the answers a case needs spoiled.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from alembic import command

from wx_pipeline.core.clock import newest_final_day
from wx_pipeline.simulator import SimAccount, SimulatorConfig, SimulatorServer, run_in_thread
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.migrate import alembic_config, current_revision, head_revision
from wx_pipeline_tests.chat import WECOM_KEY, chat_receiver
from wx_pipeline_tests.fingerprint import fingerprint
from wx_pipeline_tests.reliability.harness import Outcome, Spoil, cli, pipeline_env, spoiling_proxy

pytestmark = pytest.mark.slow

GOOD = SimAccount(app_id="wxbadinput00000001", secret="g" * 32, name="Good", followers=9_000)
FENCED = SimAccount(
    app_id="wxbadinput00000002",
    secret="f" * 32,
    name="Fenced",
    followers=5_000,
    ip_whitelist=("10.1.2.3",),
)
STRANGER = SimAccount(app_id="wxbadinput00000099", secret="s" * 32, name="Stranger", followers=1)
#: Fast retries: the spoiled answers that are transient fail after their attempts quickly.
FAST = {"retry_max_wait": "0.05"}


@dataclass
class World:
    sim: SimulatorServer
    url: str
    home: Path
    now: datetime
    day: date
    facts: dict[str, tuple[int, str]] = field(default_factory=dict)

    def env(self, base_url: str | None = None, **settings: str) -> dict[str, str]:
        accounts = json.loads(settings.pop("accounts", "null")) or [GOOD]
        secrets = json.loads(settings.pop("secrets", "null")) or {}
        return pipeline_env(
            self.home,
            base_url or self.sim.base_url,
            settings.pop("url", self.url),
            [SimAccount(**a) if isinstance(a, dict) else a for a in accounts],
            self.now,
            secrets,
            **{**FAST, **settings},
        )

    def run(self, *args: str, base_url: str | None = None, **settings: str) -> Outcome:
        day = self.day.isoformat()
        return cli(self.env(base_url, **settings), "run", "--start", day, "--end", day, *args)


@pytest.fixture(scope="module")
def world(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, pinned_now: datetime
) -> Iterator[World]:
    config = SimulatorConfig(seed=41, now=pinned_now, accounts=[GOOD, FENCED])
    with run_in_thread(config) as sim:
        w = World(
            sim,
            database_url,
            tmp_path_factory.mktemp("bad"),
            pinned_now,
            newest_final_day(pinned_now),
        )
        clean = w.run("--select", "followers", "--select", "callbacks")
        assert clean.code == 0, clean.stderr
        w.facts = fingerprint(database_url, ["wechat"])
        yield w


def _one_line(outcome: Outcome, *phrases: str) -> str:
    assert outcome.code == 2, outcome.stdout[-2000:] + outcome.stderr[-2000:]
    lines = outcome.error_lines
    assert len(lines) == 1, outcome.stderr
    line = lines[0]
    assert line.startswith("wx-pipeline: "), line
    for phrase in phrases:
        assert phrase in line, line
    return line


def _unchanged(world: World) -> None:
    assert fingerprint(world.url, ["wechat"]) == world.facts


def _items(body: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(body)
    return data


def spoil_endpoint(
    endpoint: str, change: Callable[[dict[str, Any]], dict[str, Any] | bytes]
) -> Spoil:
    """Spoil every answer of one datacube endpoint."""

    def spoil(path: str, body: bytes) -> tuple[int, bytes] | None:
        if path != f"/datacube/{endpoint}":
            return None
        changed = change(_items(body))
        return 200, changed if isinstance(changed, bytes) else json.dumps(changed).encode()

    return spoil


def spoil_items(endpoint: str, change: Callable[[dict[str, Any]], None]) -> Spoil:
    """Change every list item of an endpoint's answers."""

    def apply(body: dict[str, Any]) -> dict[str, Any]:
        for item in body["list"]:
            change(item)
        return body

    return spoil_endpoint(endpoint, apply)


def error_answer(code: int, message: str, paths: tuple[str, ...]) -> Spoil:
    def spoil(path: str, body: bytes) -> tuple[int, bytes] | None:
        if not path.startswith(paths):
            return None
        text = f"{message} rid: 6801a2b3-0c1d2e3f-4a5b6c7d"
        return 200, json.dumps({"errcode": code, "errmsg": text}).encode()

    return spoil


# --- the account and its credentials -----------------------------------------------------------


def test_wrong_app_id(world: World) -> None:
    stranger = {"app_id": STRANGER.app_id, "secret": "s" * 32, "name": "Stranger", "followers": 1}
    line = _one_line(
        world.run("--select", "followers", accounts=json.dumps([stranger])),
        STRANGER.app_id,
        "app id not recognised (40013",
    )
    assert "rid:" not in line
    _unchanged(world)


def test_wrong_secret(world: World) -> None:
    _one_line(
        world.run("--select", "followers", secrets=json.dumps({GOOD.app_id: "not-the-secret"})),
        "AppSecret rejected (40125",
        GOOD.app_id,
    )
    _unchanged(world)


def test_a_failed_run_alerts_the_team_once(world: World) -> None:
    ui = "http://dagster.example:3000"
    wrong = "not-the-secret-7c1d"
    with chat_receiver() as chat:
        outcome = world.run(
            "--select",
            "followers",
            secrets=json.dumps({GOOD.app_id: wrong}),
            alert_webhook=chat.wecom,
            ui_url=ui,
        )
    line = _one_line(outcome, "AppSecret rejected (40125")
    (message,) = [m.body["markdown"]["content"] for m in chat.messages]
    lines = message.splitlines()
    assert lines[0] == "wx-pipeline: run of daily failed"
    assert lines[1] == f"partitions: {world.day}"
    assert "AppSecret rejected (40125" in lines[2]
    assert GOOD.app_id in lines[2]
    assert lines[3].startswith(f"run: [{ui}/runs/")
    assert wrong not in message
    assert WECOM_KEY not in message
    assert wrong not in line
    _unchanged(world)


def test_frozen_secret(world: World) -> None:
    spoil = error_answer(40243, "appsecret is frozen", ("/cgi-bin/stable_token",))
    with spoiling_proxy(world.sim.base_url, spoil) as proxy:
        _one_line(world.run("--select", "followers", base_url=proxy), "AppSecret frozen (40243")
    _unchanged(world)


def test_ip_not_whitelisted(world: World) -> None:
    fenced = {**vars(FENCED), "ip_whitelist": list(FENCED.ip_whitelist)}
    _one_line(
        world.run("--select", "followers", accounts=json.dumps([fenced])),
        "caller IP 127.0.0.1 is not whitelisted",
        "IP whitelist",
    )
    _unchanged(world)


def test_unverified_account(world: World) -> None:
    spoil = error_answer(48001, "api unauthorized", ("/datacube/",))
    with spoiling_proxy(world.sim.base_url, spoil) as proxy:
        _one_line(
            world.run("--select", "followers", base_url=proxy),
            "API not authorised for this account (48001",
        )
    _unchanged(world)


def test_daily_quota_exhausted(world: World) -> None:
    spoil = error_answer(45009, "reach max api daily quota limit", ("/datacube/getusersummary",))
    with spoiling_proxy(world.sim.base_url, spoil) as proxy:
        _one_line(
            world.run("--select", "followers", base_url=proxy),
            "daily call quota for this endpoint is exhausted (45009",
            "getusersummary",
        )
    _unchanged(world)
    # No run calls that endpoint of that account again that Beijing day.
    engine = make_engine(world.url)
    try:
        with engine.begin() as conn:
            marked = conn.execute(
                sa.text(
                    "delete from wechat_meta.api_calls where exhausted "
                    "returning account_id, endpoint"
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in marked] == [(GOOD.app_id, "getusersummary")]


def test_retired_endpoint_is_skipped_with_a_warning(world: World) -> None:
    spoil = error_answer(47009, "this api is offline", ("/datacube/getusersummary",))
    with spoiling_proxy(world.sim.base_url, spoil) as proxy:
        outcome = world.run("--select", "followers", base_url=proxy)
    assert outcome.code == 0, outcome.stderr
    assert "warning: getusersummary is retired by WeChat (47009)" in outcome.stdout
    _unchanged(world)


# --- answers that are not what the API promises ------------------------------------------------


def test_html_error_page_instead_of_json(world: World) -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    with spoiling_proxy(world.sim.base_url, spoil_endpoint("getusersummary", lambda _: page)) as p:
        _one_line(world.run("--select", "followers", base_url=p), "not a JSON object", "<html>")
    _unchanged(world)


def test_truncated_json(world: World) -> None:
    cut = spoil_endpoint("getusersummary", lambda body: json.dumps(body).encode()[:40])
    with spoiling_proxy(world.sim.base_url, cut) as proxy:
        _one_line(world.run("--select", "followers", base_url=proxy), "not a JSON object")
    _unchanged(world)


@pytest.mark.parametrize(
    ("endpoint", "change", "phrases"),
    [
        ("getusersummary", lambda i: i.pop("user_source"), ("user_source",)),
        ("getusersummary", lambda i: i.update(new_user=-3), ("new_user", "-3")),
        ("getusersummary", lambda i: i.update(ref_date="2026-02-30"), ("ref_date", "2026-02-30")),
        ("getinterfacesummaryhour", lambda i: i.update(ref_hour=2400), ("ref_hour", "2400")),
    ],
    ids=["missing key field", "negative counter", "non-date ref_date", "hour 2400"],
)
def test_invalid_data_names_field_value_and_archive_row(
    world: World,
    endpoint: str,
    change: Callable[[dict[str, Any]], None],
    phrases: tuple[str, ...],
) -> None:
    group = "callbacks" if "interface" in endpoint else "followers"
    with spoiling_proxy(world.sim.base_url, spoil_items(endpoint, change)) as proxy:
        line = _one_line(
            world.run("--select", group, base_url=proxy), endpoint, "archive row", *phrases
        )
    assert GOOD.app_id in line
    _unchanged(world)


def test_an_answer_in_another_endpoints_shape(world: World) -> None:
    def cumulate_shape(body: dict[str, Any]) -> dict[str, Any]:
        return {"list": [{"ref_date": world.day.isoformat(), "cumulate_user": 5}]}

    with spoiling_proxy(world.sim.base_url, spoil_endpoint("getusersummary", cumulate_shape)) as p:
        _one_line(world.run("--select", "followers", base_url=p), "getusersummary", "user_source")
    _unchanged(world)


def test_failed_step_shows_the_same_line_in_the_ui(world: World) -> None:
    change = spoil_items("getusersummary", lambda i: i.update(cancel_user=-7))
    with spoiling_proxy(world.sim.base_url, change) as proxy:
        line = _one_line(world.run("--select", "followers", base_url=proxy), "cancel_user")
    cause = line.split(": ", 2)[-1]
    engine = make_engine(world.url)
    try:
        with engine.connect() as conn:
            failure: str = conn.execute(
                sa.text(
                    "select event from event_logs where dagster_event_type = 'STEP_FAILURE' "
                    "order by id desc limit 1"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    assert "cancel_user" in failure
    assert cause.split(" [")[0][:60] in failure


# --- odd, not wrong: kept and flagged ---------------------------------------------------------


def test_an_unknown_code_is_kept_and_flagged(world: World) -> None:
    def first_unknown(body: dict[str, Any]) -> dict[str, Any]:
        body["list"][0]["user_source"] = 424242
        return body

    with spoiling_proxy(
        world.sim.base_url, spoil_endpoint("getusersummary", first_unknown)
    ) as proxy:
        outcome = world.run("--select", "followers", base_url=proxy)
    assert outcome.code == 0, outcome.stderr
    assert "user_summary.user_source=424242" in outcome.stdout
    engine = make_engine(world.url)
    try:
        with engine.connect() as conn:
            kept: int = conn.execute(
                sa.text("select count(*) from wechat.user_summary where user_source = 424242")
            ).scalar_one()
    finally:
        engine.dispose()
    assert kept > 0
    # Put the clean day back for the other cases.
    assert world.run("--select", "followers").code == 0
    _unchanged(world)


def test_extra_fields_are_kept_and_flagged(world: World) -> None:
    with spoiling_proxy(
        world.sim.base_url, spoil_items("getusercumulate", lambda i: i.update(mystery=1))
    ) as proxy:
        outcome = world.run("--select", "followers", base_url=proxy)
    assert outcome.code == 0, outcome.stderr
    said = " ".join(outcome.stdout.split())
    assert "warning: getusercumulate sent field mystery, which the registry does not know" in said
    assert "first in archive row" in said
    engine = make_engine(world.url)
    try:
        with engine.connect() as conn:
            archived: int = conn.execute(
                sa.text(
                    "select count(*) from wechat_raw.api_response "
                    "where endpoint = 'getusercumulate' and body::text like '%mystery%'"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    assert archived > 0
    _unchanged(world)


# --- what is asked, and where -----------------------------------------------------------------


def test_start_after_end(world: World) -> None:
    outcome = cli(world.env(), "run", "--start", "2026-03-10", "--end", "2026-03-01")
    _one_line(outcome, "--start 2026-03-10 is after --end 2026-03-01")


def test_a_date_before_the_first_datacube_day(world: World) -> None:
    outcome = cli(world.env(), "run", "--start", "2014-11-30", "--end", "2014-12-01")
    _one_line(outcome, "before WX_START_DATE (2014-12-01)")


def test_an_unreachable_warehouse(world: World) -> None:
    env = world.env(url="postgresql://wx:secret-pw@127.0.0.1:9/wx")
    line = _one_line(cli(env, "run", "--days", "1"), "warehouse unreachable", "127.0.0.1")
    assert "secret-pw" not in line


def test_a_warehouse_at_an_older_schema_is_migrated(
    world: World, new_database: Callable[[str], str]
) -> None:
    url = new_database("older_schema")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0001")
    finally:
        engine.dispose()
    assert current_revision(url) == "0001"
    outcome = world.run("--select", "followers", url=url)
    assert outcome.code == 0, outcome.stderr
    assert current_revision(url) == head_revision()
    assert fingerprint(url, ["wechat"])["wechat.user_cumulate"][0] == 1


# --- configuration ----------------------------------------------------------------------------


def _accounts_file(world: World, text: str) -> dict[str, str]:
    env = world.env()
    Path(env["WX_ACCOUNTS_FILE"]).write_text(text)
    return env


def test_a_malformed_accounts_file(world: World) -> None:
    env = _accounts_file(world, "- {app_id: wxabc, name: [unclosed\n")
    _one_line(cli(env, "run", "--days", "1"), "WX_ACCOUNTS_FILE", "cannot read")


def test_duplicate_app_ids(world: World) -> None:
    twice = [{"app_id": GOOD.app_id, "name": n, "secret_env": "WX_SECRET_0"} for n in "ab"]
    env = _accounts_file(world, yaml.safe_dump(twice))
    _one_line(cli(env, "run", "--days", "1"), "WX_ACCOUNTS_FILE", f"'{GOOD.app_id}' repeats")


def test_a_secret_variable_that_is_not_set(world: World) -> None:
    env = world.env()
    del env["WX_SECRET_0"]
    line = _one_line(cli(env, "run", "--days", "1"), "WX_SECRET_0", "is not set")
    assert GOOD.secret not in line


def test_a_warehouse_password_that_occurs_in_dbts_log_text(world: World) -> None:
    """dbt used to scrub the password out of every log line; a one-letter one mangled the JSON
    events (e*****tra) and the step died saying nothing. The marts build, and a failure of
    theirs would say what dbt said."""
    url = world.url.replace("postgres:@", "postgres:x@", 1)
    assert ":x@" in url
    outcome = world.run("--select", "followers", "--select", "analytics", url=url)
    assert outcome.code == 0, outcome.stderr[-3000:]
    assert "Key metrics" in outcome.stdout
