"""What can go wrong talking to the datacube API, as types the pipeline can act on.

Every message names the account and says what to do, and is scrubbed of secrets and tokens when
the exception is built (``WeChatError.__init__``), so no caller has to remember to redact.
The root derives from ``WxUserError``: none of these is worth a traceback on the terminal; the
message is the whole story.

Which errcode takes which path (spec section 5) lives here too, in ``error_for``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final

from wx_pipeline.core.errors import WxUserError
from wx_pipeline.wechat.redaction import redact

#: The access token was rejected: get a fresh one and retry once.
TOKEN_CODES: Final = frozenset({40001, 40014, 42001})
#: Retried with backoff (45011 waits for the next minute).
TRANSIENT_CODES: Final = frozenset({-1, 45011, 61503})
MINUTE_LIMIT: Final = 45011
NOT_READY: Final = 61503
QUOTA_EXHAUSTED: Final = 45009
ENDPOINT_RETIRED: Final = 47009
IP_NOT_WHITELISTED: Final = 40164
#: A third-party platform's calls come from an IP outside the *platform's* whitelist.
PLATFORM_IP_NOT_WHITELISTED: Final = 61004
#: The authorizer refresh token no longer works, or the account no longer authorises the
#: platform: the account revoked its authorisation (61003 "component is not authorized by this
#: account", 61023 "refresh_token is invalid").
REVOKED_CODES: Final = frozenset({61003, 61023})
#: Request bugs: the client sent something the API cannot accept.
REQUEST_CODES: Final = frozenset({43002, 44002, 47001, 61500, 61501})

_SECRET_HINT = "the env var named by secret_env in WX_ACCOUNTS_FILE, or WX_APP_SECRET"
_APP_ID_HINT = "app_id in WX_ACCOUNTS_FILE, or WX_APP_ID"
_CONSOLE = "the WeChat admin console (Settings and Development > Basic configuration)"
_PLATFORM_CONSOLE = "the platform's page on open.weixin.qq.com (Development settings)"
_TICKET_HINT = (
    "check that the receiver (wx-pipeline component-receiver) gets WeChat's pushes at the "
    "platform's authorisation event URL, or feed it with wx-pipeline component-ticket store"
)

#: Configuration codes: what is wrong, and what to fix.
CONFIG_CODES: Final[dict[int, tuple[str, str]]] = {
    40013: ("app id not recognised", f"check {_APP_ID_HINT}"),
    40125: ("AppSecret rejected", f"check the secret in {_SECRET_HINT}"),
    40243: (
        "AppSecret frozen",
        f"unfreeze or reset it in {_CONSOLE}, then update {_SECRET_HINT}",
    ),
    41001: ("request carried no access token", "check WX_API_BASE_URL points at the WeChat API"),
    41002: ("app id missing", f"set {_APP_ID_HINT}"),
    41003: ("credential parameter missing", f"check {_APP_ID_HINT} and {_SECRET_HINT}"),
    41004: ("AppSecret missing", f"set {_SECRET_HINT}"),
    48001: (
        "API not authorised for this account",
        "the datacube API needs a verified account; check its verification and permissions in "
        "the WeChat admin console",
    ),
    48004: (
        "API access forbidden for this account",
        "read the ban notice in the WeChat admin console and resolve it",
    ),
}


#: Codes of ``api_component_token`` (the platform's own token), what is wrong and what to fix.
COMPONENT_TOKEN_CODES: Final[dict[int, tuple[str, str]]] = {
    PLATFORM_IP_NOT_WHITELISTED: (
        "this machine's IP is not on the platform's IP whitelist",
        f"add it to the whitelist in {_PLATFORM_CONSOLE}",
    ),
    61005: ("the newest component_verify_ticket has expired", _TICKET_HINT),
    61006: ("the component_verify_ticket was refused as invalid", _TICKET_HINT),
    61011: (
        "the platform is not recognised (invalid component)",
        "check WX_COMPONENT_APP_ID and that the platform is approved on open.weixin.qq.com",
    ),
    40013: ("the platform's app id is not recognised", "check WX_COMPONENT_APP_ID"),
    40125: ("the platform's AppSecret was rejected", "check WX_COMPONENT_APP_SECRET"),
    41002: ("the platform's app id is missing", "set WX_COMPONENT_APP_ID"),
    41004: ("the platform's AppSecret is missing", "set WX_COMPONENT_APP_SECRET"),
    45009: (
        "the platform's daily limit of component_access_token calls is spent",
        "tokens are cached and shared through the warehouse, so something else is calling "
        "with this platform's credentials; wait until midnight Beijing time",
    ),
    47001: (
        "the token request was malformed",
        "a bug in how wx-pipeline built the request; please report it",
    ),
}


@dataclass(frozen=True)
class CallContext:
    """Who and what a failing call was about; the prefix of every message."""

    account_id: str
    account_name: str
    endpoint: str | None = None  # None: a token call
    begin: date | None = None
    end: date | None = None
    #: Calls made as the third-party platform the account authorised (its authorizer token).
    platform: bool = False
    #: For a token call: which credential, e.g. "component access token".
    credential: str | None = None

    def describe(self) -> str:
        who = f"account {self.account_name!r} ({self.account_id})"
        if self.endpoint is None:
            return f"{who}: {self.credential or 'access token'}"
        if self.begin is None or self.end is None:
            return f"{who}: {self.endpoint}"
        return f"{who}: {self.endpoint} {self.begin.isoformat()}..{self.end.isoformat()}"


class WeChatError(WxUserError):
    """Root of the client's errors; ``str()`` is one redacted line naming the account."""

    def __init__(
        self,
        message: str,
        context: CallContext | None = None,
        *,
        errcode: int | None = None,
        errmsg: str | None = None,
    ) -> None:
        # Redacted here, once: every subclass and every caller gets a clean message.
        clean = redact(message)
        super().__init__(clean)
        self.context = context
        self.errcode = errcode
        self.errmsg = redact(errmsg) if errmsg is not None else None

    @property
    def account_id(self) -> str | None:
        return self.context.account_id if self.context else None

    @property
    def endpoint(self) -> str | None:
        return self.context.endpoint if self.context else None


