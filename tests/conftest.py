"""Shared fixtures: published vectors, throw-away venue credentials, loopback TLS."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from tests._tls import LoopbackTls, make_loopback_tls
from venuegate.sim.verify import Credentials

VECTORS = Path(__file__).parent / "vectors"


@pytest.fixture(autouse=True)
def _fresh_connection_budgets() -> None:
    """Each test starts with full per-venue connection budgets (they are process-wide)."""
    from venuegate.md import session

    session._CONNECT_BUCKETS.clear()


@pytest.fixture(scope="session")
def loopback_tls(tmp_path_factory: pytest.TempPathFactory) -> LoopbackTls:
    """One self-signed loopback certificate for the run: files, PEM, server/client contexts."""
    return make_loopback_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def venue_vectors() -> dict[str, Any]:
    return json.loads((VECTORS / "venue_signatures.json").read_text(encoding="utf-8"))


def make_credentials(venue: str, *, ed25519_key: bool = False) -> Credentials:
    """Fresh credentials in `venue`'s own format (hex secrets, base64 secrets, PEM keys)."""
    api_key = secrets.token_hex(20)
    if venue == "binance" and ed25519_key:
        pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
        return Credentials(api_key, pem.decode())
    if venue == "coinbase":
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption()
        )
        name = f"organizations/{secrets.token_hex(4)}/apiKeys/{secrets.token_hex(4)}"
        return Credentials(name, pem.decode(), host="api.coinbase.com")
    if venue in ("kraken", "coinbase-exchange"):
        secret = base64.b64encode(secrets.token_bytes(64)).decode()
    else:
        secret = secrets.token_urlsafe(32)
    passphrase = secrets.token_hex(6) if venue in ("okx", "coinbase-exchange") else None
    host = "api.huobi.pro" if venue == "htx" else None
    return Credentials(api_key, secret, passphrase=passphrase, host=host)
