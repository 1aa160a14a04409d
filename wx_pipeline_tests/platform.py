"""What tests of the third-party platform share: the simulator's platform as the pipeline's
settings, its authorised accounts as ``Account``s, and encrypted pushes built by hand."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import yaml
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pydantic import SecretStr

from wx_pipeline.core.settings import Account, Component
from wx_pipeline.simulator import SimAccount
from wx_pipeline.simulator.config import SimComponent, demo_component


def sim_component(seed: int, accounts: list[SimAccount], **changes: object) -> SimComponent:
    """A platform all of ``accounts`` authorised (``changes`` override its fields)."""
    return replace(demo_component(seed, accounts), **changes)  # type: ignore[arg-type]


def as_component(component: SimComponent, **secrets: str) -> Component:
    """The pipeline's settings for the simulator's platform (``secrets`` override them)."""
    values = {
        "app_id": component.app_id,
        "secret": component.secret,
        "token": component.token,
        "aes_key": component.aes_key,
        **secrets,
    }
    return Component(
        app_id=values["app_id"],
        secret=SecretStr(values["secret"]),
        token=SecretStr(values["token"]),
        aes_key=SecretStr(values["aes_key"]),
    )


def as_platform_account(
    account: SimAccount, component: SimComponent, refresh_token: str | None = None
) -> Account:
    """The account as the pipeline sees it when it authorised the platform."""
    (authorizer,) = [a for a in component.authorizers if a.app_id == account.app_id]
    return Account(
        app_id=account.app_id,
        name=account.name,
        refresh_token=SecretStr(refresh_token or authorizer.refresh_token),
        refresh_token_env=f"WX_RT_{account.name.upper()}",
    )


def platform_env(component: SimComponent) -> dict[str, str]:
    """The WX_COMPONENT_* settings of the simulator's platform."""
    return {
        "WX_COMPONENT_APP_ID": component.app_id,
        "WX_COMPONENT_APP_SECRET": component.secret,
        "WX_COMPONENT_TOKEN": component.token,
        "WX_COMPONENT_AES_KEY": component.aes_key,
    }


def platform_accounts(
    path: Path, accounts: Sequence[SimAccount], component: SimComponent
) -> dict[str, str]:
    """Write an accounts file at ``path`` whose ``accounts`` authorised the platform (each with
    ``authorizer_refresh_token_env``); returns the environment it needs: the WX_COMPONENT_*
    settings, each refresh token's variable and WX_ACCOUNTS_FILE."""
    tokens = {a.app_id: a.refresh_token for a in component.authorizers}
    env = platform_env(component)
    entries = []
    for i, account in enumerate(accounts):
        env[f"WX_REFRESH_TOKEN_{i}"] = tokens[account.app_id]
        entries.append(
            {
                "app_id": account.app_id,
                "name": account.name,
                "authorizer_refresh_token_env": f"WX_REFRESH_TOKEN_{i}",
            }
        )
    path.write_text(yaml.safe_dump(entries))
    env["WX_ACCOUNTS_FILE"] = str(path)
    return env


def encrypt_by_hand(
    xml: str, *, token: str, aes_key: str, app_id: str, timestamp: str, nonce: str
) -> tuple[dict[str, str], bytes]:
    """A push as the Open Platform documentation describes it, built with ``cryptography``
    alone (independent of the code under test): AES-256-CBC with the EncodingAESKey, IV = its
    first 16 bytes, plaintext = 16 random bytes + 4-byte big-endian length + XML + app id,
    PKCS#7-padded to 32 bytes; msg_signature = SHA-1 of the sorted token, timestamp, nonce and
    ciphertext. Returns (query parameters, body)."""
    key = base64.b64decode(aes_key + "=")
    message = xml.encode()
    plain = os.urandom(16) + struct.pack(">I", len(message)) + message + app_id.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    cipher = base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()
    sign = hashlib.sha1("".join(sorted([token, timestamp, nonce, cipher])).encode()).hexdigest()
    body = f"<xml><AppId><![CDATA[{app_id}]]></AppId><Encrypt><![CDATA[{cipher}]]></Encrypt></xml>"
    params = {"timestamp": timestamp, "nonce": nonce, "encrypt_type": "aes", "msg_signature": sign}
    return params, body.encode()


def ticket_xml(app_id: str, ticket: str, created: datetime) -> str:
    return (
        f"<xml><AppId><![CDATA[{app_id}]]></AppId><CreateTime>{int(created.timestamp())}"
        "</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType>"
        f"<ComponentVerifyTicket><![CDATA[{ticket}]]></ComponentVerifyTicket></xml>"
    )


def event_xml(app_id: str, info_type: str, authorizer: str, created: datetime) -> str:
    return (
        f"<xml><AppId><![CDATA[{app_id}]]></AppId><CreateTime>{int(created.timestamp())}"
        f"</CreateTime><InfoType><![CDATA[{info_type}]]></InfoType>"
        f"<AuthorizerAppid><![CDATA[{authorizer}]]></AuthorizerAppid></xml>"
    )
