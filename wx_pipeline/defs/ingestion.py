"""Ingestion assets, generated from the endpoint registry: one asset per family and period.

Why per family rather than per table: Dagster writes one materialisation event per asset key
and partition, even in a single-run backfill, and at a year of daily partitions that
bookkeeping, not the API or Postgres, dominates the run (see the README's benchmarks). Five
daily keys keep a year's backfill within budget while the UI still shows every partition.

All daily assets share one partitions definition (from ``WX_START_DATE``) because a Dagster
run, and so the nightly run with its single dbt build, targets one partitions definition. The
2025 article endpoints therefore live in the ``articles`` asset like the legacy ones; the
client starts them at their registry ``first_date`` (2025-11-01), so earlier partitions make
no calls for them.
"""

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from datetime import time as day_time
from functools import partial
from typing import Any

import dagster as dg

from wx_pipeline.core.clock import NotFinalError, require_final
from wx_pipeline.core.errors import WxUserError
from wx_pipeline.core.settings import Account
from wx_pipeline.defs.partitions import partitions_for, window_dates
from wx_pipeline.defs.resources import WarehouseResource, WeChatApiResource
from wx_pipeline.defs.tags import run_accounts, run_endpoints, select_accounts
from wx_pipeline.pipeline.outcome import IngestReport
from wx_pipeline.pipeline.stream import ingest
from wx_pipeline.registry import Endpoint, Family, Period
from wx_pipeline.runtime import progress
from wx_pipeline.warehouse.normalize import DriftKind

KEY_PREFIX = "wechat"
#: Failure metadata listing the account problems of an ingestion step.
PROBLEMS_KEY = "account_problems"
#: The no_schema_drift check's records (endpoint, field or code, count, first archive row), for
#: whoever sums up a run of several assets (one line per record).
DRIFT_KEY = "drift"
#: Materialisation metadata: the chunks whose rows differ from what they replaced.
CHUNKS_CHANGED = "chunks_changed"
POOL = "wechat_api"
OWNERS = ["team:data-platform"]


def accounts_of_run(accounts: Sequence[Account], tags: Mapping[str, str]) -> list[Account]:
    """The accounts a run is limited to (``select_accounts`` on its tag); an id that is not
    configured fails the step at once, without retries: it would fail the same way again."""
    try:
        return select_accounts(accounts, run_accounts(tags))
    except WxUserError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None


@dataclass(frozen=True)
class IngestionGroup:
    """Endpoints that one asset fetches together: same family and period."""

    family: Family
    period: Period
    endpoints: tuple[Endpoint, ...]

    @property
    def name(self) -> str:
        return self.endpoints[0].asset_group

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey([KEY_PREFIX, self.name])

    @property
    def tables(self) -> list[str]:
        return [t.name for e in self.endpoints for t in e.tables]


def ingestion_groups(endpoints: Sequence[Endpoint]) -> list[IngestionGroup]:
    """Group the registry into assets, in registry order."""
    grouped: dict[tuple[Family, Period], list[Endpoint]] = {}
    for e in endpoints:
        grouped.setdefault((e.family, e.period), []).append(e)
    return [IngestionGroup(f, p, tuple(es)) for (f, p), es in grouped.items()]


def asset_key_by_table(groups: Sequence[IngestionGroup]) -> dict[str, dg.AssetKey]:
    """Which ingestion asset fills each fact table (dbt sources map onto these)."""
    return {table: g.key for g in groups for table in g.tables}


def _description(group: IngestionGroup) -> str:
    lines = [
        f"- `{e.name}` -> `wechat.{', wechat.'.join(t.name for t in e.tables)}`: {e.description}"
        for e in group.endpoints
    ]
    return (
        f"WeChat datacube {group.family.value} data (one partition per {group.period.value}), "
        "fetched for every configured account, archived raw in `wechat_raw.api_response` and "
        "loaded into:\n\n" + "\n".join(lines)
    )


