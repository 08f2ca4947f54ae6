"""Loopback TLS for tests: one self-signed certificate for `localhost` and 127.0.0.1.

`make_loopback_tls` writes the certificate and its key to a folder and returns them with a
server context that presents them and a client context that trusts them (verification and
host-name checks on). Tests get it through the session-scoped `loopback_tls` fixture in
`tests/conftest.py`, so the key is generated once per run.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["LoopbackTls", "make_loopback_tls"]


@dataclass(frozen=True)
class LoopbackTls:
    """A self-signed loopback certificate: its files, its PEM and ready contexts."""

    cert_path: Path
    key_path: Path
    cert_pem: bytes
    server_ctx: ssl.SSLContext
    """Presents the certificate (for `serve`, `FixAcceptor(ssl=...)`, ...)."""
    client_ctx: ssl.SSLContext
    """Verifies, trusting only this certificate (connect to `localhost` or 127.0.0.1)."""


def make_loopback_tls(directory: Path) -> LoopbackTls:
    """A fresh self-signed certificate (CN localhost; SAN localhost, 127.0.0.1) in `directory`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(pem)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_path, key_path)
    client_ctx = ssl.create_default_context(cafile=str(cert_path))
    return LoopbackTls(cert_path, key_path, pem, server_ctx, client_ctx)
