"""`venuegate chaos`: a random order flow with faults and SIGKILL restarts; ledger vs journal.

The flow runs through the engine against a venue (by default the embedded simulator with a fault
profile), with the engine process SIGKILLed every ~K orders and restarted from its journal; at the
end the simulator's ledger and the engine's journal must agree.

The parent process runs the simulator (so it outlives every crash) and spawns the engine as a
child (`python -m venuegate.oms.chaos worker ...`); credentials reach the child through its
environment, never its command line. After the flow, a last child cancels what is open, settles
every order with the venue and exports the journal; the parent compares:

* lost: a venue order the journal does not know, or knows in another state or fill quantity;
* duplicated: an intent that produced more than one venue order (or a venue order per client id
  more than once);
* mismatched: fills (trade ids) or the net position per symbol differ;
* bans: any 418-style ban the simulator issued.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import logging
import os
import random
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ChaosOptions", "compare", "main", "run_chaos"]

_ENV_KEY = "VENUEGATE_CHAOS_API_KEY"
_ENV_SECRET = "VENUEGATE_CHAOS_API_SECRET"  # noqa: S105 - an environment variable name
_ENV_PASS = "VENUEGATE_CHAOS_PASSPHRASE"  # noqa: S105 - an environment variable name


@dataclass(slots=True)
class ChaosOptions:
    """Options of one chaos run (see `venuegate chaos --help`)."""

    venue: str
    orders: int = 500
    seed: int = 1
    faults: str = "heavy"
    crash_every: int = 100
    ledger: Path | None = None
    journal: Path = Path("chaos.journal")
    rest_url: str | None = None
    ws_url: str | None = None
    ws_api_url: str | None = None
    api_key: str | None = None
    api_secret: str | None = None
    passphrase: str | None = None
    symbol: str | None = None
    price: Decimal | None = None
    tick: Decimal | None = None
    lot: Decimal | None = None
    size: Decimal | None = None
    timeout_s: float = 0.25
    step_hz: float = 50.0
    concurrency: int = 3
    settle_s: float = 60.0
    strategy: str = "random"
    all_symbols: bool = False
    tier: str | None = None
    ws_entry: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


# -- comparison ---------------------------------------------------------------------------------
def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for raw in fh:
            line = raw.strip()
            if line:
                out.append(json.loads(line))
    return out


def ledger_orders(events: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Folds ledger events into each venue order's final state, fills and quantity."""
    orders: dict[str, dict[str, Any]] = {}
    for ev in events:
        cid = str(ev["client_order_id"])
        o = orders.setdefault(
            cid,
            {
                "accepted": 0,
                "venue_order_id": None,
                "qty": Decimal(0),
                "filled": Decimal(0),
                "fills": [],
                "end": None,
                "rejected": False,
                "symbol": ev.get("symbol"),
                "side": ev.get("side"),
                "replaces": None,
            },
        )
        name = ev["event"]
        if name == "accepted":
            o["accepted"] += 1
            o["venue_order_id"] = ev.get("venue_order_id")
            o["qty"] = Decimal(str(ev["qty"]))
            o["replaces"] = ev.get("replaces")
        elif name == "fill":
            o["filled"] += Decimal(str(ev["qty"]))
            o["fills"].append(str(ev["trade_id"]))
        elif name == "amended":
            o["qty"] = Decimal(str(ev["qty"]))
        elif name in ("canceled", "expired"):
            o["end"] = name
        elif name == "rejected":
            o["rejected"] = True
    for o in orders.values():
        if o["accepted"] == 0:
            o["state"] = "rejected"
        elif o["end"] is not None:
            o["state"] = o["end"]
        elif o["filled"] >= o["qty"]:
            o["state"] = "filled"
        elif o["filled"] > 0:
            o["state"] = "partially_filled"
        else:
            o["state"] = "new"
    return orders


def _state_class(state: str) -> str:
    # Venues differ on what an unfilled IOC / FOK / post-only remainder is called: Binance says
    # EXPIRED, OKX says canceled (with a cancelSource), Kraken says canceled or expired. Both are
    # "closed by the venue without a full fill"; the filled quantity and the fill ids, compared
    # exactly beside this, say the rest.
    return "closed" if state in ("canceled", "expired") else state


