"""The FIX half of `venuegate demo`: the order manager trading over FIX on the simulator.

For Coinbase Exchange (FIXT 1.1, HMAC-signed RawData), Binance spot (FIX 4.4, Ed25519 RawData)
and Kraken (FIX 4.4, HMAC-SHA512 password + nonce), the simulator's FIX gateway verifies the
signed Logon as the venue does; the order manager then places resting orders and marketable
IOCs, replaces resting ones where the venue has OrderCancelReplaceRequest, queries them where it
has OrderStatusRequest and ends with a mass cancel, with the heavy session-fault profile on
(sequence gaps, duplicates, garbled messages, resend storms, stale heartbeats, dropped
connections, sequence resets). Each venue ends with the engine's orders compared with the
simulated exchange's, order by order.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from venuegate.fix.order_entry import (
    BINANCE,
    COINBASE,
    KRAKEN,
    FixOnlyAdapter,
    FixOrderEntry,
    NoRest,
    OrderDialect,
)
from venuegate.model import OrderState, Side, TimeInForce
from venuegate.oms.engine import OrderManager
from venuegate.sim.fix import FixGatewayHandle, start_fix_gateway
from venuegate.sim.md.book import Instrument
from venuegate.sim.md.market import CATALOG

__all__ = ["DEMO_FIX_VENUES", "fix_demo"]

DEMO_FIX_VENUES: dict[str, OrderDialect] = {
    "coinbase": COINBASE,
    "binance": BINANCE,
    "kraken": KRAKEN,
}
_TERMINAL = {OrderState.FILLED, OrderState.CANCELED, OrderState.EXPIRED, OrderState.REJECTED}


def _adapter(venue: str, uuid_ids: bool) -> FixOnlyAdapter:
    class Adapter(FixOnlyAdapter):
        uuid_client_ids: ClassVar[bool] = uuid_ids

    Adapter.venue = venue
    return Adapter()


async def _eventually(cond: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def _state(om: OrderManager, cid: str) -> OrderState | None:
    t = om.sm.get(cid)
    return None if t is None else t.state


async def _trade(
    om: OrderManager,
    entry: FixOrderEntry,
    handle: FixGatewayHandle,
    dialect: OrderDialect,
    inst: Instrument,
    rounds: int,
    *,
    cancel_all: bool | None = None,
) -> tuple[list[str], int, int, int]:
    """The order flow of one venue; returns (client ids, replaced, filled, agreeing)."""
    size = inst.typical_size / 10
    cids: list[str] = []
    replaced = 0
    for i in range(rounds):
        bid, ask = handle.exchange.touch(inst.symbol)
        rest = await om.place(inst.symbol, Side.BUY, size, bid - inst.tick * (20 + i))
        ioc = await om.place(
            inst.symbol,
            Side.SELL if i % 2 else Side.BUY,
            size,
            (bid - inst.tick * 5) if i % 2 else (ask + inst.tick * 5),
            time_in_force=TimeInForce.IOC,
        )
        cids += [rest.client_order_id, ioc.client_order_id]
        if dialect.supports_replace and i % 2 == 0:
            await om.amend(rest.client_order_id, price=bid - inst.tick * (40 + i))
            replaced += 1
        if dialect.supports_status and i % 3 == 0:
            await om.query(rest.client_order_id)
    if cancel_all is None:  # a FIX-only venue reconciles over FIX: it needs status requests
        cancel_all = dialect.supports_status or dialect.supports_mass_status
    if cancel_all:
        await om.cancel_all(inst.symbol)  # reconciles, then cancels what is open
    else:
        for t in om.sm.open_orders():
            await om.cancel(t.client_order_id)

    def done() -> bool:
        return all(_state(om, c) in _TERMINAL for c in cids)

    await _eventually(done, 15.0)
    agree = 0
    filled = 0
    for cid in cids:
        mine = om.sm.get(cid)
        truth = handle.exchange.find(handle.account, client_order_id=entry.cl_ord_id(cid))
        if mine is not None and mine.state is OrderState.FILLED:
            filled += 1
        if mine is None or mine.state not in _TERMINAL:
            continue
        if truth is None:  # never reached the venue: right only if we say so
            agree += mine.state is OrderState.REJECTED
        elif truth.filled == mine.filled_qty and mine.state is not OrderState.REJECTED:
            agree += 1
    return cids, replaced, filled, agree


async def _one_venue(
    venue: str, dialect: OrderDialect, base: Path, faults: str, rounds: int
) -> dict[str, Any]:
    handle = await start_fix_gateway(venue, seed=11, faults=faults)
    inst = CATALOG.get(venue, CATALOG["binance"])[0]
    entry = FixOrderEntry(
        venue,
        dialect,
        timeout_s=5.0,
        fix_only=True,
        reconcile_on_logon=dialect.supports_status or dialect.supports_mass_status,
    )
    initiator = handle.initiator(entry, reconnect_min_s=0.05, reconnect_max_s=0.5)
    result: dict[str, Any] = {
        "venue": venue,
        "begin_string": initiator.session.settings.begin_string,
    }
    started = time.perf_counter()
    try:
        async with OrderManager.open(
            _adapter(venue, uuid_ids=venue == "coinbase"),
            NoRest(),
            journal_path=base / f"{venue}-fix.journal",
            symbols=[inst.symbol],
            private_stream=False,
            reconcile=False,
            unknown_grace_s=0.05,
        ) as om:
            entry.attach(om)
            await initiator.start()
            try:
                if not await entry.wait_ready(10.0):
                    raise RuntimeError(f"{venue}: FIX logon did not complete")
                result["logon"] = "signed Logon accepted"
                cids, replaced, filled, agree = await _trade(
                    om, entry, handle, dialect, inst, rounds
                )
                result |= _session_figures(initiator, handle, cids, replaced, filled, agree)
            finally:
                await initiator.stop()
                await entry.close()
    finally:
        await handle.stop()
    result["ms"] = round((time.perf_counter() - started) * 1000)
    return result


async def _binance_fix_and_rest(base: Path, faults: str, rounds: int) -> dict[str, Any]:
    """Binance: FIX order entry (the Ed25519-signed Logon) with REST for queries.

    Binance's FIX API has no OrderStatusRequest or mass status, so the order manager sends
    orders over FIX and queries and reconciles over REST, against one simulated exchange (the
    REST simulator and the FIX gateway share it, as the venue's two APIs share one account).
    """
    from venuegate.auth import signer  # noqa: PLC0415 - the demo's REST half only
    from venuegate.net.ratelimit import RateLimiter  # noqa: PLC0415
    from venuegate.net.rest import RestClient, Timeouts  # noqa: PLC0415
    from venuegate.sim.trade.server import TradeSim  # noqa: PLC0415
    from venuegate.venues.base import Endpoints  # noqa: PLC0415
    from venuegate.venues.binance import Adapter as BinanceAdapter  # noqa: PLC0415

    venue = "binance"
    inst = CATALOG[venue][0]
    started = time.perf_counter()
    async with TradeSim([venue], seed=11, profile="none", step_hz=0.0) as sim:
        cred = sim.credentials(venue)
        handle = await start_fix_gateway(
            venue, seed=11, faults=faults, exchange=sim.exchange(venue), account=cred.api_key
        )
        adapter = BinanceAdapter(
            endpoints=Endpoints(
                sim.rest_url(venue), sim.private_ws_url(venue), sim.ws_api_url(venue)
            ),
            signer=signer(venue, api_key=cred.api_key, secret=cred.secret),
        )
        rest = RestClient(
            adapter,
            limiter=RateLimiter(adapter.rate_model),
            timeouts=Timeouts(connect=1.0, read=2.0, total=4.0),
            ssl=False,
        )
        entry = FixOrderEntry(venue, BINANCE, timeout_s=5.0, fix_only=False)
        initiator = handle.initiator(entry, reconnect_min_s=0.05, reconnect_max_s=0.5)
        result: dict[str, Any] = {"venue": venue, "begin_string": "FIX.4.4"}
        try:
            async with (
                rest,
                OrderManager.open(
                    adapter,
                    rest,
                    journal_path=base / f"{venue}-fix.journal",
                    symbols=[inst.symbol],
                    private_stream=False,
                    reconcile=False,
                    ssl=False,
                    unknown_grace_s=0.05,
                ) as om,
            ):
                entry.attach(om)
                await initiator.start()
                try:
                    if not await entry.wait_ready(10.0):
                        raise RuntimeError(f"{venue}: FIX logon did not complete")
                    result["logon"] = "signed Logon accepted (queries over REST)"
                    cids, replaced, filled, agree = await _trade(
                        om, entry, handle, BINANCE, inst, rounds, cancel_all=True
                    )
                    result |= _session_figures(initiator, handle, cids, replaced, filled, agree)
                finally:
                    await initiator.stop()
                    await entry.close()
        finally:
            await handle.stop()
    result["ms"] = round((time.perf_counter() - started) * 1000)
    return result


def _session_figures(
    initiator: Any,
    handle: FixGatewayHandle,
    cids: list[str],
    replaced: int,
    filled: int,
    agree: int,
) -> dict[str, Any]:
    session = initiator.session
    return {
        "orders": len(cids),
        "replaced": replaced,
        "filled": filled,
        "agree": agree,
        "seq_out": session.next_sender_seq - 1,
        "seq_in": session.next_target_seq - 1,
        "resends": session.stats.resend_requests_sent,
        "gap_fills": session.stats.gap_fills_received,
        "reconnects": max(0, session.stats.logons - 1),
        "faults": {str(k): n for k, n in handle.faults.counts.items()},
        "ok": agree == len(cids),
    }


async def fix_demo(
    venues: Sequence[str] = tuple(DEMO_FIX_VENUES),
    *,
    faults: str = "heavy",
    rounds: int = 12,
    workdir: Path | None = None,
) -> int:
    """Trades a few orders over each venue's FIX dialect on the simulator; prints the outcome.

    Returns:
        0 when every venue's orders agree with the simulated exchange, else 1.
    """
    base = workdir or Path(tempfile.mkdtemp(prefix="venuegate-fix-demo-"))
    print(f"\nFIX: the order manager over each venue's FIX dialect ({faults} session faults)")
    # The injected faults log warnings by design (garbled messages ignored, gaps): the summary
    # lines below report them.
    quiet = logging.getLogger("venuegate.fix")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        return await _run_all(venues, base, faults, rounds)
    finally:
        quiet.setLevel(level)


async def _run_all(venues: Sequence[str], base: Path, faults: str, rounds: int) -> int:
    status = 0
    for venue in venues:
        try:
            if venue == "binance":
                r = await _binance_fix_and_rest(base, faults, rounds)
            else:
                r = await _one_venue(venue, DEMO_FIX_VENUES[venue], base, faults, rounds)
        except Exception as exc:  # the demo reports and goes on
            print(f"  {venue:<8} FAILED: {type(exc).__name__}: {exc}")
            status = 1
            continue
        faults_seen = ", ".join(f"{k} {n}" for k, n in sorted(r["faults"].items())) or "none"
        print(
            f"  {venue:<8} {r['begin_string']:<8} {r['logon']}: {r['orders']} orders "
            f"({r['filled']} filled, {r['replaced']} replaced, the rest canceled); "
            f"seq out {r['seq_out']} / in {r['seq_in']}, resend requests {r['resends']}, "
            f"reconnects {r['reconnects']}; faults: {faults_seen}; "
            f"{r['agree']}/{r['orders']} match the exchange {'OK' if r['ok'] else 'FAILED'} "
            f"({r['ms']} ms)"
        )
        if not r["ok"]:
            status = 1
    return status
