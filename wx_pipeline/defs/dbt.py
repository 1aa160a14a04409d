"""The dbt project as Dagster assets, downstream of the ingestion assets.

The dbt assets are not partitioned: partitioned like their inputs, every model would write an
event per day, and a year's backfill would spend minutes on bookkeeping alone (see the
README's benchmarks). Instead each run makes exactly one ``dbt build`` over the run's
partition window (the ``start_date``/``end_date`` vars), so the nightly refresh stays small
and a backfill rebuilds its range once. The manifest is prepared ahead by ``dbt parse``
(``make install``), never at import.
"""

import importlib.metadata
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)
from packaging import version

from wx_pipeline.core.settings import get_settings
from wx_pipeline.defs.partitions import run_window
from wx_pipeline.defs.resources import WarehouseResource
from wx_pipeline.defs.tags import run_accounts
from wx_pipeline.marts.run import (
    BUILD_ARGS,
    DBT_LOCK,
    DBT_PROJECT_DIR,
    MANIFEST_PATH,
    NO_FILE_LOG,
    SHAPE_TESTS,
    SOURCE_NAME,
    dbt_env,
    dbt_executable,
    parse_state_kept,
    window_env,
)
from wx_pipeline.runtime import progress
from wx_pipeline.runtime.environ import scoped_environ
from wx_pipeline.warehouse.db import exclusive

#: The op that builds every dbt model (its step in a run).
DBT_STEP = "dbt_analytics"

GROUP = "analytics"


class WechatDbtTranslator(DagsterDbtTranslator):
    """dbt sources on ``wechat.<table>`` are the ingestion asset that loads the table."""

    def __init__(self, source_keys: Mapping[str, dg.AssetKey]) -> None:
        super().__init__(
            settings=DagsterDbtTranslatorSettings(
                enable_asset_checks=True, enable_duplicate_source_asset_keys=True
            )
        )
        self._source_keys = source_keys

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source" and (
            dbt_resource_props["source_name"] == SOURCE_NAME
        ):
            return self._source_keys[dbt_resource_props["name"]]
        return dg.AssetKey([GROUP, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return GROUP


class VenvDbtCliResource(DbtCliResource):
    """The venv's own dbt, whose version is known from the installed dbt-core.

    dagster-dbt otherwise runs ``dbt --version`` in a subprocess at every invocation (about
    3 s), to learn what the lock file already pins.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        # dagster-dbt loads a dbt adapter into this process only to fetch row counts or column
        # metadata, which these assets do not ask for: ~1.5 s of every invocation.
        return None


def dbt_resource() -> DbtCliResource:
    """The venv's own dbt (the pipeline may run without the venv on PATH)."""
    return VenvDbtCliResource(
        project_dir=str(DBT_PROJECT_DIR),
        profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=str(dbt_executable()),
    )


def build_dbt_assets(source_keys: Mapping[str, dg.AssetKey]) -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=MANIFEST_PATH,
        dagster_dbt_translator=WechatDbtTranslator(source_keys),
        exclude=SHAPE_TESTS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        name=DBT_STEP,
    )
    def _dbt(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
    ) -> Iterator[Any]:
        # profiles.yml reads the warehouse and the models the window from WX_DBT_*.
        url = warehouse.resolved_url()
        tags = context.run.tags
        env = {**dbt_env(url), **window_env(run_window(tags), run_accounts(tags)), **NO_FILE_LOG}
        progress.report("dbt", "build", 0, 1)
        # A target directory per invocation (dagster-dbt's default is one more under dbt/target
        # for every run, a few MB each, never removed), started from the kept parse state.
        # One dbt build at a time on a warehouse: concurrent builds race creating the same
        # seeds, views and tables ("relation already exists") on a fresh one.
        with (
            exclusive(warehouse.engine(), DBT_LOCK),
            tempfile.TemporaryDirectory(prefix="wx-dbt-target-") as tmp,
        ):
            target = Path(tmp)
            with parse_state_kept(get_settings().home, url, target):
                # dagster-dbt starts dbt with a copy of os.environ and takes no other; the
                # warehouse and the window reach profiles.yml and the models so, until started.
                with scoped_environ(env):
                    build = dbt.cli(list(BUILD_ARGS), context=context, target_path=target)
                yield from build.stream()
        progress.report("dbt", "build", 1, 1)

    return _dbt
