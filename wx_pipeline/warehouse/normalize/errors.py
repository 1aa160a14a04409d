"""The one error invalid API data raises: everything needed to find the bad value, in one line."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

from wx_pipeline.core.errors import WxUserError

_MAX_VALUE_CHARS = 80


class InvalidPayloadError(WxUserError):
    """A response breaks the spec (bad counter, date, hour, missing key field, error body...).

    Raised before anything is loaded, so no fact of the response's window changes. `field` is
    the path inside a `list` item (`new_user`, `details[].stat_date`, `detail.read_user_source[]
    .user_count`); top-level body fields are prefixed `$.`.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        account_id: str,
        field: str,
        value: object,
        reason: str,
        archive_id: int | None = None,
        window: tuple[date, date] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.account_id = account_id
        self.field = field
        self.value = value
        self.reason = reason
        self.archive_id = archive_id
        self.window = window
        shown = repr(value)
        if len(shown) > _MAX_VALUE_CHARS:
            shown = shown[: _MAX_VALUE_CHARS - 3] + "..."
        where = f"{window[0]}..{window[1]}, " if window else ""
        archived = f"archive row {archive_id}" if archive_id is not None else "not archived"
        super().__init__(
            f"invalid {endpoint} data for account {account_id} ({where}{archived}): "
            f"{field} = {shown}: {reason}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Its arguments are keyword-only: rebuilt from them when it comes back from a loader
        # process (the default rebuilds from the message alone).
        return (
            partial(
                type(self),
                endpoint=self.endpoint,
                account_id=self.account_id,
                field=self.field,
                value=self.value,
                reason=self.reason,
                archive_id=self.archive_id,
                window=self.window,
            ),
            (),
        )
