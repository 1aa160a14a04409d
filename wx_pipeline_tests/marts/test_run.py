"""The dbt project without a database: generated files in step with the registry, `dbt parse`,
documentation coverage, and the settings handed to dbt."""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from wx_pipeline.marts import run as dbt_run
from wx_pipeline.marts.generate import CODE_LISTS, generated_files, stale_files, write_generated
from wx_pipeline.marts.run import (
    DBT_PROJECT_DIR,
    dbt_env,
    dbt_executable,
    needs_warehouse,
    prepare_manifest,
    project_version,
    window_args,
)
from wx_pipeline.registry import DATA_START, TABLES, V2025_START, codes


def test_committed_generated_files_match_the_registry() -> None:
    assert stale_files() == [], "run: python -m wx_pipeline.marts.generate --write"


def test_write_generated_fills_an_empty_tree_and_then_finds_nothing_stale(tmp_path: Path) -> None:
    written = write_generated(tmp_path)
    assert sorted(written) == sorted(generated_files())
    assert stale_files(tmp_path) == []
    (tmp_path / "seeds/codes/code_msg_type.csv").write_text("code,label,is_total\n", "utf-8")
    assert stale_files(tmp_path) == [Path("seeds/codes/code_msg_type.csv")]


def test_seeds_hold_every_code_of_codes_py() -> None:
    for code_list, source in (
        ("follower_source", codes.FOLLOWER_SOURCE),
        ("read_source", codes.READ_SOURCE),
        ("share_scene", codes.SHARE_SCENE),
        ("msg_type", codes.MSG_TYPE),
        ("count_interval", codes.COUNT_INTERVAL),
        ("scene_desc", codes.SCENE_DESC),
    ):
        path = DBT_PROJECT_DIR / "seeds/codes" / f"{CODE_LISTS[code_list].seed}.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert {r["code"]: r["label"] for r in rows} == {str(k): v for k, v in source.items()}
        totals = {r["code"] for r in rows if r["is_total"] == "true"}
        expected = {codes.ALL_SOURCES: "read_source", codes.ALL_SCENES: "scene_desc"}
        assert totals == {str(k) for k, v in expected.items() if v == code_list}


def test_sources_cover_every_fact_table_with_every_column() -> None:
    text = (DBT_PROJECT_DIR / "models/staging/wechat/_wechat__sources.yml").read_text("utf-8")
    (source,) = yaml.safe_load(text)["sources"]
    assert source["schema"] == "wechat"
    tables = {t["name"]: t for t in source["tables"]}
    assert set(tables) == set(TABLES)
    for name, table in TABLES.items():
        columns = [c["name"] for c in tables[name]["columns"]]
        assert columns == ["account_id", *(c.name for c in table.columns), "_loaded_at", "_run_id"]
        # Freshness is Dagster's to check (defs/freshness.py), not a second rule here.
        assert "freshness" not in tables[name].get("config", {})


def test_every_fact_table_has_a_staging_model() -> None:
    staging = DBT_PROJECT_DIR / "models/staging/wechat"
    assert {p.stem for p in staging.glob("stg_wechat__*.sql")} == {
        f"stg_wechat__{name}" for name in TABLES
    }


def test_project_vars_equal_the_registry_dates() -> None:
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text("utf-8"))
    assert project["vars"]["article_2025_start"] == V2025_START.isoformat()
    assert project["vars"]["data_start"] == DATA_START.isoformat()


def test_scene_labels_used_by_the_article_stitching_exist() -> None:
    sql = (DBT_PROJECT_DIR / "models/intermediate/int_article_stats_by_day.sql").read_text("utf-8")
    # The labels of the view's `scenes` mapping (source column -> the scene label it sums).
    mapping = re.search(r"\{% set scenes = \{(.*?)\} %\}", sql, re.S)
    assert mapping is not None
    used = set(re.findall(r":\s*'([^']+)'", mapping.group(1)))
    assert len(used) == len(codes.SCENE_DESC) - 1  # every scene but the ALL row
    assert used <= set(codes.SCENE_DESC.values())


# --- dbt parse and the manifest ----------------------------------------------------------------


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = prepare_manifest(tmp_path_factory.mktemp("dbt-target"))
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _nodes(manifest: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == kind]


def test_parse_finds_the_marts_in_analytics(manifest: dict[str, Any]) -> None:
    models = {n["name"]: n for n in _nodes(manifest, "model")}
    marts = {name for name, n in models.items() if n["schema"] == "analytics"}
    assert marts >= {
        "fct_follower_growth_daily",
        "fct_follower_sources_daily",
        "fct_callback_latency_daily",
        "fct_callback_latency_hourly",
        "fct_article_performance",
        "fct_reads_hourly",
        "fct_message_activity_daily",
        "dim_account",
        "dim_date",
    }
    assert all(models[f"stg_wechat__{t}"]["schema"] == "analytics_staging" for t in TABLES)
    incremental = {n for n in marts if models[n]["config"]["materialized"] == "incremental"}
    facts = {n for n in incremental if n.startswith("fct_")}
    assert len(facts) >= 8
    # The account dimension rewrites the accounts its window has rows for (dbt/README.md).
    assert incremental - facts == {"dim_account"}
    account = models["dim_account"]["config"]
    assert (account["incremental_strategy"], account["unique_key"]) == (
        "delete+insert",
        "account_id",
    )
    tests = {n["name"] for n in _nodes(manifest, "test")}
    for name in facts:
        config = models[name]["config"]
        # A refresh replaces its whole window: keys WeChat restated away go too.
        assert config["incremental_strategy"] == "replace_window", name
        assert config["window_column"] in models[name]["columns"], name
        # ...and an error test finds any mart row whose fact row is gone.
        assert f"{name}_backed_by_facts" in tests, name