def compare(  # noqa: PLR0912 - one branch per kind of disagreement
    ledger_path: Path, export_path: Path
) -> dict[str, Any]:
    """Compares the venue's ledger with the engine's journal export."""
    ledger = ledger_orders(_read_jsonl(ledger_path))
    journal = {str(o["client_order_id"]): o for o in _read_jsonl(export_path)}
    lost: list[str] = []
    mismatched: list[str] = []
    duplicated: list[str] = []
    phantom: list[str] = []
    pos_ledger: dict[str, Decimal] = {}
    pos_journal: dict[str, Decimal] = {}
    for cid, lo in ledger.items():
        if lo["accepted"] > 1:
            duplicated.append(cid)
        if lo["accepted"] == 0:
            jo = journal.get(cid)
            if jo is not None and jo["state"] != "rejected":
                mismatched.append(f"{cid}: venue rejected it, journal says {jo['state']}")
            continue
        sign = 1 if lo["side"] == "buy" else -1
        pos_ledger[lo["symbol"]] = pos_ledger.get(lo["symbol"], Decimal(0)) + sign * lo["filled"]
        jo = journal.get(cid)
        if jo is None:
            lost.append(f"{cid}: venue order {lo['venue_order_id']} unknown to the journal")
            continue
        problems = []
        if _state_class(jo["state"]) != _state_class(lo["state"]):
            problems.append(f"state {jo['state']} != venue {lo['state']}")
        if Decimal(jo["filled_qty"]) != lo["filled"]:
            problems.append(f"filled {jo['filled_qty']} != venue {lo['filled']}")
        if sorted(jo.get("fills") or []) != sorted(lo["fills"]):
            problems.append("fill trade ids differ")
        if jo.get("venue_order_id") not in (None, lo["venue_order_id"]):
            problems.append(f"venue id {jo['venue_order_id']} != {lo['venue_order_id']}")
        if jo.get("venue_order_id") is None:
            problems.append("venue order id unknown")
        if problems:
            (lost if jo["state"] == "rejected" else mismatched).append(
                f"{cid}: " + "; ".join(problems)
            )
    for cid, jo in journal.items():
        if cid not in ledger and jo["state"] != "rejected":
            phantom.append(f"{cid}: journal says {jo['state']}, the venue never had it")
        if jo["state"] != "rejected" and cid in ledger and ledger[cid]["accepted"]:
            sym = ledger[cid]["symbol"]
            sign = 1 if ledger[cid]["side"] == "buy" else -1
            pos_journal[sym] = pos_journal.get(sym, Decimal(0)) + sign * Decimal(jo["filled_qty"])
    positions_agree = all(
        pos_ledger.get(s, Decimal(0)) == pos_journal.get(s, Decimal(0))
        for s in set(pos_ledger) | set(pos_journal)
    )
    intents = {jo.get("intent_id") for jo in journal.values() if jo.get("intent_id")}
    return {
        "venue_orders": sum(1 for o in ledger.values() if o["accepted"]),
        "journal_orders": len(journal),
        "intents": len(intents),
        "fills": sum(len(o["fills"]) for o in ledger.values()),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "mismatched": len(mismatched) + len(phantom) + (0 if positions_agree else 1),
        "positions": {s: str(v) for s, v in sorted(pos_ledger.items())},
        "positions_journal": {s: str(v) for s, v in sorted(pos_journal.items())},
        "examples": (lost + duplicated + mismatched + phantom)[:10],
    }


