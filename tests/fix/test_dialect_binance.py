"""Binance FIX dialect: the Logon fields against Binance's published signing example."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from venuegate.errors import ConfigError
from venuegate.fix.dialects import BinanceFix
from venuegate.fix.dialects.binance import MessageHandling, ResponseMode

VECTORS = json.loads(
    (Path(__file__).parent.parent / "vectors" / "venue_signatures.json").read_text()
)["binance_fix_logon"]

# The "Resulting Logon <A> message" of
# https://developers.binance.com/docs/binance-spot-api-docs/fix-api (How to sign Logon request),
# `|` standing for SOH.
DOCUMENTED_LOGON = (
    "8=FIX.4.4|9=247|35=A|34=1|49=EXAMPLE|52=20240627-11:17:25.223|56=SPOT|95=88|"
    "96=4MHXelVVcpkdwuLbl6n73HQUXUf1dse2PCgT1DYqW9w8AVZ1RACFGM+5UdlGPrQHrgtS3CvsRURC1oj73j8gCA==|"
    "98=0|108=30|141=Y|553=sBRXrJx2DsOraMXOaUovEhgVRcjOvCtQwnWj8VxkOh1xqboS02SPGfKi2h8spZJb|"
    "25035=2|10=227|"
)


def dialect(**kw: Any) -> BinanceFix:
    kw.setdefault("sender_comp_id", VECTORS["sender_comp_id"])
    return BinanceFix(api_key=VECTORS["api_key"], private_key_pem=VECTORS["private_key_pem"], **kw)


def logon(d: BinanceFix, seq: int = 1, sending_time: str | None = None) -> list[tuple[int, Any]]:
    settings = d.settings()
    session = SimpleNamespace(settings=settings)
    fields: list[tuple[int, Any]] = [(98, 0), (108, 30), (141, "N")]
    d.application().to_admin(
        session,  # type: ignore[arg-type]
        "A",
        seq,
        sending_time or VECTORS["sending_time"],
        fields,
    )
    return fields


def frame(begin: str, body: list[tuple[int, Any]]) -> str:
    """An independent FIX framer: BodyLength and CheckSum computed here, not by the codec."""
    text = "".join(f"{t}={v}\x01" for t, v in body)
    head = f"8={begin}\x019={len(text.encode())}\x01"
    checksum = sum((head + text).encode()) % 256
    return f"{head}{text}10={checksum:03d}\x01"


def test_logon_signature_matches_the_documented_example() -> None:
    fields = dict(logon(dialect()))
    assert fields[96] == VECTORS["raw_data"]
    assert fields[95] == len(VECTORS["raw_data"]) == 88
    assert fields[553] == VECTORS["api_key"]
    assert fields[141] == "Y"
    assert fields[25035] == MessageHandling.SEQUENTIAL


def test_logon_reproduces_the_documented_message_byte_for_byte() -> None:
    fields = dict(logon(dialect()))
    header = [(35, "A"), (34, 1), (49, "EXAMPLE"), (52, VECTORS["sending_time"]), (56, "SPOT")]
    body = [(t, fields[t]) for t in (95, 96, 98, 108, 141, 553, 25035)]
    assert frame("FIX.4.4", header + body) == DOCUMENTED_LOGON.replace("|", "\x01")


def test_session_defaults_do_not_duplicate_venue_fields() -> None:
    fields = logon(dialect())
    tags = [t for t, _ in fields]
    assert len(tags) == len(set(tags))
    assert dict(fields)[141] == "Y"  # replaced the session's 141=N


def test_signature_covers_seq_num_and_sending_time() -> None:
    a = dict(logon(dialect(), seq=1))[96]
    b = dict(logon(dialect(), seq=2))[96]
    c = dict(logon(dialect(), sending_time="20240627-11:17:25.224"))[96]
    assert len({a, b, c}) == 3


def test_options_response_mode_and_drop_copy() -> None:
    fields = dict(
        logon(
            dialect(
                session_type="drop_copy",
                message_handling=MessageHandling.UNORDERED,
                response_mode=ResponseMode.ONLY_ACKS,
            )
        )
    )
    assert fields[25035] == 1
    assert fields[25036] == 2
    assert fields[9406] == "Y"


def test_settings() -> None:
    s = dialect().settings()
    assert (s.begin_string, s.sender_comp_id, s.target_comp_id) == ("FIX.4.4", "EXAMPLE", "SPOT")
    assert (s.host, s.port, s.ssl, s.server_hostname) == (
        "fix-oe.binance.com",
        9000,
        True,
        "fix-oe.binance.com",
    )
    assert s.reset_on_logon
    assert s.extra_dictionaries[0].endswith("binance.xml")
    assert Path(s.extra_dictionaries[0]).is_file()
    dc = dialect(session_type="drop_copy", environment="testnet").settings(port=1234)
    assert (dc.host, dc.port) == ("fix-dc.testnet.binance.vision", 1234)


@pytest.mark.parametrize(
    ("kwargs", "overrides"),
    [
        ({"sender_comp_id": "TOO-LONG-ID"}, {}),
        ({"sender_comp_id": "bad id"}, {}),
        ({"message_handling": 3}, {}),
        ({"response_mode": 5}, {}),
        ({}, {"heartbeat_interval_s": 61}),
        ({}, {"heartbeat_interval_s": 4}),
    ],
)
def test_refuses_what_binance_refuses(kwargs: dict[str, Any], overrides: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        dialect(**kwargs).settings(**overrides)


def test_hmac_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="Ed25519"):
        BinanceFix(api_key="k" * 64, private_key_pem="a" * 64, sender_comp_id="X")


def test_repr_masks_the_key_and_hides_the_private_key() -> None:
    d = dialect()
    for text in (repr(d), repr(d.application())):
        assert VECTORS["api_key"] not in text
        assert "PRIVATE" not in text
    with pytest.raises(TypeError):
        __import__("pickle").dumps(d)
