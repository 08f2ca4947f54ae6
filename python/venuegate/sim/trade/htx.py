"""HTX (Huobi) spot trading API of the simulator: REST v1/v2 paths and the private ws/v2 stream.

Served from the HTX spot API documentation (https://huobiapi.github.io/docs/spot/v1/en/):
v1 answers `{"status": "ok", "data": ..}` / `{"status": "error", "err-code": .., "err-msg": ..}`
(HTTP 200), v2 answers `{"code": 200, "message": "success", "data": ..}`. Signed requests are
verified by `venuegate.sim.verify` (signature v2: `AccessKeyId`, `SignatureMethod`,
`SignatureVersion`, `Timestamp` and `Signature` in the query; the host line is
`api.huobi.pro`). The private stream `/ws/v2` verifies the signature v2.1 `auth` request, then
serves `orders#<symbol>` and `trade.clearing#<symbol>#<mode>` subscriptions.

Modelled: the order types HTX spot has (limit, IOC, FOK, limit-maker, market; a market buy's
`amount` is quote currency, converted at the best ask and rounded down to the lot), cancels by
id and client id (asynchronous at HTX: a successful cancel answers 10 "cancelling"), cancel-all
by criteria, the dead-man switch, queries, fills with fees, rate windows per endpoint (429
with Retry-After), faults. Not modelled: stop orders, batch placement, balances, margin,
self-match prevention, the server's own pings.
"""

from __future__ import annotations

import asyncio
import base64
import calendar
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_DOWN, Decimal
from typing import Any, ClassVar
from urllib.parse import quote

from aiohttp import WSMsgType, web

from venuegate.sim.trade.exchange import (
    ExecEvent,
    RejectReason,
    SimFill,
    SimOrder,
    SimReject,
    Tif,
)
from venuegate.sim.trade.faults import TradeFault
from venuegate.sim.trade.limits import SimLimits, SimWindow
from venuegate.sim.trade.server import VenueApi
from venuegate.sim.verify import StaleTimestampError, VerificationError

__all__ = ["Api"]

_QUOTES = ("usdt", "usdc", "husd", "btc", "eth", "ht", "trx")

_REJECT: Mapping[RejectReason, tuple[str, str]] = {
    RejectReason.DUPLICATE_CLIENT_ID: (
        "order-duplicate-client-order-id",
        "client-order-id is duplicated",
    ),
    RejectReason.UNKNOWN_SYMBOL: ("base-symbol-error", "The symbol is invalid"),
    RejectReason.BAD_QUANTITY: (
        "order-orderamount-precision-error",
        "order amount precision error",
    ),
    RejectReason.BAD_PRICE: ("order-orderprice-precision-error", "order price precision error"),
    RejectReason.POST_ONLY_WOULD_TAKE: (
        "order-limit-maker-price-error",
        "limit-maker order would take liquidity",
    ),
    RejectReason.UNKNOWN_ORDER: ("base-record-invalid", "record invalid"),
    RejectReason.ORDER_CLOSED: ("order-orderstate-error", "Incorrect order state"),
    RejectReason.BAD_AMEND: ("invalid-parameter", "invalid parameter"),
    RejectReason.MAINTENANCE: ("system-maintenance", "System is in maintenance!"),
}


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _dumps(obj: object) -> str:
    def default(o: object) -> str:
        if isinstance(o, Decimal):
            return _plain(o)
        raise TypeError(type(o).__name__)

    return json.dumps(obj, separators=(",", ":"), default=default)


def _digits(step: Decimal) -> int:
    return max(0, -step.normalize().as_tuple().exponent)  # type: ignore[operator]


def _split(symbol: str) -> tuple[str, str]:
    for q in _QUOTES:
        if symbol.endswith(q) and len(symbol) > len(q):
            return symbol[: -len(q)], q
    return symbol[:-4], symbol[-4:]


def _type_name(o: SimOrder) -> str:
    if o.type == "market":
        kind = "market"
    elif o.post_only:
        kind = "limit-maker"
    else:
        kind = {"ioc": "ioc", "fok": "limit-fok"}.get(o.tif, "limit")
    return f"{o.side}-{kind}"


def _state(o: SimOrder) -> str:
    if o.status == "new":
        return "submitted"
    if o.status == "partially_filled":
        return "partial-filled"
    if o.status in ("canceled", "expired"):
        return "partial-canceled" if o.filled > 0 else "canceled"
    return o.status


