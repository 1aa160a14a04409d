"""The Dagster webserver's GraphQL API as both deployment rehearsals drive it, as a person would
from the UI: a backfill of a few days of one asset group, waited for until it and the marts' run
the sensor asks for after it are done. test_rehearsal.py drives the stack as processes,
deploy/rehearse.py as the containers of docker-compose.yml."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx

from wx_pipeline.core.clock import newest_final_day

T = TypeVar("T")

#: The rehearsals' backfill: every partitioned asset of this group over this many days.
GROUP = "followers"
DAYS = 3
#: The job of the marts' run that the sensor asks for after an ingestion run.
MARTS_JOB = "analytics"
UNFINISHED = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}
#: A backfill in one of these is still going.
BACKFILL_BUSY = {"REQUESTED", "CANCELING", "FAILING"}
BACKFILL_SUCCESS = {"COMPLETED", "COMPLETED_SUCCESS"}

_ERROR_FIELDS = "... on Error { message }"
LAUNCH = f"""
mutation Launch($params: LaunchBackfillParams!) {{
  launchPartitionBackfill(backfillParams: $params) {{
    __typename
    ... on LaunchBackfillSuccess {{ backfillId }}
    {_ERROR_FIELDS}
  }}
}}"""
BACKFILL = f"""
query Backfill($id: String!) {{
  partitionBackfillOrError(backfillId: $id) {{
    __typename
    ... on PartitionBackfill {{ status runs(limit: 20) {{ runId status }} }}
    {_ERROR_FIELDS}
  }}
}}"""
ASSETS = """
query Assets {
  assetNodes { assetKey { path } groupName isPartitioned }
}"""
RUNS = f"""
query Runs {{
  runsOrError(limit: 50) {{
    __typename
    ... on Runs {{ results {{ runId jobName status tags {{ key value }} }} }}
    {_ERROR_FIELDS}
  }}
}}"""


class GraphQLError(RuntimeError):
    """The API answered with errors, or with an error type where a result was expected."""


class WebserverApi:
    """The GraphQL endpoint of a dagster-webserver at ``base_url`` (e.g. http://127.0.0.1:3000)."""

    def __init__(self, base_url: str, timeout: float = 60) -> None:
        self.url = f"{base_url.rstrip('/')}/graphql"
        self.timeout = timeout

    def query(self, query: str, **variables: Any) -> dict[str, Any]:
        response = httpx.post(
            self.url, json={"query": query, "variables": variables}, timeout=self.timeout
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            raise GraphQLError(str(body["errors"]))
        data: dict[str, Any] = body["data"]
        return data

    def partitioned_assets(self, group: str) -> list[dict[str, Any]]:
        """The asset keys (``{"path": [...]}``) of the group's partitioned assets."""
        nodes = self.query(ASSETS)["assetNodes"]
        return [n["assetKey"] for n in nodes if n["groupName"] == group and n["isPartitioned"]]

    def launch_backfill(
        self, keys: Sequence[dict[str, Any]], days: Sequence[str], title: str
    ) -> str:
        """Launch a backfill of ``keys`` over the partitions ``days``; its id."""
        params = {"assetSelection": list(keys), "partitionNames": list(days), "title": title}
        launched = self.query(LAUNCH, params=params)["launchPartitionBackfill"]
        if launched["__typename"] != "LaunchBackfillSuccess":
            raise GraphQLError(f"backfill not launched: {launched}")
        backfill_id: str = launched["backfillId"]
        return backfill_id

    def finished_backfill(self, backfill_id: str) -> dict[str, Any] | None:
        """The backfill (status and runs) once it is no longer going, else None."""
        found: dict[str, Any] = self.query(BACKFILL, id=backfill_id)["partitionBackfillOrError"]
        if found["__typename"] != "PartitionBackfill":
            raise GraphQLError(f"backfill {backfill_id}: {found}")
        return None if found["status"] in BACKFILL_BUSY else found

    def runs(self) -> list[dict[str, Any]]:
        """The newest runs (id, job, status, tags)."""
        found = self.query(RUNS)["runsOrError"]
        if found["__typename"] != "Runs":
            raise GraphQLError(f"runs: {found}")
        runs: list[dict[str, Any]] = found["results"]
        return runs

    def settled_runs(self) -> list[dict[str, Any]] | None:
        """Every run, once a marts' run exists and none is left unfinished; else None."""
        runs = self.runs()
        marts = [r for r in runs if r["jobName"] == MARTS_JOB]
        busy = [r for r in runs if r["status"] in UNFINISHED]
        return runs if marts and not busy else None


def backfill_days(now: datetime, count: int = DAYS) -> list[str]:
    """The ``count`` newest final days at ``now``, oldest first, as partition names."""
    last = newest_final_day(now)
    return [(last - timedelta(days=i)).isoformat() for i in reversed(range(count))]


def backfill_problem(backfill: dict[str, Any]) -> str | None:
    """Why a finished backfill is not a success (not completed, no runs, a run that failed),
    or None."""
    if backfill["status"] not in BACKFILL_SUCCESS:
        return f"backfill ended {backfill['status']}"
    if not backfill["runs"]:
        return "backfill completed without runs"
    failed = [r for r in backfill["runs"] if r["status"] != "SUCCESS"]
    return f"runs not successful: {failed}" if failed else None


def wait_for(
    done: Callable[[], T | None],
    seconds: float,
    check: Callable[[], None] = lambda: None,
    interval: float = 3.0,
) -> T | None:
    """Call ``done`` until it returns something, at most ``seconds``; ``check`` first each time
    (e.g. that the services are still running). None when the time ran out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        check()
        result = done()
        if result is not None:
            return result
        time.sleep(interval)
    return None
