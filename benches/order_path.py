"""Order submit path latency: venuegate's `OrderManager.place` against ccxt's `create_order`, the
same resting Binance limit order, in one run against one simulator.

    python benches/order_path.py [--orders 2000] [--round 50] [--json out.json]
        [--update benches/RESULTS.md]

The simulator (`TradeSim`, Binance format, fault profile "none", no market steps) runs in a child
process on uvloop, so the timed loop shares its event loop with nothing but the client under
test; both clients run in this process on uvloop, over keep-alive connections to loopback.

Timed, per order, with `time.perf_counter_ns`:

* venuegate "submit": `await om.place(...)` of a resting BUY limit 1 % under the bid, from the
  call to its return with the parsed ACK applied (pre-trade risk with every limit on, journal
  write in the default "none" fsync mode, client id, signing, rate limiter, the HTTP round trip,
  response check and parsing, the NEW transition journaled). The private stream is off, so the
  loop handles nothing else while an order is in flight (like ccxt's).
* ccxt "submit": `await exchange.create_order("BTC/USDT", "limit", "buy", amount, price)` with
  markets loaded beforehand and `enableRateLimit: False`, to its parsed order.
* "pre-send" (no network): the same two calls with the transport stubbed to answer at once with
  a recorded simulator ACK: the time from the call to the moment the signed request would be
  written (venuegate: risk + Order + client id + journal + build + rate limiter + sign; ccxt:
  market lookup + precision + params + sign), and the whole call without the network
  ("no-network total": pre-send + parsing + state transition).
* "sign only": venuegate's signer on the call's params against ccxt's `sign()` for the endpoint.

The two clients' rounds (`--round` orders each) alternate, and every round's open orders are
canceled in one batch after it (not timed), so open-order counts stay small. Rate limits: the
simulator enforces Binance's ORDERS 50 / 10 s; for the benchmark only, the simulator's Binance
API gets windows of 10^12 and the engine a `RateLimiter` built from a copy of Binance's model
with every limit at 10^12 (the limiter still runs its accounting on every order).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

SYMBOL = "BTCUSDT"
CCXT_SYMBOL = "BTC/USDT"
QTY = Decimal("0.00100")
PROD = "https://api.binance.com"
HUGE = 1e12


# -- the simulator (child process) ------------------------------------------------------------
async def _serve() -> None:
    from venuegate.sim.trade import TradeSim
    from venuegate.sim.trade.limits import SimLimits, SimWindow

    async with TradeSim(["binance"], seed=1, profile="none", step_hz=0) as sim:
        api = sim.apis["binance"]
        # Benchmark only: Binance's windows (ORDERS 50 / 10 s ...) raised to 10^12, no bans.
        api.limits = SimLimits(
            [SimWindow(w.name, HUGE, w.period_s) for w in api.limits.windows.values()]
        )
        cred = sim.credentials("binance")
        bid, ask = sim.exchange("binance").touch(SYMBOL)
        info = {
            "rest_url": sim.rest_url("binance"),
            "private_ws_url": sim.private_ws_url("binance"),
            "ws_api_url": sim.ws_api_url("binance"),
            "api_key": cred.api_key,
            "secret": cred.secret,
            "bid": str(bid),
            "ask": str(ask),
        }
        print(json.dumps(info), flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes stdin


def start_sim() -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Starts the simulator child process; returns it and its URLs, credentials and touch."""
    proc = subprocess.Popen(  # noqa: S603 - this script, with this interpreter
        [sys.executable, str(Path(__file__).resolve()), "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(10)
        raise RuntimeError("the simulator did not start")
    return proc, json.loads(line)


def stop_sim(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.close()
    proc.wait(30)
    proc.stdout.close()


async def record_ack(rest: Any, ad: Any, price: Decimal) -> Any:
    """One real ACK from the simulator for the benchmark's order (then canceled), its client
    id removed so that each stubbed order's own id is used: the no-network runs' answer."""
    from venuegate.model import Order, OrderType, Side
    from venuegate.venues.base import HttpResponse

    rec = Order(
        venue="binance",
        symbol=SYMBOL,
        client_order_id="bench-canned-1",
        side=Side.BUY,
        type=OrderType.LIMIT,
        quantity=QTY,
        price=price,
    )
    resp = await rest.call(ad.place(rec))
    await rest.call(ad.cancel(rec))
    ack = json.loads(resp.body)
    ack.pop("clientOrderId", None)
    return HttpResponse(resp.status, resp.headers, json.dumps(ack, separators=(",", ":")).encode())


# -- statistics ---------------------------------------------------------------------------------
def _pct(sorted_ns: list[int], p: float) -> float:
    """Nearest-rank percentile, in µs."""
    k = max(0, min(len(sorted_ns) - 1, math.ceil(p / 100 * len(sorted_ns)) - 1))
    return sorted_ns[k] / 1000


def stats(samples: list[int]) -> dict[str, float]:
    s = sorted(samples)
    return {
        "n": len(s),
        "median": _pct(s, 50),
        "p90": _pct(s, 90),
        "p99": _pct(s, 99),
        "max": s[-1] / 1000,
    }


# -- the clients ----------------------------------------------------------------------------------
def _risk(bid: Decimal, ask: Decimal) -> Any:
    from venuegate.risk import PreTradeRisk, RiskLimits

    limits = RiskLimits.model_validate(
        {
            "default": {
                "max_order_qty": "1",
                "max_order_notional": "100000",
                "max_position": "10",
                "price_band_bps": "300",
            },
            "max_gross_exposure": "1000000",
            "max_open_orders": 200,
            "max_open_orders_per_symbol": 100,
            # The risk layer's own order-rate window (a ring of timestamps), raised so that the
            # benchmark's back-to-back orders pass it; its cost does not depend on the number.
            "max_orders_per_second": 100_000,
        }
    )
    touch = (bid, ask)  # a live book's touch in production; the simulator's market is still
    return PreTradeRisk(limits, marks=lambda _venue, _symbol: touch)


def _limiter() -> Any:
    from venuegate.net.ratelimit import RateLimiter
    from venuegate.venues.binance import RATE_MODEL

    windows = tuple(dataclasses.replace(w, limit=HUGE) for w in RATE_MODEL.windows)
    return RateLimiter(dataclasses.replace(RATE_MODEL, windows=windows))


def _rest_classes() -> tuple[type, type]:
    from venuegate.net.rest import RestClient
    from venuegate.venues.base import HttpCall, HttpResponse, Op

    class TimedRest(RestClient):
        """The engine's RestClient, noting when the signed request is ready (one clock read)."""

        t_presend = 0

        def _prepare(self, call: HttpCall) -> tuple[str, str, dict[str, str], bytes | None]:
            out = super()._prepare(call)
            self.t_presend = time.perf_counter_ns()
            return out

    class StubRest(TimedRest):
        """Answers PLACE at once with a recorded ACK (limiter and signing still run)."""

        canned: HttpResponse | None = None

        async def send(self, call: HttpCall) -> HttpResponse:
            if call.op is Op.PLACE and self.canned is not None:
                if self.limiter is not None:
                    await self.limiter.acquire(call.cost)
                self._prepare(call)
                return self.canned
            return await super().send(call)

    return TimedRest, StubRest


def _ccxt(info: dict[str, str]) -> Any:
    import ccxt.async_support as ccxt_async

    ex = ccxt_async.binance(
        {
            "apiKey": info["api_key"],
            "secret": info["secret"],
            "enableRateLimit": False,
            "options": {
                "defaultType": "spot",
                "fetchMarkets": {"types": ["spot"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
            },
        }
    )
    api = ex.urls["api"]
    for key, url in list(api.items()):
        if isinstance(url, str) and url.startswith(PROD):
            api[key] = info["rest_url"] + url[len(PROD) :]
    return ex


class _TimedFetch:
    """Wraps ccxt's `fetch` (called after building and signing) to note when it is entered;
    with `canned` set it answers at once, as ccxt's fetch would, with the parsed JSON."""

    def __init__(self, ex: Any, canned: bytes | None = None) -> None:
        self.inner = ex.fetch
        self.canned = canned
        self.t_presend = 0
        ex.fetch = self

    async def __call__(self, url: str, method: str = "GET", headers: Any = None, body: Any = None):
        self.t_presend = time.perf_counter_ns()
        if self.canned is not None:
            return json.loads(self.canned)
        return await self.inner(url, method, headers, body)


async def run(orders: int, round_size: int, warmup_rounds: int) -> dict[str, Any]:  # noqa: PLR0915
    from venuegate.auth import signer
    from venuegate.model import OrderState, Side
    from venuegate.net.clock import ClockSync
    from venuegate.net.rest import Timeouts
    from venuegate.oms.engine import OrderManager
    from venuegate.oms.types import ReportKind, VenueReport
    from venuegate.venues import binance
    from venuegate.venues.base import Endpoints

    proc, info = start_sim()
    bid, ask = Decimal(info["bid"]), Decimal(info["ask"])
    price = (bid * Decimal("0.99")).quantize(Decimal("0.01"))
    TimedRest, StubRest = _rest_classes()
    tmp = Path(tempfile.mkdtemp(prefix="order-bench-"))
    out: dict[str, Any] = {}

    def adapter() -> Any:
        return binance.Adapter(
            endpoints=Endpoints(info["rest_url"], info["private_ws_url"], info["ws_api_url"]),
            signer=signer("binance", api_key=info["api_key"], secret=info["secret"]),
        )

    def rest_for(cls: type, ad: Any, clock: ClockSync | None) -> Any:
        return cls(
            ad,
            limiter=_limiter(),
            clock_ms=clock.now_ms if clock is not None else None,
            timeouts=Timeouts(connect=1.0, read=2.0, total=5.0),
            ssl=False,
        )

    ad = adapter()
    probe = rest_for(TimedRest, ad, None)

    async def server_ms() -> int:
        call = ad.server_time()
        assert call is not None
        return int(ad.parse_server_time(await probe.call(call)))

    clock = ClockSync(server_ms, samples=3)
    rest = rest_for(TimedRest, ad, clock)
    ex = _ccxt(info)
    try:
        async with probe, rest:
            await clock.resync()
            # One ACK recorded for the no-network runs (its client id removed: each stubbed
            # order's own id is used), then canceled.
            canned = await record_ack(rest, ad, price)
            canned_body = canned.body

            await ex.load_markets()
            ex_fetch = _TimedFetch(ex)
            ex_stub = _ccxt(info)
            await ex_stub.load_markets()
            stub_fetch = _TimedFetch(ex_stub, canned_body)

            ad_stub = adapter()
            stub = rest_for(StubRest, ad_stub, clock)
            stub.canned = canned
            async with (
                stub,
                OrderManager.open(
                    ad,
                    rest,
                    journal_path=tmp / "submit.journal",
                    symbols=[SYMBOL],
                    risk=_risk(bid, ask),
                    clock=clock,
                    private_stream=False,
                    ssl=False,
                ) as om,
                OrderManager.open(
                    ad_stub,
                    stub,
                    journal_path=tmp / "stub.journal",
                    symbols=[SYMBOL],
                    risk=_risk(bid, ask),
                    clock=clock,
                    private_stream=False,
                    reconcile=False,
                    ssl=False,
                ) as om_stub,
            ):
                series: dict[str, list[int]] = {
                    k: []
                    for k in (
                        "vg_submit",
                        "vg_submit_presend",
                        "ccxt_submit",
                        "ccxt_submit_presend",
                        "vg_presend",
                        "vg_nonet",
                        "ccxt_presend",
                        "ccxt_nonet",
                    )
                }

                async def vg_round(n: int, keep: bool) -> None:
                    for _ in range(n):
                        t0 = time.perf_counter_ns()
                        t = await om.place(SYMBOL, Side.BUY, QTY, price)
                        t3 = time.perf_counter_ns()
                        t1 = rest.t_presend
                        if t.state is not OrderState.NEW:
                            raise RuntimeError(f"venuegate order {t.client_order_id}: {t.state}")
                        if keep:
                            series["vg_submit"].append(t3 - t0)
                            series["vg_submit_presend"].append(t1 - t0)
                    await om.cancel_all(SYMBOL)

                async def ccxt_round(n: int, keep: bool) -> None:
                    amount, px = float(QTY), float(price)
                    for _ in range(n):
                        t0 = time.perf_counter_ns()
                        o = await ex.create_order(CCXT_SYMBOL, "limit", "buy", amount, px)
                        t3 = time.perf_counter_ns()
                        t1 = ex_fetch.t_presend
                        if o["status"] != "open":
                            raise RuntimeError(f"ccxt order {o['id']}: {o['status']}")
                        if keep:
                            series["ccxt_submit"].append(t3 - t0)
                            series["ccxt_submit_presend"].append(t1 - t0)
                    await ex.cancel_all_orders(CCXT_SYMBOL)

                async def vg_stub_round(n: int, keep: bool) -> None:
                    placed = []
                    for _ in range(n):
                        t0 = time.perf_counter_ns()
                        t = await om_stub.place(SYMBOL, Side.BUY, QTY, price)
                        t3 = time.perf_counter_ns()
                        if t.state is not OrderState.NEW:
                            raise RuntimeError(f"stubbed order {t.client_order_id}: {t.state}")
                        placed.append(t)
                        if keep:
                            series["vg_nonet"].append(t3 - t0)
                            series["vg_presend"].append(stub.t_presend - t0)
                    # Not timed: the venue "cancels" them (keeps risk counts and the book small).
                    om_stub.apply_reports(
                        [
                            VenueReport(
                                venue="binance",
                                client_order_id=t.client_order_id,
                                kind=ReportKind.CANCELED,
                                venue_order_id=t.venue_order_id,
                                state=OrderState.CANCELED,
                            )
                            for t in placed
                        ]
                    )

                async def ccxt_stub_round(n: int, keep: bool) -> None:
                    amount, px = float(QTY), float(price)
                    for _ in range(n):
                        t0 = time.perf_counter_ns()
                        o = await ex_stub.create_order(CCXT_SYMBOL, "limit", "buy", amount, px)
                        t3 = time.perf_counter_ns()
                        if o["status"] != "open":
                            raise RuntimeError(f"ccxt stubbed order: {o['status']}")
                        if keep:
                            series["ccxt_nonet"].append(t3 - t0)
                            series["ccxt_presend"].append(stub_fetch.t_presend - t0)

                rounds: list[Callable[[int, bool], Awaitable[None]]] = [
                    vg_round,
                    ccxt_round,
                    vg_stub_round,
                    ccxt_stub_round,
                ]
                total_rounds = warmup_rounds + -(-orders // round_size)
                for r in range(total_rounds):
                    keep = r >= warmup_rounds
                    n = round_size
                    if keep:
                        n = min(round_size, orders - len(series["vg_submit"]))
                    # Alternate who goes first, so drifts in machine load hit both.
                    order = rounds if r % 2 == 0 else [rounds[1], rounds[0], rounds[3], rounds[2]]
                    for fn in order:
                        await fn(n, keep)
                if om.sm.open_orders():
                    raise RuntimeError("venuegate orders left open")
                placed_vg = om.stats.placed
                unknown = om.stats.unknown + om_stub.stats.unknown
            # ccxt's sign() arguments for this order, as its create_order passes them.
            captured: list[tuple[Any, ...]] = []
            real_sign = ex_stub.sign
            ex_stub.sign = lambda *a: captured.append(a) or real_sign(*a)
            await ex_stub.create_order(CCXT_SYMBOL, "limit", "buy", float(QTY), float(price))
            ex_stub.sign = real_sign
            out["sign"] = _sign_only(ad, ex_stub, price, captured[0])
    finally:
        await ex.close()
        if "ex_stub" in locals():
            await ex_stub.close()
        stop_sim(proc)
    out["series"] = {k: stats(v) for k, v in series.items() if v}
    out["meta"] = {
        "orders": orders,
        "round": round_size,
        "warmup_rounds": warmup_rounds,
        "venuegate_placed": placed_vg,
        "unknown": unknown,
        "price": str(price),
        "bid": str(bid),
        "quantity": str(QTY),
        "python": platform.python_version(),
        "cpu": _cpu(),
        "ccxt": __import__("ccxt").__version__,
        "uvloop": _has_uvloop(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    return out


def _sign_only(
    ad: Any, ex: Any, price: Decimal, ccxt_args: tuple[Any, ...], n: int = 20_000
) -> dict[str, dict[str, float]]:
    """Signing alone: venuegate's signer on the place call vs ccxt's `sign()` with the arguments
    ccxt's own `create_order` passed it for the same order (captured from one call)."""
    from venuegate.model import Order, OrderType, Side

    order = Order(
        venue="binance",
        symbol=SYMBOL,
        client_order_id="x-sign-1",
        side=Side.BUY,
        type=OrderType.LIMIT,
        quantity=QTY,
        price=price,
    )
    call = ad.place(order)
    s = ad.signer
    path, api, method, params = ccxt_args[:4]
    vg, cc = [], []
    pc = time.perf_counter_ns
    for _ in range(n):
        t0 = pc()
        s.sign(call.method, call.path, params=call.params, body=None, timestamp_ms=None)
        t1 = pc()
        ex.sign(path, api, method, dict(params))
        t2 = pc()
        vg.append(t1 - t0)
        cc.append(t2 - t1)
    return {"vg_sign": stats(vg[n // 10 :]), "ccxt_sign": stats(cc[n // 10 :])}


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def _loop_run(coro: Awaitable[Any]) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    return uvloop.run(coro)  # type: ignore[arg-type]


ROWS = [
    ("submit (sim round trip)", "vg_submit", "ccxt_submit"),
    ("… of which pre-send", "vg_submit_presend", "ccxt_submit_presend"),
    ("pre-send, no network", "vg_presend", "ccxt_presend"),
    ("no-network total", "vg_nonet", "ccxt_nonet"),
    ("sign only", "vg_sign", "ccxt_sign"),
]


def table(res: dict[str, Any]) -> str:
    s = {**res["series"], **res["sign"]}
    m = res["meta"]
    lines = [
        f"{m['orders']} orders per client in rounds of {m['round']} (after {m['warmup_rounds']} "
        f"warm-up rounds), Binance-format simulator in its own process, loopback keep-alive, "
        f"uvloop {'on' if m['uvloop'] else 'off'}; {m['cpu']}, Python {m['python']}, "
        f"ccxt {m['ccxt']}, {m['when']}. Rate limits raised to 10^12 in the simulator and the "
        "engine's limiter for this benchmark only. µs:",
        "",
        "| path | client | median | p90 | p99 | max |",
        "|---|---|---|---|---|---|",
    ]
    for label, vg, cc in ROWS:
        a, b = s[vg], s[cc]
        lines.append(
            f"| {label} | venuegate | {a['median']:.1f} | {a['p90']:.1f} | {a['p99']:.1f} | "
            f"{a['max']:.0f} |"
        )
        lines.append(
            f"| {label} | ccxt | {b['median']:.1f} | {b['p90']:.1f} | {b['p99']:.1f} | "
            f"{b['max']:.0f} |"
        )
        lines.append(
            f"| {label} | ccxt / venuegate | {b['median'] / a['median']:.1f}x | "
            f"{b['p90'] / a['p90']:.1f}x | {b['p99'] / a['p99']:.1f}x | "
            f"{b['max'] / a['max']:.1f}x |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=2000, help="timed orders per client")
    parser.add_argument("--round", type=int, default=50, help="orders per round between cancels")
    parser.add_argument("--warmup-rounds", type=int, default=4)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    parser.add_argument("--update", type=Path, help="RESULTS.md: rewrite the orders table")
    args = parser.parse_args()
    if args.serve:
        _loop_run(_serve())
        return 0
    res = _loop_run(run(args.orders, args.round, args.warmup_rounds))
    text = table(res)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    if args.update:
        sys.path.insert(0, str(Path(__file__).parent))
        from report import replace_between

        replace_between(args.update, "orders", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
