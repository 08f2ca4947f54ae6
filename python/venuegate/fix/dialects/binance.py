"""Binance spot FIX API (FIX 4.4): order entry and drop copy sessions.

Source: https://developers.binance.com/docs/binance-spot-api-docs/fix-api (mirrored in
github.com/binance/binance-spot-api-docs, `fix-api.md`; QuickFIX schema
`fix/schemas/spot-fix-oe.xml`):

- Endpoints (TLS): order entry `tcp+tls://fix-oe.binance.com:9000`, drop copy
  `tcp+tls://fix-dc.binance.com:9000`, market data `tcp+tls://fix-md.binance.com:9000`; testnet
  `fix-oe.testnet.binance.vision:9000`, `fix-dc.testnet.binance.vision:9000`.
- Ed25519 API keys only. TargetCompID `SPOT` on client messages; SenderCompID must match
  `^[a-zA-Z0-9-_]{1,8}$` and be unique across the account's active sessions.
- Logon: 98=0, HeartBtInt (108) in [5, 60], 95/96 RawData = base64 Ed25519 signature over
  MsgType, SenderCompID, TargetCompID, MsgSeqNum, SendingTime joined by SOH
  (`venuegate.auth.binance.BinanceSigner.fix_logon_raw_data`), ResetSeqNumFlag (141) required
  `Y`, Username (553) = API key, MessageHandling (25035) required: 1 UNORDERED / 2 SEQUENTIAL,
  ResponseMode (25036) optional: 1 EVERYTHING / 2 ONLY_ACKS, DropCopyFlag (9406) `Y` on drop
  copy sessions. The Logon's RecvWindow (25000, a header field) defaults to 5000 ms.
- ResendRequest is not supported by Binance ("Resend requests are currently not supported").
- Order entry: D, F, q, XCN (cancel + new), E (lists), XAK (amend keeping priority), XLQ; no
  G, H or AF.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from venuegate.auth._base import mask
from venuegate.auth.binance import BinanceSigner
from venuegate.errors import ConfigError
from venuegate.fix.dialects._base import Dialect, DialectApplication
from venuegate.fix.session import Application, FixSession, SessionSettings

__all__ = [
    "HOSTS",
    "PORT",
    "TARGET_COMP_ID",
    "BinanceApplication",
    "BinanceFix",
    "MessageHandling",
    "ResponseMode",
    "Tag",
]

TARGET_COMP_ID = "SPOT"
PORT = 9000
HOSTS: dict[tuple[str, str], str] = {
    ("production", "order_entry"): "fix-oe.binance.com",
    ("production", "drop_copy"): "fix-dc.binance.com",
    ("production", "market_data"): "fix-md.binance.com",
    ("testnet", "order_entry"): "fix-oe.testnet.binance.vision",
    ("testnet", "drop_copy"): "fix-dc.testnet.binance.vision",
    ("testnet", "market_data"): "fix-md.testnet.binance.vision",
}
"""(environment, session type) → host, port 9000, TLS."""

COMP_ID_RE = re.compile(r"^[a-zA-Z0-9\-_]{1,8}$")

type Environment = Literal["production", "testnet"]
type SessionType = Literal["order_entry", "drop_copy", "market_data"]


class MessageHandling:
    """MessageHandling (25035) values."""

    UNORDERED = 1
    SEQUENTIAL = 2


class ResponseMode:
    """ResponseMode (25036) values."""

    EVERYTHING = 1
    ONLY_ACKS = 2


class Tag:
    """Binance custom and Logon tags (from spot-fix-oe.xml)."""

    USERNAME = 553
    RAW_DATA_LENGTH = 95
    RAW_DATA = 96
    DROP_COPY_FLAG = 9406
    RECV_WINDOW = 25000
    SELF_TRADE_PREVENTION_MODE = 25001
    ERROR_CODE = 25016
    CUM_QUOTE_QTY = 25017
    ORDER_CREATION_TIME = 25018
    CANCEL_REPLACE_MODE = 25033
    CANCEL_CL_ORD_ID = 25034
    MESSAGE_HANDLING = 25035
    RESPONSE_MODE = 25036
    UUID = 25037


class BinanceApplication(DialectApplication):
    """Adds Binance's Logon fields: 95/96 Ed25519 signature, 553 key, 25035, 25036, 9406."""

    venue = "binance"

    def __init__(
        self,
        signer: BinanceSigner,
        app: Application | None = None,
        *,
        message_handling: int = MessageHandling.SEQUENTIAL,
        response_mode: int | None = None,
        drop_copy: bool = False,
    ) -> None:
        super().__init__(app)
        self._signer = signer
        self.message_handling = message_handling
        self.response_mode = response_mode
        self.drop_copy = drop_copy

    def logon_fields(
        self, session: FixSession, seq_num: int, sending_time: str
    ) -> list[tuple[int, Any]]:
        """95/96 signed over this Logon's header, 141=Y, 553, 25035, then 25036 and 9406."""
        settings = session.settings
        raw = self._signer.fix_logon_raw_data(
            sender_comp_id=settings.sender_comp_id,
            target_comp_id=settings.target_comp_id,
            msg_seq_num=seq_num,
            sending_time=sending_time,
        )
        fields: list[tuple[int, Any]] = [
            (Tag.RAW_DATA_LENGTH, len(raw)),
            (Tag.RAW_DATA, raw),
            (141, "Y"),
            (Tag.USERNAME, self._signer.api_key),
            (Tag.MESSAGE_HANDLING, self.message_handling),
        ]
        if self.response_mode is not None:
            fields.append((Tag.RESPONSE_MODE, self.response_mode))
        if self.drop_copy:
            fields.append((Tag.DROP_COPY_FLAG, "Y"))
        return fields

    def __repr__(self) -> str:
        return f"BinanceApplication(api_key={mask(self._signer.api_key)!r})"


