"""The embedded venue simulator.

Venue-side signature verification (`verify`) and the market-data side (`md`: `MarketSim`,
`SimServer`, `Fault`).
"""

from venuegate.sim.md import Fault, MarketSim, SimServer
from venuegate.sim.verify import Credentials, VerificationError, verify_request

__all__ = [
    "Credentials",
    "Fault",
    "MarketSim",
    "SimServer",
    "VerificationError",
    "verify_request",
]
