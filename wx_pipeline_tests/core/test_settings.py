"""Settings: defaults, one-line errors naming the variable, accounts resolution."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest

from wx_pipeline.core.settings import (
    BEIJING,
    WECHAT_API_BASE_URL,
    SettingsError,
    get_settings,
    load_settings,
)
from wx_pipeline.registry import DATA_START


def test_defaults(wx_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    wx_env.delenv("WX_HOME")
    wx_env.chdir(tmp_path)
    settings = load_settings()
    assert settings.home == tmp_path.resolve() / ".wx"
    assert settings.home.is_absolute()
    assert settings.warehouse_url is None
    assert settings.start_date == DATA_START == date(2014, 12, 1)
    assert settings.span_overrides == {}
    assert settings.api_concurrency == 4
    assert settings.daily_budget is None
    assert settings.retention_days == 90
    assert settings.token_mode == "stable"
    assert settings.accounts() == []
    assert settings.uses_simulator
    assert settings.resolved_api_base_url() is None
    assert str(BEIJING) == "Asia/Shanghai"


def test_values_are_parsed(wx_env: pytest.MonkeyPatch) -> None:
    wx_env.setenv("WX_WAREHOUSE_URL", "postgresql+psycopg://u:p@db:5432/wx")
    wx_env.setenv("WX_START_DATE", "2024-01-31")
    wx_env.setenv("WX_SPAN_OVERRIDES", "getupstreammsgweek=1, getupstreammsgdist=15")
    wx_env.setenv("WX_API_CONCURRENCY", "8")
    wx_env.setenv("WX_DAILY_BUDGET", "500")
    wx_env.setenv("WX_RETENTION_DAYS", "400")
    wx_env.setenv("WX_TOKEN_MODE", "token")
    wx_env.setenv("WX_API_BASE_URL", "http://127.0.0.1:8000/")
    settings = load_settings()
    assert settings.warehouse_url == "postgresql+psycopg://u:p@db:5432/wx"
    assert settings.start_date == date(2024, 1, 31)
    assert settings.span_overrides == {"getupstreammsgweek": 1, "getupstreammsgdist": 15}
    assert settings.api_concurrency == 8
    assert settings.daily_budget == 500
    assert settings.retention_days == 400
    assert settings.token_mode == "token"
    assert settings.resolved_api_base_url() == "http://127.0.0.1:8000"
    assert not settings.uses_simulator


def test_clock_settings(wx_env: pytest.MonkeyPatch) -> None:
    wx_env.setenv("WX_NOW", "2026-03-18T03:00:00+00:00")
    wx_env.setenv("WX_DATA_READY_TIME", "09:30")
    settings = load_settings()
    assert settings.now == datetime(2026, 3, 18, 11, 0, tzinfo=BEIJING)
    assert settings.data_ready_time == time(9, 30)
    wx_env.setenv("WX_NOW", "2026-03-18 03:00")  # no offset: Beijing time
    assert load_settings().now == datetime(2026, 3, 18, 3, 0, tzinfo=BEIJING)
    wx_env.delenv("WX_NOW")
    wx_env.delenv("WX_DATA_READY_TIME")
    assert load_settings().now is None
    assert load_settings().data_ready_time == time(8, 0)


def test_empty_value_means_unset(wx_env: pytest.MonkeyPatch) -> None:
    wx_env.setenv("WX_WAREHOUSE_URL", "")
    assert load_settings().warehouse_url is None


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("WX_START_DATE", "2014-13-01", "expected a date YYYY-MM-DD"),
        ("WX_START_DATE", "2014-11-30", "not before 2014-12-01"),
        ("WX_WAREHOUSE_URL", "nonsense", "expected a PostgreSQL URL like postgresql://"),
        ("WX_WAREHOUSE_URL", "mysql://u@h/db", "expected a PostgreSQL URL"),
        ("WX_API_BASE_URL", "api.weixin.qq.com", "expected an http(s) URL"),
        ("WX_SPAN_OVERRIDES", "getupstreammsgweek=0", "endpoint=days pairs"),
        ("WX_SPAN_OVERRIDES", "getupstreammsgweek", "endpoint=days pairs"),
        ("WX_API_CONCURRENCY", "0", "expected a positive integer"),
        ("WX_API_CONCURRENCY", "many", "expected a positive integer"),
        ("WX_DAILY_BUDGET", "-1", "expected a positive integer"),
        ("WX_RETENTION_DAYS", "0", "expected a positive integer (days)"),
        ("WX_TOKEN_MODE", "oauth", "expected 'stable' or 'token'"),
        ("WX_ACCOUNTS_FILE", "/does/not/exist.yaml", "expected a path to an existing YAML file"),
        ("WX_NOW", "yesterday", "expected a Beijing time 'YYYY-MM-DD HH:MM'"),
        ("WX_DATA_READY_TIME", "8", "expected a Beijing time of day HH:MM"),
        ("WX_DATA_READY_TIME", "21:00", "between 00:00 and 20:00"),
        ("WX_DATA_READY_TIME", "25:00", "between 00:00 and 20:00"),
        ("WX_BI_ROLE", "BI Role", "expected a PostgreSQL role name"),
        ("WX_BI_ROLE", "wx_bi; drop table x", "expected a PostgreSQL role name"),
    ],
)
def test_bad_value_is_one_line_naming_the_variable(
    wx_env: pytest.MonkeyPatch, var: str, value: str, expected: str
) -> None:
    wx_env.setenv(var, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(f"{var}: ")
    assert expected in message
    assert repr(value) in message
    assert "\n" not in message


def test_url_password_is_not_echoed(wx_env: pytest.MonkeyPatch) -> None:
    wx_env.setenv("WX_WAREHOUSE_URL", "mysql://user:hunter2@host/db")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("present", ["WX_APP_ID", "WX_APP_SECRET"])
def test_app_id_and_secret_go_together(wx_env: pytest.MonkeyPatch, present: str) -> None:
    wx_env.setenv(present, "wxsecretish0123")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "WX_APP_ID" in message
    assert "WX_APP_SECRET" in message
    assert "wxsecretish0123" not in message


def test_single_account_from_env(wx_env: pytest.MonkeyPatch) -> None:
    wx_env.setenv("WX_APP_ID", "wx0123456789abcdef")
    wx_env.setenv("WX_APP_SECRET", "s3cret")
    settings = load_settings()
    [account] = settings.accounts()
    assert account.app_id == "wx0123456789abcdef"
    assert account.secret is not None
    assert account.secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
    assert not settings.uses_simulator
    assert settings.resolved_api_base_url() == WECHAT_API_BASE_URL


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_accounts_file(wx_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    accounts = _write(
        tmp_path / "accounts.yaml",
        "- app_id: wxaaaa\n  name: Brand A\n  secret_env: SECRET_A\n"
        "- app_id: wxbbbb\n  name: 品牌 B\n  secret_env: SECRET_B\n",
    )
    wx_env.setenv("WX_ACCOUNTS_FILE", str(accounts))
    wx_env.setenv("SECRET_A", "alpha")
    wx_env.setenv("SECRET_B", "beta")
    resolved = load_settings().accounts()
    assert [(a.app_id, a.name, a.secret and a.secret.get_secret_value()) for a in resolved] == [
        ("wxaaaa", "Brand A", "alpha"),
        ("wxbbbb", "品牌 B", "beta"),
    ]


def test_accounts_file_missing_secret_env_names_it(
    wx_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    accounts = _write(
        tmp_path / "accounts.yaml", "- app_id: wxaaaa\n  name: A\n  secret_env: SECRET_A\n"
    )
    wx_env.setenv("WX_ACCOUNTS_FILE", str(accounts))
    with pytest.raises(SettingsError, match=r"^SECRET_A: .*wxaaaa.*WX_ACCOUNTS_FILE"):
        load_settings()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("app_id: wxaaaa\n", "YAML list"),
        ("[]\n", "YAML list"),
        ("- app_id: wxaaaa\n  name: A\n", "secret_env"),
        ("- {app_id: wxaaaa, name: A, secret_env: S, colour: red}\n", "colour"),
        ("- app_id: [unclosed\n", "cannot read"),
        (
            "- {app_id: wxaaaa, name: A, secret_env: S}\n"
            "- {app_id: wxaaaa, name: B, secret_env: S}\n",
            "repeats",
        ),
    ],
)
def test_bad_accounts_file_is_one_line(
    wx_env: pytest.MonkeyPatch, tmp_path: Path, text: str, fragment: str
) -> None:
    wx_env.setenv("WX_ACCOUNTS_FILE", str(_write(tmp_path / "accounts.yaml", text)))
    wx_env.setenv("S", "secret")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith("WX_ACCOUNTS_FILE: ")
    assert fragment in message
    assert "\n" not in message


def test_accounts_file_and_app_id_are_exclusive(wx_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    accounts = _write(tmp_path / "a.yaml", "- {app_id: wxaaaa, name: A, secret_env: S}\n")
    wx_env.setenv("WX_ACCOUNTS_FILE", str(accounts))
    wx_env.setenv("S", "x")
    wx_env.setenv("WX_APP_ID", "wxbbbb")
    wx_env.setenv("WX_APP_SECRET", "y")
    with pytest.raises(SettingsError, match=r"^WX_ACCOUNTS_FILE: .*not both"):
        load_settings()


def test_get_settings_is_cached_until_cleared(wx_env: pytest.MonkeyPatch) -> None:
    first = get_settings()
    assert get_settings() is first
    wx_env.setenv("WX_API_CONCURRENCY", "2")
    assert get_settings().api_concurrency == 4
    get_settings.cache_clear()
    assert get_settings().api_concurrency == 2


# --- the third-party platform -------------------------------------------------------------

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters: a 32-byte key
PLATFORM = {
    "WX_COMPONENT_APP_ID": "wxcomponent0000001",
    "WX_COMPONENT_APP_SECRET": "component-secret-9f8e7d",
    "WX_COMPONENT_TOKEN": "pushtoken123",
    "WX_COMPONENT_AES_KEY": AES_KEY,
}
MIXED = (
    "- {app_id: wxaaaa, name: A, secret_env: SECRET_A}\n"
    "- {app_id: wxbbbb, name: B, authorizer_refresh_token_env: REFRESH_B}\n"
)


def test_accounts_file_with_both_credential_kinds(
    wx_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    wx_env.setenv("WX_ACCOUNTS_FILE", str(_write(tmp_path / "accounts.yaml", MIXED)))
    wx_env.setenv("SECRET_A", "alpha")
    wx_env.setenv("REFRESH_B", "refreshtoken@@@bravo")
    for name, value in PLATFORM.items():
        wx_env.setenv(name, value)
    settings = load_settings()
    own, authorised = settings.accounts()
    assert own.credential_kind == "app_secret"
    assert authorised.credential_kind == "platform"
    assert authorised.secret is None
    assert authorised.refresh_token is not None
    assert authorised.refresh_token.get_secret_value() == "refreshtoken@@@bravo"
    assert authorised.refresh_token_env == "REFRESH_B"
    component = settings.component()
    assert component is not None
    assert component.app_id == "wxcomponent0000001"
    assert component.aes_key.get_secret_value() == AES_KEY
    shown = repr(settings) + repr(settings.accounts()) + repr(component)
    for secret in ("refreshtoken@@@bravo", "component-secret-9f8e7d", "pushtoken123", AES_KEY):
        assert secret not in shown


def test_a_platform_account_needs_the_platform_settings(
    wx_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    wx_env.setenv("WX_ACCOUNTS_FILE", str(_write(tmp_path / "accounts.yaml", MIXED)))
    wx_env.setenv("SECRET_A", "alpha")
    wx_env.setenv("REFRESH_B", "refreshtoken@@@bravo")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith("WX_COMPONENT_APP_ID: ")
    assert "wxbbbb" in message
    assert "authorizer_refresh_token_env" in message
    assert "\n" not in message


def test_a_platform_account_without_its_refresh_token_names_the_variable(
    wx_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    wx_env.setenv("WX_ACCOUNTS_FILE", str(_write(tmp_path / "accounts.yaml", MIXED)))
    wx_env.setenv("SECRET_A", "alpha")
    with pytest.raises(SettingsError, match=r"^REFRESH_B: .*refresh token.*wxbbbb"):
        load_settings()


@pytest.mark.parametrize(
    ("changes", "var", "fragment"),
    [
        ({"WX_COMPONENT_AES_KEY": "tooshort"}, "WX_COMPONENT_AES_KEY", "EncodingAESKey"),
        ({"WX_COMPONENT_AES_KEY": AES_KEY[:-1] + "!"}, "WX_COMPONENT_AES_KEY", "43 characters"),
        ({"WX_COMPONENT_TOKEN": "no spaces here"}, "WX_COMPONENT_TOKEN", "3 to 32 letters"),
        ({"WX_COMPONENT_APP_ID": "wx comp"}, "WX_COMPONENT_APP_ID", "third-party platform"),
        ({"WX_COMPONENT_APP_SECRET": ""}, "WX_COMPONENT_APP_SECRET", "go together"),
        ({"WX_COMPONENT_TOKEN": ""}, "WX_COMPONENT_TOKEN", "go together"),
    ],
)
def test_bad_platform_settings_are_one_line_naming_the_variable(
    wx_env: pytest.MonkeyPatch, changes: dict[str, str], var: str, fragment: str
) -> None:
    for name, value in {**PLATFORM, **changes}.items():
        wx_env.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(f"{var}: ")
    assert fragment in message
    assert "\n" not in message
    for secret in ("component-secret-9f8e7d", "pushtoken123", AES_KEY, "tooshort"):
        assert secret not in message


def test_an_entry_has_exactly_one_credential(wx_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    text = "- {app_id: wxaaaa, name: A, secret_env: S, authorizer_refresh_token_env: R}\n"
    wx_env.setenv("WX_ACCOUNTS_FILE", str(_write(tmp_path / "accounts.yaml", text)))
    wx_env.setenv("S", "x")
    wx_env.setenv("R", "y")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith("WX_ACCOUNTS_FILE: ")
    assert "exactly one of secret_env" in message
    assert "\n" not in message


def test_a_bad_bi_admin_password_is_refused_without_being_shown(
    wx_env: pytest.MonkeyPatch,
) -> None:
    wx_env.setenv("WX_BI_ADMIN_PASSWORD", "short7!")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message == "WX_BI_ADMIN_PASSWORD: expected a non-empty password of at least 8 characters"
    wx_env.setenv("WX_BI_ADMIN_PASSWORD", "long enough")
    secret = load_settings().bi_admin_password
    assert secret is not None
    assert secret.get_secret_value() == "long enough"
    assert "long enough" not in repr(load_settings())