# -- the worker (engine process) ---------------------------------------------------------------
def _adapter(opts: ChaosOptions) -> Any:
    from venuegate.auth import signer
    from venuegate.venues.base import Endpoints

    module = importlib.import_module(f"venuegate.venues.{opts.venue}")
    if opts.rest_url is None or opts.ws_url is None:
        raise ValueError("the worker needs --rest-url and --ws-url")
    key = os.environ.get(_ENV_KEY, "")
    secret = os.environ.get(_ENV_SECRET, "")
    sig = signer(
        opts.venue, api_key=key, secret=secret, passphrase=os.environ.get(_ENV_PASS) or None
    )
    cls = module.Adapter
    if opts.tier is not None:
        if not hasattr(cls, "for_tier"):
            raise ValueError(f"{opts.venue} has no account tiers")
        cls = cls.for_tier(opts.tier)
    return cls(endpoints=Endpoints(opts.rest_url, opts.ws_url, opts.ws_api_url), signer=sig)


async def _worker(opts: ChaosOptions, mode: str, export: Path | None) -> int:
    from venuegate.net.clock import ClockSync
    from venuegate.net.ratelimit import RateLimiter
    from venuegate.net.rest import RestClient, Timeouts
    from venuegate.net.shared_budget import SharedBudget
    from venuegate.oms.engine import OrderManager
    from venuegate.oms.journal import export_orders

    adapter = _adapter(opts)
    with contextlib.suppress(NotImplementedError, RuntimeError):
        # Diagnosis: `kill -USR1 <worker>` prints where every task is waiting.
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, _dump_tasks)
    loopback = urlsplit(opts.rest_url or "").hostname in ("127.0.0.1", "localhost", "::1")
    # The rate budget lives beside the journal, shared with the engine that replaces this one
    # after a SIGKILL: its window counters and any Retry-After / ban carry over, as they do at
    # the venue (a restarted process that forgot them would send into a 429 and earn a ban).
    budget = None if opts.journal is None else SharedBudget(f"{opts.journal}.budget")
    limiter = RateLimiter(adapter.rate_model, store=budget)
    rest_box: list[RestClient] = []

    async def server_ms() -> int:
        call = adapter.server_time()
        if call is None:
            return int(time.time() * 1000)
        return int(adapter.parse_server_time(await rest_box[0].call(call)))

    clock = ClockSync(server_ms, venue=opts.venue, samples=4)
    rest = RestClient(
        adapter,
        limiter=limiter,
        clock_ms=clock.now_ms,
        timeouts=Timeouts(connect=1.0, read=opts.timeout_s, total=max(1.0, opts.timeout_s * 4)),
        ssl=not loopback,
    )
    rest_box.append(rest)
    symbol = opts.symbol or ""
    size = opts.size or (opts.lot or Decimal(1)) * 100
    specs = _specs(opts, size)
    async with rest, contextlib.AsyncExitStack() as stack:
        with contextlib.suppress(Exception):
            await clock.resync()
        entry = await _ws_entry(opts, adapter, rest, limiter, clock, ssl=not loopback)
        if entry is not None:
            stack.push_async_callback(entry.close)
        om = await stack.enter_async_context(
            OrderManager.open(
                adapter,
                rest,
                journal_path=opts.journal,
                symbols=[sp.symbol for sp in specs],
                clock=clock,
                ssl=not loopback,
                order_entry=entry,
            )
        )
        print(f"ready {om.intents} recovered={om.recovery.orders}", flush=True)
        if mode == "settle":
            await _settle(om, opts, [sp.symbol for sp in specs])
            print(f"done {om.intents} ws={_ws_sent(om)}", flush=True)
        elif opts.strategy == "mm":
            await _market_maker(om, opts, symbol, size)
            print(f"done {om.intents} ws={_ws_sent(om)}", flush=True)
        else:
            await _random_flow(om, opts, specs)
            print(f"done {om.intents} ws={_ws_sent(om)}", flush=True)
    st = limiter.stats()
    print(
        "limiter "
        + json.dumps(
            {
                "granted": st["granted"],
                "wait_total_s": round(st["wait_total_s"], 3),
                "rate_limited": st["rate_limited"],
            }
        ),
        flush=True,
    )
    if export is not None:
        export_orders(opts.journal, export)
    return 0