def _metadata(report: IngestReport, seconds: float) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "dagster/row_count": report.total_rows,
        "api_calls": report.calls_made,
        "api_calls_minimum": report.minimum_calls,
        "accounts": len(report.accounts),
        "account_ids": ", ".join(report.accounts),
        "first_date": report.first.isoformat(),
        "last_date": report.last.isoformat(),
        "days": (report.last - report.first).days + 1,
        "duration_seconds": round(seconds, 3),
        "ingest_seconds": round(report.seconds, 3),
        "store_seconds": round(report.store_seconds, 3),
        "chunks_loaded": report.chunks,
        CHUNKS_CHANGED: report.chunks_changed,
    }
    meta.update({f"rows/{table}": n for table, n in sorted(report.rows.items())})
    # What real answers differed in (loaded anyway): see the no_schema_drift check.
    meta.update({kind.value: report.drift.summary(kind) for kind in DriftKind})
    if report.retired:
        meta["retired_endpoints"] = ", ".join(sorted(report.retired))
    if report.not_final:  # cumulative totals after the newest final day: not loaded
        meta["not_final_entries_skipped"] = report.not_final
    return meta


def _check_results(group: IngestionGroup, report: IngestReport) -> list[dg.AssetCheckResult]:
    empty = [t for t in group.tables if report.rows.get(t, 0) == 0]
    return [
        dg.AssetCheckResult(
            check_name="no_schema_drift",
            # What real answers differ in is loaded (NULL for a field left out) and worth a
            # look, never an error: one record per endpoint and field, with its archive row.
            passed=not report.drift,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                **{kind.value: report.drift.summary(kind) for kind in DriftKind},
                DRIFT_KEY: dg.MetadataValue.json(report.drift.to_json()),
            },
        ),
        dg.AssetCheckResult(
            check_name="not_empty",
            passed=report.total_rows > 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"empty_tables": ", ".join(empty) or "none", "rows": report.total_rows},
        ),
    ]


def build_ingestion_asset(
    group: IngestionGroup, start_date: date, ready: day_time
) -> dg.AssetsDefinition:
    """The asset that fetches and loads ``group`` for the run's partition range."""
    key = group.key
    partitions = partitions_for(group.period, start_date, ready)

    @dg.asset(
        key=key,
        group_name=group.family.value,
        description=_description(group),
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=POOL,
        kinds={"python", "postgres"},
        owners=OWNERS,
        metadata={
            "endpoints": ", ".join(e.name for e in group.endpoints),
            "tables": ", ".join(group.tables),
        },
        check_specs=[
            # Partitioned like the asset: a one-partition run (the nightly one) records its
            # result on that partition; a range run records one result for the range.
            dg.AssetCheckSpec(
                "no_schema_drift",
                asset=key,
                description="The API sent no field and no code the registry does not know, and "
                "left out no non-key field (unknown fields are kept raw, rows with unknown codes "
                "are loaded, a field left out is NULL).",
                partitions_def=partitions,
            ),
            dg.AssetCheckSpec(
                "not_empty",
                asset=key,
                description="The window loaded at least one row.",
                partitions_def=partitions,
            ),
        ],
    )
    def _ingest(
        context: dg.AssetExecutionContext, wechat: WeChatApiResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        started = time.perf_counter()
        first, last = window_dates(context)
        only = run_endpoints(context.run.tags)
        endpoints = [e for e in group.endpoints if not only or e.name in only]
        engine = warehouse.engine()
        client = wechat.warehouse_client(engine)
        accounts = accounts_of_run(client.accounts, context.run.tags)
        try:
            # The partitions end at the newest final day; a launch past it (a pinned clock, a
            # changed WX_DATA_READY_TIME) is refused like `wx-pipeline run` refuses it.
            require_final(last, client.now(), client.ready_time)
        except NotFinalError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        report = ingest(
            client,
            engine,
            endpoints,
            accounts,
            first,
            last,
            run_id=context.run.run_id,
            progress=partial(progress.report, group.name),
        )
        for name in sorted(report.retired):
            context.log.warning(f"{name} is retired (47009): skipped, not a failure")
        for line in report.drift.lines():
            context.log.warning(line)
        if report.failures:
            # Transient failures were retried already (attempts with backoff, then a second
            # round of the chunk); what is left fails the step with its line.
            raise dg.Failure(
                description=report.failure_message(),
                metadata={
                    "loaded_rows": report.total_rows,
                    # For whoever sums up a run of several assets (one line per problem).
                    PROBLEMS_KEY: dg.MetadataValue.json([p.as_json() for p in report.problems()]),
                },
                allow_retries=False,
            )
        return dg.MaterializeResult(
            metadata=_metadata(report, time.perf_counter() - started),
            check_results=_check_results(group, report),
        )

    return _ingest
