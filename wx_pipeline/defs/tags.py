"""Run tags the pipeline reads, besides Dagster's partition tags (``partitions.py``).

Set them when launching from the UI (Launchpad > Tags) or let ``wx-pipeline run`` set them:

* ``wx/accounts``: app ids, comma-separated: the run fetches and refreshes only these accounts
  (``wx-pipeline run --account``); unset: every configured account.
* ``wx/endpoints``: endpoint names, comma-separated: the run fetches only these (the late-data
  refresh sets it).

``wx-pipeline`` itself tags the runs it executes in its own process with ``wx/host`` and
``wx/pid``: no daemon watches those, so that process reaps them if it dies and alerts on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from wx_pipeline.core.errors import WxUserError
from wx_pipeline.core.settings import Account

ACCOUNTS_TAG = "wx/accounts"
ENDPOINTS_TAG = "wx/endpoints"
RUN_HOST_TAG = "wx/host"
RUN_PID_TAG = "wx/pid"
#: Set by Dagster's run retries on a failed run it will retry (not exported by dagster; a test
#: holds it to dagster's own value).
WILL_RETRY_TAG = "dagster/will_retry"


def _listed(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def accounts_tags(app_ids: Sequence[str]) -> dict[str, str]:
    return {ACCOUNTS_TAG: ",".join(app_ids)} if app_ids else {}


def run_accounts(tags: Mapping[str, str]) -> list[str]:
    """The app ids a run is limited to (empty: all)."""
    return _listed(tags.get(ACCOUNTS_TAG))


def run_endpoints(tags: Mapping[str, str]) -> list[str]:
    """The endpoints a run is limited to (empty: all)."""
    return _listed(tags.get(ENDPOINTS_TAG))


def select_accounts(accounts: Sequence[Account], app_ids: Sequence[str]) -> list[Account]:
    """The configured ``accounts`` named by ``app_ids`` (all when none is named); an id that is
    not configured is one line naming the ones that are."""
    if not app_ids:
        return list(accounts)
    known = {a.app_id: a for a in accounts}
    unknown = [i for i in app_ids if i not in known]
    if unknown:
        raise WxUserError(
            f"account {', '.join(unknown)} is not configured (WX_ACCOUNTS_FILE / WX_APP_ID); "
            f"configured: {', '.join(known) or 'none'}"
        )
    return [known[i] for i in dict.fromkeys(app_ids)]
