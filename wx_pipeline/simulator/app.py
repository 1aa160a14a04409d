"""The simulator's HTTP face: WeChat's token, quota and datacube routes, the third-party
platform's token routes (``/cgi-bin/component/...``), plus ``/_sim/`` admin routes (call log,
truth, the clock, the platform's tickets, revocations and grants) for out-of-process users.
Checks run in the order the real API appears to apply them: method, token, caller IP, injected
fault, retirement, body, quota, range. A datacube call with a token issued through the platform is
checked against the platform's IP whitelist (61004) and the permission sets the account
granted it (48001), not the account's whitelist.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from wx_pipeline.simulator.faults import FAULT_ERRCODES, FAULT_HTTP_STATUS, decide
from wx_pipeline.simulator.state import SimulatorState
from wx_pipeline.simulator.validation import RequestError, check_range, parse_dates

if TYPE_CHECKING:
    from wx_pipeline.simulator.push import Pusher

JSON_TYPE = "application/json; encoding=utf-8"
ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]

ERRMSG: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40013: "invalid appid",
    40014: "invalid access_token",
    40125: "invalid appsecret",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    44002: "empty post data",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    47001: "data format error",
    47009: "this api is offline, please use the new api",
    48001: "api unauthorized",
    61003: "component is not authorized by this account",
    61004: "access clientip is not registered",
    61005: "component ticket is expired",
    61006: "component ticket is invalid",
    61011: "invalid component",
    61023: "refresh_token is invalid",
    61500: "date format error",
    61501: "date range error",
    61503: "data not ready yet, please try again later",
    76021: "cgi_path not found, please check",
}

_HTTP_PAGES = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class _ResetResponse(Response):
    """Announces the full body, sends half of it, then lets the server drop the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        half = self.body[: len(self.body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})


