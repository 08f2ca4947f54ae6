"""Each venue's signer against the independent, docs-written verifier (venuegate.sim.verify),
over many generated requests; and the verifier refuses tampered requests, so it is not vacuous."""

from __future__ import annotations

import string
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_credentials
from venuegate.auth import VENUES, SignedRequest, signer
from venuegate.sim.verify import Credentials, VerificationError, verify_request

NAMES = st.text(alphabet=string.ascii_letters + "_-", min_size=1, max_size=12).filter(
    # Names the signers set themselves (HTX signs AccessKeyId, SignatureMethod/Version, Timestamp).
    lambda k: k
    not in {
        "timestamp",
        "signature",
        "nonce",
        "Signature",
        "recvWindow",
        "Timestamp",
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
    }
)
VALUES = st.one_of(
    st.text(max_size=20).filter(lambda t: "\x00" not in t),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=8, min_value=-(10**9), max_value=10**9
    ),
)
PARAMS = st.dictionaries(NAMES, VALUES, max_size=8)
METHODS = st.sampled_from(["GET", "POST", "DELETE", "PUT"])
PATHS = st.sampled_from(["/api/v3/order", "/v2/auth/w/order/submit", "/0/private/AddOrder"])
NOW_MS = st.integers(min_value=1_500_000_000_000, max_value=2_500_000_000_000)

_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CASES = [(v, False) for v in VENUES] + [("binance", True)]
IDS = [v for v in VENUES] + ["binance-ed25519"]


def _signer_for(venue: str, cred: Credentials):  # type: ignore[no-untyped-def]
    return signer(
        venue,
        api_key=cred.api_key,
        secret=cred.secret,
        passphrase=cred.passphrase,
        host=cred.host,
    )


def _method_for(venue: str, method: str) -> str:
    # Kraken's private REST API is POST only.
    return "POST" if venue == "kraken" else method


@pytest.mark.parametrize(("venue", "ed"), CASES, ids=IDS)
@_SETTINGS
@given(params=PARAMS, method=METHODS, path=PATHS, now_ms=NOW_MS)
def test_signatures_verify(
    venue: str, ed: bool, params: dict[str, object], method: str, path: str, now_ms: int
) -> None:
    cred = make_credentials(venue, ed25519_key=ed)
    s = _signer_for(venue, cred)
    req = s.sign(_method_for(venue, method), path, params=params, timestamp_ms=now_ms)
    verify_request(venue, req, cred, now_ms=now_ms)


@pytest.mark.parametrize(("venue", "ed"), CASES, ids=IDS)
@_SETTINGS
@given(params=PARAMS.filter(bool), now_ms=NOW_MS, data=st.data())
def test_tampered_requests_fail(
    venue: str, ed: bool, params: dict[str, object], now_ms: int, data: st.DataObject
) -> None:
    cred = make_credentials(venue, ed25519_key=ed)
    s = _signer_for(venue, cred)
    method = _method_for(venue, data.draw(METHODS))
    req = s.sign(method, "/api/v3/order", params=params, timestamp_ms=now_ms)
    # Change one signed thing. Coinbase's JWT covers the method and path only (its `uri`
    # claim), so there the path changes; HTX signs the query, never a POST body; elsewhere the
    # body, or the query where there is no body.
    if venue == "coinbase":
        path, sep, query = req.path.partition("?")
        tampered = SignedRequest(req.method, f"{path}s{sep}{query}", req.headers, req.body)
    elif req.body and venue != "htx":
        tampered = SignedRequest(req.method, req.path, req.headers, req.body + b" ")
    else:
        path, _, query = req.path.partition("?")
        tampered = SignedRequest(req.method, f"{path}?zz=1&{query}", req.headers, req.body)
    with pytest.raises(VerificationError):
        verify_request(venue, tampered, cred, now_ms=now_ms)


@pytest.mark.parametrize(("venue", "ed"), CASES, ids=IDS)
def test_wrong_key_and_stale_timestamps_fail(venue: str, ed: bool) -> None:
    cred = make_credentials(venue, ed25519_key=ed)
    other = make_credentials(venue, ed25519_key=ed)
    s = _signer_for(venue, cred)
    now = 1_700_000_000_000
    req = s.sign("POST", "/api/v3/order", params={"price": Decimal("1.5")}, timestamp_ms=now)
    verify_request(venue, req, cred, now_ms=now)
    forged = Credentials(cred.api_key, other.secret, cred.passphrase, cred.host)
    with pytest.raises(VerificationError):
        verify_request(venue, req, forged, now_ms=now)
    if venue not in ("kraken", "bitfinex"):  # nonce venues carry no timestamp
        with pytest.raises(VerificationError):
            verify_request(venue, req, cred, now_ms=now + 600_000)


def test_fix_logon_signatures_verify_independently() -> None:
    import base64
    import hashlib
    import hmac

    cred = make_credentials("coinbase-exchange")
    s = _signer_for("coinbase-exchange", cred)
    raw = s.fix_logon_raw_data(sending_time="20230822-20:43:30.000", msg_seq_num=1)
    prehash = "\x01".join(
        ["20230822-20:43:30.000", "A", "1", cred.api_key, "Coinbase", cred.passphrase or ""]
    )
    expected = hmac.new(base64.b64decode(cred.secret), prehash.encode(), hashlib.sha256).digest()
    assert raw == base64.b64encode(expected).decode()

    kcred = make_credentials("kraken")
    k = _signer_for("kraken", kcred)
    password = k.fix_logon_password(
        msg_seq_num=1, sender_comp_id="CLIENT", target_comp_id="KRAKEN-TRD", nonce=1688736075072
    )
    message = f"35=A\x0134=1\x0149=CLIENT\x0156=KRAKEN-TRD\x01553={kcred.api_key}\x01"
    inner = hashlib.sha256((message + "1688736075072").encode()).digest()
    mac = hmac.new(base64.b64decode(kcred.secret), inner, hashlib.sha512).digest()
    assert password == base64.b64encode(mac).decode()
