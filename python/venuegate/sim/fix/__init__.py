"""Simulator FIX gateways: each venue's FIX acceptor on loopback, over the simulated exchange.

Contract (stable; used by the tests, the order path, the probe and the demo):

    handle = await start_fix_gateway(
        "coinbase",                # "coinbase" | "binance" | "kraken" | "generic"
        host="127.0.0.1",
        port=0,                    # 0: an ephemeral port, read it from handle.port
        faults="none",             # a profile name ("none", "light", "heavy") or a FixFaultProfile
        seed=1,                    # credentials, market walk and fault dice are seeded
        exchange=None,             # share a SimExchange (e.g. TradeSim.exchange(venue)); None: own
        credentials=None,          # FixCredentials it accepts (None: fix_credentials(venue, seed))
        step_hz=0.0,               # market steps per second (0: only handle.step() moves it)
        account=None,              # exchange account (None: the FIX key; REST sim key to share)
    )
    # generic venue only: comp_id="VENUE" (the gateway's CompID), require_login=False (accept
    # any Logon, no 553/554: for the probe and interop peers), cancel_on_disconnect=False
    handle.port, handle.host       # where to connect (plain TCP, no TLS)
    handle.credentials             # FixCredentials: key, secret, passphrase, sender/target ids
    handle.dialect()               # the client dialect (CoinbaseFix, BinanceFix, KrakenFix, ...)
    handle.settings(**overrides)   # its SessionSettings pointed at the gateway (ssl=False)
    handle.initiator(app, **overrides)  # a FixInitiator with the signed Logon, ready to start()
    handle.exchange                # the SimExchange (orders, fills, ledger)
    handle.account                 # the exchange account FIX orders trade on
    handle.faults                  # FixFaultDice: .force(FixFault.SEQ_GAP, n) for tests
    handle.step(n)                 # move the market n steps (resting orders may fill)
    handle.gateway.sessions        # live FixSession objects by session id
    await handle.stop()            # closes every session and the listener
    async with await start_fix_gateway("kraken") as handle: ...   # same, stops on exit

Test helpers: `RecordingApp` (a client `Application` that records what it receives and awaits
reports: `await app.report(t11="id", t150="F")`) and `raw_logon(...)` (one hand-built Logon on a
plain socket, to present wrong or stale credentials; returns the gateway's answer).

The gateway verifies the signed Logon exactly as the venue does (wrong signature, unknown key
or stale SendingTime / nonce → Logout with the venue's text) and serves NewOrderSingle (D),
OrderCancelRequest (F), OrderCancelReplaceRequest (G), OrderStatusRequest (H),
OrderMassCancelRequest (q), OrderMassStatusRequest (AF) and Binance's
OrderCancelRequestAndNewOrderSingle (XCN) where the venue supports them (the others get the
venue's reject), answering with ExecutionReport (8), OrderCancelReject (9),
OrderMassCancelReport (r) or BusinessMessageReject (j). Cancel-on-disconnect is honoured as the
venue documents it. See docs/FIX_VENUES.md.
"""

from __future__ import annotations

from venuegate.sim.fix.client import RecordingApp, raw_logon
from venuegate.sim.fix.credentials import FixCredentials, fix_credentials
from venuegate.sim.fix.faults import FIX_PROFILES, FixFault, FixFaultDice, FixFaultProfile
from venuegate.sim.fix.gateway import FixGateway
from venuegate.sim.fix.server import FixGatewayHandle, start_fix_gateway

__all__ = [
    "FIX_PROFILES",
    "FixCredentials",
    "FixFault",
    "FixFaultDice",
    "FixFaultProfile",
    "FixGateway",
    "FixGatewayHandle",
    "RecordingApp",
    "fix_credentials",
    "raw_logon",
    "start_fix_gateway",
]
