"""The receiver's ASGI app: one POST route for WeChat's pushes, and ``/healthz``.

A push is trusted only once its ``msg_signature`` matches and it decrypts to a message for this
platform's app id (``wechat/push.py``); anything else is answered 400 (malformed) or 403 (not
from WeChat for this platform) and nothing is stored. A verify ticket becomes the newest ticket
unless a newer push is stored already; ``authorized``, ``updateauthorized`` and
``unauthorized`` go to the authorisation events, where ``unauthorized`` makes that account fail
with its line, without calls. WeChat wants the plain text ``success`` back.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from wx_pipeline.core.settings import Component
from wx_pipeline.warehouse.component import record_event, store_ticket
from wx_pipeline.wechat.component import WECHAT_EVENTS
from wx_pipeline.wechat.push import VERIFY_TICKET, Push, PushRejectedError, open_push
from wx_pipeline.wechat.redaction import install_log_redaction, register_secret

logger = logging.getLogger(__name__)

#: WeChat's pushes are a few hundred bytes; anything far larger is not one.
MAX_BODY_BYTES: Final = 64 * 1024
_PARAMS: Final = ("timestamp", "nonce", "msg_signature")


def store_push(engine: sa.Engine, push: Push) -> str:
    """Keep what ``push`` says; returns what was done, for the log (no secret in it)."""
    if push.info_type == VERIFY_TICKET:
        if not push.ticket:
            raise PushRejectedError(400, "a verify ticket push without ComponentVerifyTicket")
        register_secret(push.ticket)
        if store_ticket(engine, push.app_id, push.ticket, push.created):
            return "verify ticket stored"
        return "verify ticket older than the stored one: kept the stored one"
    if push.info_type in WECHAT_EVENTS:
        if not push.authorizer_app_id:
            raise PushRejectedError(400, f"an {push.info_type} event without AuthorizerAppid")
        record_event(
            engine,
            push.app_id,
            push.authorizer_app_id,
            push.info_type,
            created_at=push.created,
            detail="came with an authorization code" if push.has_authorization_code else None,
        )
        return f"{push.info_type} event of {push.authorizer_app_id} recorded"
    return f"{push.info_type} push ignored"


def create_app(engine: sa.Engine, component: Component) -> Starlette:
    """The receiver of ``component``'s pushes, storing into the warehouse of ``engine``."""
    install_log_redaction()
    token = component.token.get_secret_value()
    aes_key = component.aes_key.get_secret_value()
    register_secret(token, aes_key, component.secret.get_secret_value())

    async def push(request: Request) -> Response:
        query = request.query_params
        missing = [name for name in _PARAMS if not query.get(name)]
        if missing:
            return _refuse(400, f"query lacks {', '.join(missing)}")
        try:
            body = await request.body()
        except ClientDisconnect:  # the sender gave up mid-body: no one to answer, nothing kept
            logger.info("push abandoned by its sender before its body arrived")
            return Response(status_code=400)
        if len(body) > MAX_BODY_BYTES:
            return _refuse(413, f"body of {len(body)} bytes is too large for a push")
        try:
            opened = open_push(
                body,
                msg_signature=query["msg_signature"],
                timestamp=query["timestamp"],
                nonce=query["nonce"],
                token=token,
                aes_key=aes_key,
                app_id=component.app_id,
            )
            done = await asyncio.to_thread(store_push, engine, opened)
        except PushRejectedError as exc:
            return _refuse(exc.status, str(exc))
        logger.info("push from WeChat: %s", done)
        return PlainTextResponse("success")

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/healthz", health, methods=["GET"]),
            # The authorisation event URL configured on open.weixin.qq.com: any path.
            Route("/{path:path}", push, methods=["POST"]),
        ]
    )


def _refuse(status: int, reason: str) -> Response:
    logger.warning("push refused (HTTP %d): %s", status, reason)
    return PlainTextResponse(reason, status_code=status)
