"""Test credentials the simulator FIX gateways accept (deterministic per seed; never real keys)."""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field
from typing import NoReturn

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from venuegate.auth._base import mask

__all__ = ["FixCredentials", "fix_credentials"]

VENUES = ("coinbase", "binance", "kraken", "generic")


@dataclass(frozen=True, slots=True)
class FixCredentials:
    """What a FIX client of the simulator needs; `repr` masks the key and hides every secret.

    Attributes:
        venue: the venue.
        api_key: the API key (Coinbase: also the SenderCompID).
        secret: Coinbase / Kraken: the base64 HMAC secret; Binance: the Ed25519 PEM private key;
            generic: the Logon password (may be empty: no password).
        passphrase: Coinbase only.
        sender_comp_id: the client's SenderCompID.
        target_comp_id: the gateway's CompID (the client's TargetCompID).
    """

    venue: str
    api_key: str
    secret: str = field(repr=False)
    passphrase: str | None = field(default=None, repr=False)
    sender_comp_id: str = ""
    target_comp_id: str = ""

    def __repr__(self) -> str:
        return (
            f"FixCredentials(venue={self.venue!r}, api_key={mask(self.api_key)!r}, "
            f"sender_comp_id={self.sender_comp_id!r}, target_comp_id={self.target_comp_id!r})"
        )

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("FixCredentials hold secrets and cannot be pickled")

    def ed25519_public_key(self) -> bytes:
        """Binance: the raw public key of `secret` (what the venue stores for the API key)."""
        key = serialization.load_pem_private_key(self.secret.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise TypeError("not an Ed25519 key")
        return key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )


def fix_credentials(
    venue: str, seed: int = 1, *, sender_comp_id: str | None = None
) -> FixCredentials:
    """The simulator's FIX credentials for `venue` (deterministic per seed and venue).

    Raises:
        ValueError: an unknown venue.
    """
    rng = random.Random(f"fix:{venue}:{seed}")

    def hexs(n: int) -> str:
        return "".join(rng.choice("0123456789abcdef") for _ in range(n))

    if venue == "coinbase":
        key = "vgsim" + hexs(27)
        return FixCredentials(
            venue,
            api_key=key,
            secret=base64.b64encode(rng.randbytes(64)).decode(),
            passphrase="vgsim-" + hexs(10),
            sender_comp_id=key,
            target_comp_id="Coinbase",
        )
    if venue == "binance":
        pem = (
            Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode()
        )
        return FixCredentials(
            venue,
            api_key="vgsim" + hexs(59),
            secret=pem,
            sender_comp_id=sender_comp_id or "VGSIM1",
            target_comp_id="SPOT",
        )
    if venue == "kraken":
        return FixCredentials(
            venue,
            api_key="vgsim" + hexs(51),
            secret=base64.b64encode(rng.randbytes(64)).decode(),
            sender_comp_id=sender_comp_id or "VGSIM",
            target_comp_id="KRAKEN-TRD",
        )
    if venue == "generic":
        return FixCredentials(
            venue,
            api_key="vgsim-user",
            secret="vgsim-" + hexs(12),
            sender_comp_id=sender_comp_id or "CLIENT",
            target_comp_id="VENUE",
        )
    raise ValueError(f"no FIX gateway for venue {venue!r} (have {', '.join(VENUES)})")
