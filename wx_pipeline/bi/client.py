"""Superset's REST API, as much of it as provisioning and the tests need.

Logged in as a user (a JWT for the API, plus the session cookie and CSRF token Superset asks of
every write); an answer Superset refuses is one line naming the call and what it said.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from wx_pipeline.core.errors import WxUserError

#: Superset's slowest answers are imports and first queries on a cold start.
TIMEOUT = 120.0


class SupersetError(WxUserError):
    """Superset refused a call, or is not answering."""


class Unauthorized(SupersetError):
    """The user name or password was refused."""


class SupersetClient:
    """A logged-in session with the Superset at `base_url`."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=TIMEOUT)
        try:
            answer = self._http.post(
                "/api/v1/security/login",
                json={"username": username, "password": password, "provider": "db"},
            )
        except httpx.HTTPError as exc:
            self._http.close()
            raise SupersetError(f"Superset at {self.base_url} does not answer ({exc})") from None
        if answer.status_code == 401:
            self._http.close()
            raise Unauthorized(f"Superset at {self.base_url} refused the login of {username!r}")
        self._check(answer, "login")
        self._http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        token = self._http.get("/api/v1/security/csrf_token/")
        self._check(token, "csrf token")
        self._http.headers["X-CSRFToken"] = token.json()["result"]
        self._http.headers["Referer"] = self.base_url

    def __enter__(self) -> SupersetClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _check(self, answer: httpx.Response, what: str) -> None:
        if answer.is_success:
            return
        try:
            said: Any = answer.json().get("message") or answer.json().get("errors")
        except ValueError:
            said = answer.text[:300]
        raise SupersetError(f"Superset {what}: HTTP {answer.status_code}: {said}")

    def get(self, path: str, **params: Any) -> Any:
        answer = self._http.get(path, params=params)
        self._check(answer, f"GET {path}")
        return answer.json()

    def post(self, path: str, payload: Mapping[str, Any]) -> Any:
        answer = self._http.post(path, json=dict(payload))
        self._check(answer, f"POST {path}")
        return answer.json()

    def import_assets(self, bundle: bytes, passwords: Mapping[str, str]) -> None:
        """Import a bundle of databases, datasets, charts and dashboards, overwriting what it
        names; `passwords`: the password of each database file in it (kept out of the YAML)."""
        answer = self._http.post(
            "/api/v1/assets/import/",
            files={"bundle": ("assets.zip", bundle, "application/zip")},
            data={"passwords": json.dumps(dict(passwords))},
        )
        self._check(answer, "assets import")

    def export_assets(self) -> bytes:
        """Every database, dataset, chart and dashboard, as Superset exports them (a ZIP)."""
        answer = self._http.get("/api/v1/assets/export/")
        self._check(answer, "assets export")
        return answer.content

    def dashboards(self) -> dict[str, str]:
        """Title -> address of every dashboard."""
        found = self.get("/api/v1/dashboard/", q="(page_size:100)")
        return {d["dashboard_title"]: f"{self.base_url}{d['url']}" for d in found["result"]}
