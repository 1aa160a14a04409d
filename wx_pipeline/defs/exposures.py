"""The dbt exposures (dbt/models/exposures.yml) in Dagster's lineage.

dagster-dbt 0.29 makes assets of dbt's models, seeds and snapshots only: the exposures in the
manifest are left out. Here the HTML report's exposure gives the report asset its upstream
marts, and every other exposure (the Superset dashboards) becomes an external asset: an
``AssetSpec`` Dagster shows downstream of the marts it reads, with its address, and never
materialises (Superset queries the marts when a dashboard is opened).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import dagster as dg

from wx_pipeline.defs.dbt import WechatDbtTranslator
from wx_pipeline.marts.run import read_manifest

#: The exposure of the HTML report: the `analytics/report` asset's own.
REPORT_EXPOSURE: Final = "html_report"
#: The group of the dashboards' assets.
GROUP: Final = "bi"


def _exposure(name: str, manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    project = manifest["metadata"]["project_name"]
    found: Mapping[str, Any] = manifest["exposures"][f"exposure.{project}.{name}"]
    return found


def exposure_deps(name: str, manifest: Mapping[str, Any] | None = None) -> list[dg.AssetKey]:
    """The asset keys of the marts exposure `name` depends on."""
    manifest = manifest or read_manifest()
    translator = WechatDbtTranslator({})
    return [
        translator.get_asset_key(manifest["nodes"][node])
        for node in _exposure(name, manifest)["depends_on"]["nodes"]
    ]


def exposure_specs(manifest: Mapping[str, Any] | None = None) -> list[dg.AssetSpec]:
    """An external asset per exposure but the report's, downstream of the marts it reads."""
    manifest = manifest or read_manifest()
    specs = []
    for exposure in manifest["exposures"].values():
        if exposure["name"] == REPORT_EXPOSURE:
            continue
        metadata = {"dbt exposure": exposure["unique_id"], "type": exposure["type"]}
        if exposure.get("url"):
            metadata["url"] = dg.MetadataValue.url(exposure["url"])
        specs.append(
            dg.AssetSpec(
                key=dg.AssetKey([GROUP, exposure["name"]]),
                deps=exposure_deps(exposure["name"], manifest),
                description=f"{exposure.get('label') or exposure['name']}: "
                f"{' '.join(exposure['description'].split())}",
                group_name=GROUP,
                kinds={"superset"} if exposure["type"] == "dashboard" else set(),
                metadata=metadata,
            )
        )
    return specs
