"""Assets for people who read rather than query: the HTML report of the marts and the dbt docs.

Both are downstream of the dbt marts and part of the ``analytics`` job, so the nightly run
refreshes them. The report (``wx_pipeline/report``) covers the 28 days up to the run's last
day, every account, in one self-contained file under ``$WX_HOME/reports`` (``latest.html`` is
the newest); the docs are ``dbt docs generate`` into ``$WX_HOME/dbt-docs``, which
``wx-pipeline docs`` serves.
"""

import os
import shutil
from pathlib import Path

import dagster as dg

from wx_pipeline.dbt_project import DBT_PROJECT_DIR, MANIFEST_PATH, dbt_env, docs_dir
from wx_pipeline.defs.partitions import run_window
from wx_pipeline.defs.resources import WarehouseResource, WeChatApiResource, configured_accounts
from wx_pipeline.report import build_report, write_report
from wx_pipeline.settings import get_settings

REPORT_KEY = dg.AssetKey(["analytics", "report"])
DOCS_KEY = dg.AssetKey(["analytics", "dbt_docs"])
GROUP = "analytics"


def reports_dir() -> Path:
    return get_settings().home / "reports"


def build_report_assets(marts: dg.AssetsDefinition) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=REPORT_KEY,
        deps=[marts],
        group_name=GROUP,
        kinds={"html", "plotly"},
        description="A self-contained HTML report of the marts (followers, articles, reads by "
        "hour, messages, callbacks) for every account, the 28 days up to the run's last day.",
    )
    def report(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        wechat: WeChatApiResource,
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        window = run_window(context.run.tags)
        names = {a.app_id: a.name for a in configured_accounts(wechat.settings())}
        built = build_report(
            warehouse.engine(), last=window[1] if window else None, account_names=names
        )
        path = write_report(built, reports_dir() / f"report-{built.period.last}.html")
        # The newest report under a name that does not change (bookmarks, a web server).
        latest = path.with_name("latest.html")
        shutil.copyfile(path, latest)
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(path)),
                "latest": dg.MetadataValue.path(str(latest)),
                "period": built.period.label(),
                "preview": dg.MetadataValue.md(built.preview_markdown()),
            }
        )

    @dg.asset(
        key=DOCS_KEY,
        deps=[marts],
        group_name=GROUP,
        kinds={"dbt"},
        description="The dbt docs site (models, columns, lineage) of the marts, generated after "
        "the build; `wx-pipeline docs` serves it.",
    )
    def dbt_docs(warehouse: WarehouseResource) -> dg.MaterializeResult:  # type: ignore[type-arg]
        from dagster_dbt import DbtCliResource

        from wx_pipeline.dbt_project import dbt_executable

        os.environ.update(dbt_env(warehouse.resolved_url()))
        target = docs_dir(get_settings().home)
        target.mkdir(parents=True, exist_ok=True)
        dbt = DbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            dbt_executable=str(dbt_executable()),
        )
        dbt.cli(["docs", "generate"], manifest=MANIFEST_PATH, target_path=target).wait()
        return dg.MaterializeResult(
            metadata={"index": dg.MetadataValue.path(str(target / "index.html"))}
        )

    return [report, dbt_docs]
