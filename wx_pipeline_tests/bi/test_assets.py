"""The Superset assets kept in the repository: generated datasets in step with the dbt contracts
and semantic layer, charts that use only those datasets' metrics and columns, dashboards that
hold only known charts, no password anywhere, and the bundle / export round trip."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from wx_pipeline.bi import assets
from wx_pipeline.marts.metrics import load_metrics
from wx_pipeline.marts.run import read_manifest

ROOT = assets.ASSETS_DIR


def _configs(folder: str) -> dict[str, dict[str, Any]]:
    return {
        p.relative_to(ROOT).as_posix(): yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in sorted((ROOT / folder).rglob("*.yaml"))
    }


def test_the_datasets_are_generated_from_the_current_contracts_and_metrics() -> None:
    assert assets.write_generated(check=True) == []


def test_a_stale_dataset_is_found_and_rewritten(tmp_path: Path) -> None:
    tree = tmp_path / "assets"
    shutil.copytree(ROOT, tree)
    stale = tree / assets.DATASETS_DIR / "fct_callback_latency_daily.yaml"
    stale.write_text(stale.read_text().replace("nullif(sum(callback_count), 0)", "1"))
    (tree / assets.DATASETS_DIR / "fct_gone.yaml").write_text("table_name: fct_gone\n")
    expected = [f"{assets.DATASETS_DIR}/fct_callback_latency_daily.yaml"]
    expected.append(f"{assets.DATASETS_DIR}/fct_gone.yaml")
    assert assets.write_generated(tree, check=True) == expected
    assert assets.write_generated(tree) == expected
    assert assets.write_generated(tree, check=True) == []


def test_every_mart_is_a_dataset_with_its_contract_and_metrics() -> None:
    manifest = read_manifest()
    marts = {
        n["name"]: n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["schema"] == "analytics"
    }
    datasets = {c["table_name"]: c for c in _configs("datasets").values()}
    assert datasets.keys() == marts.keys()
    metrics = load_metrics()
    for name, dataset in datasets.items():
        physical = [c for c in dataset["columns"] if c["expression"] is None]
        contract = marts[name]["columns"].values()
        assert [(c["column_name"], c["type"]) for c in physical] == [
            (c["name"], c["data_type"].upper()) for c in contract
        ]
        assert {m["metric_name"]: m["expression"] for m in dataset["metrics"]} == {
            m.name: m.sql for m in metrics.values() if m.model == name
        }
    rates = {m["metric_name"]: m for m in datasets["fct_callback_latency_daily"]["metrics"]}
    assert rates["callback_failure_rate"]["d3format"] == ".2%"
    rolling = {m["metric_name"]: m for m in datasets["fct_follower_growth_daily"]["metrics"]}
    assert rolling["net_growth_7d"]["warning_text"]
    assert rolling["net_growth"]["warning_text"] is None


def _metric_names(params: dict[str, Any]) -> list[Any]:
    found = [*params.get("metrics", []), params.get("metric"), params.get("x_axis_sort")]
    found.append(params.get("timeseries_limit_metric"))
    return [m for m in found if m is not None]


def _column_names(params: dict[str, Any]) -> list[str]:
    groupby = params.get("groupby") or []
    found = [params.get("x_axis"), *(groupby if isinstance(groupby, list) else [groupby])]
    found += [f["subject"] for f in params.get("adhoc_filters", [])]
    return [c for c in found if c is not None]


def test_charts_use_only_their_datasets_saved_metrics_and_columns() -> None:
    """No chart defines a metric of its own: every figure is a semantic-layer metric."""
    datasets = {c["uuid"]: c for c in _configs("datasets").values()}
    charts = _configs("charts")
    assert len(charts) >= 14
    for path, chart in charts.items():
        dataset = datasets[chart["dataset_uuid"]]
        saved = {m["metric_name"] for m in dataset["metrics"]}
        columns = {c["column_name"] for c in dataset["columns"]}
        for metric in _metric_names(chart["params"]):
            assert isinstance(metric, str), f"{path}: an ad-hoc metric {metric}"
            assert metric in saved, f"{path}: {metric}"
        for column in _column_names(chart["params"]):
            assert column in columns, f"{path}: {column}"


def test_the_dashboards_hold_known_charts_and_filter_on_known_columns() -> None:
    charts = {c["uuid"]: c["slice_name"] for c in _configs("charts").values()}
    datasets = {c["uuid"]: c for c in _configs("datasets").values()}
    dashboards = {d["slug"]: d for d in _configs("dashboards").values()}
    assert set(dashboards) == {"wx-agency-overview", "wx-account-detail"}
    used: set[str] = set()
    for dashboard in dashboards.values():
        nodes = [n for n in dashboard["position"].values() if isinstance(n, dict)]
        placed = {n["meta"]["uuid"]: n["meta"]["sliceName"] for n in nodes if n["type"] == "CHART"}
        assert placed.items() <= charts.items()
        used |= placed.keys()
        for native_filter in dashboard["metadata"]["native_filter_configuration"]:
            for target in native_filter["targets"]:
                if target:
                    columns = datasets[target["datasetUuid"]]["columns"]
                    assert target["column"]["name"] in {c["column_name"] for c in columns}
    assert used == charts.keys()  # no chart left out of both dashboards


def test_no_password_is_kept_in_the_assets() -> None:
    (database,) = _configs("databases").values()
    assert f":{assets.PASSWORD_MASK}@" in database["sqlalchemy_uri"]
    for path in ROOT.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        # Any URI's password is Superset's mask; no key holds a password.
        assert set(re.findall(r"://[^:/@\s]+:([^@\s]*)@", text)) <= {assets.PASSWORD_MASK}, path
        assert not re.search(r"password\w*:\s*\S", text, re.IGNORECASE), path


@pytest.mark.parametrize(
    ("warehouse", "expected"),
    [
        (
            "postgresql://postgres:@/wx?host=%2Ftmp%2Fwx%2Fpgdata",
            "postgresql+psycopg2://wx_bi:XXXXXXXXXX@/wx?host=%2Ftmp%2Fwx%2Fpgdata",
        ),
        (
            "postgresql+psycopg://wx:s3cret@db.internal:6432/wx?sslmode=require",
            "postgresql+psycopg2://wx_bi:XXXXXXXXXX@db.internal:6432/wx?sslmode=require",
        ),
    ],
)
def test_superset_connects_as_the_bi_role_without_the_pipelines_password(
    warehouse: str, expected: str
) -> None:
    assert assets.superset_uri(warehouse, "wx_bi") == expected


@pytest.fixture
def bundle() -> Iterator[zipfile.ZipFile]:
    uri = "postgresql+psycopg2://wx_bi:XXXXXXXXXX@warehouse:5432/wx"
    with zipfile.ZipFile(io.BytesIO(assets.bundle(uri))) as archive:
        yield archive


def test_the_bundle_is_the_tree_with_the_warehouse_filled_in(bundle: zipfile.ZipFile) -> None:
    names = bundle.namelist()
    assert all(n.startswith(f"{assets.BUNDLE_ROOT}/") for n in names)
    assert f"{assets.BUNDLE_ROOT}/metadata.yaml" in names
    assert len(names) == len(list(ROOT.rglob("*.yaml")))
    database = yaml.safe_load(bundle.read(f"{assets.BUNDLE_ROOT}/{assets.DATABASE_FILE}"))
    assert database["sqlalchemy_uri"] == "postgresql+psycopg2://wx_bi:XXXXXXXXXX@warehouse:5432/wx"
    assert database["uuid"] == assets.database_uuid()


def test_an_export_round_trips_into_the_tree(bundle: zipfile.ZipFile, tmp_path: Path) -> None:
    """A bundle taken back as an export changes nothing; a dashboard's view state, a renamed
    and a deleted chart are what an export changes."""
    tree = tmp_path / "assets"
    shutil.copytree(ROOT, tree)
    exported = io.BytesIO()
    with zipfile.ZipFile(exported, "w") as archive:
        for name in bundle.namelist():
            text = bundle.read(name).decode("utf-8")
            renamed = name.replace(assets.BUNDLE_ROOT, "assets_export_20261206T000000")
            archive.writestr(renamed, text)
    assert assets.unbundle(exported.getvalue(), tree) == []

    changed = io.BytesIO()
    with zipfile.ZipFile(changed, "w") as archive:
        for name in bundle.namelist():
            text = bundle.read(name).decode("utf-8")
            config = yaml.safe_load(text)
            if name.endswith("charts/page_reads_per_day.yaml"):
                continue  # deleted in the UI
            if name.endswith("charts/callbacks_by_account.yaml"):
                config["slice_name"] = "Callbacks per account"
            if "/dashboards/" in name:
                config["metadata"]["shared_label_colors"] = ["wx0123456789abcdef"]
            archive.writestr(name, yaml.safe_dump(config, sort_keys=False))
    assert sorted(assets.unbundle(changed.getvalue(), tree)) == [
        "charts/callbacks_by_account.yaml",
        "charts/callbacks_per_account.yaml",
        "charts/page_reads_per_day.yaml",
    ]
    for path in (tree / "dashboards").glob("*.yaml"):
        assert "shared_label_colors" not in path.read_text(encoding="utf-8")