class ConfigurationError(WeChatError):
    """The account's settings or its WeChat-side setup are wrong; retrying cannot help."""


class IpNotWhitelistedError(ConfigurationError):
    """40164: this machine's IP is not in the account's whitelist; ``ip`` is the one WeChat saw."""

    def __init__(self, message: str, context: CallContext, *, ip: str | None, errmsg: str) -> None:
        super().__init__(message, context, errcode=IP_NOT_WHITELISTED, errmsg=errmsg)
        self.ip = ip


class AuthorizationRevokedError(ConfigurationError):
    """The account revoked the platform's authorisation (an ``unauthorized`` event arrived, or
    WeChat refused its refresh token): this account fails alone and is not called again."""


class PlatformIpNotWhitelistedError(ConfigurationError):
    """61004: this machine's IP is not on the third-party platform's whitelist."""


class QuotaExhaustedError(WeChatError):
    """45009: the API's daily quota for this endpoint is spent; stop until tomorrow (Beijing)."""


class BudgetExceededError(WeChatError):
    """The configured daily budget would be exceeded; raised before making the call."""

    def __init__(self, message: str, context: CallContext, *, budget: int, used: int) -> None:
        super().__init__(message, context)
        self.budget = budget
        self.used = used


class EndpointRetiredError(WeChatError):
    """47009: the endpoint is offline for good; the pipeline skips it rather than failing."""


class RequestError(WeChatError):
    """The API rejected the request itself (bad dates, span, path): a bug, never retried."""


class TransientError(WeChatError):
    """A failure worth retrying; raised to callers only once retries are exhausted."""

    def __init__(
        self,
        message: str,
        context: CallContext | None = None,
        *,
        errcode: int | None = None,
        errmsg: str | None = None,
        attempts: int = 1,
        elapsed: float = 0.0,
    ) -> None:
        super().__init__(message, context, errcode=errcode, errmsg=errmsg)
        self.attempts = attempts
        self.elapsed = elapsed
        #: Set once retries ran out, so an enclosing retry loop does not start over.
        self.exhausted = False


class MalformedResponseError(TransientError):
    """The body was not the JSON object the API sends (truncated, HTML, empty...)."""


class TokenRejectedError(TransientError):
    """The token was rejected again right after a refresh (another process keeps superseding)."""


def _ip_from(errmsg: str) -> str | None:
    """The caller IP WeChat names: "invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist"."""
    match = re.search(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", errmsg) or re.search(
        r"ipv6\s+([0-9a-fA-F:.]*:[0-9a-fA-F:.]+)", errmsg
    )
    if match is None:
        return None
    return match.group(match.lastindex or 0)


