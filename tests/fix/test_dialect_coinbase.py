"""Coinbase Exchange FIX 5.0 dialect: Logon fields, signature recomputed independently.

Coinbase publishes no input/output example for the FIX Logon signature, so the RawData is
recomputed here with the standard library over the documented prehash (SendingTime, MsgType,
MsgSeqNum, SenderCompID, TargetCompID, Password joined by SOH; base64 HMAC-SHA256 keyed with
the base64-decoded secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import pickle
from types import SimpleNamespace
from typing import Any

import pytest

from venuegate.errors import SigningError
from venuegate.fix.dialects import CoinbaseFix

KEY = "c0ffee0123456789abcdef0123456789"
SECRET = base64.b64encode(bytes(range(64))).decode()
PASSPHRASE = "correct-horse-battery"
SENDING_TIME = "20230822-20:43:30.123"


def dialect(**kw: Any) -> CoinbaseFix:
    return CoinbaseFix(api_key=KEY, secret=SECRET, passphrase=PASSPHRASE, **kw)


def logon(d: CoinbaseFix, seq: int = 1, sending_time: str = SENDING_TIME) -> dict[int, Any]:
    session = SimpleNamespace(settings=d.settings())
    fields: list[tuple[int, Any]] = [(98, 0), (108, 30), (141, "Y"), (1137, "9")]
    d.application().to_admin(session, "A", seq, sending_time, fields)  # type: ignore[arg-type]
    tags = [t for t, _ in fields]
    assert len(tags) == len(set(tags))
    return dict(fields)


def expected_signature(seq: int, sending_time: str = SENDING_TIME) -> str:
    prehash = "\x01".join([sending_time, "A", str(seq), KEY, "Coinbase", PASSPHRASE])
    mac = hmac.new(base64.b64decode(SECRET), prehash.encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def test_logon_fields_and_signature() -> None:
    fields = logon(dialect())
    assert fields[553] == KEY
    assert fields[554] == PASSPHRASE
    assert fields[96] == expected_signature(1)
    assert fields[95] == len(fields[96])
    assert fields[1137] == "9"
    assert 8013 not in fields
    assert 9406 not in fields


def test_signature_covers_the_logon_seq_num() -> None:
    assert logon(dialect(), seq=7)[96] == expected_signature(7)


def test_cancel_on_disconnect_and_drop_copy() -> None:
    assert logon(dialect(cancel_on_disconnect="S"))[8013] == "S"
    assert logon(dialect(cancel_on_disconnect="Y"))[8013] == "Y"
    assert logon(dialect(session_type="drop_copy"))[9406] == "Y"


def test_sending_time_needs_three_fractional_digits() -> None:
    with pytest.raises(SigningError):
        logon(dialect(), sending_time="20230822-20:43:30.123456")


def test_settings() -> None:
    s = dialect().settings()
    assert (s.begin_string, s.default_appl_ver_id) == ("FIXT.1.1", "9")
    assert (s.sender_comp_id, s.target_comp_id) == (KEY, "Coinbase")
    assert (s.host, s.port, s.ssl) == ("fix-ord.exchange.coinbase.com", 6121, True)
    assert s.reset_on_logon
    assert (s.dictionary, s.app_dictionary) == ("FIXT11.xml", "FIX50SP2.xml")
    assert s.extra_dictionaries[0].endswith("coinbase.xml")
    sandbox = dialect(environment="sandbox", session_type="drop_copy").settings()
    assert (sandbox.host, sandbox.port) == ("fix-dc.sandbox.exchange.coinbase.com", 6122)


def test_no_secret_in_reprs() -> None:
    d = dialect()
    for text in (repr(d), str(d), repr(d.application())):
        assert KEY not in text
        assert PASSPHRASE not in text
        assert SECRET not in text
    with pytest.raises(TypeError):
        pickle.dumps(d.application())
