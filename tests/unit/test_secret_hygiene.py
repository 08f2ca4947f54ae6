"""No secret in any repr, str, pickle, log line or error message."""

from __future__ import annotations

import copy
import logging
import pickle

import pytest

from tests.conftest import make_credentials
from venuegate.auth import VENUES, signer
from venuegate.errors import ConfigError, SigningError, VenuegateError
from venuegate.sim.verify import Credentials, VerificationError, verify_request

CASES = [(v, False) for v in VENUES] + [("binance", True)]
IDS = [*VENUES, "binance-ed25519"]


def _secret_fragments(cred: Credentials) -> list[str]:
    # Any 12-character window of the secret or passphrase would be a leak.
    out = []
    for value in (cred.secret, cred.passphrase):
        if value:
            body = "".join(line for line in value.splitlines() if not line.startswith("-----"))
            out += [body[i : i + 12] for i in range(0, max(1, len(body) - 12), 6)]
    return out


@pytest.mark.parametrize(("venue", "ed"), CASES, ids=IDS)
def test_signer_never_reveals_secrets(
    venue: str, ed: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cred = make_credentials(venue, ed25519_key=ed)
    s = signer(
        venue, api_key=cred.api_key, secret=cred.secret, passphrase=cred.passphrase, host=cred.host
    )
    req = s.sign("POST", "/api/v3/order", params={"symbol": "BTCUSDT", "price": "1"})
    texts = [repr(s), str(s), f"{s}", repr(req), str(req), caplog.text]
    for attr in dir(s):
        if not attr.startswith("__"):
            texts.append(repr(getattr(s, attr, None)))
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(s)
    with pytest.raises(TypeError, match="cannot be copied"):
        copy.deepcopy(s)
    with pytest.raises(TypeError, match="cannot be copied"):
        copy.copy(s)
    blob = "\n".join(texts)
    for fragment in _secret_fragments(cred):
        assert fragment not in blob
    assert cred.api_key not in repr(s)  # the key is masked too
    assert "<redacted>" in repr(Credentials("k", "s"))


def test_request_repr_redacts_credential_headers() -> None:
    cred = make_credentials("okx")
    s = signer("okx", api_key=cred.api_key, secret=cred.secret, passphrase=cred.passphrase)
    req = s.sign("GET", "/api/v5/account/balance", params={"ccy": "BTC"})
    assert cred.passphrase is not None
    assert req.headers["OK-ACCESS-PASSPHRASE"] == cred.passphrase
    assert cred.passphrase not in repr(req)
    cb = make_credentials("coinbase")
    r2 = signer("coinbase", api_key=cb.api_key, secret=cb.secret).sign(
        "GET", "/api/v3/brokerage/accounts"
    )
    token = r2.headers["Authorization"]
    assert token not in repr(r2)
    assert "'Authorization': '<redacted>'" in repr(r2)


@pytest.mark.parametrize(
    ("venue", "secret", "message"),
    [
        ("kraken", "not*base64*secret-value", "secret is not valid base64"),
        ("coinbase-exchange", "also-not-base64!!secret", "secret is not valid base64"),
        (
            "binance",
            "-----BEGIN PRIVATE KEY-----\nZm9vYmFyc2VjcmV0\n-----END PRIVATE KEY-----",
            "Ed25519",
        ),
        (
            "binance",
            "-----BEGIN RSA PRIVATE KEY-----\nZm9vYmFyc2VjcmV0\n-----END RSA PRIVATE KEY-----",
            "RSA",
        ),
        (
            "coinbase",
            "-----BEGIN EC PRIVATE KEY-----\nZm9vYmFyc2VjcmV0\n-----END EC PRIVATE KEY-----",
            "P-256",
        ),
        ("coinbase", "neither-pem-nor-base64!secret", "neither an EC PEM"),
    ],
)
def test_bad_secrets_raise_clear_errors_without_echo(venue: str, secret: str, message: str) -> None:
    kwargs = {"passphrase": "pp"} if venue == "coinbase-exchange" else {}
    with pytest.raises(SigningError, match=message) as info:
        signer(venue, api_key="key", secret=secret, **kwargs)
    text = str(info.value) + repr(info.value)
    assert "secret-value" not in text
    assert "Zm9vYmFy" not in text
    assert "!!secret" not in text
    assert "!secret" not in text
    assert isinstance(info.value, VenuegateError)


def test_non_ascii_api_key_and_unknown_venues() -> None:
    with pytest.raises(SigningError, match="api_key must be non-empty printable ASCII"):
        signer("okx", api_key="ключ", secret="s", passphrase="p")
    with pytest.raises(ConfigError, match="unknown venue 'mtgox'"):
        signer("mtgox", api_key="k", secret="s")
    with pytest.raises(ConfigError, match="FTX ceased operating in November 2022"):
        signer("ftx", api_key="k", secret="s")
    with pytest.raises(ConfigError, match="okx signing needs a passphrase"):
        signer("okx", api_key="k", secret="s")
    with pytest.raises(ConfigError, match="binance keys have no passphrase"):
        signer("binance", api_key="k", secret="s", passphrase="p")


def test_verification_errors_do_not_echo_secrets() -> None:
    cred = make_credentials("okx")
    s = signer("okx", api_key=cred.api_key, secret=cred.secret, passphrase=cred.passphrase)
    req = s.sign("GET", "/api/v5/account/balance")
    wrong = Credentials(cred.api_key, "other-secret", cred.passphrase)
    with pytest.raises(VerificationError) as info:
        verify_request("okx", req, wrong)
    assert cred.secret not in str(info.value)
    assert "other-secret" not in str(info.value)
