"""Alert messages to a chat webhook: WeCom group robots and Slack incoming webhooks.

``post_alert`` never raises: an alert is a side channel, and a chat service that is down must
not fail the sensor (or run) that reports something else. It returns whether the service took
the message and, when not, logs one warning line.

A webhook URL is itself a credential (WeCom carries it as ``?key=...``, Slack in the path), so
the URL is never logged or returned whole: ``redact_webhook_url`` shows where, not how.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from wx_pipeline.wechat.redaction import MASK, redact

logger = logging.getLogger(__name__)

#: The path of WeCom's group-robot webhook (``https://qyapi.weixin.qq.com/cgi-bin/webhook/send``).
WECOM_WEBHOOK_PATH: Final = "/cgi-bin/webhook/send"
#: WeCom refuses markdown content over 4096 bytes (UTF-8); the margin leaves room for the cut mark.
WECOM_MAX_BYTES: Final = 4000
#: Slack truncates messages far later; this keeps a runaway text from becoming a wall.
SLACK_MAX_CHARS: Final = 8000
#: One failure line in a message; the whole error is in the UI, one click away.
MAX_LINE_CHARS: Final = 500
#: Webhook URL parts shorter than this are not scrubbed from error text (they are words).
_MIN_SECRET_PART: Final = 4
_URL = re.compile(r"https?://[^\s<>()\[\]]+")


def is_wecom(webhook_url: str) -> bool:
    """True for a WeCom group-robot URL (by its path; private deployments use other hosts)."""
    return urlsplit(webhook_url).path.rstrip("/") == WECOM_WEBHOOK_PATH


def redact_webhook_url(webhook_url: str) -> str:
    """The URL with its secrets masked: WeCom's query values, any other hook's path after its
    first segment (Slack: ``/services/T.../B.../secret``), and userinfo."""
    try:
        parts = urlsplit(webhook_url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:  # not a URL at all (e.g. a bad port): show nothing of it
        return MASK
    if is_wecom(webhook_url):
        query = "&".join(f"{k}={MASK}" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    segments = [s for s in parts.path.split("/") if s]
    path = f"/{segments[0]}/{MASK}" if len(segments) > 1 else f"/{MASK}" if segments else ""
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def _secret_parts(webhook_url: str) -> list[str]:
    """Every part of the URL that may be secret, longest first (for scrubbing free text)."""
    try:
        parts = urlsplit(webhook_url)
        password = parts.password
    except ValueError:
        return [webhook_url]
    found = {webhook_url, *(v for _, v in parse_qsl(parts.query, keep_blank_values=True))}
    if password:
        found.add(password)
    if not is_wecom(webhook_url):
        found.update([s for s in parts.path.split("/") if s][1:])
    return sorted((p for p in found if len(p) >= _MIN_SECRET_PART), key=len, reverse=True)


def scrub(text: str, webhook_url: str) -> str:
    """``text`` without the webhook's secrets (nor any secret the process registered)."""
    for part in _secret_parts(webhook_url):
        text = text.replace(part, redact_webhook_url(webhook_url) if part == webhook_url else MASK)
    return redact(text)


def one_line(text: str, limit: int = MAX_LINE_CHARS) -> str:
    """The first non-blank line of ``text``, whitespace collapsed, cut at ``limit`` chars."""
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    line = " ".join(line.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def format_run_failure(
    job: str, partition_range: str | None, failure: str, run_url: str | None
) -> str:
    """The message for one failed run: what failed, over which days, why, and where to look."""
    lines = [f"wx-pipeline: run of {job} failed"]
    if partition_range:
        lines.append(f"partitions: {partition_range}")
    lines.append(f"failure: {one_line(failure) or 'no error message recorded'}")
    if run_url:
        lines.append(f"run: {run_url}")
    return "\n".join(lines)


def format_check_failure(asset: str, check: str, description: str, run_url: str | None) -> str:
    """The message for one failed asset check of ERROR severity."""
    lines = [f"wx-pipeline: check {check} on {asset} failed"]
    if description.strip():
        lines.append(one_line(description))
    if run_url:
        lines.append(f"run: {run_url}")
    return "\n".join(lines)


def alert_payload(webhook_url: str, text: str) -> dict[str, Any]:
    """The JSON body the webhook's service expects for ``text``."""
    if is_wecom(webhook_url):
        # WeCom's markdown does not link bare URLs; size is counted in UTF-8 bytes.
        content = _URL.sub(lambda m: f"[{m.group(0)}]({m.group(0)})", text)
        encoded = content.encode()
        if len(encoded) > WECOM_MAX_BYTES:
            content = encoded[:WECOM_MAX_BYTES].decode(errors="ignore") + "…"
        return {"msgtype": "markdown", "markdown": {"content": content}}
    # Slack reads &, < and > as markup (links, mentions); failure texts contain them literally.
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if len(escaped) > SLACK_MAX_CHARS:
        escaped = escaped[: SLACK_MAX_CHARS - 1] + "…"
    return {"text": escaped}


def post_alert(webhook_url: str, text: str, *, timeout: float = 5.0) -> bool:
    """Post ``text`` to the webhook; True when the service accepted it. Never raises.

    ``timeout`` bounds each phase of the request (connect, send, wait for the answer).
    """
    shown = redact_webhook_url(webhook_url)
    try:
        body = alert_payload(webhook_url, scrub(text, webhook_url))
        # trust_env: a proxy from HTTPS_PROXY is how many servers reach the internet.
        response = httpx.post(webhook_url, json=body, timeout=timeout, follow_redirects=False)
        problem = _rejection(webhook_url, response)
    except Exception as exc:  # the contract: whatever goes wrong, the caller carries on
        problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if problem is None:
        return True
    logger.warning("alert not delivered to %s: %s", shown, one_line(scrub(problem, webhook_url)))
    return False


def _rejection(webhook_url: str, response: httpx.Response) -> str | None:
    """Why the service refused the message, or None when it took it."""
    if not response.is_success:
        return f"HTTP {response.status_code} {response.text[:200]}"
    if is_wecom(webhook_url):
        # WeCom answers 200 and says in the body: {"errcode": 0, "errmsg": "ok"}.
        try:
            answer = response.json()
        except ValueError:
            return f"unexpected answer {response.text[:200]!r}"
        if not isinstance(answer, dict) or answer.get("errcode") != 0:
            return f"WeCom refused: {answer}"
    return None
