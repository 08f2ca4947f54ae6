"""Kraken spot's trading API in the simulator: REST and the WS v2 `executions` channel.

REST is served at `/0/public/*` and `/0/private/*`, the authenticated WebSocket at `/v2`.

Wire formats follow the Kraken docs (see `venuegate.venues.kraken` for the URLs): REST answers
are `{"error": [...], "result": {...}}` with HTTP 200 for venue errors; private calls are
form-encoded with a strictly increasing `nonce` and signed with `API-Key` / `API-Sign`
(`venuegate.sim.verify`). Order ids are Kraken-shaped (`OXXXXX-XXXXX-XXXXXX`), made reversibly
from the exchange's numeric ids; trade ids likewise (`T...`), with the numeric id as `trade_id`.

WS v2 numbers are JSON numbers written from the exact decimal text (never through float).

WS order entry (`add_order`, `amend_order`, `cancel_order` with the token in `params`) is
served on the same `/v2` endpoint, before or after an `executions` subscription, with the REST
handlers' checks, trading-counter charges and faults (see `Api._ws_order`).

What is not modelled: margin, conditional orders (stop / take-profit / trailing), `userref`,
AddOrderBatch / EditOrder, iceberg `displayvol`, `deadline`, balances, and WS `batch_add` /
`cancel_all` / `cancel_all_orders_after`. Duplicate `cl_ord_id`s are refused for any earlier
order of the account (the exchange core's rule); Kraken refuses them only among open orders.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from aiohttp import web

from venuegate.sim.trade.exchange import ExecEvent, RejectReason, SimFill, SimOrder, SimReject
from venuegate.sim.trade.faults import TradeFault
from venuegate.sim.trade.limits import SimLimits, SimWindow
from venuegate.sim.trade.server import VenueApi, VenueContext
from venuegate.sim.verify import StaleTimestampError, VerificationError

# The verification tiers' counters, transcribed here from Kraken's rate-limit guides (not
# imported from the engine's adapter: the simulator must not share the engine's mistakes):
# tier -> (API counter max, decay /s, per-pair trading counter threshold, decay /s).
TIERS: Mapping[str, tuple[float, float, float, float]] = {
    "starter": (15.0, 0.33, 60.0, 1.0),
    "intermediate": (20.0, 0.5, 125.0, 2.34),
    "pro": (20.0, 1.0, 180.0, 3.75),
}

__all__ = ["Api", "from_txid", "txid"]

_REST_ASSET = {"BTC": "XBT", "DOGE": "XDG"}

REJECT_CODES: Mapping[RejectReason, str] = {
    RejectReason.DUPLICATE_CLIENT_ID: "EOrder:Duplicate order",
    RejectReason.UNKNOWN_SYMBOL: "EQuery:Unknown asset pair",
    RejectReason.BAD_QUANTITY: "EGeneral:Invalid arguments:volume",
    RejectReason.BAD_PRICE: "EOrder:Tick size check failed",
    RejectReason.POST_ONLY_WOULD_TAKE: "EOrder:Post only order",
    RejectReason.UNKNOWN_ORDER: "EOrder:Unknown order",
    RejectReason.ORDER_CLOSED: "EOrder:Unknown order",
    RejectReason.BAD_AMEND: "EGeneral:Invalid arguments:order_qty",
    RejectReason.MAINTENANCE: "EService:Market in cancel_only mode",
}
"""Exchange reject reason → Kraken error string."""


def txid(prefix: str, numeric: str) -> str:
    """A Kraken-shaped id (`O00000-00100-000001`) for a numeric exchange id."""
    s = numeric.zfill(16)
    return f"{prefix}{s[:5]}-{s[5:10]}-{s[10:]}"


def from_txid(value: str) -> str | None:
    """The numeric exchange id of a Kraken-shaped id, or None."""
    digits = value[1:].replace("-", "")
    if len(value) != 19 or not digits.isdigit():
        return None
    return str(int(digits))


def _num(d: Decimal) -> str:
    return format(d, "f")


def _dumps(obj: object) -> str:
    """JSON with Decimals written as JSON numbers, digit for digit."""
    if isinstance(obj, Decimal):
        return _num(obj)
    if isinstance(obj, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_dumps(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ",".join(_dumps(v) for v in obj) + "]"
    return json.dumps(obj)


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def _seconds(ms: int) -> Decimal:
    return Decimal(ms) / 1000


def _ok(
    result: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    body = json.dumps({"error": [], "result": result}, default=_num, separators=(",", ":"))
    return web.Response(
        status=status, text=body, content_type="application/json", headers=headers or {}
    )


def _err(code: str, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps({"error": [code]}),
        content_type="application/json",
        headers=headers or {},
    )


class _Fail(Exception):
    def __init__(self, response: web.Response) -> None:
        super().__init__("kraken sim refusal")
        self.response = response


class _WsRefused(Exception):
    """A WS order-entry refusal before anything changed (answered with `error`)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class Api(VenueApi):
    """Kraken spot REST + WS v2 executions over a `SimExchange`."""

    venue: ClassVar[str] = "kraken"
    private_ws_path: ClassVar[str] = "/v2"
    ws_api_path: ClassVar[str | None] = "/v2"  # WS order entry: the same authenticated endpoint

    # Intermediate tier by default (https://docs.kraken.com/api/docs/guides/spot-rest-ratelimits
    # and .../spot-ratelimits): API counter 20, -0.5/s; per-pair trading counter 125, -2.34/s.
    # The `tier` option picks starter / intermediate / pro (`venuegate.venues.kraken.TIERS`).
    API_LIMIT = 20.0
    API_DECAY = 0.5
    TRADING_LIMIT = 125.0
    TRADING_DECAY = 2.34

    def __init__(self, ctx: VenueContext) -> None:
        tier = str(ctx.options.get("tier", "intermediate"))
        if tier not in TIERS:
            raise ValueError(f"unknown Kraken tier {tier!r}")
        self.API_LIMIT, self.API_DECAY, self.TRADING_LIMIT, self.TRADING_DECAY = TIERS[tier]
        super().__init__(ctx)
        # The ledger speaks Kraken's ids, as the client sees them.
        self.ex.public_id = lambda kind, value: txid("O" if kind == "order" else "T", value)
        self._last_nonce: dict[str, int] = {}
        self._tokens: dict[str, str] = {}
        self._dead_man: dict[str, asyncio.TimerHandle] = {}
        self._ws_tasks: set[asyncio.Task[None]] = set()  # WS order-entry answers on their way
        self._trading = SimLimits(
            [
                SimWindow(
                    "TRADING",
                    self.TRADING_LIMIT,
                    self.TRADING_LIMIT / self.TRADING_DECAY,
                    kind="decay",
                    per_key=True,
                )
            ]
        )

    @property
    def trading(self) -> SimLimits:
        """The per-pair trading counter (key `<account>:<symbol>`), shared by REST and WS."""
        return self._trading

    def make_limits(self) -> SimLimits:
        """The REST API call counter (per key; one key per simulated account)."""
        return SimLimits(
            [SimWindow("API_COUNTER", self.API_LIMIT, self.API_LIMIT / self.API_DECAY, "decay")]
        )

    def install(self, app: web.Application) -> None:
        """Kraken's REST paths and the WS v2 private endpoint."""
        public: tuple[tuple[str, Callable[[web.Request], Awaitable[web.Response]]], ...] = (
            ("Time", self.time),
            ("SystemStatus", self.system_status),
            ("AssetPairs", self.asset_pairs),
            ("Assets", self.assets),
        )
        for name, handler in public:
            app.router.add_get(f"/0/public/{name}", handler)
            app.router.add_post(f"/0/public/{name}", handler)
        for name, private in (
            ("AddOrder", self.add_order),
            ("CancelOrder", self.cancel_order),
            ("CancelAll", self.cancel_all),
            ("CancelAllOrdersAfter", self.cancel_all_after),
            ("AmendOrder", self.amend_order),
            ("QueryOrders", self.query_orders),
            ("OpenOrders", self.open_orders),
            ("ClosedOrders", self.closed_orders),
            ("TradesHistory", self.trades_history),
            ("GetWebSocketsToken", self.ws_token),
        ):
            app.router.add_post(f"/0/private/{name}", self._wrap(private))
        app.router.add_get(self.private_ws_path, self.private_ws)
        app.on_shutdown.append(self._shutdown)

    async def _shutdown(self, app: web.Application) -> None:
        for task in list(self._ws_tasks):
            task.cancel()

    # -- public ---------------------------------------------------------------------------
    def _pair_rows(self) -> dict[str, dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for inst in self.ex.instruments.values():
            base, quote = inst.symbol.split("/")
            b, q = _REST_ASSET.get(base, base), _REST_ASSET.get(quote, quote)
            pid = f"X{b}Z{q}" if len(b) == 3 and len(q) == 3 else b + q
            rows[pid] = {
                "altname": b + q,
                "wsname": inst.symbol,
                "aclass_base": "currency",
                "base": f"X{b}" if len(b) == 3 else b,
                "aclass_quote": "currency",
                "quote": f"Z{q}" if len(q) == 3 else q,
                "lot": "unit",
                "cost_decimals": 5,
                "pair_decimals": inst.price_precision,
                "lot_decimals": inst.qty_precision,
                "lot_multiplier": 1,
                "leverage_buy": [],
                "leverage_sell": [],
                "fees": [[0, 0.2]],
                "fees_maker": [[0, 0.1]],
                "fee_volume_currency": "ZUSD",
                "margin_call": 80,
                "margin_stop": 40,
                "ordermin": _num(inst.lot),
                "costmin": "0.5",
                "tick_size": _num(inst.tick),
                "status": "online",
            }
        return rows

    def _symbol_of(self, pair: str) -> str | None:
        if pair in self.ex.instruments:
            return pair
        for pid, row in self._pair_rows().items():
            if pair in (pid, row["altname"]):
                return str(row["wsname"])
        return None

    def _altname(self, symbol: str) -> str:
        base, quote = symbol.split("/")
        return _REST_ASSET.get(base, base) + _REST_ASSET.get(quote, quote)

    def _public_charge(self) -> web.Response | None:
        return None  # public calls are limited per IP, not modelled

    async def time(self, request: web.Request) -> web.Response:
        """GET /0/public/Time."""
        now = self.ctx.now_ms()
        rfc1123 = datetime.fromtimestamp(now / 1000, UTC).strftime("%a, %d %b %y %H:%M:%S +0000")
        return _ok({"unixtime": now // 1000, "rfc1123": rfc1123})

    async def system_status(self, request: web.Request) -> web.Response:
        """GET /0/public/SystemStatus (`maintenance` while a maintenance window lasts)."""
        status = "maintenance" if self.ctx.maintenance() else "online"
        stamp = datetime.fromtimestamp(self.ctx.now_ms() / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return _ok({"status": status, "timestamp": stamp})

    async def asset_pairs(self, request: web.Request) -> web.Response:
        """GET /0/public/AssetPairs (optionally `pair=` comma list)."""
        rows = self._pair_rows()
        wanted = request.query.get("pair")
        if wanted:
            names = set(wanted.split(","))
            rows = {
                k: v
                for k, v in rows.items()
                if k in names or v["altname"] in names or v["wsname"] in names
            }
            if not rows:
                return _err("EQuery:Unknown asset pair")
        return _ok(rows)

    async def assets(self, request: web.Request) -> web.Response:
        """GET /0/public/Assets."""
        out: dict[str, Any] = {}
        for row in self._pair_rows().values():
            for key in ("base", "quote"):
                aid = str(row[key])
                alt = aid[1:] if len(aid) == 4 and aid[0] in "XZ" else aid
                out[aid] = {
                    "aclass": "currency",
                    "altname": alt,
                    "decimals": 10 if key == "base" else 4,
                    "display_decimals": 5 if key == "base" else 2,
                    "status": "enabled",
                }
        return _ok(out)

    # -- private plumbing -------------------------------------------------------------------
    def _wrap(self, handler: Any) -> Any:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                account, params = await self._auth(request)
                resp: web.StreamResponse = await handler(request, account, params)
                return resp
            except _Fail as fail:
                return fail.response

        return wrapped

    async def _auth(self, request: web.Request) -> tuple[str, dict[str, str]]:
        if self.ctx.faults.roll(TradeFault.RATE_429):
            self.limits.limit_for(2.0)
            raise _Fail(_err("EAPI:Rate limit exceeded", 429, {"Retry-After": "2"}))
        try:
            cred = await self.ctx.verify(request)
        except StaleTimestampError:
            raise _Fail(_err("EAPI:Invalid nonce")) from None
        except VerificationError as exc:
            text = str(exc)
            code = text.split(": ", 1)[1] if ": " in text else "EAPI:Invalid signature"
            if not code.startswith("E"):
                code = "EAPI:Invalid signature"
            raise _Fail(_err(code)) from None
        except KeyError:
            raise _Fail(_err("EAPI:Invalid key")) from None
        body = await request.read()
        if body.lstrip().startswith(b"{"):
            params = {k: str(v) for k, v in json.loads(body).items()}
        else:
            params = dict(parse_qsl(body.decode() if body else request.query_string))
        nonce = int(params.get("nonce", "0"))
        if nonce <= self._last_nonce.get(cred.api_key, 0):
            raise _Fail(_err("EAPI:Invalid nonce"))
        self._last_nonce[cred.api_key] = nonce
        name = request.path.rsplit("/", 1)[-1]
        if name not in ("AddOrder", "CancelOrder", "AmendOrder"):
            cost = 2.0 if name in ("TradesHistory", "ClosedOrders", "QueryTrades") else 1.0
            verdict = self.limits.charge({"API_COUNTER": cost}, cred.api_key)
            if not verdict.ok:
                retry = max(1, round(verdict.retry_after))
                raise _Fail(_err("EAPI:Rate limit exceeded", 429, {"Retry-After": str(retry)}))
        return cred.api_key, params

    def _trading_refusal(self, account: str, symbol: str, cost: float) -> str | None:
        """Charges the per-pair trading counter (REST and WS alike); the refusal, or None."""
        verdict = self._trading.charge({"TRADING": cost}, f"{account}:{symbol}")
        return None if verdict.ok else "EOrder:Rate limit exceeded"

    def _charge_trading(self, account: str, symbol: str, cost: float) -> None:
        code = self._trading_refusal(account, symbol, cost)
        if code is not None:
            raise _Fail(_err(code))

    def _before_refusal(self, *, new_risk: bool) -> str | None:
        """Faults before processing (REST and WS alike): the refusal, or None."""
        self.ctx.roll_skew()
        if self.ctx.faults.roll(TradeFault.REST_5XX_BEFORE):
            self.ctx.count("5xx_before")
            return "EService:Unavailable"
        if self.ctx.maintenance() and new_risk:
            return REJECT_CODES[RejectReason.MAINTENANCE]
        return None

    def _before_change(self, *, new_risk: bool) -> None:
        code = self._before_refusal(new_risk=new_risk)
        if code is not None:
            raise _Fail(_err(code, 503 if code == "EService:Unavailable" else 200))

    async def _after(self, request: web.Request, response: web.Response) -> web.Response:
        outcome = await self.ctx.after_accept(request)
        if outcome == "5xx":
            return _err("EService:Deadline elapsed", 500)
        return response

    def _find(self, account: str, params: Mapping[str, str]) -> SimOrder | None:
        if params.get("txid"):
            numeric = from_txid(params["txid"])
            if numeric is None:
                return None
            return self.ex.find(account, venue_order_id=numeric)
        if params.get("cl_ord_id"):
            return self.ex.find(account, client_order_id=params["cl_ord_id"])
        return None

    @staticmethod
    def _valid_cl_ord_id(value: str) -> bool:
        if len(value) == 36 and value.count("-") == 4:
            return all(c in "0123456789abcdefABCDEF-" for c in value)
        if len(value) == 32 and all(c in "0123456789abcdefABCDEF" for c in value):
            return True
        return 0 < len(value) <= 18 and value.isascii() and value.isprintable()

    # -- order entry --------------------------------------------------------------------------
    async def add_order(  # noqa: PLR0911 - one return per refusal
        self, request: web.Request, account: str, p: dict[str, str]
    ) -> web.StreamResponse:
        """POST /0/private/AddOrder."""
        symbol = self._symbol_of(p.get("pair", ""))
        if symbol is None:
            return _err("EQuery:Unknown asset pair")
        self._charge_trading(account, symbol, 1)
        self._before_change(new_risk=True)
        ordertype = p.get("ordertype", "")
        side = p.get("type", "")
        if ordertype not in ("limit", "market") or side not in ("buy", "sell"):
            return _err("EGeneral:Invalid arguments:ordertype")
        cl = p.get("cl_ord_id") or f"sim-{time.time_ns()}"
        if "cl_ord_id" in p and not self._valid_cl_ord_id(p["cl_ord_id"]):
            return _err("EGeneral:Invalid arguments:cl_ord_id")
        try:
            volume = Decimal(p.get("volume", ""))
            price = Decimal(p["price"]) if ordertype == "limit" and "price" in p else None
        except ArithmeticError:
            return _err("EGeneral:Invalid arguments:volume")
        tif = p.get("timeinforce", "GTC").upper()
        if tif not in ("GTC", "IOC", "GTD"):
            return _err("EGeneral:Invalid arguments:timeinforce")
        flags = set(filter(None, p.get("oflags", "").split(",")))
        expire_ms = None
        if tif == "GTD":
            exp = p.get("expiretm", "")
            if not exp:
                return _err("EGeneral:Invalid arguments:expiretm")
            expire_ms = (
                self.ctx.now_ms() + int(exp[1:]) * 1000 if exp.startswith("+") else int(exp) * 1000
            )
        try:
            order, _ = self.ex.place(
                account,
                symbol=symbol,
                side="buy" if side == "buy" else "sell",
                type="limit" if ordertype == "limit" else "market",
                quantity=volume,
                client_order_id=cl,
                price=price,
                tif="ioc" if tif == "IOC" else "gtd" if tif == "GTD" else "gtc",
                post_only="post" in flags,
                expire_at_ms=expire_ms,
            )
        except SimReject as rej:
            return _err(REJECT_CODES[rej.reason])
        descr = f"{side} {_num(volume)} {self._altname(symbol)} @ {ordertype}"
        if price is not None:
            descr += f" {_num(price)}"
        return await self._after(
            request, _ok({"descr": {"order": descr}, "txid": [txid("O", order.venue_order_id)]})
        )

    async def cancel_order(
        self, request: web.Request, account: str, p: dict[str, str]
    ) -> web.StreamResponse:
        """POST /0/private/CancelOrder (`txid` or `cl_ord_id`)."""
        self._before_change(new_risk=False)
        order = self._find(account, p)
        if order is None:
            return _err("EOrder:Unknown order")
        self._charge_trading(account, order.symbol, 8 if self._young(order) else 1)
        try:
            self.ex.cancel(account, venue_order_id=order.venue_order_id)
        except SimReject as rej:
            return _err(REJECT_CODES[rej.reason])
        return await self._after(request, _ok({"count": 1}))

    def _young(self, order: SimOrder) -> bool:
        return self.ctx.now_ms() - order.updated_ms < 5000

    async def cancel_all(
        self, request: web.Request, account: str, p: dict[str, str]
    ) -> web.StreamResponse:
        """POST /0/private/CancelAll."""
        self._before_change(new_risk=False)
        n = len(self.ex.cancel_all(account))
        return await self._after(request, _ok({"count": n}))

    async def cancel_all_after(
        self, request: web.Request, account: str, p: dict[str, str]
    ) -> web.StreamResponse:
        """POST /0/private/CancelAllOrdersAfter (`timeout` seconds; 0 disarms)."""
        self._before_change(new_risk=False)
        try:
            timeout = int(p.get("timeout", ""))
        except ValueError:
            return _err("EGeneral:Invalid arguments:timeout")
        if timeout < 0 or timeout > 86400:
            return _err("EGeneral:Invalid arguments:timeout")
        old = self._dead_man.pop(account, None)
        if old is not None:
            old.cancel()
        now = self.ctx.now_ms()
        trigger = "0"
        if timeout > 0:
            loop = asyncio.get_running_loop()
            self._dead_man[account] = loop.call_later(timeout, self._fire_dead_man, account)
            trigger = datetime.fromtimestamp(now / 1000 + timeout, UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
        current = datetime.fromtimestamp(now / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return await self._after(request, _ok({"currentTime": current, "triggerTime": trigger}))

    def _fire_dead_man(self, account: str) -> None:
        self._dead_man.pop(account, None)
        self.ctx.count("dead_man_fired")
        self.ex.cancel_all(account)

    async def amend_order(
        self, request: web.Request, account: str, p: dict[str, str]
    ) -> web.StreamResponse:
        """POST /0/private/AmendOrder (`txid` or `cl_ord_id`; `order_qty`, `limit_price`)."""
        order = self._find(account, p)
        if order is None:
            self._before_change(new_risk=True)
            return _err("EOrder:Unknown order")
        self._charge_trading(account, order.symbol, 4 if self._young(order) else 1)
        self._before_change(new_risk=True)
        try:
            qty = Decimal(p["order_qty"]) if p.get("order_qty") else None
            price = Decimal(p["limit_price"]) if p.get("limit_price") else None
        except ArithmeticError:
            return _err("EGeneral:Invalid arguments:order_qty")
        if qty is None and price is None:
            return _err("EGeneral:Invalid arguments")
        try:
            self.ex.amend(account, venue_order_id=order.venue_order_id, quantity=qty, price=price)
        except SimReject as rej:
            return _err(REJECT_CODES[rej.reason])
        amend_id = txid("T", str(10**15 + time.time_ns() % 10**15))
        return await self._after(request, _ok({"amend_id": amend_id}))

    # -- queries ------------------------------------------------------------------------------
    def _order_info(self, o: SimOrder, trades: bool) -> dict[str, Any]:
        status = {
            "new": "open",
            "partially_filled": "open",
            "filled": "closed",
            "canceled": "canceled",
            "expired": "expired",
            "rejected": "canceled",
        }[o.status]
        alt = self._altname(o.symbol)
        price = o.price if o.price is not None else Decimal(0)
        text = f"{o.side} {_num(o.quantity)} {alt} @ {o.type}"
        if o.price is not None:
            text += f" {_num(o.price)}"
        fee = sum((f.fee for f in o.fills), Decimal(0))
        info: dict[str, Any] = {
            "refid": None,
            "userref": None,
            "cl_ord_id": o.client_order_id,
            "status": status,
            "opentm": _seconds(o.created_ms),
            "starttm": 0,
            "expiretm": _seconds(o.expire_at_ms) if o.expire_at_ms else 0,
            "descr": {
                "pair": alt,
                "type": o.side,
                "ordertype": o.type,
                "price": _num(price),
                "price2": "0",
                "leverage": "none",
                "order": text,
                "close": "",
            },
            "vol": _num(o.quantity),
            "vol_exec": _num(o.filled),
            "cost": _num(o.notional),
            "fee": _num(fee),
            "price": _num(o.average_price or Decimal(0)),
            "stopprice": "0.00000",
            "limitprice": "0.00000",
            "misc": "",
            "oflags": "fciq,post" if o.post_only else "fciq",
            "timeinforce": o.tif.upper(),
        }
        if not o.is_open:
            info["closetm"] = _seconds(o.updated_ms)
            info["reason"] = None if o.status == "filled" else "User requested"
        if trades and o.fills:
            info["trades"] = [txid("T", f.trade_id) for f in o.fills]
        return info

    async def query_orders(
        self, request: web.Request, account: str, p: dict[str, str]
    ) -> web.StreamResponse:
        """POST /0/private/QueryOrders (`txid` comma list, required)."""
        ids = [t for t in p.get("txid", "").split(",") if t]
        if not ids:
            return _err("EGeneral:Invalid arguments:txid")
        trades = p.get("trades", "").lower() == "true"
        out: dict[str, Any] = {}
        for t in ids[:50]:
            numeric = from_txid(t)
            o = self.ex.find(account, venue_order_id=numeric) if numeric else None
            if o is not None:
                out[t] = self._order_info(o, trades)
        if not out:
            return _err("EOrder:Invalid order")
        return _ok(out)

    async def open_orders(
        self, request: web.Request, account: str, p: dict[str, str]
    ) -> web.StreamResponse:
        """POST /0/private/OpenOrders (optional `cl_ord_id` filter)."""
        trades = p.get("trades", "").lower() == "true"
        cl = p.get("cl_ord_id")
        rows = {
            txid("O", o.venue_order_id): self._order_info(o, trades)
            for o in self.ex.open_orders(account)
            if cl is None or o.client_order_id == cl
        }
        return _ok({"open": rows})

    async def closed_orders(
        self, request: web.Request, account: str, p: dict[str, str]
    ) -> web.StreamResponse:
        """POST /0/private/ClosedOrders (optional `cl_ord_id`, `start` seconds exclusive)."""
        trades = p.get("trades", "").lower() == "true"
        cl = p.get("cl_ord_id")
        start_ms = int(Decimal(p.get("start", "0")) * 1000)
        closed = [
            o
            for o in self.ex.orders(account)
            if not o.is_open and (cl is None or o.client_order_id == cl) and o.updated_ms > start_ms
        ]
        closed.sort(key=lambda o: o.updated_ms, reverse=True)
        rows = {txid("O", o.venue_order_id): self._order_info(o, trades) for o in closed[:50]}
        return _ok({"closed": rows, "count": len(closed)})

    def _trade_row(self, f: SimFill, o: SimOrder | None) -> dict[str, Any]:
        base, quote = f.symbol.split("/")
        b, q = _REST_ASSET.get(base, base), _REST_ASSET.get(quote, quote)
        pid = f"X{b}Z{q}" if len(b) == 3 and len(q) == 3 else b + q
        return {
            "ordertxid": txid("O", f.venue_order_id),
            "postxid": "TKH2SE-M7IF5-CFI7LT",
            "pair": pid,
            "time": _seconds(f.ts_ms),
            "type": f.side,
            "ordertype": o.type if o is not None else "limit",
            "price": _num(f.price),
            "cost": _num(f.qty * f.price),
            "fee": _num(f.fee),
            "vol": _num(f.qty),
            "margin": "0.00000",
            "leverage": "0",
            "misc": "",
            "trade_id": int(f.trade_id),
            "maker": f.liquidity == "maker",
        }

    async def trades_history(
        self, request: web.Request, account: str, p: dict[str, str]
    ) -> web.StreamResponse:
        """POST /0/private/TradesHistory (`start` exclusive / `end` inclusive, seconds)."""
        start_ms = int(Decimal(p.get("start", "0")) * 1000)
        end_ms = int(Decimal(p["end"]) * 1000) if p.get("end") else None
        fills = [
            f
            for f in self.ex.trades(account)
            if f.ts_ms > start_ms and (end_ms is None or f.ts_ms <= end_ms)
        ]
        fills.sort(key=lambda f: int(f.trade_id), reverse=True)
        ofs = int(p.get("ofs", "0") or 0)
        page = fills[ofs : ofs + 50]
        rows = {
            txid("T", f.trade_id): self._trade_row(
                f, self.ex.find(account, venue_order_id=f.venue_order_id)
            )
            for f in page
        }
        return _ok({"trades": rows, "count": len(fills)})

    async def ws_token(
        self, request: web.Request, account: str, p: dict[str, str]
    ) -> web.StreamResponse:
        """POST /0/private/GetWebSocketsToken."""
        raw = hashlib.sha256(f"{account}:{time.time_ns()}".encode()).digest()
        token = base64.b64encode(raw).decode().rstrip("=")
        self._tokens[token] = account
        return _ok({"token": token, "expires": 900})

    # -- private WebSocket ------------------------------------------------------------------
    def _exec_item(self, ev: ExecEvent) -> list[dict[str, Any]]:
        o = ev.order
        ts = _rfc3339(o.updated_ms)
        base: dict[str, Any] = {
            "order_id": txid("O", o.venue_order_id),
            "cl_ord_id": o.client_order_id,
            "symbol": o.symbol,
            "side": o.side,
            "order_type": o.type,
            "order_userref": 0,
            "timestamp": ts,
        }
        status_of = {
            "new": "new",
            "partially_filled": "partially_filled",
            "filled": "filled",
            "canceled": "canceled",
            "expired": "expired",
            "rejected": "canceled",
        }
        if ev.name == "new":
            new = {
                **base,
                "order_qty": o.quantity,
                "time_in_force": o.tif.upper(),
                "post_only": o.post_only,
                "cum_qty": Decimal(0),
                "cum_cost": Decimal(0),
                "fee_usd_equiv": Decimal(0),
                "fee_ccy_pref": "fciq",
            }
            if o.price is not None:
                new["limit_price"] = o.price
                new["limit_price_type"] = "static"
            pending = {**new, "exec_type": "pending_new", "order_status": "pending_new"}
            live = {**new, "exec_type": "new", "order_status": "new"}
            return [pending, live]
        if ev.name == "fill" and ev.fill is not None:
            f = ev.fill
            quote = o.symbol.split("/")[1]
            trade = {
                **base,
                "exec_id": txid("T", f.trade_id),
                "exec_type": "trade",
                "trade_id": int(f.trade_id),
                "last_qty": f.qty,
                "last_price": f.price,
                "liquidity_ind": "m" if f.liquidity == "maker" else "t",
                "cost": f.qty * f.price,
                "order_status": "partially_filled",
                "cum_qty": o.filled,
                "cum_cost": o.notional,
                "avg_price": o.average_price or Decimal(0),
                "fee_usd_equiv": f.fee,
                "fees": [{"asset": quote, "qty": f.fee}],
                "timestamp": _rfc3339(f.ts_ms),
            }
            out = [trade]
            if o.status == "filled":
                out.append(
                    {
                        **base,
                        "exec_id": txid("E", f.trade_id),
                        "exec_type": "filled",
                        "order_status": "filled",
                        "cum_qty": o.filled,
                        "cum_cost": o.notional,
                        "avg_price": o.average_price or Decimal(0),
                        "fee_usd_equiv": sum((x.fee for x in o.fills), Decimal(0)),
                    }
                )
            return out
        if ev.name in ("canceled", "expired"):
            reason = "User requested" if o.tif in ("gtc", "gtd") else "Out of liquidity"
            if ev.name == "expired" and o.post_only:
                reason = "Post only order"
            return [
                {
                    **base,
                    "exec_type": ev.name,
                    "order_status": status_of[o.status],
                    "cum_qty": o.filled,
                    "cum_cost": o.notional,
                    "avg_price": o.average_price or Decimal(0),
                    "reason": reason,
                }
            ]
        if ev.name == "amended":
            item = {
                **base,
                "exec_type": "amended",
                "order_status": status_of[o.status],
                "order_qty": o.quantity,
                "cum_qty": o.filled,
                "amended": True,
                "reason": "User requested",
            }
            if o.price is not None:
                item["limit_price"] = o.price
            return [item]
        return []

    def _snapshot_item(self, o: SimOrder) -> dict[str, Any]:
        item: dict[str, Any] = {
            "order_id": txid("O", o.venue_order_id),
            "cl_ord_id": o.client_order_id,
            "symbol": o.symbol,
            "side": o.side,
            "order_type": o.type,
            "order_qty": o.quantity,
            "order_status": "partially_filled" if o.filled else "new",
            "time_in_force": o.tif.upper(),
            "cum_qty": o.filled,
            "cum_cost": o.notional,
            "order_userref": 0,
            "timestamp": _rfc3339(o.updated_ms),
        }
        if o.price is not None:
            item["limit_price"] = o.price
        return item

    async def private_ws(self, request: web.Request) -> web.StreamResponse:
        """WS v2 (`wss://ws-auth.kraken.com/v2`): subscribe `executions` with a token."""
        ws = web.WebSocketResponse(heartbeat=None, autoping=True)
        await ws.prepare(request)
        seq = [0]
        await ws.send_str(
            _dumps(
                {
                    "channel": "status",
                    "type": "update",
                    "data": [
                        {
                            "api_version": "v2",
                            "connection_id": time.time_ns() % 10**19,
                            "system": "online",
                            "version": "2.0.10",
                        }
                    ],
                }
            )
        )
        account: str | None = None
        while account is None:
            msg = await ws.receive()
            if msg.type != web.WSMsgType.TEXT:
                return ws
            replies, account = self._pre_subscribe(msg.data, seq, ws, request)
            for r in replies:
                await ws.send_str(r)

        def encode(ev: ExecEvent) -> Sequence[str]:
            out: list[str] = []
            for item in self._exec_item(ev):
                seq[0] += 1
                out.append(
                    _dumps(
                        {
                            "channel": "executions",
                            "type": "update",
                            "data": [item],
                            "sequence": seq[0],
                        }
                    )
                )
            return out

        def on_message(text: str) -> Sequence[str]:
            replies, _ = self._pre_subscribe(text, seq, ws, request, subscribed=True)
            return replies

        heartbeat = asyncio.create_task(self._heartbeats(ws))
        try:
            await self.hub.serve(ws, account, encode, on_message=on_message)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        return ws

    async def _heartbeats(self, ws: web.WebSocketResponse) -> None:
        while not ws.closed:
            await asyncio.sleep(1.0)
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str('{"channel":"heartbeat"}')

    # -- WS v2 order entry ------------------------------------------------------------------
    def _ws_order(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        method: str,
        params: Mapping[str, Any],
        envelope: Mapping[str, Any],
    ) -> None:
        """WS v2 order entry (`add_order` / `amend_order` / `cancel_order`), token-checked.

        The request is carried out now, in arrival order, with the REST handler's steps: the
        per-pair trading counter (the faults' spurious rate limit blocks it for 1 s, as the
        other venues' simulators block theirs), `EService:Unavailable` before processing,
        maintenance, the exchange's refusals. A task answers; when the request took effect, only
        after the after-acceptance faults, as REST's `_after`: a delay, a dropped connection (no
        answer), or `EService:Deadline elapsed` (the outcome unknown to the client).
        """
        answers, acted = self._ws_order_now(method, params, envelope)
        task = asyncio.create_task(
            self._ws_order_finish(ws, request, method, envelope, answers, acted)
        )
        self._ws_tasks.add(task)
        task.add_done_callback(self._ws_tasks.discard)

    async def _ws_order_finish(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        method: str,
        envelope: Mapping[str, Any],
        answers: list[str],
        acted: bool,
    ) -> None:
        if acted:
            outcome = await self.ctx.after_accept(request)
            if outcome == "drop":
                return
            if outcome == "5xx":
                lost = self._ws_fail(method, envelope, "EService:Deadline elapsed")
                answers = [lost for _ in answers]
        for answer in answers:
            if ws.closed:
                return
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(answer)

    @staticmethod
    def _ws_fail(method: str, envelope: Mapping[str, Any], error: str) -> str:
        return _dumps({"error": error, "method": method, "success": False, **envelope})

    @staticmethod
    def _ws_ok(method: str, envelope: Mapping[str, Any], result: Mapping[str, Any]) -> str:
        return _dumps({"method": method, "result": result, "success": True, **envelope})

    def _ws_order_now(
        self, method: str, params: Mapping[str, Any], envelope: Mapping[str, Any]
    ) -> tuple[list[str], bool]:
        """One order request: (its answers, whether it took effect)."""
        account = self._tokens.get(str(params.get("token", "")))
        if account is None:
            return [self._ws_fail(method, envelope, "EAccount:Invalid token")], False
        if self.ctx.faults.roll(TradeFault.RATE_429):
            self.ctx.count("rate_limited")
            self._trading.limit_for(1.0)
        try:
            if method == "add_order":
                return [self._ws_ok(method, envelope, self._ws_add(account, params))], True
            if method == "amend_order":
                return [self._ws_ok(method, envelope, self._ws_amend(account, params))], True
            return self._ws_cancel(account, params, envelope)
        except _WsRefused as refused:
            return [self._ws_fail(method, envelope, refused.code)], False

    @staticmethod
    def _refuse_if(code: str | None) -> None:
        if code is not None:
            raise _WsRefused(code)

    def _ws_add(self, account: str, p: Mapping[str, Any]) -> dict[str, Any]:
        """`add_order` with AddOrder's steps; the `result`, or `_WsRefused`."""
        symbol = self._symbol_of(str(p.get("symbol", "")))
        if symbol is None:
            raise _WsRefused("EQuery:Unknown asset pair")
        self._refuse_if(self._trading_refusal(account, symbol, 1))
        self._refuse_if(self._before_refusal(new_risk=True))
        side, kind = p.get("side"), p.get("order_type")
        if side not in ("buy", "sell") or kind not in ("limit", "market"):
            raise _WsRefused("EGeneral:Invalid arguments:order_type")
        given = p.get("cl_ord_id")
        if given is not None and not (isinstance(given, str) and self._valid_cl_ord_id(given)):
            raise _WsRefused("EGeneral:Invalid arguments:cl_ord_id")
        cl = given or f"sim-{time.time_ns()}"
        limit_price = p.get("limit_price")
        try:
            qty = Decimal(str(p.get("order_qty")))
            price = (
                Decimal(str(limit_price)) if kind == "limit" and limit_price is not None else None
            )
        except ArithmeticError:
            raise _WsRefused("EGeneral:Invalid arguments:order_qty") from None
        tif = str(p.get("time_in_force", "gtc")).lower()
        if tif not in ("gtc", "ioc", "gtd"):
            raise _WsRefused("EGeneral:Invalid arguments:time_in_force")
        expire_ms = None
        if tif == "gtd":
            text = p.get("expire_time")
            try:
                when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
            except ValueError:
                when = None
            if not isinstance(text, str) or when is None or when.tzinfo is None:
                raise _WsRefused("EGeneral:Invalid arguments:expire_time")
            expire_ms = int(when.timestamp() * 1000)
        try:
            order, _ = self.ex.place(
                account,
                symbol=symbol,
                side="buy" if side == "buy" else "sell",
                type="limit" if kind == "limit" else "market",
                quantity=qty,
                client_order_id=cl,
                price=price,
                tif="ioc" if tif == "ioc" else "gtd" if tif == "gtd" else "gtc",
                post_only=p.get("post_only") is True,
                expire_at_ms=expire_ms,
            )
        except SimReject as rej:
            raise _WsRefused(REJECT_CODES[rej.reason]) from None
        result: dict[str, Any] = {"order_id": txid("O", order.venue_order_id)}
        if given:
            result["cl_ord_id"] = cl
        return result

    def _ws_amend(self, account: str, p: Mapping[str, Any]) -> dict[str, Any]:
        """`amend_order` (by `order_id` or `cl_ord_id`) with AmendOrder's steps."""
        key = "order_id" if p.get("order_id") else "cl_ord_id" if p.get("cl_ord_id") else None
        ident = {("txid" if key == "order_id" else key): str(p[key])} if key else {}
        target = self._find(account, ident)
        if target is None:
            self._refuse_if(self._before_refusal(new_risk=True))
            raise _WsRefused("EOrder:Unknown order")
        self._refuse_if(
            self._trading_refusal(account, target.symbol, 4 if self._young(target) else 1)
        )
        self._refuse_if(self._before_refusal(new_risk=True))
        raw_qty, raw_price = p.get("order_qty"), p.get("limit_price")
        try:
            qty = Decimal(str(raw_qty)) if raw_qty is not None else None
            price = Decimal(str(raw_price)) if raw_price is not None else None
        except ArithmeticError:
            raise _WsRefused("EGeneral:Invalid arguments:order_qty") from None
        if qty is None and price is None:
            raise _WsRefused("EGeneral:Invalid arguments")
        try:
            self.ex.amend(account, venue_order_id=target.venue_order_id, quantity=qty, price=price)
        except SimReject as rej:
            raise _WsRefused(REJECT_CODES[rej.reason]) from None
        amend_id = txid("T", str(10**15 + time.time_ns() % 10**15))
        return {"amend_id": amend_id, **({key: p[key]} if key else {})}

    def _ws_cancel(
        self, account: str, p: Mapping[str, Any], envelope: Mapping[str, Any]
    ) -> tuple[list[str], bool]:
        """`cancel_order` (`order_id` and / or `cl_ord_id` lists): one answer per id."""
        self._refuse_if(self._before_refusal(new_risk=False))
        ids: list[tuple[str, str]] = []
        for key in ("order_id", "cl_ord_id"):
            given = p.get(key)
            if given is None:
                continue
            if not isinstance(given, list) or not all(isinstance(i, str) for i in given):
                raise _WsRefused(f"EGeneral:Invalid arguments:{key}")
            if ids:  # "Cannot be combined with cl_ord_id or order_userref" (and vice versa)
                raise _WsRefused("EGeneral:Invalid arguments")
            ids.extend((key, i) for i in given)
        if not ids:
            raise _WsRefused("EGeneral:Invalid arguments:order_id")
        out: list[str] = []
        acted = False
        for key, ident in ids:
            found = self._find(account, {"txid" if key == "order_id" else key: ident})
            code = None if found is not None else "EOrder:Unknown order"
            if found is not None:
                young = self._young(found)
                code = self._trading_refusal(account, found.symbol, 8 if young else 1)
            if found is not None and code is None:
                try:
                    self.ex.cancel(account, venue_order_id=found.venue_order_id)
                except SimReject as rej:
                    code = REJECT_CODES[rej.reason]
            if code is not None:
                out.append(self._ws_fail("cancel_order", envelope, code))
                continue
            out.append(self._ws_ok("cancel_order", envelope, {key: ident}))
            acted = True
        return out, acted

    def _pre_subscribe(  # noqa: PLR0911 - one return per refusal
        self,
        text: str,
        seq: list[int],
        ws: web.WebSocketResponse,
        request: web.Request,
        subscribed: bool = False,
    ) -> tuple[list[str], str | None]:
        """Handles ping / subscribe / order entry; returns (replies, account once subscribed).

        Order-entry answers are sent by `_ws_order`'s task, not returned.
        """
        now = _rfc3339(self.ctx.now_ms())
        try:
            msg = json.loads(text, parse_float=Decimal)
        except ValueError:
            return [_dumps({"error": "Malformed request", "success": False})], None
        method = msg.get("method") if isinstance(msg, dict) else None
        req_id = msg.get("req_id") if isinstance(msg, dict) else None
        envelope: dict[str, Any] = {"time_in": now, "time_out": now}
        if req_id is not None:
            envelope["req_id"] = req_id
        if method == "ping":
            return [_dumps({"method": "pong", **envelope})], None
        if method in ("add_order", "amend_order", "cancel_order"):
            params = msg.get("params")
            self._ws_order(
                ws, request, str(method), params if isinstance(params, dict) else {}, envelope
            )
            return [], None
        if method != "subscribe":
            err = {"error": f"Unsupported method {method!r}", "method": method, "success": False}
            return [_dumps({**err, **envelope})], None
        params = msg.get("params") or {}
        channel = params.get("channel")
        if channel != "executions":
            err = {"error": "Channel not found", "method": "subscribe", "success": False}
            return [_dumps({**err, **envelope})], None
        account = self._tokens.get(str(params.get("token", "")))
        if account is None:
            err = {"error": "EAccount:Invalid token", "method": "subscribe", "success": False}
            return [_dumps({**err, **envelope})], None
        if subscribed:
            err = {"error": "Already subscribed", "method": "subscribe", "success": False}
            return [_dumps({**err, **envelope})], None
        ack = {
            "method": "subscribe",
            "result": {"channel": "executions", "maxratecount": 125, "snapshot": True},
            "success": True,
            **envelope,
        }
        replies = [_dumps(ack)]
        snap_orders = params.get("snap_orders", True) is not False
        snap_trades = params.get("snap_trades", False) is True
        data: list[dict[str, Any]] = []
        if snap_orders:
            data.extend(self._snapshot_item(o) for o in self.ex.open_orders(account))
        if snap_trades:
            for f in self.ex.trades(account)[-50:]:
                o = self.ex.find(account, venue_order_id=f.venue_order_id)
                if o is not None:
                    data.append(
                        {
                            "order_id": txid("O", f.venue_order_id),
                            "exec_id": txid("T", f.trade_id),
                            "exec_type": "trade",
                            "trade_id": int(f.trade_id),
                            "cl_ord_id": o.client_order_id,
                            "symbol": f.symbol,
                            "side": f.side,
                            "last_qty": f.qty,
                            "last_price": f.price,
                            "liquidity_ind": "m" if f.liquidity == "maker" else "t",
                            "cost": f.qty * f.price,
                            "fees": [{"asset": f.symbol.split("/")[1], "qty": f.fee}],
                            "timestamp": _rfc3339(f.ts_ms),
                        }
                    )
        seq[0] += 1
        replies.append(
            _dumps({"channel": "executions", "type": "snapshot", "data": data, "sequence": seq[0]})
        )
        return replies, account