class BinanceFix(Dialect):
    """Binance spot FIX API for one Ed25519 API key.

    Args:
        api_key: the API key (Username 553).
        private_key_pem: its Ed25519 PKCS#8 PEM private key (kept native).
        sender_comp_id: SenderCompID, 1-8 of `[a-zA-Z0-9-_]`, unique per active session.
        environment: `production` or `testnet`.
        session_type: `order_entry`, `drop_copy` or `market_data`.
        message_handling: 25035 (default SEQUENTIAL: orders reach the engine in MsgSeqNum order).
        response_mode: 25036 or None (venue default EVERYTHING).
    """

    venue = "binance"
    extension: ClassVar[str | None] = "binance.xml"

    def __init__(
        self,
        *,
        api_key: str,
        private_key_pem: str,
        sender_comp_id: str,
        environment: Environment = "production",
        session_type: SessionType = "order_entry",
        message_handling: int = MessageHandling.SEQUENTIAL,
        response_mode: int | None = None,
    ) -> None:
        if not COMP_ID_RE.match(sender_comp_id):
            raise ConfigError(
                "Binance SenderCompID must match ^[a-zA-Z0-9-_]{1,8}$", venue="binance"
            )
        if message_handling not in (MessageHandling.UNORDERED, MessageHandling.SEQUENTIAL):
            raise ConfigError("MessageHandling must be 1 (UNORDERED) or 2 (SEQUENTIAL)")
        if response_mode not in (None, ResponseMode.EVERYTHING, ResponseMode.ONLY_ACKS):
            raise ConfigError("ResponseMode must be 1 (EVERYTHING) or 2 (ONLY_ACKS)")
        self._signer = BinanceSigner(api_key=api_key, secret=private_key_pem)
        if self._signer.key_type != "ed25519":
            raise ConfigError("the Binance FIX API takes Ed25519 keys only", venue="binance")
        self.sender_comp_id = sender_comp_id
        self.environment = environment
        self.session_type = session_type
        self.message_handling = message_handling
        self.response_mode = response_mode

    @property
    def api_key(self) -> str:
        """The API key (an identifier, not a secret)."""
        return self._signer.api_key

    def settings(self, **overrides: Any) -> SessionSettings:
        """FIX.4.4, TargetCompID `SPOT`, port 9000 over TLS, 141=Y on every Logon."""
        host = HOSTS[(self.environment, self.session_type)]
        base: dict[str, Any] = {
            "begin_string": "FIX.4.4",
            "sender_comp_id": self.sender_comp_id,
            "target_comp_id": TARGET_COMP_ID,
            "heartbeat_interval_s": 30,
            "reset_on_logon": True,
            "host": host,
            "port": PORT,
            "ssl": True,
            "server_hostname": host,  # Binance requires SNI
            "dictionary": "FIX44.xml",
            "extra_dictionaries": self.extension_dictionaries(),
        }
        settings = self._merge(base, overrides)
        if not 5 <= settings.heartbeat_interval_s <= 60:
            raise ConfigError("Binance HeartBtInt must be within [5, 60] s", venue="binance")
        return settings

    def application(self, app: Application | None = None) -> BinanceApplication:
        """Wraps `app`; drop copy sessions send DropCopyFlag=Y."""
        return BinanceApplication(
            self._signer,
            app,
            message_handling=self.message_handling,
            response_mode=self.response_mode,
            drop_copy=self.session_type == "drop_copy",
        )

    def __repr__(self) -> str:
        return (
            f"BinanceFix(api_key={mask(self.api_key)!r}, sender_comp_id={self.sender_comp_id!r}, "
            f"session_type={self.session_type!r})"
        )
