"""The native signing primitives against published vectors (RFC 4231, RFC 8032, FIPS 180) and
pyca/cryptography as an independent implementation (engine/src/sign.rs)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote_plus
from urllib.parse import urlencode as std_urlencode

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from hypothesis import given
from hypothesis import strategies as st

from venuegate.auth.primitives import Ed25519Key, Es256Key, Hmac, sha256, sha512, urlencode
from venuegate.errors import SigningError
from venuegate.fixed import Fixed

PRIMITIVES: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "primitives.json").read_text(encoding="utf-8")
)
Alg = Literal["sha256", "sha384", "sha512"]


@pytest.mark.parametrize("vector", PRIMITIVES["hmac"], ids=lambda v: v["source"])
@pytest.mark.parametrize("alg", ["sha256", "sha384", "sha512"])
def test_hmac_rfc4231(vector: dict[str, str], alg: Alg) -> None:
    mac = Hmac(alg, bytes.fromhex(vector["key_hex"]))
    data = bytes.fromhex(vector["data_hex"])
    assert mac.hexdigest(data) == vector[alg]
    assert mac.digest(data).hex() == vector[alg]
    assert mac.b64digest(data) == base64.b64encode(bytes.fromhex(vector[alg])).decode()
    # Parts are concatenated; the keyed state is reused, not consumed.
    assert mac.hexdigest(data[:3], memoryview(data[3:])) == vector[alg]
    assert mac.hexdigest(bytearray(data)) == vector[alg]


@given(key=st.binary(max_size=200), parts=st.lists(st.binary(max_size=300), max_size=4))
def test_hmac_matches_stdlib(key: bytes, parts: list[bytes]) -> None:
    for alg in ("sha256", "sha384", "sha512"):
        assert Hmac(alg, key).hexdigest(*parts) == hmac.new(key, b"".join(parts), alg).hexdigest()


def test_base64_keys_and_errors_never_echo_the_secret() -> None:
    raw = bytes(range(64))
    mac = Hmac.from_base64_key("sha512", base64.b64encode(raw).decode())
    assert mac.digest(b"x") == hmac.new(raw, b"x", hashlib.sha512).digest()
    with pytest.raises(SigningError, match=r"secret is not valid base64 \(9 characters\)") as info:
        Hmac.from_base64_key("sha256", "s3cr3t!?!")
    assert "s3cr3t" not in str(info.value)
    with pytest.raises(SigningError, match="unknown hash algorithm"):
        Hmac("md5", b"k")  # type: ignore[arg-type]
    assert repr(mac) == "Hmac(sha512, key=<redacted>)"


def test_digests_fips180() -> None:
    v = PRIMITIVES["sha"][0]
    assert sha256(v["message"]).hex() == v["sha256"]
    assert sha512(b"a", "bc").hex() == v["sha512"]


@pytest.mark.parametrize("vector", PRIMITIVES["ed25519"], ids=lambda v: v["source"])
def test_ed25519_rfc8032(vector: dict[str, str]) -> None:
    key = Ed25519Key.from_raw(bytes.fromhex(vector["seed"]))
    assert key.public_key().hex() == vector["public"]
    message = bytes.fromhex(vector["message"])
    assert key.sign(message).hex() == vector["signature"]
    assert key.sign_b64(message) == base64.b64encode(bytes.fromhex(vector["signature"])).decode()


def test_ed25519_pem_matches_cryptography() -> None:
    ref = ed25519.Ed25519PrivateKey.generate()
    pem = ref.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    key = Ed25519Key.from_pem(pem)
    assert key.public_key() == ref.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert key.sign(b"payload") == ref.sign(b"payload")
    with pytest.raises(SigningError, match="Ed25519"):
        Ed25519Key.from_pem("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----")
    with pytest.raises(SigningError, match="32-byte seed"):
        Ed25519Key.from_raw(b"short")
    assert repr(key) == "Ed25519Key(<redacted>)"


@pytest.mark.parametrize("fmt", [PrivateFormat.TraditionalOpenSSL, PrivateFormat.PKCS8])
def test_es256_jwt_verifies_with_cryptography(fmt: PrivateFormat) -> None:
    ref = ec.generate_private_key(ec.SECP256R1())
    key = Es256Key.from_pem(ref.private_bytes(Encoding.PEM, fmt, NoEncryption()).decode())
    assert key.public_key() == ref.public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint
    )
    token = key.jwt(b'{"alg":"ES256","typ":"JWT"}', b'{"sub":"k"}')
    head, claims, sig_b64 = token.split(".")
    assert base64.urlsafe_b64decode(head + "==") == b'{"alg":"ES256","typ":"JWT"}'
    assert base64.urlsafe_b64decode(claims + "==") == b'{"sub":"k"}'
    sig = base64.urlsafe_b64decode(sig_b64 + "==")
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    ref.public_key().verify(der, f"{head}.{claims}".encode(), ec.ECDSA(SHA256()))
    with pytest.raises(SigningError, match="P-256"):
        Es256Key.from_raw(bytes(32))


PARAM_VALUES = st.one_of(
    st.text(max_size=16),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=6, max_value=10**9, min_value=-(10**9)
    ),
)


@given(st.lists(st.tuples(st.text(min_size=1, max_size=8), PARAM_VALUES), max_size=6))
def test_urlencode_matches_urllib(pairs: list[tuple[str, str | int | Decimal]]) -> None:
    def plain(v: str | int | Decimal) -> str:
        return format(v, "f") if isinstance(v, Decimal) else str(v)

    std = [(k, plain(v)) for k, v in pairs]
    assert urlencode(pairs) == std_urlencode(std)
    assert urlencode(pairs, mode="percent") == std_urlencode(
        std, quote_via=lambda s, *_: quote_plus(s).replace("+", "%20")
    )
    assert urlencode(pairs, sort=True) == std_urlencode(sorted(std, key=lambda kv: kv[0].encode()))


def test_urlencode_value_types() -> None:
    assert urlencode({"a": True, "b": False, "c": Fixed("1.50"), "d": Decimal("1E-8")}) == (
        "a=true&b=false&c=1.50&d=0.00000001"
    )
    with pytest.raises(TypeError, match="floats cannot carry prices"):
        urlencode({"price": 0.1})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="names must be str"):
        urlencode({1: "x"})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="mapping or"):
        urlencode([("a",)])  # type: ignore[list-item]
