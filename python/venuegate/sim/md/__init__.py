"""Market-data side of the embedded venue simulator.

`MarketSim` (pure, deterministic books and venue ids), the sans-I/O venue sessions in
`venues`, `SimServer` (loopback WebSocket + REST servers) and `Fault` (fault injection). The
simulator computes its books and checksums with plain Python and `zlib`, never with the
engine's code, so the two can check each other.
"""

from venuegate.sim.md.book import Instrument, L2Book, RandomWalk
from venuegate.sim.md.checksums import bitfinex_checksum, kraken_checksum, okx_checksum
from venuegate.sim.md.faults import Fault
from venuegate.sim.md.market import CATALOG, VENUES, MarketSim, Update
from venuegate.sim.md.server import SimServer

__all__ = [
    "CATALOG",
    "VENUES",
    "Fault",
    "Instrument",
    "L2Book",
    "MarketSim",
    "RandomWalk",
    "SimServer",
    "Update",
    "bitfinex_checksum",
    "kraken_checksum",
    "okx_checksum",
]
