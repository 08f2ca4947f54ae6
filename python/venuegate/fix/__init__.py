"""The FIX engine: native codec, session layer, venue dialects and order entry.

- `venuegate.fix.codec`: the native tag=value codec (`parse`, `FixFramer`, `FixEncoder`) and the
  QuickFIX-format data dictionaries (`FixDictionary`; FIX 4.2, 4.4, FIXT 1.1 + FIX 5.0 SP2
  vendored under `SPEC_DIR`).
- `venuegate.fix.session`: the asyncio session layer, initiator and acceptor (`FixInitiator`,
  `FixAcceptor`, `FixSession`, `SessionSettings`, `Application`), with sequence numbers and sent
  messages persisted in the native append-only log (`venuegate.fix.store`). `docs/FIX_SESSION.md`.
- `venuegate.fix.dialects`: Coinbase Exchange (FIXT 1.1), Binance spot (FIX 4.4, Ed25519) and
  Kraken (FIX 4.4) logons and custom tags, and a generic FIX 4.2/4.4 initiator.
  `docs/FIX_VENUES.md`.
- `venuegate.fix.order_entry`: `FixOrderEntry`, the order manager's order entry over a FIX session
  (the same state machine, journal, reconciliation and risk checks as REST / WebSocket).
- `venuegate.fix.probe`: the connectivity probe behind `venuegate fix probe`.

The simulator's FIX gateways (each dialect's acceptor, verifying signed logons and matching
orders, with faults) are in `venuegate.sim.fix`.
"""

from venuegate.fix.codec import (
    SOH,
    SPEC_DIR,
    FixDictionary,
    FixEncoder,
    FixError,
    FixFramer,
    FixMessage,
    FixValidationError,
    encode_message,
    parse,
    parse_utc_timestamp,
    utc_timestamp,
)
from venuegate.fix.session import (
    Application,
    BusinessReject,
    FixAcceptor,
    FixInitiator,
    FixSession,
    NotLoggedOnError,
    RejectLogon,
    SessionReject,
    SessionSchedule,
    SessionSettings,
    SessionState,
    SessionStats,
)

__all__ = [
    "SOH",
    "SPEC_DIR",
    "Application",
    "BusinessReject",
    "FixAcceptor",
    "FixDictionary",
    "FixEncoder",
    "FixError",
    "FixFramer",
    "FixInitiator",
    "FixMessage",
    "FixSession",
    "FixValidationError",
    "NotLoggedOnError",
    "RejectLogon",
    "SessionReject",
    "SessionSchedule",
    "SessionSettings",
    "SessionState",
    "SessionStats",
    "encode_message",
    "parse",
    "parse_utc_timestamp",
    "utc_timestamp",
]