async def _ws_entry(
    opts: ChaosOptions, adapter: Any, rest: Any, limiter: Any, clock: Any, *, ssl: bool
) -> Any:
    """With `--ws-entry`, the venue's WebSocket order entry; None otherwise.

    Started and given a few seconds to connect; the manager uses REST whenever it is not.
    """
    if not opts.ws_entry:
        return None
    from venuegate.oms.ws_entry import WsOrderEntry

    if not hasattr(adapter, "ws_place"):
        raise SystemExit(f"{opts.venue}: no WebSocket order entry (--ws-entry)")
    entry = WsOrderEntry(
        adapter,
        ssl=ssl,
        timeout_s=max(1.0, opts.timeout_s * 4),
        limiter=limiter,
        clock_ms=clock.now_ms,
        rest=rest.call,
    )
    await entry.start()
    await entry.wait_ready(5.0)
    return entry


_FRAMES = ("cr_frame", "gi_frame", "ag_frame")


def _running_async_gen(frame: Any) -> Any:
    """The async generator a frame is driving, or None.

    `async with` on an asynccontextmanager awaits `anext(self.gen)`, a wrapper that does not
    expose its generator.
    """
    for value in frame.f_locals.values():
        for candidate in (value, getattr(value, "gen", None)):
            if getattr(candidate, "ag_running", False):
                return candidate
    return None


