"""Binance spot's trading API for the simulator.

Binance spot's trading API over a `SimExchange`: REST order entry and the WebSocket API user
data stream, with Binance's paths, payloads, error codes, usage headers, 429s and 418 bans.

Sources: https://developers.binance.com/docs/binance-spot-api-docs/rest-api/trading-endpoints ,
.../rest-api/account-endpoints , .../rest-api/general-endpoints , .../rest-api/limits ,
.../errors , .../websocket-api/user-data-stream-requests , .../user-data-stream and
https://developers.binance.com/docs/wallet/others/system-status .

Modelled: LIMIT (GTC/IOC/FOK), MARKET, LIMIT_MAKER; cancel by id or client id; cancel all per
symbol; cancelReplace (STOP_ON_FAILURE, -2022 / 409 -2021); keep-priority amend (quantity
decrease); query; open orders; myTrades; exchangeInfo; time; system status; the user data
stream through `userDataStream.subscribe.signature` on `/ws-api/v3` (what the adapter and
ccxt.pro use); WebSocket API order entry on the same path (`order.place`, `order.cancel`,
`order.cancelReplace`, `order.amend.keepPriority`: signed per request, the REST handlers'
exchange calls, codes, rate charges and faults; answers `{"id", "status", "result" | "error",
"rateLimits"}`, .../websocket-api/trading-requests). Not modelled: balances (the account is
unlimited), order lists, STP, stop orders, the discontinued listen-key stream, `session.logon`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import WSMsgType, web

from venuegate.sim.trade.exchange import (
    ExecEvent,
    RejectReason,
    SimFill,
    SimOrder,
    SimReject,
)
from venuegate.sim.trade.faults import TradeFault
from venuegate.sim.trade.limits import SimLimits, SimWindow, Verdict
from venuegate.sim.trade.server import VenueApi, _AioRequest
from venuegate.sim.verify import StaleTimestampError, VerificationError

__all__ = ["Api"]

_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY")
_STATUS = {
    "new": "NEW",
    "partially_filled": "PARTIALLY_FILLED",
    "filled": "FILLED",
    "canceled": "CANCELED",
    "rejected": "REJECTED",
    "expired": "EXPIRED",
}
_REJECTS: Mapping[RejectReason, tuple[int, str]] = {
    RejectReason.DUPLICATE_CLIENT_ID: (-2010, "Duplicate order sent."),
    RejectReason.UNKNOWN_SYMBOL: (-1121, "Invalid symbol."),
    RejectReason.BAD_QUANTITY: (-1013, "Filter failure: LOT_SIZE"),
    RejectReason.BAD_PRICE: (-1013, "Filter failure: PRICE_FILTER"),
    RejectReason.POST_ONLY_WOULD_TAKE: (-2010, "Order would immediately match and take."),
    RejectReason.UNKNOWN_ORDER: (-2011, "Unknown order sent."),
    RejectReason.ORDER_CLOSED: (-2011, "Unknown order sent."),
    RejectReason.BAD_AMEND: (-1013, "Invalid quantity."),
    RejectReason.MAINTENANCE: (-2010, "Market is closed."),
}


_WS_ORDER_METHODS: Mapping[str, tuple[int, bool, bool]] = {
    # WebSocket API method → (REQUEST_WEIGHT, counts as an order, refused in maintenance),
    # as its REST endpoint (.../websocket-api/trading-requests).
    "order.place": (1, True, True),
    "order.cancel": (1, False, False),
    "order.cancelReplace": (1, True, True),
    "order.amend.keepPriority": (4, False, True),
}


def _split(symbol: str) -> tuple[str, str]:
    for q in _QUOTES:
        if symbol.endswith(q) and len(symbol) > len(q):
            return symbol[: -len(q)], q
    return symbol[:-4], symbol[-4:]


def _n(d: Decimal | None) -> str:
    return "0.00000000" if d is None else f"{d:.8f}"


def _error(status: int, code: int, msg: str, headers: Mapping[str, str] | None = None,
           data: object = None) -> web.Response:  # fmt: skip
    body: dict[str, object] = {"code": code, "msg": msg}
    if data is not None:
        body["data"] = data
    return web.json_response(body, status=status, headers=dict(headers or {}))


class _Refused(Exception):
    def __init__(self, response: web.Response) -> None:
        super().__init__("refused")
        self.response = response


class Api(VenueApi):
    """Binance spot."""

    venue = "binance"
    private_ws_path = "/ws-api/v3"
    ws_api_path = "/ws-api/v3"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cancel_ids = 0
        self._ws_tasks: set[asyncio.Task[None]] = set()

    def make_limits(self) -> SimLimits:
        """Binance spot's documented limits.

        REQUEST_WEIGHT 6000/min, ORDERS 50/10 s and 160000/day, RAW_REQUESTS 61000/5 min;
        a client that keeps sending while limited is banned (418) after 3 violations.
        """
        return SimLimits(
            [
                SimWindow("REQUEST_WEIGHT", 6000, 60.0),
                SimWindow("ORDERS_10S", 50, 10.0),
                SimWindow("ORDERS_1D", 160_000, 86_400.0),
                SimWindow("RAW_REQUESTS", 61_000, 300.0),
            ],
            ban_after=3,
            ban_s=120.0,
        )

    def install(self, app: web.Application) -> None:
        """Adds Binance's routes."""
        r = app.router
        r.add_get("/api/v3/ping", self.ping)
        r.add_get("/api/v3/time", self.time)
        r.add_get("/api/v3/exchangeInfo", self.exchange_info)
        r.add_get("/sapi/v1/system/status", self.system_status)
        r.add_post("/api/v3/order", self.new_order)
        r.add_delete("/api/v3/order", self.cancel_order)
        r.add_get("/api/v3/order", self.query_order)
        r.add_delete("/api/v3/openOrders", self.cancel_open_orders)
        r.add_get("/api/v3/openOrders", self.open_orders)
        r.add_get("/api/v3/myTrades", self.my_trades)
        r.add_post("/api/v3/order/cancelReplace", self.cancel_replace)
        r.add_put("/api/v3/order/amend/keepPriority", self.amend_keep_priority)
        r.add_get("/api/v3/account", self.account)
        r.add_get(self.private_ws_path, self.ws_api)

    # -- plumbing ------------------------------------------------------------------------
    def _usage(self) -> dict[str, str]:
        return {
            "X-MBX-USED-WEIGHT-1M": str(int(self.limits.used("REQUEST_WEIGHT"))),
            "X-MBX-ORDER-COUNT-10S": str(int(self.limits.used("ORDERS_10S"))),
            "X-MBX-ORDER-COUNT-1D": str(int(self.limits.used("ORDERS_1D"))),
        }

    def _refusal(self, verdict: Verdict) -> web.Response:
        retry = str(max(1, math.ceil(verdict.retry_after)))
        if verdict.banned:
            until = int((time.time() + verdict.retry_after) * 1000)
            return _error(418, -1003, f"Way too much request weight used; IP banned until "
                          f"{until}. Please use WebSocket Streams for live updates to avoid "
                          "bans.", {"Retry-After": retry})  # fmt: skip
        if verdict.window.startswith("ORDERS"):
            period = "10 SECOND" if verdict.window == "ORDERS_10S" else "1 DAY"
            limit = int(self.limits.windows[verdict.window].limit)
            return _error(429, -1015, f"Too many new orders; current limit is {limit} orders "
                          f"per {period}.", {"Retry-After": retry})  # fmt: skip
        return _error(429, -1003, "Too much request weight used; current limit is 6000 request "
                      "weight per 1 MINUTE. Please use WebSocket Streams for live updates to "
                      "avoid polling the API.", {"Retry-After": retry})  # fmt: skip

    def _charge(self, weight: int, orders: bool = False) -> None:
        costs: dict[str, float] = {"REQUEST_WEIGHT": weight, "RAW_REQUESTS": 1}
        if orders:
            costs |= {"ORDERS_10S": 1, "ORDERS_1D": 1}
        verdict = self.limits.charge(costs)
        if not verdict.ok:
            self.ctx.count("rate_limited")
            raise _Refused(self._refusal(verdict))

    async def _auth(self, request: web.Request) -> tuple[str, dict[str, str]]:
        """Verifies the signature; returns (account, parameters from query and body)."""
        body = await request.read() if request.can_read_body else b""
        params = dict(parse_qsl(request.query_string, keep_blank_values=True))
        ctype = request.headers.get("Content-Type", "")
        if body and "json" not in ctype:
            params |= dict(parse_qsl(body.decode(), keep_blank_values=True))
        try:
            # Built here (not `ctx.verify`): the body was read above, after which aiohttp's
            # `can_read_body` is False and `ctx.verify` would verify without it.
            req = _AioRequest(request.method, request.path_qs, request.headers, body or None)
            cred = self.ctx.verify_parts(req)
        except StaleTimestampError:
            raise _Refused(_error(400, -1021, "Timestamp for this request is outside of the "
                                  "recvWindow.")) from None  # fmt: skip
        except VerificationError as exc:
            text = str(exc)
            if "API-key" in text or "missing header" in text:
                raise _Refused(
                    _error(401, -2015, "Invalid API-key, IP, or permissions for action.")
                ) from None
            if "Mandatory parameter" in text:
                raise _Refused(_error(400, -1102, text.split(": ", 1)[-1])) from None
            raise _Refused(_error(400, -1022, "Signature for this request is not valid.")) from None
        except KeyError:
            raise _Refused(_error(401, -2015, "Invalid API-key, IP, or permissions for "
                                  "action.")) from None  # fmt: skip
        return cred.api_key, params

    def _faults_before(self, *, new_order: bool) -> None:
        """Order-changing handlers: injected 429, 5XX before processing, maintenance."""
        if self.ctx.faults.roll(TradeFault.RATE_429):
            self.limits.limit_for(1.0)
            raise _Refused(
                _error(
                    429,
                    -1003,
                    "Too much request weight used; current limit is "
                    "6000 request weight per 1 MINUTE.",
                    {"Retry-After": "1"},
                )
            )
        if self.ctx.faults.roll(TradeFault.REST_5XX_BEFORE):
            self.ctx.count("5xx_before")
            raise _Refused(
                _error(
                    503,
                    -1008,
                    "Server is currently overloaded with other "
                    "requests. Please try again in a few minutes.",
                )
            )
        if new_order and self.ctx.maintenance():
            raise _Refused(_error(400, -2010, "Market is closed."))

    async def _after(self, request: web.Request) -> None:
        outcome = await self.ctx.after_accept(request)
        if outcome == "5xx":
            raise _Refused(
                _error(
                    503,
                    -1007,
                    "Timeout waiting for response from backend "
                    "server. Send status unknown; execution status unknown.",
                )
            )
        if outcome == "drop":
            raise _Refused(web.Response(status=500))

    def _reject(self, exc: SimReject, *, query: bool = False) -> web.Response:
        code, msg = _REJECTS[exc.reason]
        if query and exc.reason in (RejectReason.UNKNOWN_ORDER, RejectReason.ORDER_CLOSED):
            code, msg = -2013, "Order does not exist."
        return _error(400, code, msg, self._usage())

    def _ok(self, body: object) -> web.Response:
        return web.json_response(body, headers=self._usage())

    def _find(self, account: str, params: Mapping[str, str], prefix: str = "") -> SimOrder:
        oid = params.get(f"{prefix}OrderId" if prefix else "orderId")
        cid = params.get(f"{prefix}OrigClientOrderId" if prefix else "origClientOrderId")
        if oid is None and cid is None:
            raise _Refused(_error(400, -1102, "Param 'origClientOrderId' or 'orderId' must be "
                                  "sent, but both were empty/null!"))  # fmt: skip
        order = self.ex.find(account, client_order_id=cid, venue_order_id=oid)
        if order is None:
            raise SimReject(RejectReason.UNKNOWN_ORDER)
        return order

    # -- wire formats --------------------------------------------------------------------
    def _quote(self, symbol: str) -> str:
        return _split(symbol)[1]

    def _type(self, o: SimOrder) -> str:
        if o.type == "market":
            return "MARKET"
        return "LIMIT_MAKER" if o.post_only else "LIMIT"

    def _order_json(self, o: SimOrder) -> dict[str, Any]:
        return {
            "symbol": o.symbol,
            "orderId": int(o.venue_order_id),
            "orderListId": -1,
            "clientOrderId": o.client_order_id,
            "price": _n(o.price),
            "origQty": _n(o.quantity),
            "executedQty": _n(o.filled),
            "cummulativeQuoteQty": _n(o.notional),
            "status": _STATUS[o.status],
            "timeInForce": o.tif.upper() if o.type == "limit" else "GTC",
            "type": self._type(o),
            "side": o.side.upper(),
            "selfTradePreventionMode": "NONE",
        }

    def _full(self, o: SimOrder) -> dict[str, Any]:
        out = self._order_json(o)
        out |= {
            "transactTime": o.created_ms,
            "origQuoteOrderQty": "0.00000000",
            "workingTime": o.created_ms,
            "fills": [
                {
                    "price": _n(f.price),
                    "qty": _n(f.qty),
                    "commission": _n(f.fee),
                    "commissionAsset": self._quote(o.symbol),
                    "tradeId": int(f.trade_id),
                }
                for f in o.fills
            ],
        }
        return out

    def _query_json(self, o: SimOrder) -> dict[str, Any]:
        out = self._order_json(o)
        out |= {
            "stopPrice": "0.00000000",
            "icebergQty": "0.00000000",
            "time": o.created_ms,
            "updateTime": o.updated_ms,
            "isWorking": True,
            "workingTime": o.created_ms,
            "origQuoteOrderQty": "0.00000000",
        }
        return out

    def _cancel_json(self, o: SimOrder, cancel_id: str | None = None) -> dict[str, Any]:
        out = self._order_json(o)
        self._cancel_ids += 1
        out["origClientOrderId"] = o.client_order_id
        out["clientOrderId"] = cancel_id or f"vgcxl{self._cancel_ids}"
        out["transactTime"] = o.updated_ms
        return out

    def _trade_json(self, f: SimFill) -> dict[str, Any]:
        return {
            "symbol": f.symbol,
            "id": int(f.trade_id),
            "orderId": int(f.venue_order_id),
            "orderListId": -1,
            "price": _n(f.price),
            "qty": _n(f.qty),
            "quoteQty": _n(f.qty * f.price),
            "commission": _n(f.fee),
            "commissionAsset": self._quote(f.symbol),
            "time": f.ts_ms,
            "isBuyer": f.side == "buy",
            "isMaker": f.liquidity == "maker",
            "isBestMatch": True,
        }

    def encode(self, ev: ExecEvent, subscription_id: int = 0) -> list[str]:
        """An exchange event as the WebSocket API user-data event (`executionReport`)."""
        o = ev.order
        x = {
            "new": "NEW",
            "fill": "TRADE",
            "amended": "REPLACED",
            "canceled": "CANCELED",
            "expired": "EXPIRED",
            "rejected": "REJECTED",
            "replaced": "REPLACED",
        }[ev.name]
        now = self.ctx.now_ms()
        f = ev.fill
        cid, orig = o.client_order_id, ""
        if x == "CANCELED":
            self._cancel_ids += 1
            cid, orig = f"vgcxl{self._cancel_ids}", o.client_order_id
        report = {
            "e": "executionReport",
            "E": now,
            "s": o.symbol,
            "c": cid,
            "S": o.side.upper(),
            "o": self._type(o),
            "f": o.tif.upper() if o.type == "limit" else "GTC",
            "q": _n(o.quantity),
            "p": _n(o.price),
            "P": "0.00000000",
            "F": "0.00000000",
            "g": -1,
            "C": orig,
            "x": x,
            "X": _STATUS[o.status],
            "r": "NONE",
            "i": int(o.venue_order_id),
            "l": _n(f.qty if f else Decimal(0)),
            "z": _n(o.filled),
            "L": _n(f.price if f else Decimal(0)),
            "n": _n(f.fee) if f else "0",
            "N": self._quote(o.symbol) if f else None,
            "T": f.ts_ms if f else o.updated_ms,
            "t": int(f.trade_id) if f else -1,
            "v": 0,
            "I": int(o.venue_order_id) * 10 + len(o.fills),
            "w": o.is_open,
            "m": bool(f and f.liquidity == "maker"),
            "M": False,
            "O": o.created_ms,
            "Z": _n(o.notional),
            "Y": _n(f.qty * f.price if f else Decimal(0)),
            "Q": "0.00000000",
            "W": o.created_ms,
            "V": "NONE",
        }
        return [json.dumps({"subscriptionId": subscription_id, "event": report},
                           separators=(",", ":"))]  # fmt: skip

    # -- public --------------------------------------------------------------------------
    async def ping(self, request: web.Request) -> web.Response:
        """`GET /api/v3/ping`."""
        try:
            self._charge(1)
        except _Refused as r:
            return r.response
        return self._ok({})

    async def time(self, request: web.Request) -> web.Response:
        """`GET /api/v3/time`."""
        try:
            self._charge(1)
        except _Refused as r:
            return r.response
        return self._ok({"serverTime": self.ctx.now_ms()})

    async def system_status(self, request: web.Request) -> web.Response:
        """`GET /sapi/v1/system/status`: 0 normal, 1 system maintenance."""
        if time.time() < self.ctx.maintenance_until:
            return web.json_response({"status": 1, "msg": "system maintenance"})
        return web.json_response({"status": 0, "msg": "normal"})

    async def exchange_info(self, request: web.Request) -> web.Response:
        """`GET /api/v3/exchangeInfo` (weight 20)."""
        try:
            self._charge(20)
        except _Refused as r:
            return r.response
        symbols = []
        for inst in self.ex.instruments.values():
            base, quote = _split(inst.symbol)
            symbols.append(
                {
                    "symbol": inst.symbol,
                    "status": "TRADING",
                    "baseAsset": base,
                    "baseAssetPrecision": 8,
                    "quoteAsset": quote,
                    "quotePrecision": 8,
                    "quoteAssetPrecision": 8,
                    "baseCommissionPrecision": 8,
                    "quoteCommissionPrecision": 8,
                    "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
                    "icebergAllowed": False,
                    "ocoAllowed": False,
                    "otoAllowed": False,
                    "quoteOrderQtyMarketAllowed": False,
                    "allowTrailingStop": False,
                    "cancelReplaceAllowed": True,
                    "amendAllowed": True,
                    "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": _n(inst.tick),
                            "maxPrice": "10000000.00000000",
                            "tickSize": _n(inst.tick),
                        },
                        {
                            "filterType": "LOT_SIZE",
                            "minQty": _n(inst.lot),
                            "maxQty": "9000.00000000",
                            "stepSize": _n(inst.lot),
                        },
                        {
                            "filterType": "MARKET_LOT_SIZE",
                            "minQty": "0.00000000",
                            "maxQty": "9000.00000000",
                            "stepSize": "0.00000000",
                        },
                        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
                    ],
                    "permissions": [],
                    "permissionSets": [["SPOT"]],
                    "defaultSelfTradePreventionMode": "NONE",
                    "allowedSelfTradePreventionModes": ["NONE"],
                }
            )
        return self._ok(
            {
                "timezone": "UTC",
                "serverTime": self.ctx.now_ms(),
                "rateLimits": [
                    {
                        "rateLimitType": "REQUEST_WEIGHT",
                        "interval": "MINUTE",
                        "intervalNum": 1,
                        "limit": 6000,
                    },
                    {
                        "rateLimitType": "ORDERS",
                        "interval": "SECOND",
                        "intervalNum": 10,
                        "limit": 100,
                    },
                    {
                        "rateLimitType": "ORDERS",
                        "interval": "DAY",
                        "intervalNum": 1,
                        "limit": 200000,
                    },
                    {
                        "rateLimitType": "RAW_REQUESTS",
                        "interval": "MINUTE",
                        "intervalNum": 5,
                        "limit": 61000,
                    },
                ],
                "exchangeFilters": [],
                "symbols": symbols,
            }
        )

    # -- trading -------------------------------------------------------------------------
    async def new_order(self, request: web.Request) -> web.Response:
        """`POST /api/v3/order`."""
        try:
            self._charge(1, orders=True)
            self.ctx.roll_skew()
            account, p = await self._auth(request)
            self._faults_before(new_order=True)
            try:
                placed = self._place(account, p)
            except SimReject as exc:
                return self._reject(exc)
            await self._after(request)
        except _Refused as r:
            return r.response
        return self._ok(self._placed_json(placed, p))

    def _placed_json(self, placed: SimOrder, p: Mapping[str, str]) -> dict[str, Any]:
        """A new order's answer in its `newOrderRespType` (ACK, RESULT or FULL, the default)."""
        resp_type = p.get("newOrderRespType", "FULL")
        if resp_type == "ACK":
            return {"symbol": placed.symbol, "orderId": int(placed.venue_order_id),
                    "orderListId": -1, "clientOrderId": placed.client_order_id,
                    "transactTime": placed.created_ms}  # fmt: skip
        body = self._full(placed)
        if resp_type == "RESULT":
            body.pop("fills", None)
        return body

    def _order_args(self, p: Mapping[str, str]) -> dict[str, Any]:
        try:
            typ = p["type"].upper()
            side = p["side"].lower()
            qty = Decimal(p["quantity"])
        except (KeyError, ArithmeticError):
            raise _Refused(_error(400, -1102, "Mandatory parameter was not sent, was empty/null, "
                                  "or malformed.")) from None  # fmt: skip
        if side not in ("buy", "sell"):
            raise _Refused(_error(400, -1117, "Invalid side."))
        args: dict[str, Any] = {"side": side, "quantity": qty}
        if typ == "MARKET":
            args |= {"type": "market", "tif": "ioc"}
        elif typ in ("LIMIT", "LIMIT_MAKER"):
            try:
                args["price"] = Decimal(p["price"])
            except (KeyError, ArithmeticError):
                raise _Refused(_error(400, -1102, "Mandatory parameter 'price' was not sent, "
                                      "was empty/null, or malformed.")) from None  # fmt: skip
            if typ == "LIMIT_MAKER":
                args |= {"type": "limit", "tif": "gtc", "post_only": True}
            else:
                tif = p.get("timeInForce", "").upper()
                if tif not in ("GTC", "IOC", "FOK"):
                    raise _Refused(
                        _error(
                            400,
                            -1102,
                            "Mandatory parameter 'timeInForce' was "
                            "not sent, was empty/null, or malformed.",
                        )
                    )
                args |= {"type": "limit", "tif": tif.lower()}
        else:
            raise _Refused(_error(400, -1116, "Invalid orderType."))
        return args

    def _new_cid(self) -> str:
        self._cancel_ids += 1
        return f"vgsim{self._cancel_ids:017d}"

    def _place(self, account: str, p: Mapping[str, str]) -> SimOrder:
        args = self._order_args(p)
        placed, _ = self.ex.place(
            account,
            symbol=p.get("symbol", ""),
            client_order_id=p.get("newClientOrderId") or self._new_cid(),
            **args,
        )
        return placed

    async def cancel_order(self, request: web.Request) -> web.Response:
        """`DELETE /api/v3/order` (cancels work during maintenance)."""
        try:
            self._charge(1)
            self.ctx.roll_skew()
            account, p = await self._auth(request)
            self._faults_before(new_order=False)
            try:
                target = self._find(account, p)
                done, _ = self.ex.cancel(account, venue_order_id=target.venue_order_id)
            except SimReject as exc:
                return self._reject(exc)
            await self._after(request)
        except _Refused as r:
            return r.response
        return self._ok(self._cancel_json(done, p.get("newClientOrderId")))

    async def cancel_open_orders(self, request: web.Request) -> web.Response:
        """`DELETE /api/v3/openOrders` (one symbol; -2011 when nothing is open)."""
        try:
            self._charge(1)
            self.ctx.roll_skew()
            account, p = await self._auth(request)
            self._faults_before(new_order=False)
            symbol = p.get("symbol")
            if not symbol:
                return _error(400, -1102, "Mandatory parameter 'symbol' was not sent, was "
                              "empty/null, or malformed.")  # fmt: skip
            if symbol not in self.ex.instruments:
                return _error(400, -1121, "Invalid symbol.")
            done = self.ex.cancel_all(account, symbol)
            if not done:
                return _error(400, -2011, "Unknown order sent.", self._usage())
            await self._after(request)
        except _Refused as r:
            return r.response
        return self._ok([self._cancel_json(o) for o in done])

    async def query_order(self, request: web.Request) -> web.Response:
        """`GET /api/v3/order` (weight 4; -2013 when unknown)."""
        try:
            self._charge(4)
            account, p = await self._auth(request)
            try:
                order = self._find(account, p)
            except SimReject as exc:
                return self._reject(exc, query=True)
        except _Refused as r:
            return r.response
        return self._ok(self._query_json(order))

    async def open_orders(self, request: web.Request) -> web.Response:
        """`GET /api/v3/openOrders` (weight 6 for a symbol, 80 for all)."""
        symbol = request.query.get("symbol")
        try:
            self._charge(6 if symbol else 80)
            account, _ = await self._auth(request)
        except _Refused as r:
            return r.response
        return self._ok([self._query_json(o) for o in self.ex.open_orders(account, symbol)])

    async def my_trades(self, request: web.Request) -> web.Response:
        """`GET /api/v3/myTrades` (weight 20; `orderId`, `startTime`, `fromId`, `limit`)."""
        try:
            self._charge(20)
            account, p = await self._auth(request)
        except _Refused as r:
            return r.response
        symbol = p.get("symbol")
        if not symbol:
            return _error(400, -1102, "Mandatory parameter 'symbol' was not sent, was "
                          "empty/null, or malformed.")  # fmt: skip
        trades = self.ex.trades(account, symbol, int(p.get("startTime", "0")))
        if "endTime" in p:
            trades = [t for t in trades if t.ts_ms <= int(p["endTime"])]
        if "orderId" in p:
            trades = [t for t in trades if t.venue_order_id == p["orderId"]]
        if "fromId" in p:
            trades = [t for t in trades if int(t.trade_id) >= int(p["fromId"])]
        limit = min(int(p.get("limit", "500")), 1000)
        return self._ok([self._trade_json(t) for t in trades[:limit]])

    async def account(self, request: web.Request) -> web.Response:
        """`GET /api/v3/account` (weight 20): the simulator models no balances."""
        try:
            self._charge(20)
            await self._auth(request)
        except _Refused as r:
            return r.response
        return self._ok({"makerCommission": 10, "takerCommission": 20, "canTrade": True,
                         "canWithdraw": False, "canDeposit": False, "accountType": "SPOT",
                         "updateTime": self.ctx.now_ms(), "balances": [],
                         "permissions": ["SPOT"]})  # fmt: skip

    async def cancel_replace(self, request: web.Request) -> web.Response:
        """Cancel an order and place a new one.

        `POST /api/v3/order/cancelReplace` (STOP_ON_FAILURE): -2022 (400) when the cancel
        fails, 409 -2021 when the cancel succeeded and the new order failed.
        """
        try:
            self._charge(1, orders=True)
            self.ctx.roll_skew()
            account, p = await self._auth(request)
            self._faults_before(new_order=True)
            old_snap, new = self._cancel_replace(account, p)
            await self._after(request)
        except _Refused as r:
            return r.response
        return self._ok(self._replaced_json(old_snap, new))

    def _cancel_replace(self, account: str, p: Mapping[str, str]) -> tuple[SimOrder, SimOrder]:
        """CancelReplace's checks and exchange call (REST and WebSocket API).

        Returns (the canceled order, its replacement).

        Raises:
            _Refused: -1102 (400) for a missing mode or order parameter, -2022 (400) when the
                cancel failed or nothing was done, 409 -2021 when the cancel succeeded and the
                new order was refused.
        """
        mode = p.get("cancelReplaceMode", "")
        if mode not in ("STOP_ON_FAILURE", "ALLOW_FAILURE"):
            raise _Refused(_error(400, -1102, "Mandatory parameter 'cancelReplaceMode' was not "
                                  "sent, was empty/null, or malformed."))  # fmt: skip
        args = self._order_args(p)
        new_cid = p.get("newClientOrderId") or self._new_cid()
        try:
            old = self._find(account, p, prefix="cancel")
            if not old.is_open or old.symbol != p.get("symbol"):
                raise SimReject(RejectReason.UNKNOWN_ORDER)
        except SimReject:
            raise _Refused(_error(400, -2022, "Order cancel-replace failed.", self._usage(), {
                "cancelResult": "FAILURE", "newOrderResult": "NOT_ATTEMPTED",
                "cancelResponse": {"code": -2011, "msg": "Unknown order sent."},
                "newOrderResponse": None})) from None  # fmt: skip
        try:
            old_snap, new, _ = self.ex.cancel_replace(
                account,
                venue_order_id=old.venue_order_id,
                new_client_order_id=new_cid,
                quantity=args["quantity"],
                price=args.get("price"),
                tif=args["tif"],
                post_only=args.get("post_only", False),
            )
        except SimReject as exc:
            code, msg = _REJECTS[exc.reason]
            now = self.ex.find(account, venue_order_id=old.venue_order_id)
            if now is not None and not now.is_open:
                # The cancel happened and the new order was refused.
                raise _Refused(_error(409, -2021, "Order cancel-replace partially failed.",
                                      self._usage(), {
                    "cancelResult": "SUCCESS", "newOrderResult": "FAILURE",
                    "cancelResponse": self._cancel_json(now),
                    "newOrderResponse": {"code": code, "msg": msg}})) from None  # fmt: skip
            raise _Refused(_error(400, -2022, "Order cancel-replace failed.", self._usage(), {
                "cancelResult": "NOT_ATTEMPTED" if exc.reason != RejectReason.UNKNOWN_ORDER
                else "FAILURE", "newOrderResult": "FAILURE",
                "cancelResponse": None,
                "newOrderResponse": {"code": code, "msg": msg}})) from None  # fmt: skip
        return old_snap, new

    def _replaced_json(self, old_snap: SimOrder, new: SimOrder) -> dict[str, Any]:
        """A successful cancelReplace's answer."""
        return {
            "cancelResult": "SUCCESS",
            "newOrderResult": "SUCCESS",
            "cancelResponse": self._cancel_json(old_snap),
            "newOrderResponse": self._full(new),
        }

    async def amend_keep_priority(self, request: web.Request) -> web.Response:
        """`PUT /api/v3/order/amend/keepPriority` (weight 4): reduce the quantity in place."""
        try:
            self._charge(4)
            self.ctx.roll_skew()
            account, p = await self._auth(request)
            self._faults_before(new_order=True)
            try:
                done = self._keep_priority(account, p)
            except SimReject as exc:
                return self._reject(exc)
            await self._after(request)
        except _Refused as r:
            return r.response
        return self._ok(self._amended_json(done))

    def _keep_priority(self, account: str, p: Mapping[str, str]) -> SimOrder:
        """Keep-priority amend's check and exchange call (REST and WebSocket API).

        Raises:
            _Refused: -1013 (400) unless the new quantity is a decrease.
            SimReject: the order is unknown or closed.
        """
        target = self._find(account, p)
        new_qty = Decimal(p.get("newQty", "0"))
        if not 0 < new_qty < target.quantity:
            raise _Refused(_error(400, -1013, "Invalid quantity.", self._usage()))
        done, _ = self.ex.amend(account, venue_order_id=target.venue_order_id, quantity=new_qty)
        return done

    def _amended_json(self, done: SimOrder) -> dict[str, Any]:
        """A successful keep-priority amend's answer."""
        o = self._order_json(done)
        o["origClientOrderId"] = done.client_order_id
        o["qty"] = o.pop("origQty")
        o["cumulativeQuoteQty"] = o.pop("cummulativeQuoteQty")
        o |= {"preventedQty": "0.00000000", "quoteOrderQty": "0.00000000",
              "workingTime": done.created_ms}  # fmt: skip
        return {"transactTime": done.updated_ms, "executionId": done.seq, "amendedOrder": o}

    # -- WebSocket API ---------------------------------------------------------------------
    def _ws_verify(self, params: Mapping[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
        """Verifies a signed WebSocket API request.

        Verifies a signed WebSocket API request (parameters sorted by name, signed like a
        query string). Returns (account, None) or (None, error).
        """
        items = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
        api_key = items.get("apiKey", "")
        query = urlencode(sorted(items.items()))
        req = _AioRequest("GET", "/?" + query, {"X-MBX-APIKEY": api_key}, None)
        try:
            cred = self.ctx.verify_parts(req, api_key or None)
        except StaleTimestampError:
            return None, {"code": -1021, "msg": "Timestamp for this request is outside of the "
                          "recvWindow."}  # fmt: skip
        except VerificationError as exc:
            if "API-key" in str(exc):
                return None, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for "
                              "action."}  # fmt: skip
            return None, {"code": -1022, "msg": "Signature for this request is not valid."}
        except KeyError:
            return None, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
        return cred.api_key, None

    def _ws_reply(  # noqa: PLR0911
        self, msg: Mapping[str, Any], account: str | None
    ) -> tuple[list[str], str | None]:
        """Answers one request; returns (replies, account subscribed by it)."""
        rid = msg.get("id")
        method = msg.get("method")
        params = msg.get("params") or {}

        def ok(result: object) -> str:
            return json.dumps({"id": rid, "status": 200, "result": result})

        def err(status: int, error: Mapping[str, Any]) -> str:
            return json.dumps({"id": rid, "status": status, "error": dict(error)})

        if method == "ping":
            return [ok({})], None
        if method == "time":
            return [ok({"serverTime": self.ctx.now_ms()})], None
        if method == "userDataStream.subscribe.signature":
            if account is not None:
                return [err(400, {"code": -1221, "msg": "Already subscribed."})], None
            acct, error = self._ws_verify(params)
            if error is not None:
                status = 401 if error["code"] == -2015 else 400
                return [err(status, error)], None
            return [ok({"subscriptionId": 0})], acct
        if method == "userDataStream.unsubscribe":
            return [ok({})], None
        return [err(400, {"code": -1100, "msg": f"Unknown method {method!r}."})], None

    # -- WebSocket API order entry ----------------------------------------------------------
    def _ws_order(self, ws: web.WebSocketResponse, request: web.Request,
                  req: Mapping[str, Any]) -> None:  # fmt: skip
        """Executes an order request now (in arrival order); answers it from a task.

        The task applies the after-acceptance faults: a delayed answer, a dropped connection
        (no answer), or status 500 with -1007 (execution status unknown).
        """
        answer, acted = self._ws_order_now(req)
        task = asyncio.create_task(self._ws_order_finish(ws, request, req.get("id"), answer, acted))
        self._ws_tasks.add(task)
        task.add_done_callback(self._ws_tasks.discard)

    async def _ws_order_finish(self, ws: web.WebSocketResponse, request: web.Request,
                               rid: object, answer: str, acted: bool) -> None:  # fmt: skip
        if acted:
            outcome = await self.ctx.after_accept(request)
            if outcome == "drop":
                return
            if outcome == "5xx":
                error = {
                    "code": -1007,
                    "msg": "Timeout waiting for response from backend server. Send status "
                    "unknown; execution status unknown.",
                }
                answer = json.dumps({"id": rid, "status": 500, "error": error,
                                     "rateLimits": self._ws_rate_limits()})  # fmt: skip
        if not ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(answer)

    def _ws_order_now(self, req: Mapping[str, Any]) -> tuple[str, bool]:
        """One order request, as its REST endpoint would do it: (answer, took effect)."""
        method = str(req.get("method"))
        weight, orders, new_order = _WS_ORDER_METHODS[method]
        raw = req.get("params")
        acted = False
        try:
            self._charge(weight, orders)
            self.ctx.roll_skew()
            if not isinstance(raw, dict):
                raise _Refused(_error(400, -1102, "Mandatory parameter 'params' was not sent, "
                                      "was empty/null, or malformed."))  # fmt: skip
            account, error = self._ws_verify(raw)
            if error is not None or account is None:
                error = error or {"code": -2015, "msg": "Invalid API-key."}
                status = 401 if error["code"] == -2015 else 400
                raise _Refused(_error(status, int(error["code"]), str(error["msg"])))
            p = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in raw.items()}
            self._faults_before(new_order=new_order)
            try:
                resp = self._ws_order_exec(method, account, p)
            except SimReject as exc:
                resp = self._reject(exc)
            acted = resp.status < 300
        except _Refused as r:
            resp = r.response
        return self._ws_answer(req.get("id"), resp), acted

    def _ws_order_exec(self, method: str, account: str, p: Mapping[str, str]) -> web.Response:
        """The REST handler's steps and answer for one order method (refusals raise)."""
        if method == "order.place":
            return self._ok(self._placed_json(self._place(account, p), p))
        if method == "order.cancel":
            target = self._find(account, p)
            done, _ = self.ex.cancel(account, venue_order_id=target.venue_order_id)
            return self._ok(self._cancel_json(done, p.get("newClientOrderId")))
        if method == "order.cancelReplace":
            return self._ok(self._replaced_json(*self._cancel_replace(account, p)))
        return self._ok(self._amended_json(self._keep_priority(account, p)))

    def _ws_rate_limits(self) -> list[dict[str, Any]]:
        """The answer's `rateLimits` (the REST usage headers' counts)."""
        return [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": 6000, "count": int(self.limits.used("REQUEST_WEIGHT"))},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10,
             "limit": 50, "count": int(self.limits.used("ORDERS_10S"))},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1,
             "limit": 160000, "count": int(self.limits.used("ORDERS_1D"))},
        ]  # fmt: skip

    def _ws_answer(self, rid: object, resp: web.Response) -> str:
        """A REST response as the WebSocket API's answer (429/418: `data.retryAfter` in ms)."""
        raw = resp.body if isinstance(resp.body, bytes) else b""
        try:
            body: Any = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        out: dict[str, Any] = {"id": rid, "status": resp.status}
        if resp.status < 300:
            out["result"] = body
        else:
            after = resp.headers.get("Retry-After")
            if after is not None and isinstance(body, dict):
                now = self.ctx.now_ms()
                body = body | {"data": {"serverTime": now,
                                        "retryAfter": now + int(float(after) * 1000)}}  # fmt: skip
            out["error"] = body
        out["rateLimits"] = self._ws_rate_limits()
        return json.dumps(out, separators=(",", ":"))

    async def ws_api(self, request: web.Request) -> web.WebSocketResponse:
        """The WebSocket API endpoint.

        `/ws-api/v3`: requests answered; after `userDataStream.subscribe.signature` the
        account's events stream as `{"subscriptionId": 0, "event": {...}}`.
        """
        ws = web.WebSocketResponse(heartbeat=20.0)
        await ws.prepare(request)
        account: str | None = None
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            try:
                req = json.loads(msg.data)
            except ValueError:
                await ws.send_str(json.dumps({"id": None, "status": 400, "error": {
                    "code": -1100, "msg": "Malformed request."}}))  # fmt: skip
                continue
            if isinstance(req, dict) and req.get("method") in _WS_ORDER_METHODS:
                self._ws_order(ws, request, req)
                continue
            replies, account = self._ws_reply(req, None)
            for r in replies:
                await ws.send_str(r)
            if account is not None:
                break
        if account is not None:
            acct = account

            def on_message(data: str) -> Sequence[str]:
                try:
                    req = json.loads(data)
                except ValueError:
                    return []
                if isinstance(req, dict) and req.get("method") in _WS_ORDER_METHODS:
                    self._ws_order(ws, request, req)
                    return []
                return self._ws_reply(req, acct)[0]

            await self.hub.serve(ws, acct, self.encode, on_message=on_message)
        await ws.close()
        return ws