def test_every_model_seed_and_source_is_described_grain_first(manifest: dict[str, Any]) -> None:
    documented = [*_nodes(manifest, "model"), *_nodes(manifest, "seed")]
    documented += list(manifest["sources"].values())
    assert len(documented) > 60
    for node in documented:
        assert node["description"].startswith("One row per"), node["unique_id"]
        assert node["columns"], node["unique_id"]
        for column in node["columns"].values():
            assert column["description"].strip(), f"{node['unique_id']}.{column['name']}"


def test_every_mart_has_a_grain_test(manifest: dict[str, Any]) -> None:
    tested = {
        dep
        for test in _nodes(manifest, "test")
        if test.get("test_metadata", {}).get("name") in ("unique_combination", "unique")
        for dep in test["depends_on"]["nodes"]
    }
    marts = {n["unique_id"] for n in _nodes(manifest, "model") if n["schema"] == "analytics"}
    assert marts <= tested


def test_code_tests_warn_instead_of_failing(manifest: dict[str, Any]) -> None:
    accepted = [
        t
        for t in _nodes(manifest, "test")
        if t.get("test_metadata", {}).get("name") == "accepted_values"
        and t["attached_node"].startswith("model.wx_pipeline.stg_")
    ]
    assert len(accepted) >= 10
    assert {t["config"]["severity"].lower() for t in accepted} == {"warn"}


# --- the Python side ---------------------------------------------------------------------------


def test_dbt_env_reads_the_embedded_socket_url() -> None:
    env = dbt_env("postgresql://postgres:@/wx?host=%2Ftmp%2Fwx%20home%2Fpgdata")
    assert env["WX_DBT_HOST"] == "/tmp/wx home/pgdata"
    assert env["WX_DBT_DBNAME"] == "wx"
    assert env["WX_DBT_USER"] == "postgres"
    assert env["WX_DBT_PASSWORD"] == ""


def test_dbt_env_reads_a_tcp_url_with_password_and_sslmode() -> None:
    env = dbt_env("postgresql+psycopg://bi:p%40ss@db.example:6543/wh?sslmode=require")
    assert (env["WX_DBT_HOST"], env["WX_DBT_PORT"]) == ("db.example", "6543")
    assert (env["WX_DBT_USER"], env["WX_DBT_DBNAME"]) == ("bi", "wh")
    assert env["WX_DBT_PASSWORD"] == "p@ss"
    assert env["WX_DBT_SSLMODE"] == "require"


def test_dbt_executable_is_the_one_of_this_environment() -> None:
    assert dbt_executable() == Path(sys.executable).parent / "dbt"


def test_only_connecting_commands_need_the_warehouse() -> None:
    assert needs_warehouse(["build", "--vars", "{}"])
    assert needs_warehouse(["docs", "generate"])
    assert not needs_warehouse(["parse"])
    assert not needs_warehouse(["--version"])


def test_window_args_are_inclusive_iso_dates() -> None:
    from datetime import date

    args = window_args(date(2025, 3, 1), date(2025, 3, 7))
    assert args[0] == "--vars"
    assert json.loads(args[1]) == {"start_date": "2025-03-01", "end_date": "2025-03-07"}
    with pytest.raises(ValueError, match="ends before"):
        dbt_run.window_vars(date(2025, 3, 2), date(2025, 3, 1))


def test_cli_parse_needs_no_warehouse(wx_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from wx_pipeline.cli import main

    wx_env.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    wx_env.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    wx_env.setenv("WX_WAREHOUSE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = CliRunner().invoke(main, ["dbt", "parse", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "target" / "manifest.json").exists()


def test_the_project_version_changes_with_a_model_or_its_docs_only(tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "dbt"
    shutil.copytree(DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs"))
    assert project_version(copy) == project_version(DBT_PROJECT_DIR)
    (copy / "target").mkdir()
    (copy / "target" / "run_results.json").write_text("{}")  # artifacts are not the project
    assert project_version(copy) == project_version(DBT_PROJECT_DIR)
    docs = next((copy / "models" / "marts").rglob("*.yml"))
    docs.write_text(docs.read_text() + "\n# a changed description\n")
    changed = project_version(copy)
    assert changed != project_version(DBT_PROJECT_DIR)
    model = next((copy / "models" / "marts").rglob("*.sql"))
    model.write_text(model.read_text() + "\n-- a changed model\n")
    assert project_version(copy) not in (changed, project_version(DBT_PROJECT_DIR))