def _dump_tasks() -> None:
    """Every pending task's await stack, to stderr (into async generators too)."""
    import io

    buf = io.StringIO()
    for task in asyncio.all_tasks():
        buf.write(f"--- {task.get_name()}\n")
        coro: Any = task.get_coro()
        for _ in range(200):  # the await chain, outermost first
            if coro is None:
                break
            frame = next((f for a in _FRAMES if (f := getattr(coro, a, None)) is not None), None)
            if frame is not None:
                code = frame.f_code
                buf.write(f"    {code.co_filename}:{frame.f_lineno} {code.co_name}\n")
            nxt = (
                getattr(coro, "cr_await", None)
                or getattr(coro, "gi_yieldfrom", None)
                or getattr(coro, "ag_await", None)
            )
            if nxt is not None and frame is not None and not any(hasattr(nxt, a) for a in _FRAMES):
                nxt = _running_async_gen(frame) or nxt
            coro = nxt
    print(buf.getvalue(), file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class _Spec:
    """One instrument the random flow trades."""

    symbol: str
    price: Decimal
    tick: Decimal
    lot: Decimal
    size: Decimal


def _specs(opts: ChaosOptions, size: Decimal) -> list[_Spec]:
    """The instruments: `opts.symbol`, or every simulator instrument with `--all-symbols`."""
    if opts.all_symbols:
        from venuegate.sim.md.market import CATALOG

        return [
            _Spec(i.symbol, i.start_price, i.tick, i.lot, i.typical_size)
            for i in CATALOG[opts.venue]
        ]
    if opts.price is None or opts.tick is None or opts.lot is None:
        raise ValueError("the flow needs price, tick and lot")
    return [_Spec(opts.symbol or "", opts.price, opts.tick, opts.lot, size)]


async def _settle(om: Any, opts: ChaosOptions, symbols: Sequence[str]) -> None:
    """Cancels what is open, settles every order with the venue, prints the JSON summary."""
    for _ in range(5):
        for symbol in symbols:
            await om.cancel_all(symbol)
        await om.settle(opts.settle_s / 5)
        await om.reconcile()
        if not om.sm.open_orders():
            break
        await asyncio.sleep(0.5)
    summary = {
        "open": len(om.sm.open_orders()),
        "alarms": len(om.sm.alarms),
        "alarm_kinds": sorted({str(a.kind) for a in om.sm.alarms}),
        "stats": {k: v for k, v in vars_of(om.stats).items() if not isinstance(v, dict) or v},
    }
    print("settled " + json.dumps(summary), flush=True)


def _random_order(
    rng: random.Random, ref: Decimal, tick: Decimal, lot: Decimal, size: Decimal
) -> tuple[Any, Decimal, Decimal | None, Any, Any]:
    """(side, qty, price, type, time in force) of one random order around `ref`."""
    from venuegate.model import OrderType, Side, TimeInForce

    side = rng.choice((Side.BUY, Side.SELL))
    qty = (size * rng.randint(1, 30) / 10).quantize(lot)
    if qty <= 0:
        qty = lot
    kind = rng.random()
    otype, tif = OrderType.LIMIT, TimeInForce.GTC
    offset = rng.randint(-4, 6)
    px: Decimal | None = (ref + (tick * offset if side is Side.BUY else -tick * offset)).quantize(
        tick
    )
    if kind < 0.05:
        otype, px = OrderType.MARKET, None
    elif kind < 0.15:
        tif = TimeInForce.IOC
    elif kind < 0.20:
        tif = TimeInForce.FOK
    elif kind < 0.30:
        tif = TimeInForce.POST_ONLY
        px = (ref - tick * 3 if side is Side.BUY else ref + tick * 3).quantize(tick)
    return side, qty, px, otype, tif


async def _random_flow(om: Any, opts: ChaosOptions, specs: Sequence[_Spec]) -> None:
    """Places, amends and cancels at random until the journal holds `opts.orders` intents.

    Up to `opts.concurrency` actions run at once; each new order picks one of `specs`.
    """
    from venuegate.model import OrderState

    rng = random.Random(opts.seed * 7919 + om.intents)
    refs = {sp.symbol: sp.price for sp in specs}
    ticks = {sp.symbol: sp.tick for sp in specs}
    sem = asyncio.Semaphore(max(1, opts.concurrency))

    async def one() -> None:
        async with sem:
            live = [
                t
                for t in om.sm.open_orders()
                if t.state in (OrderState.NEW, OrderState.PARTIALLY_FILLED) and t.pending is None
            ]
            r = rng.random()
            if live and r < 0.15:
                await om.cancel(rng.choice(live).client_order_id)
                return
            if live and r < 0.30:
                t = rng.choice(live)
                tick = ticks.get(t.symbol, specs[0].tick)
                new_price = (t.price or refs.get(t.symbol, specs[0].price)) + tick * rng.randint(
                    -3, 3
                )
                if new_price == t.price:
                    new_price += tick
                with contextlib.suppress(ValueError):
                    await om.amend(t.client_order_id, price=new_price)
                return
            sp = rng.choice(specs)
            side, qty, px, otype, tif = _random_order(
                rng, refs[sp.symbol], sp.tick, sp.lot, sp.size
            )
            try:
                t = await om.place(sp.symbol, side, qty, px, type=otype, time_in_force=tif)
            except Exception as exc:  # a venue may lack an order kind: skip it
                print(f"skip {type(exc).__name__}: {exc}", flush=True)
                return
            if t.average_price is not None:
                refs[sp.symbol] = t.average_price.quantize(sp.tick)

    pending: set[asyncio.Task[None]] = set()
    # Orders journaled (and so sent, or in doubt), not intents: an intent the engine refused
    # before journaling it (an order kind the venue lacks) is no order.
    while len(om.sm.orders()) < opts.orders:
        while len(pending) >= max(1, opts.concurrency):
            _done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        pending.add(asyncio.create_task(one()))
        print(f"progress {om.intents} ws={_ws_sent(om)}", flush=True)
    if pending:
        await asyncio.wait(pending)


async def _market_maker(om: Any, opts: ChaosOptions, symbol: str, size: Decimal) -> None:
    """A small two-sided quoter around a reference price that follows our fills.

    One bid and one ask `spread` ticks from the reference; quotes are amended when the reference
    moves and replaced when they fill or end.
    """
    from venuegate.model import OrderState, Side

    if opts.price is None or opts.tick is None or opts.lot is None:
        raise ValueError("the market maker needs price, tick and lot")
    tick, lot = opts.tick, opts.lot
    ref = opts.price
    spread = 2
    qty = (size / 2).quantize(lot) or lot
    quotes: dict[Side, str] = {}
    while om.intents < opts.orders:
        for side in (Side.BUY, Side.SELL):
            px = (ref - tick * spread if side is Side.BUY else ref + tick * spread).quantize(tick)
            cid = quotes.get(side)
            t = om.sm.get(cid) if cid is not None else None
            if t is not None and t.average_price is not None:
                ref = t.average_price.quantize(tick)
            if t is None or t.is_terminal:
                nt = await om.place(symbol, side, qty, px)
                quotes[side] = nt.client_order_id
            elif (
                t.state in (OrderState.NEW, OrderState.PARTIALLY_FILLED)
                and t.pending is None
                and t.price != px
            ):
                with contextlib.suppress(ValueError):
                    nt = await om.amend(t.client_order_id, price=px)
                    quotes[side] = nt.client_order_id
            print(f"progress {om.intents} ws={_ws_sent(om)}", flush=True)
        await asyncio.sleep(0.02)


def _ws_sent(om: Any) -> int:
    """Requests this worker sent over WebSocket order entry (0 without one)."""
    return int(getattr(om.order_entry, "sent", 0))


def vars_of(obj: Any) -> dict[str, Any]:
    """The fields of a slotted dataclass as a dict."""
    return {k: getattr(obj, k) for k in getattr(obj, "__slots__", ())}


# -- the parent ----------------------------------------------------------------------------------
async def run_chaos(  # noqa: PLR0912, PLR0915 - one linear script: set up, loop, settle, compare
    opts: ChaosOptions,
) -> dict[str, Any]:
    """Runs the whole chaos experiment; returns the JSON summary (with `ok`)."""
    from venuegate.sim.md.market import CATALOG
    from venuegate.sim.trade.server import TradeSim

    started = time.monotonic()
    sim: TradeSim | None = None
    env = dict(os.environ)
    if opts.rest_url is None:
        budget = None if opts.journal is None else Path(f"{opts.journal}.budget")
        for p in (opts.journal, opts.ledger, budget):
            if p is not None and p.exists():
                p.unlink()
        sim = TradeSim(
            [opts.venue], seed=opts.seed, profile=opts.faults, ledger=opts.ledger,
            step_hz=opts.step_hz,
            options={opts.venue: {"tier": opts.tier}} if opts.tier else None,
        )  # fmt: skip
        await sim.start()
        opts.rest_url = sim.rest_url(opts.venue)
        opts.ws_url = sim.private_ws_url(opts.venue)
        opts.ws_api_url = sim.ws_api_url(opts.venue)
        cred = sim.credentials(opts.venue)
        env[_ENV_KEY], env[_ENV_SECRET] = cred.api_key, cred.secret
        if cred.passphrase:
            env[_ENV_PASS] = cred.passphrase
        inst = CATALOG[opts.venue][0]
        opts.symbol = opts.symbol or inst.symbol
        opts.price = opts.price or inst.start_price
        opts.tick = opts.tick or inst.tick
        opts.lot = opts.lot or inst.lot
        opts.size = opts.size or inst.typical_size
    else:
        if not (opts.api_key and opts.api_secret and opts.ws_url and opts.symbol and opts.price):
            raise SystemExit(
                "--rest-url needs --ws-url, --api-key, --api-secret, --symbol, --price, "
                "--tick, --lot"
            )
        env[_ENV_KEY], env[_ENV_SECRET] = opts.api_key, opts.api_secret
        if opts.passphrase:
            env[_ENV_PASS] = opts.passphrase
    rng = random.Random(opts.seed)
    restarts = 0
    failures = 0
    progress = 0
    settled: dict[str, Any] = {}
    export = opts.journal.with_suffix(opts.journal.suffix + ".export.jsonl")
    try:
        while True:
            kill_at = (
                progress + max(1, int(opts.crash_every * rng.uniform(0.5, 1.5)))
                if opts.crash_every > 0
                else None
            )
            code, progress, killed, _ = await _run_child(opts, env, "flow", kill_at, progress)
            if killed:
                restarts += 1
                continue
            if code != 0:
                failures += 1
                if failures > 5:
                    raise RuntimeError(f"the engine worker failed {failures} times (exit {code})")
                continue
            break
        code, _, _, settled = await _run_child(opts, env, "settle", None, progress, export)
        if code != 0:
            raise RuntimeError(f"the settle worker failed (exit {code})")
    finally:
        if sim is not None:
            await sim.stop()
    summary: dict[str, Any] = {
        "venue": opts.venue,
        "orders": opts.orders,
        "seed": opts.seed,
        "faults": opts.faults,
        "tier": opts.tier,
        "symbols": "all" if opts.all_symbols else opts.symbol,
        "restarts": restarts,
        "worker_failures": failures,
        "settle": settled,
        "limiter": opts.extra.get("limiter", {}),
        "ws_entry_requests": opts.extra.get("ws_entry_requests", 0) if opts.ws_entry else None,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    ok = settled.get("open", 1) == 0
    if sim is not None and opts.ledger is not None:
        result = compare(opts.ledger, export)
        summary.update(result)
        summary["bans"] = sim.bans()
        summary["simulator"] = sim.summary()[opts.venue]
        ok = ok and result["lost"] == 0 and result["duplicated"] == 0
        ok = ok and result["mismatched"] == 0 and summary["bans"] == 0
    summary["ok"] = ok
    return summary


def _optional_args(opts: ChaosOptions, export: Path | None) -> list[str]:
    args: list[str] = []
    if opts.ws_api_url:
        args += ["--ws-api-url", opts.ws_api_url]
    if opts.all_symbols:
        args.append("--all-symbols")
    if opts.tier:
        args += ["--tier", opts.tier]
    if opts.ws_entry:
        args.append("--ws-entry")
    if export is not None:
        args += ["--export", str(export)]
    return args


def _add_limiter_stats(opts: ChaosOptions, st: Mapping[str, Any]) -> None:
    """Adds one worker's limiter figures to the run's (`opts.extra["limiter"]`)."""
    agg = opts.extra.setdefault("limiter", {"wait_total_s": 0.0, "rate_limited": 0})
    agg["wait_total_s"] = round(agg["wait_total_s"] + st["wait_total_s"], 3)
    agg["rate_limited"] += st["rate_limited"]
    granted = agg.setdefault("granted", {})
    for prio, n in st["granted"].items():
        granted[prio] = granted.get(prio, 0) + n


async def _run_child(
    opts: ChaosOptions,
    env: dict[str, str],
    mode: str,
    kill_at: int | None,
    progress: int,
    export: Path | None = None,
) -> tuple[int, int, bool, dict[str, Any]]:
    args = [
        sys.executable, "-m", "venuegate.oms.chaos", "worker", mode,
        "--venue", opts.venue, "--orders", str(opts.orders), "--seed", str(opts.seed),
        "--journal", str(opts.journal), "--rest-url", opts.rest_url or "",
        "--ws-url", opts.ws_url or "", "--symbol", opts.symbol or "",
        "--price", str(opts.price), "--tick", str(opts.tick), "--lot", str(opts.lot),
        "--size", str(opts.size), "--timeout", str(opts.timeout_s),
        "--concurrency", str(opts.concurrency), "--settle-seconds", str(opts.settle_s),
        "--strategy", opts.strategy,
    ]  # fmt: skip
    args += _optional_args(opts, export)
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, env=env, start_new_session=True
    )
    assert proc.stdout is not None  # noqa: S101 - PIPE was asked for
    killed = False
    settled: dict[str, Any] = {}
    ws_sent = 0
    while True:
        line = await proc.stdout.readline()
        if not line:
            break
        text = line.decode().strip()
        if text.startswith(("progress ", "done ")):
            words = text.split()
            progress = int(words[1])
            for w in words[2:]:
                if w.startswith("ws="):
                    ws_sent = int(w[3:])
            kill = text.startswith("progress ") and kill_at is not None and progress >= kill_at
            if kill and not killed:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                killed = True
        elif text.startswith("settled "):
            settled = json.loads(text[len("settled ") :])
        elif text.startswith("limiter "):
            _add_limiter_stats(opts, json.loads(text[len("limiter ") :]))
        elif text.startswith("ready "):
            pass
        elif text and os.environ.get("VENUEGATE_CHAOS_VERBOSE"):
            print(f"[worker] {text}", file=sys.stderr)
    code = await proc.wait()
    opts.extra["ws_entry_requests"] = opts.extra.get("ws_entry_requests", 0) + ws_sent
    return code, progress, killed, settled


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="venuegate chaos", description=__doc__.split("\n\n")[0])
    add_chaos_arguments(p)
    return p


