"""WeChat's pushes to a third-party platform's authorisation event URL, opened and sealed.

WeChat POSTs ``?timestamp=&nonce=&encrypt_type=aes&msg_signature=`` with an XML body whose
``<Encrypt>`` holds the message in the "WXBizMsgCrypt" scheme: AES-256-CBC with the
EncodingAESKey (IV = its first 16 bytes), PKCS#7 padding to 32 bytes, the plaintext being 16
random bytes, a 4-byte big-endian length, the XML message and the platform's app id;
``msg_signature`` is the SHA-1 of the sorted platform token, timestamp, nonce and ``Encrypt``.
The scheme is wechatpy's (``wechatpy.crypto.WeChatCrypto`` with the platform's app id); this
module adds a constant-time signature check, refuses XML with a DOCTYPE (no entity tricks) and
reads the message's fields.

The receiver opens pushes (``open_push``); the simulator seals them (``seal_push``).
"""

from __future__ import annotations

import hmac
import re
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import WeChatSigner

VERIFY_TICKET: Final = "component_verify_ticket"


class PushRejectedError(Exception):
    """A push that must not be trusted: ``status`` is the HTTP answer (400 malformed, 403 not
    from WeChat for this platform); ``str()`` says why, without any secret."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Push:
    """One opened push: a verify ticket, or an account's authorisation event."""

    info_type: str  # component_verify_ticket, authorized, updateauthorized, unauthorized, ...
    app_id: str  # the platform the message names
    created: datetime  # WeChat's CreateTime
    ticket: str | None = field(default=None, repr=False)
    authorizer_app_id: str | None = None
    #: An authorized/updateauthorized event carries a short-lived code the platform may
    #: exchange for the account's refresh token; only its presence is kept.
    has_authorization_code: bool = False


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """``msg_signature``: SHA-1 over the sorted four values."""
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce, encrypt)
    return str(signer.signature)


def _xml(data: bytes | str, what: str) -> ET.Element:
    raw = data.encode() if isinstance(data, str) else data
    if re.search(rb"<!DOCTYPE|<!ENTITY", raw, re.I):
        raise PushRejectedError(400, f"{what} declares a DOCTYPE")
    try:
        return ET.fromstring(raw)
    except ET.ParseError:
        raise PushRejectedError(400, f"{what} is not XML") from None


def _text(root: ET.Element, tag: str) -> str | None:
    found = root.find(tag)
    return found.text.strip() if found is not None and found.text else None


def decrypt_push(
    body: bytes,
    *,
    msg_signature: str,
    timestamp: str,
    nonce: str,
    token: str,
    aes_key: str,
    app_id: str,
) -> str:
    """The plaintext XML of a push, after checking its signature and that it was encrypted
    for ``app_id``; ``PushRejectedError`` otherwise."""
    encrypt = _text(_xml(body, "the body"), "Encrypt")
    if not encrypt:
        raise PushRejectedError(400, "the body has no Encrypt element")
    expected = signature(token, timestamp, nonce, encrypt)
    if not hmac.compare_digest(expected.encode(), msg_signature.encode()):
        raise PushRejectedError(403, "msg_signature does not match")
    crypto = WeChatCrypto(token, aes_key, app_id)
    try:
        return str(crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce))
    except InvalidSignatureException:
        raise PushRejectedError(403, "msg_signature does not match") from None
    except InvalidAppIdException:
        raise PushRejectedError(403, "the message is for another platform's app id") from None
    except (ValueError, TypeError, IndexError, UnicodeDecodeError, struct.error) as exc:
        # Garbage after decryption (another key, a truncated Encrypt): wechatpy does not check
        # the padding, so a short plaintext fails at unpacking its length.
        raise PushRejectedError(400, f"cannot decrypt Encrypt ({type(exc).__name__})") from None


def read_message(plain: str, app_id: str) -> Push:
    """The fields of a decrypted platform message (which must name ``app_id``, if any)."""
    message = _xml(plain, "the decrypted message")
    named = _text(message, "AppId")
    if named is not None and named != app_id:
        raise PushRejectedError(403, "the message names another platform's app id")
    info_type = _text(message, "InfoType")
    created = _text(message, "CreateTime")
    if not info_type or not created or not created.isdigit():
        raise PushRejectedError(400, "the message lacks InfoType or CreateTime")
    return Push(
        info_type=info_type,
        app_id=app_id,
        created=datetime.fromtimestamp(int(created), UTC),
        ticket=_text(message, "ComponentVerifyTicket"),
        authorizer_app_id=_text(message, "AuthorizerAppid"),
        has_authorization_code=_text(message, "AuthorizationCode") is not None,
    )


def open_push(
    body: bytes,
    *,
    msg_signature: str,
    timestamp: str,
    nonce: str,
    token: str,
    aes_key: str,
    app_id: str,
) -> Push:
    """A push verified, decrypted and read (see ``decrypt_push`` and ``read_message``)."""
    plain = decrypt_push(
        body,
        msg_signature=msg_signature,
        timestamp=timestamp,
        nonce=nonce,
        token=token,
        aes_key=aes_key,
        app_id=app_id,
    )
    return read_message(plain, app_id)


def message_xml(app_id: str, created: datetime, info_type: str, **fields: str) -> str:
    """A push's plaintext XML as WeChat writes it (CDATA sections)."""
    parts = [
        f"<AppId><![CDATA[{app_id}]]></AppId>",
        f"<CreateTime>{int(created.timestamp())}</CreateTime>",
        f"<InfoType><![CDATA[{info_type}]]></InfoType>",
        *(f"<{name}><![CDATA[{value}]]></{name}>" for name, value in fields.items()),
    ]
    return "<xml>" + "".join(parts) + "</xml>"


@dataclass(frozen=True)
class SealedPush:
    """What WeChat sends: the query parameters and the XML body."""

    params: dict[str, str]
    body: bytes


def seal_push(
    message: str, *, token: str, aes_key: str, app_id: str, timestamp: str, nonce: str
) -> SealedPush:
    """``message`` encrypted and signed exactly as WeChat sends it to the event URL."""
    # wechatpy writes a reply's envelope (Encrypt, MsgSignature, TimeStamp, Nonce); a push
    # carries the platform's AppId and Encrypt, its signature going in the query.
    sealed = WeChatCrypto(token, aes_key, app_id).encrypt_message(message, nonce, timestamp)
    cipher = _text(_xml(sealed, "the sealed message"), "Encrypt")
    if cipher is None:
        raise ValueError("wechatpy wrote no Encrypt element")
    body = f"<xml><AppId><![CDATA[{app_id}]]></AppId><Encrypt><![CDATA[{cipher}]]></Encrypt></xml>"
    return SealedPush(
        params={
            "timestamp": timestamp,
            "nonce": nonce,
            "encrypt_type": "aes",
            "msg_signature": signature(token, timestamp, nonce, cipher),
        },
        body=body.encode(),
    )
