"""The one place AppSecrets, platform credentials and tokens are scrubbed from text.

Secrets reach text in three ways, each closed here:

* log records: httpx logs every request URL, and ``/datacube/...?access_token=...`` is a URL.
  ``install_log_redaction()`` wraps the process's log-record factory, so every record of every
  logger (httpx, httpcore, Dagster's, ours) is scrubbed when it is created, before any handler
  or formatter sees it;
* exception messages: ``WeChatError`` builds its message through ``redact()``, and the client
  raises it ``from None`` so httpx exceptions (whose requests carry the URL) never chain into a
  traceback;
* reprs: the client and token objects print app ids and counts, never values.

Values are scrubbed twice over: every secret and token the client knows is registered
(``register_secret``), and URL/JSON parameters named like credentials are masked whatever their
value, which also covers tokens the client never saw (one issued to another process). The
third-party platform's credentials are covered the same way: its AppSecret, message token and
EncodingAESKey, verify tickets, authorizer refresh tokens, component and authorizer access
tokens, and authorization codes (also as the XML elements of a push).
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from typing import Any, Final

MASK: Final = "***"
#: Shorter values are not registered: masking them would shred ordinary text.
_MIN_SECRET_LENGTH: Final = 6

_CREDENTIAL_NAMES = (
    r"access_token|secret|appsecret|app_secret"
    r"|component_access_token|authorizer_access_token|authorizer_refresh_token|refresh_token"
    r"|component_appsecret|component_verify_ticket|authorization_code|auth_code"
    r"|encoding_aes_key|aes_key"
)
_URL_PARAM = re.compile(rf"(?i)\b({_CREDENTIAL_NAMES})=([^&\s\"'<>#]+)")
_JSON_FIELD = re.compile(rf"(?i)(['\"](?:{_CREDENTIAL_NAMES})['\"]\s*:\s*['\"])([^'\"]*)")
#: The elements of a platform push that carry credentials, CDATA or not.
_XML_ELEMENT = re.compile(
    r"(<(ComponentVerifyTicket|AuthorizationCode|PreAuthCode)>)(.*?)(</\2>)", re.S
)

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
_installed = False


def register_secret(*values: str | None) -> None:
    """Scrub these values from every log record and client error from now on."""
    global _pattern
    new = {v for v in values if v and len(v) >= _MIN_SECRET_LENGTH} - _secrets
    if not new:
        return
    with _lock:
        _secrets.update(new)
        # Compiled when next needed: a run of a hundred accounts registers hundreds of tokens,
        # and compiling the growing pattern at each took seconds.
        _pattern = None


def _secrets_pattern() -> re.Pattern[str] | None:
    global _pattern
    pattern = _pattern  # every log record comes here: the lock only to compile
    if pattern is not None or not _secrets:
        return pattern
    with _lock:
        if _pattern is None and _secrets:
            # Longest first, so a secret containing another is masked whole.
            ordered = sorted(_secrets, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(v) for v in ordered))
        return _pattern


def redact(text: str) -> str:
    """``text`` with registered secrets and credential-looking parameters masked."""
    pattern = _secrets_pattern()
    if pattern is not None:
        text = pattern.sub(MASK, text)
    text = _URL_PARAM.sub(rf"\1={MASK}", text)
    text = _XML_ELEMENT.sub(rf"\1{MASK}\4", text)
    return _JSON_FIELD.sub(rf"\1{MASK}", text)


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record: logging reports it itself when formatting
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[0] is not None:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        clean_tb = redact(text)
        if clean_tb != text:
            # Formatters print exc_text when set; dropping exc_info stops handlers that format
            # the live exception (whose httpx request holds the URL) from leaking it.
            record.exc_text, record.exc_info = clean_tb, None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def install_log_redaction() -> None:
    """Scrub every log record of the process from now on; idempotent."""
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _scrub(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
