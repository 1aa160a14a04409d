"""The ticket receiver over real HTTP, against pushes built independently of the code under test
(``encrypt_by_hand``: the Open Platform documentation's scheme written with ``cryptography``
alone) and a fixed vector: a genuine push is stored and answered ``success``; a push whose
signature, ciphertext, token or app id is not the platform's is refused and nothing is stored.
The other way round, the simulator's pushes (wechatpy) open by hand."""

from __future__ import annotations

import base64
import hashlib
import logging
import random
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from wx_pipeline.cli import main
from wx_pipeline.core.settings import Component, get_settings
from wx_pipeline.receiver.server import ReceiverServer, run_in_thread
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.migrate import migrate
from wx_pipeline.wechat.component import TICKET, TICKET_LIFETIME
from wx_pipeline.wechat.push import (
    PushRejectedError,
    decrypt_push,
    message_xml,
    seal_push,
    signature,
)
from wx_pipeline_tests.platform import encrypt_by_hand, event_xml, ticket_xml

APP_ID = "wxreceiver00000001"
TOKEN = "pushtoken9f8e7d6c"
AES_KEY = "kVgA3rPPZcaVG1VyYlSuGyzKfXDJUZFEimvHwHGX6Fh"  # 43 characters: a 32-byte key
SECRET = "component-secret-1a2b3c4d"
COMPONENT = Component.model_validate(
    {"app_id": APP_ID, "secret": SECRET, "token": TOKEN, "aes_key": AES_KEY}
)
PUSHED = datetime(2026, 3, 18, 3, 50, tzinfo=UTC)
TICKET_VALUE = "ticket@@@Yq9kW2m0l6NbE3xvR8pT1sU4dZc7aH5jGfQo"

#: A fixed push (random prefix 16 x "0"), encrypted by hand once: the ticket above at PUSHED.
VECTOR_NONCE = "1320562132"
VECTOR_TIMESTAMP = "1773805800"
VECTOR_ENCRYPT = (
    "ZbxyIDL7gEcZRjpjYmRBWBdJ/yo/3AO8KnZEs4BQkrJ1gPHQRYEPhOdAxXC9enIY4heGCftlwf2aNB8T19j+Y0A+"
    "4mPbu7Ch2ig2gJiUVJr4hZG4NNlI7n2Wqje4Rdu+Qo+T1ZrTRQxcKw1FDOW/g34UPP7FtI31c9/siXN7ZjtbIt4+"
    "dYt0CyerWqJdKayPFvLqi3GblF6FHpHtiLDuUu1kbnBsUrb/ZZ60PLBXiqkITmmQAiyH3EGrCkjRtkBUTqKU5/Fb"
    "256ssaac9d370BSKvQcd8CCgRZGn8TT0BfVi/85QQWUTrhhwmdl3qOcNDBkTHiJVYBIAAnEMnEbOyLG6i4cwRZJs"
    "LGgQFGh+VJaTb4c/JxtmmwsTZQddaTlMo8k2D2wvQBTYFn4s98s2/5BCPI5mtfS1w/nnuLuziy4="
)
VECTOR_SIGNATURE = "4c53ff73de3679bfa758d9b361fd79df33bc101a"


@dataclass
class Receiver:
    server: ReceiverServer
    engine: sa.Engine

    def post(self, params: dict[str, str], body: bytes) -> httpx.Response:
        return httpx.post(
            f"{self.server.url}/wechat/events",
            params=params,
            content=body,
            headers={"Content-Type": "text/xml"},
        )

    def stored(self) -> tuple[list[tuple[str, str, datetime | None]], list[tuple[str, str]]]:
        """(credentials: kind, value, expires_at), (events: account, event)."""
        with self.engine.connect() as conn:
            credentials = conn.execute(
                sa.text("SELECT kind, value, expires_at FROM wechat_meta.component_credentials")
            ).all()
            events = conn.execute(
                sa.text(
                    "SELECT authorizer_app_id, event FROM wechat_meta.component_events ORDER BY id"
                )
            ).all()
        return [tuple(r) for r in credentials], [tuple(r) for r in events]  # type: ignore[misc]


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[sa.Engine]:
    migrate(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def receiver(engine: sa.Engine) -> Iterator[Receiver]:
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE wechat_meta.component_credentials"))
        conn.execute(sa.text("TRUNCATE wechat_meta.component_events"))
    with run_in_thread(engine, COMPONENT) as server:
        yield Receiver(server, engine)


def _ticket_push(ticket: str = TICKET_VALUE, **changes: str) -> tuple[dict[str, str], bytes]:
    keys = {"token": TOKEN, "aes_key": AES_KEY, "app_id": APP_ID, **changes}
    return encrypt_by_hand(
        ticket_xml(APP_ID, ticket, PUSHED), timestamp="1773805800", nonce="581926", **keys
    )


def _decrypt_by_hand(encrypt: str, aes_key: str = AES_KEY) -> tuple[str, str]:
    """(message XML, app id) of an Encrypt value, as the documentation describes it."""
    key = base64.b64decode(aes_key + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypt)) + decryptor.finalize()
    plain = plain[: -plain[-1]]
    (length,) = struct.unpack(">I", plain[16:20])
    return plain[20 : 20 + length].decode(), plain[20 + length :].decode()


