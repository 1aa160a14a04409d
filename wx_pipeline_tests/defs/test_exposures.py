"""The dbt exposures: each names exactly the marts its reader queries, and Dagster's lineage
shows them (the dashboards as external assets, the report asset downstream of its marts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from wx_pipeline.bi import assets
from wx_pipeline.core.settings import load_settings
from wx_pipeline.definitions import build_definitions
from wx_pipeline.defs.exposures import GROUP, REPORT_EXPOSURE
from wx_pipeline.defs.report import REPORT_KEY
from wx_pipeline.marts.run import read_manifest
from wx_pipeline.report.queries import MARTS

#: Dashboard slug -> its exposure.
DASHBOARDS = {"wx-agency-overview": "agency_overview", "wx-account-detail": "account_detail"}


def _depends_on(name: str) -> set[str]:
    manifest = read_manifest()
    exposure = manifest["exposures"][f"exposure.wx_pipeline.{name}"]
    return {manifest["nodes"][n]["name"] for n in exposure["depends_on"]["nodes"]}


def test_the_reports_exposure_is_what_its_queries_read() -> None:
    assert _depends_on(REPORT_EXPOSURE) == set(MARTS)


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize(("slug", "exposure"), DASHBOARDS.items())
def test_each_dashboards_exposure_is_what_its_charts_and_filters_read(
    slug: str, exposure: str
) -> None:
    tables = {
        d["uuid"]: d["table_name"]
        for d in map(_load, (assets.ASSETS_DIR / assets.DATASETS_DIR).glob("*.yaml"))
    }
    charts = {c["uuid"]: c for c in map(_load, (assets.ASSETS_DIR / "charts").glob("*.yaml"))}
    dashboards = map(_load, (assets.ASSETS_DIR / "dashboards").glob("*.yaml"))
    (dashboard,) = (d for d in dashboards if d["slug"] == slug)
    placed = [n["meta"]["uuid"] for n in dashboard["position"].values() if _is_chart(n)]
    read = {tables[charts[uuid]["dataset_uuid"]] for uuid in placed}
    for native_filter in dashboard["metadata"]["native_filter_configuration"]:
        read |= {tables[t["datasetUuid"]] for t in native_filter["targets"] if t}
    assert read == _depends_on(exposure)


def _is_chart(node: Any) -> bool:
    return isinstance(node, dict) and node.get("type") == "CHART"


@pytest.fixture(scope="module")
def graph() -> Any:
    return build_definitions(load_settings()).resolve_asset_graph()


def test_dagsters_lineage_shows_the_dashboards_downstream_of_their_marts(graph: Any) -> None:
    for exposure in DASHBOARDS.values():
        node = graph.get(dg.AssetKey([GROUP, exposure]))
        assert not node.is_materializable  # Superset reads the marts; Dagster builds nothing
        assert node.group_name == GROUP
        assert {k.path[-1] for k in node.parent_keys} == _depends_on(exposure)
        assert all(k.path[0] == "analytics" for k in node.parent_keys)
    report = graph.get(REPORT_KEY)
    assert {k.path[-1] for k in report.parent_keys} == _depends_on(REPORT_EXPOSURE)
