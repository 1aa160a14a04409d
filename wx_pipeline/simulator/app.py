"""The simulator's HTTP face: WeChat's token, quota and datacube routes, plus ``/_sim/``
admin routes (call log, truth) for out-of-process users. Checks run in the order the real API
appears to apply them: method, token, caller IP, injected fault, retirement, body, quota, range.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import date
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from wx_pipeline.simulator.faults import FAULT_ERRCODES, FAULT_HTTP_STATUS, decide
from wx_pipeline.simulator.state import SimulatorState
from wx_pipeline.simulator.validation import RequestError, check_range, parse_dates

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


def create_app(state: SimulatorState) -> Starlette:
    """The ASGI app serving ``state``."""

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

    def authenticate(request: Request, path: str) -> tuple[str | None, Response | None]:
        token = request.query_params.get("access_token")
        if not token:
            return None, error(41001, path)
        with state.lock:
            app_id, code = state.tokens.check(token, state.clock.timestamp())
        if code:
            return None, error(code, path, app_id)
        assert app_id is not None
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
        return Response(content, media_type=JSON_TYPE)

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
            Route("/_sim/calls", sim_calls),
            Route("/_sim/truth", sim_truth),
            Route("/_sim/stats", sim_stats),
        ]
    )
