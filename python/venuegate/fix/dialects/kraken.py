"""Kraken FIX 4.4 (spot and derivatives trading sessions).

Sources (current Kraken docs):

- Logon: https://docs.kraken.com/api/docs/fix-api/logon-fix and
  https://docs.kraken.com/exchange/api-reference/unified-fix/logon — 98=0, HeartBtInt (108,
  60 recommended), ResetSeqNumFlag (141, default N), UserName (553) = the FIX API key and
  Password (554) on trading sessions, Nonce (5025) = epoch milliseconds, CancelOrdersOnDisconnect
  (8674): `0` cancels all open orders of the session on disconnect (the default), `1` cancels
  none. TargetCompID `KRAKEN-TRD` (trading) / `KRAKEN-MD` (market data, no credentials);
  SenderCompID assigned by Kraken (derivatives ones end in `DRV`).
- Password: https://docs.kraken.com/api/docs/guides/spot-fix-auth — base64(HMAC-SHA512(
  base64-decoded secret, SHA256(`35=A|34=seq|49=sender|56=target|553=key|` + nonce))) with SOH
  after each field (`venuegate.auth.kraken.KrakenSigner.fix_logon_password`).
- Connection: https://docs.kraken.com/exchange/api-reference/unified-fix — production
  `colo-london.vip-fix.kraken.com`, UAT `colo-london.vip-fix.uat.kraken.com`; ports 4001 spot
  trading, 4000 spot market data (L2), 4003 derivatives trading, 4002 derivatives market data;
  TLS 1.3. Daily session rollover at 22:00 UTC (sequence numbers reset).
- Messages (https://docs.kraken.com/exchange/guides/fix/introduction): D, F, G (spot), 8, H, q.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from venuegate.auth._base import mask
from venuegate.auth.kraken import KrakenSigner
from venuegate.fix.dialects._base import Dialect, DialectApplication
from venuegate.fix.session import Application, FixSession, SessionSettings

__all__ = [
    "HOSTS",
    "PORTS",
    "TARGET_MARKET_DATA",
    "TARGET_TRADING",
    "KrakenApplication",
    "KrakenFix",
    "Tag",
]

TARGET_TRADING = "KRAKEN-TRD"
TARGET_MARKET_DATA = "KRAKEN-MD"
HOSTS: dict[str, str] = {
    "production": "colo-london.vip-fix.kraken.com",
    "uat": "colo-london.vip-fix.uat.kraken.com",
}
PORTS: dict[tuple[str, str], int] = {
    ("spot", "trading"): 4001,
    ("spot", "market_data"): 4000,
    ("derivatives", "trading"): 4003,
    ("derivatives", "market_data"): 4002,
}
"""(market, session type) → port."""

type Environment = Literal["production", "uat"]
type Market = Literal["spot", "derivatives"]
type SessionType = Literal["trading", "market_data"]


class Tag:
    """Kraken Logon and custom tags."""

    USERNAME = 553
    PASSWORD = 554
    NONCE = 5025
    CANCEL_ORDERS_ON_DISCONNECT = 8674


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class KrakenApplication(DialectApplication):
    """Adds Kraken's Logon fields: 553 key, 554 HMAC-SHA512 password, 5025 nonce, 8674."""

    venue = "kraken"

    def __init__(
        self,
        signer: KrakenSigner,
        app: Application | None = None,
        *,
        cancel_on_disconnect: bool | None = None,
        clock_ms: Callable[[], int] = _wall_ms,
    ) -> None:
        super().__init__(app)
        self._signer = signer
        self.cancel_on_disconnect = cancel_on_disconnect
        self._clock_ms = clock_ms

    def logon_fields(
        self, session: FixSession, seq_num: int, sending_time: str
    ) -> list[tuple[int, Any]]:
        """553, 554 (signed over MsgSeqNum, comp ids, key and a fresh nonce), 5025, 8674.

        The nonce is strictly increasing per key; 8674 is sent only when configured.
        """
        settings = session.settings
        nonce = self._signer.next_nonce(self._clock_ms())
        password = self._signer.fix_logon_password(
            msg_seq_num=seq_num,
            sender_comp_id=settings.sender_comp_id,
            target_comp_id=settings.target_comp_id,
            nonce=nonce,
        )
        fields: list[tuple[int, Any]] = [
            (Tag.USERNAME, self._signer.api_key),
            (Tag.PASSWORD, password),
            (Tag.NONCE, str(nonce)),
        ]
        if self.cancel_on_disconnect is not None:
            # 0 = cancel all of the session's open orders on disconnect, 1 = cancel none.
            fields.append((Tag.CANCEL_ORDERS_ON_DISCONNECT, 0 if self.cancel_on_disconnect else 1))
        return fields

    def __repr__(self) -> str:
        return f"KrakenApplication(api_key={mask(self._signer.api_key)!r})"


class KrakenFix(Dialect):
    """Kraken FIX 4.4 trading session for one FIX API key.

    Args:
        api_key: the FIX API key (553).
        secret: its base64 secret (kept in a native HMAC key).
        sender_comp_id: the SenderCompID Kraken assigned.
        environment: `production` or `uat`.
        market: `spot` or `derivatives` (picks the port).
        cancel_on_disconnect: 8674 — True sends 0 (cancel the session's orders), False sends 1,
            None omits it (the venue default is to cancel).
    """

    venue = "kraken"
    extension: ClassVar[str | None] = "kraken.xml"

    def __init__(
        self,
        *,
        api_key: str,
        secret: str,
        sender_comp_id: str,
        environment: Environment = "production",
        market: Market = "spot",
        cancel_on_disconnect: bool | None = None,
        clock_ms: Callable[[], int] = _wall_ms,
    ) -> None:
        self._signer = KrakenSigner(api_key=api_key, secret=secret)
        self.sender_comp_id = sender_comp_id
        self.environment = environment
        self.market = market
        self.cancel_on_disconnect = cancel_on_disconnect
        self._clock_ms = clock_ms

    @property
    def api_key(self) -> str:
        """The API key (an identifier, not a secret)."""
        return self._signer.api_key

    def settings(self, **overrides: Any) -> SessionSettings:
        """FIX.4.4, TargetCompID `KRAKEN-TRD`, TLS, HeartBtInt 60 (Kraken's recommendation)."""
        host = HOSTS[self.environment]
        base: dict[str, Any] = {
            "begin_string": "FIX.4.4",
            "sender_comp_id": self.sender_comp_id,
            "target_comp_id": TARGET_TRADING,
            "heartbeat_interval_s": 60,
            "host": host,
            "port": PORTS[(self.market, "trading")],
            "ssl": True,
            "server_hostname": host,
            "dictionary": "FIX44.xml",
            "extra_dictionaries": self.extension_dictionaries(),
        }
        return self._merge(base, overrides)

    def application(self, app: Application | None = None) -> KrakenApplication:
        """Wraps `app` with the signed Logon."""
        return KrakenApplication(
            self._signer,
            app,
            cancel_on_disconnect=self.cancel_on_disconnect,
            clock_ms=self._clock_ms,
        )

    def __repr__(self) -> str:
        return (
            f"KrakenFix(api_key={mask(self.api_key)!r}, sender_comp_id={self.sender_comp_id!r}, "
            f"market={self.market!r})"
        )
