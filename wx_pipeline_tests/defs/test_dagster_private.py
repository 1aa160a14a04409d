"""The few places the code leans on Dagster's and dagster-dbt's private parts, held to them:
an upgrade that changes one fails here, by name, instead of somewhere at run time."""

from __future__ import annotations

import inspect
from functools import cached_property

import dagster as dg
from dagster_dbt import DbtCliResource

from wx_pipeline.defs.dbt import VenvDbtCliResource, dbt_resource
from wx_pipeline.defs.tags import WILL_RETRY_TAG


def test_the_retry_tag_is_dagsters() -> None:
    from dagster._core.storage.tags import WILL_RETRY_TAG as dagsters

    assert dagsters == WILL_RETRY_TAG


def test_the_annotation_only_types_still_exist() -> None:
    from dagster._core.definitions.partitions.partitioned_schedule import (
        UnresolvedPartitionedAssetScheduleDefinition,
    )
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

    job = dg.define_asset_job("probe", selection="*")
    assert isinstance(job, UnresolvedAssetJobDefinition)
    assert inspect.isclass(UnresolvedPartitionedAssetScheduleDefinition)


def test_the_dbt_resource_overrides_what_dagster_dbt_still_calls() -> None:
    """VenvDbtCliResource replaces two private members of DbtCliResource (a `dbt --version`
    subprocess and an adapter load per invocation): both must still exist with these shapes,
    and be used by `cli`."""
    assert isinstance(inspect.getattr_static(DbtCliResource, "_cli_version"), cached_property)
    params = list(inspect.signature(DbtCliResource._initialize_dbt_core_adapter).parameters)
    assert params == ["self", "args"]
    source = inspect.getsource(DbtCliResource)
    assert "self._cli_version" in source
    assert "self._initialize_dbt_core_adapter(" in source
    resource = dbt_resource()
    assert isinstance(resource, VenvDbtCliResource)
    assert resource._initialize_dbt_core_adapter(["build"]) is None
    assert str(resource._cli_version).startswith("1.11.")
