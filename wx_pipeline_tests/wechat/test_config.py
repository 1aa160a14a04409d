"""Building the client from settings, and what its repr shows."""

from __future__ import annotations

from datetime import date

import pytest

from wx_pipeline.core.settings import load_settings
from wx_pipeline.wechat.client import DatacubeClient
from wx_pipeline.wechat.errors import ConfigurationError
from wx_pipeline.wechat.tokens import TokenMode


def test_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "WX_APP_ID": "wx0123456789abcdef",
        "WX_APP_SECRET": "a-very-secret-value",
        "WX_API_BASE_URL": "http://127.0.0.1:9",
        "WX_SPAN_OVERRIDES": "getupstreammsgweek=1",
        "WX_API_CONCURRENCY": "7",
        "WX_DAILY_BUDGET": "50",
        "WX_TOKEN_MODE": "token",
        "WX_START_DATE": "2020-01-01",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    client = DatacubeClient.from_settings(settings)
    assert client.base_url == "http://127.0.0.1:9"
    assert [a.app_id for a in client.accounts] == ["wx0123456789abcdef"]
    assert client.endpoints["getupstreammsgweek"].max_span == 1
    assert client.endpoints["getupstreammsgmonth"].max_span == 30
    assert client.concurrency == 7
    assert client.calls.daily_budget == 50
    assert client.token_mode is TokenMode.TOKEN
    assert client.start_date == date(2020, 1, 1)
    shown = repr(client)
    assert "wx0123456789abcdef" in shown
    assert "a-very-secret-value" not in shown


def test_from_settings_without_an_api_says_what_to_do() -> None:
    with pytest.raises(ConfigurationError, match="WX_API_BASE_URL"):
        DatacubeClient.from_settings(load_settings())