def add_chaos_arguments(p: argparse.ArgumentParser) -> None:
    """The `venuegate chaos` options."""
    p.add_argument("--venue", required=True)
    p.add_argument("--orders", type=int, default=500)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--faults", default="heavy", help="fault profile: none, light, heavy")
    p.add_argument(
        "--crash-every", type=int, default=100, help="SIGKILL every ~K orders (0: never)"
    )
    p.add_argument("--ledger", type=Path, default=None)
    p.add_argument("--journal", type=Path, default=Path("chaos.journal"))
    p.add_argument("--rest-url")
    p.add_argument("--ws-url")
    p.add_argument("--ws-api-url")
    p.add_argument("--api-key")
    p.add_argument("--api-secret")
    p.add_argument("--passphrase")
    p.add_argument("--symbol")
    p.add_argument("--price", type=Decimal)
    p.add_argument("--tick", type=Decimal)
    p.add_argument("--lot", type=Decimal)
    p.add_argument("--size", type=Decimal)
    p.add_argument("--timeout", type=float, default=0.25, help="REST read timeout, seconds")
    p.add_argument("--concurrency", type=int, default=3)
    p.add_argument("--settle-seconds", type=float, default=60.0)
    p.add_argument(
        "--strategy", choices=("random", "mm"), default="random",
        help="random order flow, or a two-sided market maker",
    )  # fmt: skip
    p.add_argument(
        "--tier", help="the account's tier where the venue has tiers (Kraken: starter, "
        "intermediate, pro); the simulator and the engine both use its limits",
    )  # fmt: skip
    p.add_argument(
        "--all-symbols", action="store_true",
        help="simulator only: the random flow trades every instrument the simulator lists "
        "(per-symbol rate windows, positions and reconciliation exercised at once)",
    )  # fmt: skip
    p.add_argument(
        "--ws-entry", action="store_true",
        help="place, amend and cancel over the venue's WebSocket order entry while it is "
        "connected (Binance WS API, OKX, Kraken v2), REST otherwise; queries stay on REST",
    )  # fmt: skip


