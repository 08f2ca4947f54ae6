"""The simulator's trading side, served by `TradeSim`.

It holds the matching engine (`exchange`), faults, rate limits, and each venue's REST and private
WebSocket API (`<venue>` modules).
"""

from venuegate.sim.trade.exchange import SimExchange
from venuegate.sim.trade.faults import PROFILES, FaultProfile, TradeFault
from venuegate.sim.trade.server import TradeSim, sim_credentials

__all__ = ["PROFILES", "FaultProfile", "SimExchange", "TradeFault", "TradeSim", "sim_credentials"]
