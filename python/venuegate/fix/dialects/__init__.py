"""Venue FIX dialects: session settings and signed Logons (Coinbase, Binance, Kraken, generic).

See docs/FIX_VENUES.md.

    dialect = CoinbaseFix(api_key=..., secret=..., passphrase=..., environment="sandbox")
    initiator = dialect.initiator(my_app)          # FixInitiator with the signed Logon
    await initiator.start()
"""

from __future__ import annotations

from venuegate.fix.dialects._base import SPEC_DIR, Dialect, DialectApplication
from venuegate.fix.dialects.binance import BinanceApplication, BinanceFix
from venuegate.fix.dialects.coinbase import CoinbaseApplication, CoinbaseFix
from venuegate.fix.dialects.generic import GenericApplication, GenericFix
from venuegate.fix.dialects.kraken import KrakenApplication, KrakenFix

__all__ = [
    "SPEC_DIR",
    "BinanceApplication",
    "BinanceFix",
    "CoinbaseApplication",
    "CoinbaseFix",
    "Dialect",
    "DialectApplication",
    "GenericApplication",
    "GenericFix",
    "KrakenApplication",
    "KrakenFix",
]