def options_from(ns: argparse.Namespace) -> ChaosOptions:
    """`ChaosOptions` from parsed arguments."""
    return ChaosOptions(
        venue=ns.venue,
        orders=ns.orders,
        seed=ns.seed,
        faults=ns.faults,
        crash_every=ns.crash_every,
        ledger=ns.ledger,
        journal=ns.journal,
        rest_url=ns.rest_url,
        ws_url=ns.ws_url,
        ws_api_url=ns.ws_api_url,
        api_key=ns.api_key,
        api_secret=ns.api_secret,
        passphrase=ns.passphrase,
        symbol=ns.symbol,
        price=ns.price,
        tick=ns.tick,
        lot=ns.lot,
        size=ns.size,
        timeout_s=ns.timeout,
        concurrency=ns.concurrency,
        settle_s=ns.settle_seconds,
        strategy=ns.strategy,
        all_symbols=ns.all_symbols,
        tier=ns.tier,
        ws_entry=ns.ws_entry,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m venuegate.oms.chaos` (the worker entry point, and a standalone runner)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["worker"]:
        mode = argv[1]
        p = _parser()
        p.add_argument("--export", type=Path)
        ns = p.parse_args(argv[2:])
        opts = options_from(ns)
        level = os.environ.get("VENUEGATE_CHAOS_LOG")
        if level:  # diagnosis: timestamped engine logs of every worker on stderr
            logging.basicConfig(
                level=level.upper(),
                format=f"%(asctime)s {mode}[{os.getpid()}] %(name)s %(levelname)s %(message)s",
            )
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:  # pragma: no cover - uvloop is a dependency
            runner = asyncio.run
        return runner(_worker(opts, mode, ns.export))
    ns = _parser().parse_args(argv)
    summary = asyncio.run(run_chaos(options_from(ns)))
    print(json.dumps(summary, indent=2, default=str))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