def create_app(state: SimulatorState, pusher: Pusher | None = None) -> Starlette:
    """The ASGI app serving ``state``; ``pusher`` sends the platform's pushes, if any."""

    def error(
        code: int,
        path: str,
        app_id: str | None = None,
        *,
        ip: str = "",
        begin: date | None = None,
        end: date | None = None,
        fault: str | None = None,
    ) -> Response:
        text = ERRMSG.get(code, "error")
        if code == 40164:
            text = f"invalid ip {ip} ipv6 ::ffff:{ip}, not in whitelist"
        if code == 61004:
            text = f"access clientip is not registered requestIP: {ip}"
        body = json.dumps({"errcode": code, "errmsg": f"{text} rid: {state.rid()}"})
        state.record(path, app_id, begin, end, code, 200, fault)
        return Response(body, media_type=JSON_TYPE)

    def ok(payload: dict[str, Any], path: str, app_id: str | None) -> Response:
        state.record(path, app_id, None, None, 0, 200)
        return Response(json.dumps(payload), media_type=JSON_TYPE)

    def caller_ip(request: Request) -> str:
        return request.client.host if request.client else "127.0.0.1"

    def ip_denied(app_id: str, request: Request) -> bool:
        whitelist = state.by_app_id[app_id].ip_whitelist
        return bool(whitelist) and caller_ip(request) not in whitelist

    def platform_ip_denied(request: Request) -> bool:
        whitelist = state.platform.component.ip_whitelist if state.platform else ()
        return bool(whitelist) and caller_ip(request) not in whitelist

    def authenticate(request: Request, path: str) -> tuple[str | None, Response | None]:
        token = request.query_params.get("access_token")
        if not token:
            return None, error(41001, path)
        platform = state.platform
        with state.lock:
            app_id, code = state.tokens.check(token, state.clock.timestamp())
            via_platform = platform is not None and token in platform.authorizer_tokens
        if code:
            return None, error(code, path, app_id)
        assert app_id is not None
        if platform is not None and via_platform:
            if platform_ip_denied(request):
                return None, error(61004, path, app_id, ip=caller_ip(request))
            if not platform.datacube.get(app_id, True):
                return None, error(48001, path, app_id)
            return app_id, None
        if ip_denied(app_id, request):
            return None, error(40164, path, app_id, ip=caller_ip(request))
        return app_id, None

    def check_credentials(
        app_id: Any, secret: Any, grant: Any, path: str, request: Request
    ) -> Response | None:
        if grant != "client_credential":
            return error(40002, path)
        if not app_id:
            return error(41002, path)
        if app_id not in state.by_app_id:
            return error(40013, path)
        if not secret:
            return error(41004, path, app_id)
        if secret != state.by_app_id[app_id].secret:
            return error(40125, path, app_id)
        if ip_denied(app_id, request):
            return error(40164, path, app_id, ip=caller_ip(request))
        return None

    async def token(request: Request) -> Response:
        path = request.url.path
        if request.method != "GET":
            return error(43001, path)
        q = request.query_params
        app_id = q.get("appid")
        failed = check_credentials(app_id, q.get("secret"), q.get("grant_type"), path, request)
        if failed is not None:
            return failed
        assert app_id is not None
        with state.lock:
            issued = state.tokens.issue(app_id, state.clock.timestamp())
        return ok(
            {"access_token": issued.value, "expires_in": state.config.token_ttl}, path, app_id
        )

    async def stable_token(request: Request) -> Response:
        path = request.url.path
        if request.method != "POST":
            return error(43002, path)
        body = await request.body()
        if not body.strip():
            return error(44002, path)
        try:
            data = json.loads(body)
        except ValueError:
            return error(47001, path)
        if not isinstance(data, dict) or not isinstance(data.get("force_refresh", False), bool):
            return error(47001, path)
        app_id = data.get("appid")
        failed = check_credentials(
            app_id, data.get("secret"), data.get("grant_type"), path, request
        )
        if failed is not None:
            return failed
        assert isinstance(app_id, str)  # checked by check_credentials
        force = bool(data.get("force_refresh", False))
        now = state.clock.timestamp()
        with state.lock:
            if force:
                stamps = state.force_refreshes.setdefault((app_id, state.clock.today()), [])
                if len(stamps) >= 20:
                    return error(45009, path, app_id)
                if stamps and now - stamps[-1] < 30:
                    return error(45011, path, app_id)
                stamps.append(now)
            issued = state.tokens.stable(app_id, now, force=force)
        return ok(
            {"access_token": issued.value, "expires_in": int(issued.expires_at - now)}, path, app_id
        )

    async def json_body(request: Request) -> dict[str, Any] | int:
        body = await request.body()
        if not body.strip():
            return 44002
        try:
            data = json.loads(body)
        except ValueError:
            return 47001
        return data if isinstance(data, dict) else 47001

    async def clear_quota(request: Request) -> Response:
        path = request.url.path
        if request.method != "POST":
            return error(43002, path)
        app_id, failed = authenticate(request, path)
        if failed is not None:
            return failed
        data = await json_body(request)
        if isinstance(data, int):
            return error(data, path, app_id)
        if data.get("appid") != app_id:
            return error(40013, path, app_id)
        assert app_id is not None
        state.clear_quota(app_id)
        return ok({"errcode": 0, "errmsg": "ok"}, path, app_id)

    async def quota_get(request: Request) -> Response:
        path = request.url.path
        if request.method != "POST":
            return error(43002, path)
        app_id, failed = authenticate(request, path)
        if failed is not None:
            return failed
        assert app_id is not None
        data = await json_body(request)
        if isinstance(data, int):
            return error(data, path, app_id)
        cgi_path = data.get("cgi_path")
        name = cgi_path.removeprefix("/datacube/") if isinstance(cgi_path, str) else ""
        if not isinstance(cgi_path, str) or name not in state.endpoints:
            return error(76021, path, app_id)
        used = state.quota_used(app_id, name)
        limit = state.config.daily_quota
        quota = {"daily_limit": limit, "used": used, "remain": max(limit - used, 0)}
        return ok({"errcode": 0, "errmsg": "ok", "quota": quota}, path, app_id)

    async def datacube(request: Request) -> Response:
        path = request.url.path
        endpoint = state.endpoints.get(request.path_params["endpoint"])
        if endpoint is None:
            state.record(path, None, None, None, 0, 404)
            return Response("404 Not Found", status_code=404, media_type="text/plain")
        if request.method != "POST":
            return error(43002, path)
        app_id, failed = authenticate(request, path)
        if failed is not None:
            return failed
        assert app_id is not None
        # Read the body before any fault sleeps: a client that times out meanwhile must still
        # leave its call in the log.
        body = await request.body()
        if state.config.latency_ms:  # a real API's round trip: waiting, not working
            await asyncio.sleep(state.config.latency_ms / 1000)
        faults = state.config.faults
        decision = None
        if faults.any:
            seq = state.next_sequence(app_id)
            decision = decide(faults, state.config.seed, app_id, endpoint.name, seq)
            if decision.slow:
                await asyncio.sleep(faults.slow_seconds)
            if decision.fault == "invalidate_token":
                state.invalidate_tokens(app_id)
                return error(40001, path, app_id, fault=decision.fault)
            if decision.fault in FAULT_ERRCODES:
                code = FAULT_ERRCODES[decision.fault]
                return error(code, path, app_id, fault=decision.fault)
            if decision.fault in FAULT_HTTP_STATUS:
                status = FAULT_HTTP_STATUS[decision.fault]
                state.record(path, app_id, None, None, 0, status, decision.fault)
                page = f"<html><body><h1>{status} {_HTTP_PAGES[status]}</h1></body></html>"
                return Response(page, status_code=status, media_type="text/html")
        retired = state.config.legacy_retired_from
        if endpoint.legacy and retired is not None and state.clock.today() >= retired:
            return error(47009, path, app_id)
        try:
            begin, end = parse_dates(body)
        except RequestError as exc:
            return error(exc.errcode, path, app_id)
        quota_code = state.take_quota(app_id, endpoint.name)
        if quota_code:
            return error(quota_code, path, app_id, begin=begin, end=end)
        try:
            check_range(endpoint, begin, end, state.clock.today())
        except RequestError as exc:
            return error(exc.errcode, path, app_id, begin=begin, end=end)
        content = state.list_body(app_id, endpoint, begin, end)
        fault = decision.fault if decision is not None else None
        if fault == "reset":
            state.record(path, app_id, begin, end, 0, 200, fault)
            return _ResetResponse(content, media_type=JSON_TYPE)
        if fault == "truncated":
            content = content[: max(len(content) // 2, 1)]
        else:
            fault = "slow" if decision is not None and decision.slow else None
        state.record(path, app_id, begin, end, 0, 200, fault)
        platform = state.platform
        if platform is not None:
            with state.lock:
                revokes = platform.answered_one(app_id)
            if revokes:  # before this answer leaves: the run's next call meets the revocation
                await revoke(app_id)
        return Response(content, media_type=JSON_TYPE)

    async def revoke(app_id: str) -> None:
        """The account revokes the platform; WeChat pushes the unauthorized event. Pushed
        first, then its tokens die: a client meets the dead token with the event on record
        (WeChat gives no such order; a refresh refused with 61023 covers the other one)."""
        if app_id not in state.require_platform().refresh_tokens:
            raise KeyError(f"{app_id!r} never authorised the platform")
        if pusher is not None:
            await asyncio.to_thread(pusher.push, "unauthorized", AuthorizerAppid=app_id)
        state.revoke(app_id)

    async def component_token(request: Request) -> Response:
        path = request.url.path
        if request.method != "POST":
            return error(43002, path)
        platform = state.platform
        if platform is None:
            return error(61011, path)
        data = await json_body(request)
        if isinstance(data, int):
            return error(data, path)
        component = platform.component
        app_id = data.get("component_appid")
        if not app_id:
            return error(41002, path)
        if app_id != component.app_id:
            return error(61011, path, str(app_id))
        secret = data.get("component_appsecret")
        if not secret:
            return error(41004, path, app_id)
        if secret != component.secret:
            return error(40125, path, app_id)
        if platform_ip_denied(request):
            return error(61004, path, app_id, ip=caller_ip(request))
        ticket = data.get("component_verify_ticket")
        now = state.clock.timestamp()
        with state.lock:
            code = platform.ticket_code(ticket, now) if isinstance(ticket, str) else 61006
            if not code:
                issued = platform.tokens.issue(app_id, now)
        if code:
            return error(code, path, app_id)
        payload = {"component_access_token": issued.value, "expires_in": state.config.token_ttl}
        return ok(payload, path, app_id)

    async def authorizer_token(request: Request) -> Response:
        path = request.url.path
        if request.method != "POST":
            return error(43002, path)
        platform = state.platform
        if platform is None:
            return error(61011, path)
        q = request.query_params
        # Older pages name the parameter component_access_token, newer ones access_token.
        token = q.get("component_access_token") or q.get("access_token")
        if not token:
            return error(41001, path)
        now = state.clock.timestamp()
        with state.lock:
            component_id, code = platform.tokens.check(token, now)
        if code:
            return error(code, path, component_id)
        if platform_ip_denied(request):
            return error(61004, path, component_id, ip=caller_ip(request))
        data = await json_body(request)
        if isinstance(data, int):
            return error(data, path, component_id)
        if data.get("component_appid") != component_id:
            return error(61011, path, component_id)
        app_id = data.get("authorizer_appid")
        if not isinstance(app_id, str) or app_id not in platform.refresh_tokens:
            return error(61003, path, app_id if isinstance(app_id, str) else None)
        refresh = data.get("authorizer_refresh_token")
        with state.lock:
            refused = app_id in platform.revoked or refresh != platform.refresh_tokens[app_id]
            if not refused:
                issued = state.tokens.issue(app_id, now)
                platform.authorizer_tokens.add(issued.value)
                newest = (
                    platform.new_refresh_token(app_id)
                    if platform.component.rotate_refresh_tokens
                    else platform.refresh_tokens[app_id]
                )
        if refused:
            return error(61023, path, app_id)
        payload = {
            "authorizer_access_token": issued.value,
            "expires_in": state.config.token_ttl,
            "authorizer_refresh_token": newest,
        }
        return ok(payload, path, app_id)

    def admin_error(exc: Exception) -> Response:
        return Response(
            json.dumps({"error": str(exc)}), status_code=400, media_type="application/json"
        )

    async def sim_ticket(request: Request) -> Response:
        """A new verify ticket (pushed to the receiver when there is one)."""
        try:
            if pusher is not None:
                ticket = await asyncio.to_thread(pusher.push_ticket)
            else:
                ticket = state.issue_ticket()
        except KeyError as exc:
            return admin_error(exc)
        return Response(json.dumps({"ticket": ticket}), media_type="application/json")

    async def sim_revoke(request: Request) -> Response:
        """``?appid=``: the account revokes the platform (an unauthorized event is pushed)."""
        app_id = request.query_params.get("appid", "")
        try:
            await revoke(app_id)
        except KeyError as exc:
            return admin_error(exc)
        return Response(json.dumps({"revoked": app_id}), media_type="application/json")

    async def sim_authorize(request: Request) -> Response:
        """``?appid=``: the account authorises the platform (again); answers its new refresh
        token (an authorized event is pushed)."""
        app_id = request.query_params.get("appid", "")
        try:
            refresh = state.authorize(app_id)
        except KeyError as exc:
            return admin_error(exc)
        if pusher is not None:
            await asyncio.to_thread(
                pusher.push,
                "authorized",
                AuthorizerAppid=app_id,
                AuthorizationCode="queryauthcode@@@" + state.rid(),
                AuthorizationCodeExpiredTime=str(int(state.clock.timestamp()) + 3600),
            )
        return Response(json.dumps({"refresh_token": refresh}), media_type="application/json")

    async def sim_restate(request: Request) -> Response:
        """Body ``{"YYYY-MM-DD": revision, ...}``: WeChat restates those days."""
        try:
            body = json.loads(await request.body())
            state.restate({date.fromisoformat(k): int(v) for k, v in dict(body).items()})
        except (TypeError, ValueError) as exc:
            return admin_error(exc)
        return Response(json.dumps({"restated": len(body)}), media_type="application/json")

    async def sim_calls(request: Request) -> Response:
        with state.lock:
            calls = [asdict(c) for c in state.calls]
        return Response(json.dumps(calls, default=str), media_type="application/json")

    async def sim_stats(request: Request) -> Response:
        """Counts only: a benchmark's hundreds of thousands of calls without the whole log."""
        with state.lock:
            datacube = [c for c in state.calls if c.path.startswith("/datacube/")]
            stats = {
                "datacube_calls": len(datacube),
                "datacube_ok": sum(1 for c in datacube if c.errcode == 0 and c.http_status == 200),
                "calls": len(state.calls),
            }
        return Response(json.dumps(stats), media_type="application/json")

    async def sim_clock(request: Request) -> Response:
        """``POST ?now=ISO 8601 with offset``: move the clock there (a replay of consecutive
        days follows the pipeline's pinned clock without restarting, caches kept); any
        method answers the clock's time."""
        if request.method == "POST":
            try:
                moment = datetime.fromisoformat(request.query_params["now"])
                if moment.tzinfo is None:
                    raise ValueError(f"{moment} has no UTC offset")
            except (KeyError, ValueError) as exc:
                return admin_error(exc)
            state.clock.set(moment)
        now = state.clock.beijing().isoformat()
        return Response(json.dumps({"now": now}), media_type="application/json")

    async def sim_truth(request: Request) -> Response:
        q = request.query_params
        try:
            final = q.get("final_through")
            items = state.truth(
                q["appid"],
                q["endpoint"],
                date.fromisoformat(q["date"]),
                date.fromisoformat(final) if final else None,
            )
        except (KeyError, ValueError) as exc:
            return Response(
                json.dumps({"error": str(exc)}), status_code=400, media_type="application/json"
            )
        return Response(
            json.dumps({"list": items}, ensure_ascii=False), media_type="application/json"
        )

    return Starlette(
        routes=[
            Route("/cgi-bin/token", token, methods=ALL_METHODS),
            Route("/cgi-bin/stable_token", stable_token, methods=ALL_METHODS),
            Route("/cgi-bin/clear_quota", clear_quota, methods=ALL_METHODS),
            Route("/cgi-bin/openapi/quota/get", quota_get, methods=ALL_METHODS),
            Route("/datacube/{endpoint}", datacube, methods=ALL_METHODS),
            Route("/cgi-bin/component/api_component_token", component_token, methods=ALL_METHODS),
            Route("/cgi-bin/component/api_authorizer_token", authorizer_token, methods=ALL_METHODS),
            Route("/_sim/component/ticket", sim_ticket, methods=["POST"]),
            Route("/_sim/component/revoke", sim_revoke, methods=["POST"]),
            Route("/_sim/component/authorize", sim_authorize, methods=["POST"]),
            Route("/_sim/restate", sim_restate, methods=["POST"]),
            Route("/_sim/calls", sim_calls),
            Route("/_sim/truth", sim_truth),
            Route("/_sim/stats", sim_stats),
            Route("/_sim/clock", sim_clock, methods=["GET", "POST"]),
        ],
        exception_handlers={ClientDisconnect: client_gone},
    )


async def client_gone(request: Request, exc: Exception) -> Response:
    """A client that hung up while sending its body (a timeout, a killed run): nothing to
    answer and nothing to log, where uvicorn would print a traceback per such request. The
    call is not recorded: its body never arrived, as the real API would not have it either."""
    return Response(status_code=400)  # uvicorn drops it: the connection is gone
