"""Kraken FIX dialect: Logon fields; the password recomputed with Kraken's documented algorithm.

The independent path is the Python snippet of https://docs.kraken.com/api/docs/guides/spot-fix-auth
(hashlib + hmac), fed the Logon's own fields.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from types import SimpleNamespace
from typing import Any

import pytest

from venuegate.fix.dialects import KrakenFix

KEY = "kraken-fix-api-key-0123456789"
SECRET = base64.b64encode(bytes(range(100, 164))).decode()
SOH = "\x01"


def dialect(clock: list[int], **kw: Any) -> KrakenFix:
    return KrakenFix(
        api_key=KEY, secret=SECRET, sender_comp_id="VGCLIENT", clock_ms=lambda: clock[0], **kw
    )


def logon(d: KrakenFix, seq: int = 1) -> dict[int, Any]:
    session = SimpleNamespace(settings=d.settings())
    fields: list[tuple[int, Any]] = [(98, 0), (108, 60)]
    d.application().to_admin(session, "A", seq, "20240101-00:00:00.000", fields)  # type: ignore[arg-type]
    return dict(fields)


def documented_password(seq: int, nonce: str) -> str:
    message_input = (
        "35=A" + SOH + "34=" + str(seq) + SOH + "49=VGCLIENT" + SOH + "56=KRAKEN-TRD" + SOH
        + "553=" + KEY + SOH
    )  # fmt: skip
    api_sha256 = hashlib.sha256((message_input + nonce).encode("utf-8")).digest()
    api_hmac = hmac.new(base64.b64decode(SECRET), api_sha256, hashlib.sha512)
    return base64.b64encode(api_hmac.digest()).decode()


def test_logon_fields_and_password() -> None:
    clock = [1_700_000_000_123]
    fields = logon(dialect(clock), seq=3)
    assert fields[553] == KEY
    assert fields[5025] == "1700000000123"
    assert fields[554] == documented_password(3, "1700000000123")
    assert 8674 not in fields


def test_nonce_strictly_increases_within_a_millisecond() -> None:
    clock = [1_700_000_000_000]
    d = dialect(clock)
    app = d.application()
    session = SimpleNamespace(settings=d.settings())
    nonces = []
    for _ in range(3):
        fields: list[tuple[int, Any]] = []
        app.to_admin(session, "A", 1, "20240101-00:00:00.000", fields)  # type: ignore[arg-type]
        nonces.append(int(dict(fields)[5025]))
    assert nonces == sorted(set(nonces))


@pytest.mark.parametrize(("cod", "value"), [(True, 0), (False, 1)])
def test_cancel_orders_on_disconnect(cod: bool, value: int) -> None:
    assert logon(dialect([1], cancel_on_disconnect=cod))[8674] == value


def test_other_admin_messages_untouched() -> None:
    d = dialect([1])
    fields: list[tuple[int, Any]] = [(112, "x")]
    d.application().to_admin(
        SimpleNamespace(settings=d.settings()), "0", 2, "20240101-00:00:00.000", fields  # type: ignore[arg-type]
    )
    assert fields == [(112, "x")]


def test_settings_and_repr() -> None:
    d = dialect([1], market="derivatives")
    s = d.settings()
    assert (s.begin_string, s.target_comp_id, s.heartbeat_interval_s) == (
        "FIX.4.4",
        "KRAKEN-TRD",
        60,
    )
    assert (s.host, s.port, s.ssl) == ("colo-london.vip-fix.kraken.com", 4003, True)
    assert KEY not in repr(d)
    assert SECRET not in repr(d.application())