def error_for(errcode: int, errmsg: str, context: CallContext) -> WeChatError:
    """The typed error for an ``{"errcode": N, "errmsg": ...}`` answer (N != 0)."""
    where = context.describe()
    said = f"({errcode} {errmsg})"
    if errcode in TRANSIENT_CODES or errcode in TOKEN_CODES:
        kind = {
            -1: "system busy",
            45011: "per-minute limit reached",
            61503: "data not ready",
        }.get(errcode, "access token rejected")
        return TransientError(f"{where}: {kind} {said}", context, errcode=errcode, errmsg=errmsg)
    if errcode == IP_NOT_WHITELISTED:
        ip = _ip_from(errmsg)
        shown = ip or "(not stated)"
        return IpNotWhitelistedError(
            f"{where}: caller IP {shown} is not whitelisted {said}: add {shown} to the account's "
            f"IP whitelist in {_CONSOLE}",
            context,
            ip=ip,
            errmsg=errmsg,
        )
    if errcode == PLATFORM_IP_NOT_WHITELISTED:
        return platform_ip_error(errmsg, context)
    if context.platform and errcode == 48001:
        return ConfigurationError(
            f"{where}: the account did not grant the platform the permission set of the "
            f"datacube API {said}: ask the account's admin to authorise the platform again, "
            "granting the permission set that includes the data statistics (datacube) API",
            context,
            errcode=errcode,
            errmsg=errmsg,
        )
    if errcode in CONFIG_CODES:
        problem, fix = CONFIG_CODES[errcode]
        return ConfigurationError(
            f"{where}: {problem} {said}: {fix}", context, errcode=errcode, errmsg=errmsg
        )
    if errcode == QUOTA_EXHAUSTED:
        return QuotaExhaustedError(
            f"{where}: the API's daily call quota for this endpoint is exhausted {said}: no more "
            "calls today; resume after midnight Beijing time (or reset the quota in the WeChat "
            "admin console)",
            context,
            errcode=errcode,
            errmsg=errmsg,
        )
    if errcode == ENDPOINT_RETIRED:
        return EndpointRetiredError(
            f"{where}: endpoint retired by WeChat {said}: skipped; its data now comes from the "
            "2025 article endpoints",
            context,
            errcode=errcode,
            errmsg=errmsg,
        )
    if errcode in REQUEST_CODES:
        return RequestError(
            f"{where}: request rejected {said}: a bug in how wx-pipeline built the request "
            "(dates, span or path); please report it",
            context,
            errcode=errcode,
            errmsg=errmsg,
        )
    return RequestError(
        f"{where}: unknown error code {said}: not retried; check the WeChat documentation for "
        "this code",
        context,
        errcode=errcode,
        errmsg=errmsg,
    )


def platform_ip_error(errmsg: str, context: CallContext) -> PlatformIpNotWhitelistedError:
    """61004, naming the IP WeChat saw when it says."""
    ip = _ip_from(errmsg)
    shown = ip or "(not stated)"
    return PlatformIpNotWhitelistedError(
        f"{context.describe()}: caller IP {shown} is not on the platform's IP whitelist "
        f"({PLATFORM_IP_NOT_WHITELISTED} {errmsg}): add it to the whitelist in {_PLATFORM_CONSOLE}",
        context,
        errcode=PLATFORM_IP_NOT_WHITELISTED,
        errmsg=errmsg,
    )


def revoked_error(
    context: CallContext,
    why: str,
    *,
    refresh_token_env: str | None = None,
    errcode: int | None = None,
    errmsg: str | None = None,
) -> AuthorizationRevokedError:
    """The one line of an account that revoked the platform's authorisation."""
    where = refresh_token_env or "the variable its authorizer_refresh_token_env names"
    return AuthorizationRevokedError(
        f"{context.describe()}: the account revoked the platform's authorisation ({why}): not "
        "called again; once its admin authorises the platform again, put the new refresh token "
        f"in {where}",
        context,
        errcode=errcode,
        errmsg=errmsg,
    )


def component_error_for(
    errcode: int, errmsg: str, context: CallContext, *, refresh_token_env: str | None = None
) -> WeChatError:
    """The typed error of a platform token call (``api_component_token`` or
    ``api_authorizer_token``) that answered ``errcode``."""
    said = f"({errcode} {errmsg})"
    if errcode == PLATFORM_IP_NOT_WHITELISTED:
        return platform_ip_error(errmsg, context)
    if errcode in REVOKED_CODES:
        return revoked_error(
            context,
            f"WeChat refused its refresh token {said}",
            refresh_token_env=refresh_token_env,
            errcode=errcode,
            errmsg=errmsg,
        )
    if errcode in COMPONENT_TOKEN_CODES and errcode not in TRANSIENT_CODES:
        problem, fix = COMPONENT_TOKEN_CODES[errcode]
        kind = RequestError if errcode == 47001 else ConfigurationError
        return kind(
            f"{context.describe()}: {problem} {said}: {fix}",
            context,
            errcode=errcode,
            errmsg=errmsg,
        )
    return error_for(errcode, errmsg, context)