def test_the_fixed_vector_opens_to_its_ticket() -> None:
    """A push encrypted by hand once and kept as text: the scheme cannot drift unnoticed."""
    signed = "".join(sorted([TOKEN, VECTOR_TIMESTAMP, VECTOR_NONCE, VECTOR_ENCRYPT]))
    assert hashlib.sha1(signed.encode()).hexdigest() == VECTOR_SIGNATURE
    body = f"<xml><AppId>{APP_ID}</AppId><Encrypt><![CDATA[{VECTOR_ENCRYPT}]]></Encrypt></xml>"
    plain = decrypt_push(
        body.encode(),
        msg_signature=VECTOR_SIGNATURE,
        timestamp=VECTOR_TIMESTAMP,
        nonce=VECTOR_NONCE,
        token=TOKEN,
        aes_key=AES_KEY,
        app_id=APP_ID,
    )
    assert plain == ticket_xml(APP_ID, TICKET_VALUE, PUSHED)
    assert _decrypt_by_hand(VECTOR_ENCRYPT) == (plain, APP_ID)


def test_a_ticket_push_is_stored_and_answered_success(receiver: Receiver) -> None:
    params, body = _ticket_push()
    answer = receiver.post(params, body)
    assert (answer.status_code, answer.text) == (200, "success")
    credentials, events = receiver.stored()
    assert credentials == [(TICKET, TICKET_VALUE, PUSHED + TICKET_LIFETIME)]
    assert events == []