class Api(VenueApi):
    """HTX spot REST and `/ws/v2` over the simulator's `SimExchange`."""

    venue: ClassVar[str] = "htx"
    private_ws_path: ClassVar[str] = "/ws/v2"
    retry_after_s: ClassVar[float] = 1.0

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self._account_ids: dict[str, int] = {}
        self._dead_man: dict[str, asyncio.TimerHandle] = {}

    def make_limits(self) -> SimLimits:
        """Per-UID endpoint windows from the docs (fixed 2 s intervals); public 10/1 s."""
        return SimLimits(
            [
                SimWindow("PLACE", 100, 2.0),
                SimWindow("CANCEL", 100, 2.0),
                SimWindow("CANCEL_ALL", 50, 2.0),
                SimWindow("QUERY", 50, 2.0),
                SimWindow("OPEN_ORDERS", 50, 2.0),
                SimWindow("FILLS", 20, 2.0),
                SimWindow("ACCOUNTS", 100, 2.0),
                SimWindow("DEAD_MAN", 20, 2.0),
                SimWindow("PUBLIC", 10, 1.0),
            ]
        )

    def install(self, app: web.Application) -> None:
        """Adds HTX's routes."""
        r = app.router
        r.add_get("/v1/common/timestamp", self.timestamp)
        r.add_get("/v1/common/symbols", self.symbols)
        r.add_get("/v2/reference/currencies", self.currencies)
        r.add_get("/v2/market-status", self.market_status)
        r.add_get("/v1/account/accounts", self.accounts)
        r.add_post("/v1/order/orders/place", self.place)
        r.add_post("/v1/order/orders/submitCancelClientOrder", self.cancel_client)
        r.add_post("/v1/order/orders/batchCancelOpenOrders", self.cancel_open)
        r.add_post("/v1/order/orders/{order_id}/submitcancel", self.cancel_id)
        r.add_get("/v1/order/orders/getClientOrder", self.get_client_order)
        r.add_get("/v1/order/openOrders", self.open_orders)
        r.add_get("/v1/order/matchresults", self.matchresults)
        r.add_get("/v1/order/orders/{order_id}/matchresults", self.order_matchresults)
        r.add_get("/v1/order/orders/{order_id}", self.get_order)
        r.add_post("/v2/algo-orders/cancel-all-after", self.cancel_all_after)
        r.add_get(self.private_ws_path, self.private_ws)

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _ok(data: object) -> web.Response:
        return web.Response(
            text=_dumps({"status": "ok", "data": data}), content_type="application/json"
        )

    @staticmethod
    def _err(code: str, msg: str, status: int = 200) -> web.Response:
        return web.Response(
            text=_dumps({"status": "error", "err-code": code, "err-msg": msg, "data": None}),
            status=status,
            content_type="application/json",
        )

    @staticmethod
    def _ok2(data: object) -> web.Response:
        return web.Response(
            text=_dumps({"code": 200, "message": "success", "data": data}),
            content_type="application/json",
        )

    def _reject(self, exc: SimReject) -> web.Response:
        code, msg = _REJECT[exc.reason]
        return self._err(code, msg)

    def _limited(self, retry_after: float) -> web.Response:
        self.ctx.count("rate_limited")
        resp = self._err(
            "base-request-exceed-frequency-limit",
            "Frequency of requests has exceeded the limit, please try again later",
            429,
        )
        resp.headers["Retry-After"] = str(max(1, round(retry_after + 0.499)))
        return resp

    def _account_id(self, account: str) -> int:
        if account not in self._account_ids:
            self._account_ids[account] = 10_000_000 + len(self._account_ids) + 1
        return self._account_ids[account]

    async def _auth(
        self, request: web.Request, window: str
    ) -> tuple[str | None, web.Response | None]:
        """Verifies and charges; returns (account, None) or (None, the error answer)."""
        try:
            cred = await self.ctx.verify(request)
        except StaleTimestampError:
            return None, self._err(
                "api-signature-not-valid",
                "Signature not valid: Timestamp expired or invalid [timestamp]",
            )
        except (VerificationError, KeyError) as exc:
            return None, self._err("api-signature-not-valid", f"Signature not valid: {exc}")
        verdict = self.limits.charge({window: 1})
        if not verdict.ok:
            return None, self._limited(verdict.retry_after)
        return cred.api_key, None

    def _faults_before(self) -> web.Response | None:
        faults = self.ctx.faults
        if faults.roll(TradeFault.RATE_429):
            self.limits.limit_for(self.retry_after_s)
            return self._limited(self.retry_after_s)
        if faults.roll(TradeFault.REST_5XX_BEFORE):
            self.ctx.count("5xx_before")
            return self._err("gateway-internal-error", "Failed to load data. Try again later.", 503)
        return None

    async def _after(self, request: web.Request, resp: web.Response) -> web.Response:
        outcome = await self.ctx.after_accept(request)
        if outcome == "5xx":
            return self._err("timeout", "Request Timeout", 504)
        return resp

    async def _body(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        try:
            body = json.loads(raw or b"{}", parse_float=Decimal)
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def _order_json(self, o: SimOrder) -> dict[str, Any]:
        fees = sum((f.fee for f in o.fills), Decimal(0))
        finished = o.updated_ms if not o.is_open else 0
        return {
            "id": int(o.venue_order_id),
            "symbol": o.symbol,
            "account-id": self._account_id(o.account),
            "client-order-id": o.client_order_id,
            "amount": o.quantity,
            "price": o.price if o.price is not None else "0",
            "created-at": o.created_ms,
            "type": _type_name(o),
            "field-amount": o.filled,
            "field-cash-amount": o.notional,
            "field-fees": fees,
            "filled-amount": o.filled,
            "filled-cash-amount": o.notional,
            "filled-fees": fees,
            "finished-at": finished,
            "canceled-at": finished if o.status in ("canceled", "expired") else 0,
            "source": "spot-api",
            "state": _state(o),
        }

    def _fill_json(self, f: SimFill) -> dict[str, Any]:
        return {
            "symbol": f.symbol,
            "fee-currency": _split(f.symbol)[1],
            "source": "spot-api",
            "price": f.price,
            "created-at": f.ts_ms,
            "role": f.liquidity,
            "order-id": int(f.venue_order_id),
            "match-id": int(f.trade_id),
            "trade-id": int(f.trade_id),
            "filled-amount": f.qty,
            "filled-fees": f.fee,
            "filled-points": "0",
            "fee-deduct-currency": "",
            "fee-deduct-state": "done",
            "id": int(f.trade_id),
            "type": "",
        }

    # -- public ------------------------------------------------------------------------------
    async def timestamp(self, request: web.Request) -> web.Response:
        """`GET /v1/common/timestamp`."""
        return self._ok(self.ctx.now_ms())

    async def symbols(self, request: web.Request) -> web.Response:
        """`GET /v1/common/symbols` (what ccxt loads markets from)."""
        out = []
        for inst in self.ex.instruments.values():
            base, quote_ = _split(inst.symbol)
            out.append(
                {
                    "base-currency": base,
                    "quote-currency": quote_,
                    "price-precision": _digits(inst.tick),
                    "amount-precision": _digits(inst.lot),
                    "symbol-partition": "main",
                    "symbol": inst.symbol,
                    "state": "online",
                    "value-precision": 8,
                    "min-order-amt": inst.lot,
                    "max-order-amt": "1000000",
                    "min-order-value": "1",
                    "limit-order-min-order-amt": inst.lot,
                    "limit-order-max-order-amt": "1000000",
                    "sell-market-min-order-amt": inst.lot,
                    "sell-market-max-order-amt": "1000000",
                    "buy-market-max-order-value": "10000000",
                    "api-trading": "enabled",
                }
            )
        return self._ok(out)

    async def currencies(self, request: web.Request) -> web.Response:
        """`GET /v2/reference/currencies` (ccxt's `fetch_currencies`), without chains."""
        names = sorted({c for i in self.ex.instruments for c in _split(i)})
        return self._ok2(
            [{"currency": c, "assetType": 1, "chains": [], "instStatus": "normal"} for c in names]
        )

    async def market_status(self, request: web.Request) -> web.Response:
        """`GET /v2/market-status`: 1 normal, 2 halted (maintenance, `haltReason` 3)."""
        if self.ctx.maintenance():
            until = int(self.ctx.maintenance_until * 1000)
            return self._ok2(
                {
                    "marketStatus": 2,
                    "haltStartTime": self.ctx.now_ms(),
                    "haltEndTime": until,
                    "haltReason": 3,
                }
            )
        return self._ok2({"marketStatus": 1})

    # -- private -----------------------------------------------------------------------------
    async def accounts(self, request: web.Request) -> web.Response:
        """`GET /v1/account/accounts`."""
        account, err = await self._auth(request, "ACCOUNTS")
        if err is not None or account is None:
            return err or self._err("api-signature-not-valid", "Signature not valid")
        return self._ok(
            [
                {
                    "id": self._account_id(account),
                    "type": "spot",
                    "subtype": "",
                    "state": "working",
                }
            ]
        )

    async def place(self, request: web.Request) -> web.Response:  # noqa: PLR0911
        """`POST /v1/order/orders/place`."""
        self.ctx.roll_skew()
        account, err = await self._auth(request, "PLACE")
        if err is not None or account is None:
            return err or self._err("api-signature-not-valid", "Signature not valid")
        early = self._faults_before()
        if early is not None:
            return early
        if self.ctx.maintenance():
            return self._err("system-maintenance", "System is in maintenance!")
        b = await self._body(request)
        if str(b.get("account-id")) != str(self._account_id(account)):
            return self._err("account-get-accounts-inexistent-error", "account not exist")
        type_ = str(b.get("type") or "")
        side, _, kind = type_.partition("-")
        if side not in ("buy", "sell") or kind not in (
            "limit",
            "ioc",
            "limit-fok",
            "limit-maker",
            "market",
        ):
            return self._err("invalid-parameter", f"invalid order type {type_}")
        cid = str(b.get("client-order-id") or "")
        if len(cid) > 64:
            return self._err("invalid-parameter", "client-order-id too long")
        symbol = str(b.get("symbol") or "")
        try:
            amount = Decimal(str(b.get("amount")))
            price = Decimal(str(b["price"])) if kind != "market" and "price" in b else None
        except (ArithmeticError, ValueError, KeyError):
            return self._err("invalid-amount", "Paramemter `amount` is invalid.")
        if kind != "market" and price is None:
            return self._err("invalid-parameter", "price is required")
        tif: Tif = {"ioc": "ioc", "limit-fok": "fok"}.get(kind, "gtc")  # type: ignore[assignment]
        qty = amount
        if kind == "market" and side == "buy":
            inst = self.ex.instruments.get(symbol)
            if inst is None:
                return self._err("base-symbol-error", "The symbol is invalid")
            ask = self.ex.touch(symbol)[1]
            qty = (amount / ask).quantize(inst.lot, rounding=ROUND_DOWN)
        try:
            order, _ = self.ex.place(
                account,
                symbol=symbol,
                side="buy" if side == "buy" else "sell",
                type="market" if kind == "market" else "limit",
                quantity=qty,
                client_order_id=cid or f"sim{time.time_ns()}",
                price=price,
                tif=tif,
                post_only=kind == "limit-maker",
            )
        except SimReject as exc:
            return self._reject(exc)
        return await self._after(request, self._ok(order.venue_order_id))

    async def _cancel(  # noqa: PLR0911
        self, request: web.Request, *, by_client: bool
    ) -> web.Response:
        self.ctx.roll_skew()
        account, err = await self._auth(request, "CANCEL")
        if err is not None or account is None:
            return err or self._err("api-signature-not-valid", "Signature not valid")
        early = self._faults_before()
        if early is not None:
            return early
        self.ctx.maintenance()  # cancels still work during maintenance
        if by_client:
            b = await self._body(request)
            cid = str(b.get("client-order-id") or "")
            found = self.ex.find(account, client_order_id=cid)
        else:
            found = self.ex.find(account, venue_order_id=request.match_info["order_id"])
        if found is None:
            return self._err("base-record-invalid", "record invalid")
        if not found.is_open:
            if by_client:
                code = {"filled": 6}.get(found.status, 5 if found.filled > 0 else 7)
                return self._ok(code)
            return self._err("order-orderstate-error", "Incorrect order state")
        try:
            order, _ = self.ex.cancel(account, venue_order_id=found.venue_order_id)
        except SimReject as exc:
            return self._reject(exc)
        data: object = 10 if by_client else order.venue_order_id
        return await self._after(request, self._ok(data))

    async def cancel_client(self, request: web.Request) -> web.Response:
        """`POST /v1/order/orders/submitCancelClientOrder` → cancellation status (10)."""
        return await self._cancel(request, by_client=True)

    async def cancel_id(self, request: web.Request) -> web.Response:
        """`POST /v1/order/orders/{order-id}/submitcancel` → the order id."""
        return await self._cancel(request, by_client=False)

    async def cancel_open(self, request: web.Request) -> web.Response:
        """`POST /v1/order/orders/batchCancelOpenOrders` (`symbol` may list several)."""
        self.ctx.roll_skew()
        account, err = await self._auth(request, "CANCEL_ALL")
        if err is not None or account is None:
            return err or self._err("api-signature-not-valid", "Signature not valid")
        early = self._faults_before()
        if early is not None:
            return early
        self.ctx.maintenance()
        b = await self._body(request)
        size = int(str(b.get("size") or 100))
        symbols: list[str | None] = [s for s in str(b.get("symbol") or "").split(",") if s] or [
            None
        ]
        side = b.get("side")
        done = 0
        more = False
        for sym in symbols:
            for o in self.ex.open_orders(account, sym):
                if side and o.side != side:
                    continue
                if done >= size:
                    more = True
                    break
                self.ex.cancel(account, venue_order_id=o.venue_order_id)
                done += 1
        data = {"success-count": done, "failed-count": 0, "next-id": 1 if more else -1}
        return await self._after(request, self._ok(data))

    async def get_client_order(self, request: web.Request) -> web.Response:
        """`GET /v1/order/orders/getClientOrder?clientOrderId=..`."""
        account, err = await self._auth(request, "QUERY")
        if err is not None or account is None:
            return err or self._err("api-signature-not-valid", "Signature not valid")
        early = self._faults_before()
        if early is not None:
            return early
        o = self.ex.find(account, client_order_id=request.query.get("clientOrderId", ""))
        if o is None:
            return self._err("base-record-invalid", "record invalid")
        return self._ok(self._order_json(o))

    async def get_order(self, request: web.Request) -> web.Response:
        """`GET /v1/order/orders/{order-id}`."""
        account, err = await self._auth(request, "QUERY")
        if err is not None or account is None:
            return err or self._err("api-signature-not-valid", "Signature not valid")
        o = self.ex.find(account, venue_order_id=request.match_info["order_id"])
        if o is None:
            return self._err("base-record-invalid", "record invalid")
        return self._ok(self._order_json(o))

    async def open_orders(self, request: web.Request) -> web.Response:
        """`GET /v1/order/openOrders?account-id=..&symbol=..`."""
        account, err = await self._auth(request, "OPEN_ORDERS")
        if err is not None or account is None:
            return err or self._err("api-signature-not-valid", "Signature not valid")
        early = self._faults_before()
        if early is not None:
            return early
        symbol = request.query.get("symbol") or None
        size = int(request.query.get("size", "100"))
        orders = self.ex.open_orders(account, symbol)
        return self._ok([self._order_json(o) for o in reversed(orders)][:size])

    async def matchresults(self, request: web.Request) -> web.Response:
        """`GET /v1/order/matchresults?symbol=..&start-time=..` (newest first)."""
        account, err = await self._auth(request, "FILLS")
        if err is not None or account is None:
            return err or self._err("api-signature-not-valid", "Signature not valid")
        early = self._faults_before()
        if early is not None:
            return early
        q = request.query
        since = int(q.get("start-time", "0") or 0)
        end = int(q.get("end-time", "0") or 0)
        fills = self.ex.trades(account, q.get("symbol") or None, since)
        if end:
            fills = [f for f in fills if f.ts_ms <= end]
        size = int(q.get("size", "100"))
        return self._ok([self._fill_json(f) for f in reversed(fills)][:size])

    async def order_matchresults(self, request: web.Request) -> web.Response:
        """`GET /v1/order/orders/{order-id}/matchresults`."""
        account, err = await self._auth(request, "FILLS")
        if err is not None or account is None:
            return err or self._err("api-signature-not-valid", "Signature not valid")
        o = self.ex.find(account, venue_order_id=request.match_info["order_id"])
        if o is None:
            return self._err("base-record-invalid", "record invalid")
        return self._ok([self._fill_json(f) for f in o.fills])

    async def cancel_all_after(self, request: web.Request) -> web.Response:
        """`POST /v2/algo-orders/cancel-all-after` {"timeout": s}: 0 disarms, else >= 5."""
        self.ctx.roll_skew()
        account, err = await self._auth(request, "DEAD_MAN")
        if err is not None or account is None:
            return err or self._err("api-signature-not-valid", "Signature not valid")
        early = self._faults_before()
        if early is not None:
            return early
        b = await self._body(request)
        try:
            timeout = int(str(b.get("timeout")))
        except ValueError:
            timeout = -1
        if timeout < 0 or 0 < timeout < 5:
            return web.Response(
                text=_dumps({"code": 2002, "message": "invalid timeout", "data": None}),
                content_type="application/json",
            )
        old = self._dead_man.pop(account, None)
        if old is not None:
            old.cancel()
        now = self.ctx.now_ms()
        trigger = 0
        if timeout:
            loop = asyncio.get_running_loop()
            self._dead_man[account] = loop.call_later(timeout, lambda: self._fire_dead_man(account))
            trigger = now + timeout * 1000
        return await self._after(request, self._ok2({"currentTime": now, "triggerTime": trigger}))

    def _fire_dead_man(self, account: str) -> None:
        self._dead_man.pop(account, None)
        self.ctx.count("dead_man_fired")
        self.ex.cancel_all(account)

    # -- private stream ------------------------------------------------------------------------
    def _verify_ws(self, params: Mapping[str, Any], path: str) -> tuple[str | None, str]:
        """(account, "") when the v2.1 auth params are valid, else (None, the reason)."""
        key = str(params.get("accessKey") or "")
        cred = self.ctx.credentials.get(key)
        if cred is None:
            return None, "auth.fail: invalid accessKey"
        if (
            params.get("signatureMethod") != "HmacSHA256"
            or str(params.get("signatureVersion")) != "2.1"
            or params.get("authType") != "api"
        ):
            return None, "auth.fail: signature method or version"
        stamp_text = str(params.get("timestamp") or "")
        try:
            stamp = calendar.timegm(time.strptime(stamp_text, "%Y-%m-%dT%H:%M:%S")) * 1000
        except ValueError:
            return None, "auth.fail: invalid timestamp"
        if abs(self.ctx.now_ms() - stamp) > 300_000:
            return None, "auth.fail: timestamp expired"
        signed = {
            "accessKey": key,
            "signatureMethod": "HmacSHA256",
            "signatureVersion": "2.1",
            "timestamp": stamp_text,
        }
        canonical = "&".join(f"{k}={quote(v, safe='')}" for k, v in sorted(signed.items()))
        host = (cred.host or "api.huobi.pro").lower()
        signature = str(params.get("signature") or "")
        # The venue signs its own path; a client on a plain ws:// URL that cannot strip the
        # scheme (ccxt.pro strips only "wss://<hostname>") signs the full URL it connected to:
        # that one alternative is accepted, still checked with the account's secret.
        for p in (path, f"ws://{self.ctx.host}{path}"):
            text = f"GET\n{host}\n{p}\n{canonical}".encode()
            mac = base64.b64encode(hmac.new(cred.secret.encode(), text, hashlib.sha256).digest())
            if hmac.compare_digest(mac, signature.encode()):
                return key, ""
        return None, "auth.fail: signature not valid"

    async def private_ws(self, request: web.Request) -> web.WebSocketResponse:
        """`/ws/v2`: `auth` first, then `sub`s; pushes `orders#` and `trade.clearing#`."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        account: str | None = None
        while account is None:
            msg = await ws.receive()
            if msg.type != WSMsgType.TEXT:
                return ws
            try:
                req = json.loads(msg.data)
            except ValueError:
                continue
            if not isinstance(req, dict) or req.get("action") != "req" or req.get("ch") != "auth":
                if isinstance(req, dict) and req.get("action") == "sub":
                    await ws.send_str(
                        _dumps(
                            {
                                "action": "sub",
                                "code": 2002,
                                "ch": req.get("ch"),
                                "message": "invalid.auth.state",
                            }
                        )
                    )
                continue
            account, reason = self._verify_ws(req.get("params") or {}, self.private_ws_path)
            if account is None:
                await ws.send_str(
                    _dumps({"action": "req", "code": 2003, "ch": "auth", "message": reason})
                )
                await ws.close()
                return ws
            await ws.send_str(_dumps({"action": "req", "code": 200, "ch": "auth", "data": {}}))
        subs: set[str] = set()
        await self.hub.serve(ws, account, self._encoder(subs), on_message=self._on_message(subs))
        return ws

    def _on_message(self, subs: set[str]) -> Callable[[str], Sequence[str]]:
        def handle(text: str) -> Sequence[str]:  # noqa: PLR0911
            try:
                req = json.loads(text)
            except ValueError:
                return []
            if not isinstance(req, dict):
                return []
            action = req.get("action")
            if action == "sub":
                ch = str(req.get("ch") or "")
                if not (ch.startswith("orders#") or ch.startswith("trade.clearing#")):
                    return [
                        _dumps({"action": "sub", "code": 2001, "ch": ch, "message": "invalid.ch"})
                    ]
                subs.add(ch)
                return [_dumps({"action": "sub", "code": 200, "ch": ch, "data": {}})]
            if action == "unsub":
                ch = str(req.get("ch") or "")
                subs.discard(ch)
                return [_dumps({"action": "unsub", "code": 200, "ch": ch, "data": {}})]
            if action == "ping":
                return [_dumps({"action": "pong", "data": req.get("data") or {}})]
            return []

        return handle

    def _encoder(self, subs: set[str]) -> Callable[[ExecEvent], list[str]]:
        def channels(prefix: str, symbol: str) -> list[str]:
            out = []
            for ch in sorted(subs):
                if not ch.startswith(prefix):
                    continue
                rest = ch[len(prefix) :]
                sym = rest.split("#", 1)[0]
                if sym in (symbol, "*"):
                    out.append(ch)
            return out

        def encode(ev: ExecEvent) -> list[str]:
            o = ev.order
            common = {
                "orderId": int(o.venue_order_id),
                "type": _type_name(o),
                "clientOrderId": o.client_order_id,
                "orderSource": "spot-api",
                "orderPrice": o.price if o.price is not None else "0",
                "orderSize": o.quantity,
                "symbol": o.symbol,
            }
            out: list[str] = []
            if ev.name == "new":
                data = {
                    **common,
                    "orderCreateTime": o.created_ms,
                    "accountId": self._account_id(o.account),
                    "orderStatus": "submitted",
                    "eventType": "creation",
                }
                for ch in channels("orders#", o.symbol):
                    out.append(_dumps({"action": "push", "ch": ch, "data": data}))
            elif ev.name == "fill" and ev.fill is not None:
                f = ev.fill
                trade = {
                    **common,
                    "tradePrice": f.price,
                    "tradeVolume": f.qty,
                    "tradeId": int(f.trade_id),
                    "tradeTime": f.ts_ms,
                    "aggressor": f.liquidity == "taker",
                    "remainAmt": o.remaining,
                    "execAmt": o.filled,
                    "orderStatus": _state(o),
                    "eventType": "trade",
                }
                for ch in channels("orders#", o.symbol):
                    out.append(_dumps({"action": "push", "ch": ch, "data": trade}))
                clearing = {
                    "eventType": "trade",
                    "symbol": o.symbol,
                    "orderId": int(o.venue_order_id),
                    "tradePrice": f.price,
                    "tradeVolume": f.qty,
                    "orderSide": o.side,
                    "orderType": _type_name(o),
                    "aggressor": f.liquidity == "taker",
                    "tradeId": int(f.trade_id),
                    "tradeTime": f.ts_ms,
                    "transactFee": f.fee,
                    "feeCurrency": _split(o.symbol)[1],
                    "feeDeduct": "0",
                    "feeDeductType": "",
                    "accountId": self._account_id(o.account),
                    "source": "spot-api",
                    "orderPrice": o.price if o.price is not None else "0",
                    "orderSize": o.quantity,
                    "orderValue": "0",
                    "clientOrderId": o.client_order_id,
                    "stopPrice": "",
                    "operator": "",
                    "orderCreateTime": o.created_ms,
                    "orderStatus": _state(o),
                }
                for ch in channels("trade.clearing#", o.symbol):
                    out.append(_dumps({"action": "push", "ch": ch, "data": clearing}))
            elif ev.name in ("canceled", "expired"):
                data = {
                    **common,
                    "lastActTime": o.updated_ms,
                    "remainAmt": o.remaining,
                    "execAmt": o.filled,
                    "orderStatus": _state(o),
                    "eventType": "cancellation",
                }
                for ch in channels("orders#", o.symbol):
                    out.append(_dumps({"action": "push", "ch": ch, "data": data}))
            return out

        return encode