def test_an_older_push_never_replaces_the_newest_ticket(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wx_pipeline.receiver.app")
    assert receiver.post(*_ticket_push()).text == "success"
    late = encrypt_by_hand(
        ticket_xml(APP_ID, "ticket@@@pushed-earlier-arrived-later", PUSHED - timedelta(minutes=10)),
        token=TOKEN,
        aes_key=AES_KEY,
        app_id=APP_ID,
        timestamp="1773805900",
        nonce="99",
    )
    assert receiver.post(*late).text == "success"  # WeChat would push it again otherwise
    credentials, _ = receiver.stored()
    assert [value for _, value, _ in credentials] == [TICKET_VALUE]
    said = [r.getMessage() for r in caplog.records if r.name == "wx_pipeline.receiver.app"]
    assert said == [
        "push from WeChat: verify ticket stored",
        "push from WeChat: verify ticket older than the stored one: kept the stored one",
    ]


def test_a_ticket_handed_over_on_stdin(
    receiver: Receiver, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For a platform server that receives the pushes itself: wx-pipeline component-ticket
    store, the ticket on stdin (never in the command line)."""
    for name, value in {
        "WX_COMPONENT_APP_ID": APP_ID,
        "WX_COMPONENT_APP_SECRET": SECRET,
        "WX_COMPONENT_TOKEN": TOKEN,
        "WX_COMPONENT_AES_KEY": AES_KEY,
        "WX_WAREHOUSE_URL": database_url,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    runner = CliRunner()
    pushed = "--pushed-at=2026-03-18 11:50"  # Beijing: PUSHED
    stored = runner.invoke(main, ["component-ticket", "store", pushed], input=TICKET_VALUE + "\n")
    assert stored.exit_code == 0, stored.output
    assert stored.output == f"ticket stored for platform {APP_ID}\n"
    older = runner.invoke(
        main, ["component-ticket", "store", "--pushed-at=2026-03-18 11:40"], input="ticket@@@old"
    )
    assert older.output == f"a later ticket is stored for platform {APP_ID} already: kept it\n"
    empty = runner.invoke(main, ["component-ticket", "store"], input="\n")
    assert empty.exit_code == 2
    assert "expected one component_verify_ticket" in empty.output
    credentials, _ = receiver.stored()
    assert credentials == [(TICKET, TICKET_VALUE, PUSHED + TICKET_LIFETIME)]
    assert TICKET_VALUE not in stored.output + older.output + empty.output


@pytest.mark.parametrize("info_type", ["authorized", "updateauthorized", "unauthorized"])
def test_authorisation_events_go_in_the_ledger(receiver: Receiver, info_type: str) -> None:
    params, body = encrypt_by_hand(
        event_xml(APP_ID, info_type, "wxbrand00000000001", PUSHED),
        token=TOKEN,
        aes_key=AES_KEY,
        app_id=APP_ID,
        timestamp="1773805800",
        nonce="42",
    )
    assert receiver.post(params, body).text == "success"
    credentials, events = receiver.stored()
    assert credentials == []
    assert events == [("wxbrand00000000001", info_type)]


def _flip(text: str, at: int = 5) -> str:
    """``text`` with one character changed (a base64 or hex one for another of its kind)."""
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]


def _tampered() -> dict[str, tuple[int, dict[str, str], bytes]]:
    """What a forger or a broken proxy could send: (HTTP status, params, body) by case."""
    params, body = _ticket_push()
    encrypt = body.decode().split("<![CDATA[")[2].split("]]>")[0]
    cases: dict[str, tuple[int, dict[str, str], bytes]] = {}
    signature = {**params, "msg_signature": _flip(params["msg_signature"])}
    cases["signature changed"] = (403, signature, body)
    flipped = body.replace(encrypt.encode(), _flip(encrypt).encode())
    cases["ciphertext changed"] = (403, params, flipped)
    cases["timestamp changed"] = (403, {**params, "timestamp": "1773805801"}, body)
    cases["nonce changed"] = (403, {**params, "nonce": "581927"}, body)
    cases["signed with another token"] = (403, *_ticket_push(token="not-the-platform-token"))
    other_app = _ticket_push(app_id="wxsomeoneelse00001")
    cases["encrypted for another platform"] = (403, *other_app)
    # Signed properly, but encrypted with another key: garbage once decrypted, refused as
    # undecryptable (400) or as naming another app id (403), depending on the garbage.
    other_key = _ticket_push(aes_key="A" * 43)
    cases["another EncodingAESKey"] = (0, *other_key)
    cases["no signature"] = (400, {k: v for k, v in params.items() if k != "msg_signature"}, body)
    cases["no Encrypt"] = (400, params, b"<xml><AppId>x</AppId></xml>")
    doctype = (
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>'
    )
    cases["a DOCTYPE"] = (400, params, doctype)
    cases["not XML"] = (400, params, b"ticket=" + TICKET_VALUE.encode())
    return cases


TAMPERED = _tampered()


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_a_push_not_from_wechat_is_refused_and_nothing_stored(
    receiver: Receiver, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    status, params, body = TAMPERED[case]
    answer = receiver.post(params, body)
    assert answer.status_code in ((400, 403) if status == 0 else (status,)), answer.text
    assert answer.text != "success"
    assert "\n" not in answer.text
    assert receiver.stored() == ([], [])
    shown = answer.text + "".join(r.getMessage() for r in caplog.records)
    for secret in (TICKET_VALUE, TOKEN, AES_KEY, SECRET):
        assert secret not in shown


def test_the_simulators_pushes_open_by_hand() -> None:
    """The simulator seals as the documentation says: checked with ``cryptography`` alone."""
    message = message_xml(APP_ID, PUSHED, "component_verify_ticket", ComponentVerifyTicket="t@@@x")
    sealed = seal_push(
        message, token=TOKEN, aes_key=AES_KEY, app_id=APP_ID, timestamp="1773805800", nonce="7"
    )
    encrypt = sealed.body.decode().split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    signed = "".join(sorted([TOKEN, "1773805800", "7", encrypt]))
    assert sealed.params["msg_signature"] == hashlib.sha1(signed.encode()).hexdigest()
    assert sealed.params["encrypt_type"] == "aes"
    assert _decrypt_by_hand(encrypt) == (message, APP_ID)
    assert len(base64.b64decode(encrypt)) % 32 == 0  # PKCS#7 to 32 bytes


def test_nothing_secret_in_the_log_of_a_stored_push(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    # On the receiver's logger: a Dagster run earlier in the session leaves `wx_pipeline` at the
    # instance's python_log_level (it manages that logger).
    caplog.set_level(logging.DEBUG, logger="wx_pipeline.receiver")
    assert receiver.post(*_ticket_push()).text == "success"
    logged = "".join(r.getMessage() for r in caplog.records)
    assert "verify ticket stored" in logged
    for secret in (TICKET_VALUE, TOKEN, AES_KEY, SECRET):
        assert secret not in logged


def test_a_sender_hanging_up_mid_body_stores_nothing(receiver: Receiver) -> None:
    host, port = receiver.server.host, receiver.server.port
    with socket.create_connection((host, port)) as conn:
        conn.sendall(
            b"POST /wechat/events?timestamp=1&nonce=2&msg_signature=3 HTTP/1.1\r\nHost: r\r\n"
            b"Content-Length: 500\r\n\r\n<xml><Encrypt>"
        )
        time.sleep(0.2)
    time.sleep(0.2)
    assert receiver.stored() == ([], [])
    assert httpx.get(f"{receiver.server.url}/healthz").text == "ok"


def test_signed_garbage_is_refused_never_an_error() -> None:
    """Random ciphertexts signed with the platform's token (a leaked token, a broken sender):
    each is refused as not decryptable or not for this platform, never a server error."""
    rand = random.Random(7)
    statuses: set[int] = set()
    for i in range(400):
        encrypt = base64.b64encode(rand.randbytes(32 * (1 + i % 4))).decode()
        body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
        with pytest.raises(PushRejectedError) as refused:
            decrypt_push(
                body,
                msg_signature=signature(TOKEN, "1", "2", encrypt),
                timestamp="1",
                nonce="2",
                token=TOKEN,
                aes_key=AES_KEY,
                app_id=APP_ID,
            )
        statuses.add(refused.value.status)
    assert statuses <= {400, 403}
