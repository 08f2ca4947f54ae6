"""Bitfinex v2 trading API of the simulator.

Bitfinex v2 trading API of the simulator: the real REST paths, arrays, error codes and the
authenticated WebSocket.

Written from https://docs.bitfinex.com/ (pages cited at each handler). Answers are Bitfinex's
arrays: notifications `[MTS, "on-req", null, null, DATA, null, "SUCCESS", TEXT]` for order
writes, order arrays (32 fields) and trade arrays (12 fields) for reads; errors are
`["error", CODE, "TEXT"]` with HTTP 500 (as Bitfinex answers them); the rate limit answers HTTP
429 `["error", 11010, "ratelimit: error"]` and blocks for 60 s (requirements-and-limitations).
Requests are verified as Bitfinex verifies them (`venuegate.sim.verify`: 10100 for a bad key or
signature) and nonces must increase per key, REST and WebSocket auth alike ("nonce: small",
10114).

Modelled: exchange-wallet EXCHANGE LIMIT / MARKET / IOC / FOK orders, post-only (flag 4096: a
crossing order is accepted, then canceled "POSTONLY CANCELED"), good-till-date (`tif`), cid +
cid_date lookups, submit, update (`price`, `amount`, `delta`), cancel (by id or cid), cancel
multi (`all`, `id`, `cid`), active orders, order history, trades, order trades, platform status,
the `conf` listings ccxt's `load_markets` reads, and the authenticated WebSocket (`auth` with
`dms: 4` — orders are canceled when that socket closes —, `os`/`on`/`ou`/`oc`, `te`/`tu`,
`ping`/`pong`). Not modelled: margin and derivatives, stop / trailing / OCO / hidden orders,
wallets and balances, WebSocket order entry (`on` inputs), heartbeats, per-key nonce windows
beyond "must increase".

Bitfinex does not enforce unique cids; the simulator's matching engine does, and answers a
duplicate with `["error", 10001, "Invalid order: duplicate cid"]` (a simulator behaviour).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Final

from aiohttp import WSMsgType, web

from venuegate.sim.trade.exchange import ExecEvent, RejectReason, SimFill, SimOrder, SimReject
from venuegate.sim.trade.faults import TradeFault
from venuegate.sim.trade.limits import SimLimits, SimWindow
from venuegate.sim.trade.server import VenueApi, VenueContext
from venuegate.sim.verify import StaleTimestampError, VerificationError

__all__ = ["Api"]

_WINDOWS: Final[Mapping[str, int]] = {
    # Each endpoint page's "Rate Limit: N reqs/min".
    "SUBMIT": 90,
    "UPDATE": 90,
    "CANCEL": 90,
    "CANCEL_MULTI": 90,
    "ORDERS": 90,
    "ORDERS_HIST": 90,
    "TRADES_HIST": 90,
    "STATUS": 30,
    "CONF": 90,
}
_BLOCK_S: Final = 60.0
""""If an IP address exceeds the limit it is blocked for 60 seconds"."""

_REJECT: Final[Mapping[RejectReason, tuple[int, str]]] = {
    RejectReason.DUPLICATE_CLIENT_ID: (10001, "Invalid order: duplicate cid"),
    RejectReason.UNKNOWN_SYMBOL: (10020, "symbol: invalid"),
    RejectReason.BAD_QUANTITY: (10020, "amount: invalid"),
    RejectReason.BAD_PRICE: (10020, "price: invalid"),
    RejectReason.POST_ONLY_WOULD_TAKE: (10001, "Invalid order: post-only order would take"),
    RejectReason.UNKNOWN_ORDER: (10001, "Order not found."),
    RejectReason.ORDER_CLOSED: (10001, "Order not found."),
    RejectReason.BAD_AMEND: (10020, "amount: invalid"),
    RejectReason.MAINTENANCE: (20060, "maintenance"),
}

_FLAG_POST_ONLY: Final = 4096
_DAY_MS: Final = 86_400_000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _s(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _num(value: Decimal) -> Any:
    """A Decimal as a JSON number token (Bitfinex sends numbers, not strings)."""
    return _Raw(_s(value))


class _Raw(str):
    """A number written verbatim into JSON."""


def _dumps(obj: object) -> str:
    """JSON with `_Raw` values as bare number tokens."""
    marks: list[str] = []

    def walk(o: object) -> object:
        if isinstance(o, _Raw):
            marks.append(str(o))
            return f"\x00{len(marks) - 1}\x00"
        if isinstance(o, list | tuple):
            return [walk(x) for x in o]
        if isinstance(o, dict):
            return {k: walk(v) for k, v in o.items()}
        return o

    text = json.dumps(walk(obj), separators=(",", ":"))
    for i, m in enumerate(marks):
        text = text.replace(f'"\\u0000{i}\\u0000"', m)
    return text


def _json(status: int, body: object, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, text=_dumps(body), content_type="application/json", headers=headers
    )


def _err(code: int, text: str, status: int = 500) -> web.Response:
    return _json(status, ["error", code, text])


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


class _Bad(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


class Api(VenueApi):
    """Bitfinex v2 REST and authenticated WebSocket over a `SimExchange`."""

    venue: ClassVar[str] = "bitfinex"
    private_ws_path: ClassVar[str] = "/ws/2"

    def __init__(self, ctx: VenueContext) -> None:
        super().__init__(ctx)
        # Bitfinex accepts a crossing post-only order, then cancels it ("POSTONLY CANCELED").
        self.ex.post_only_rejects = False
        self._nonces: dict[str, int] = {}
        self._anon_cid = 0
        self._msg_id = 0

    def make_limits(self) -> SimLimits:
        """Bitfinex's per-endpoint windows (requests per minute)."""
        return SimLimits([SimWindow(n, lim, 60.0, "sliding") for n, lim in _WINDOWS.items()])

    def install(self, app: web.Application) -> None:
        """Adds the Bitfinex v2 routes."""
        r = app.router
        r.add_get("/v2/platform/status", self.platform_status)
        r.add_get("/v2/conf/{config}", self.conf)
        r.add_post("/v2/auth/w/order/submit", self.submit)
        r.add_post("/v2/auth/w/order/update", self.update)
        r.add_post("/v2/auth/w/order/cancel", self.cancel)
        r.add_post("/v2/auth/w/order/cancel/multi", self.cancel_multi)
        r.add_post("/v2/auth/r/orders", self.orders)
        r.add_post("/v2/auth/r/orders/{symbol}/hist", self.orders_hist)
        r.add_post("/v2/auth/r/orders/hist", self.orders_hist)
        r.add_post("/v2/auth/r/orders/{symbol}", self.orders)
        r.add_post("/v2/auth/r/trades/{symbol}/hist", self.trades_hist)
        r.add_post("/v2/auth/r/trades/hist", self.trades_hist)
        r.add_post("/v2/auth/r/order/{key}/trades", self.order_trades)
        r.add_get(self.private_ws_path, self.private_ws)

    # -- common steps ---------------------------------------------------------------------
    def _nonce_ok(self, api_key: str, nonce: str) -> bool:
        n = int(nonce) if nonce.isdigit() else 0
        if n <= self._nonces.get(api_key, 0):
            return False
        self._nonces[api_key] = n
        return True

    async def _auth(self, request: web.Request) -> str | web.Response:
        """The account (API key), or Bitfinex's auth error (https://docs.bitfinex.com/docs/rest-auth)."""
        self.ctx.roll_skew()
        key = request.headers.get("bfx-apikey", "")
        try:
            cred = await self.ctx.verify(request, key or None)
        except StaleTimestampError:
            return _err(10114, "nonce: small")
        except VerificationError as exc:
            text = str(exc).split(": ", 1)[-1]
            code, _, msg = text.partition(" ")
            return _err(int(code) if code.isdigit() else 10100, msg or "apikey: invalid")
        except KeyError:
            return _err(10100, "apikey: invalid")
        if not self._nonce_ok(cred.api_key, request.headers.get("bfx-nonce", "")):
            return _err(10114, "nonce: small")
        return cred.api_key

    def _charge(self, window: str) -> web.Response | None:
        """Rate limits: HTTP 429 `["error", 11010, "ratelimit: error"]`, then a 60 s block."""
        if self.ctx.faults.roll(TradeFault.RATE_429):
            self.limits.limit_for(1.0)
        verdict = self.limits.charge({window: 1})
        if not verdict.ok:
            self.ctx.count("rate_limited")
            retry = verdict.retry_after
            if verdict.window:  # a window overflowed (not a fault): the IP is blocked 60 s
                self.limits.limit_for(_BLOCK_S)
                retry = _BLOCK_S
            return _json(429, ["error", 11010, "ratelimit: error"], {"Retry-After": f"{retry:.3f}"})
        return None

    def _before(self, *, new_orders: bool) -> web.Response | None:
        """5xx-before-processing and maintenance (orders and updates refused; cancels work)."""
        if self.ctx.faults.roll(TradeFault.REST_5XX_BEFORE):
            self.ctx.count("5xx_before")
            return _json(
                503,
                {
                    "code": 503,
                    "error": "temporarily_unavailable",
                    "error_description": "Sorry, the service is temporarily unavailable. See "
                    "https://www.bitfinex.com/ for more info.",
                },
            )
        if self.ctx.maintenance() and new_orders:
            return _err(20060, "maintenance")
        return None

    async def _after(self, request: web.Request, ok: web.Response) -> web.Response:
        """Faults after the exchange acted: a bare 500 (outcome unknown) or a dropped link."""
        outcome = await self.ctx.after_accept(request)
        if outcome == "5xx":
            return web.Response(status=500, text="Internal Server Error")
        return ok

    async def _prelude(
        self, request: web.Request, window: str, *, new_orders: bool | None
    ) -> tuple[str, dict[str, Any]] | web.Response:
        account = await self._auth(request)
        if isinstance(account, web.Response):
            return account
        limited = self._charge(window)
        if limited is not None:
            return limited
        if new_orders is not None:
            refused = self._before(new_orders=new_orders)
            if refused is not None:
                return refused
        try:
            raw = await request.read()
            body = json.loads(raw or b"{}", parse_float=Decimal)
        except ValueError:
            return _err(10020, "body: invalid")
        if not isinstance(body, dict):
            return _err(10020, "body: invalid")
        return account, body

    def _notify(self, kind: str, data: object, text: str) -> web.Response:
        self._msg_id += 1
        return _json(200, [_now_ms(), kind, None, None, data, None, "SUCCESS", text])

    @staticmethod
    def _dec(value: object, name: str, *, signed: bool = False) -> Decimal:
        try:
            out = Decimal(str(value))
        except InvalidOperation:
            raise _Bad(10020, f"{name}: invalid") from None
        if not out.is_finite() or out == 0 or (out < 0 and not signed):
            raise _Bad(10020, f"{name}: invalid")
        return out

    def _new_cid(self, value: object) -> str:
        if value is None:
            self._anon_cid = max(self._anon_cid + 1, _now_ms())
            return str(self._anon_cid)
        text = str(value)
        if not text.isdigit() or int(text) >= 1 << 45:
            raise _Bad(10020, "cid: invalid")
        return str(int(text))

    # -- order arrays -----------------------------------------------------------------------
    @staticmethod
    def _type(o: SimOrder) -> str:
        if o.type == "market":
            return "EXCHANGE MARKET"
        return {"ioc": "EXCHANGE IOC", "fok": "EXCHANGE FOK"}.get(o.tif, "EXCHANGE LIMIT")

    @staticmethod
    def _status(o: SimOrder) -> str:  # noqa: PLR0911 - one answer per status
        sign = 1 if o.side == "buy" else -1
        avg = o.average_price
        fill = f"{_s(avg)}({_s(o.filled * sign)})" if avg is not None else ""
        if o.status == "new":
            return "ACTIVE"
        if o.status == "partially_filled":
            return f"PARTIALLY FILLED @ {fill}"
        if o.status == "filled":
            return f"EXECUTED @ {fill}"
        if o.status == "expired":
            if o.post_only:
                return "POSTONLY CANCELED"
            if o.tif == "fok":
                return "FILLORKILL CANCELED"
            return "CANCELED" + (f" was: PARTIALLY FILLED @ {fill}" if fill else "")
        prefix = "IOC CANCELED" if o.tif == "ioc" else "CANCELED"
        return prefix + (f" was: PARTIALLY FILLED @ {fill}" if fill else "")

    def order_array(self, o: SimOrder) -> list[Any]:
        """A Bitfinex order array (https://docs.bitfinex.com/reference/rest-auth-retrieve-orders).

        AMOUNT is the signed remaining amount, AMOUNT_ORIG the signed order amount (kept in
        step with updates).
        """
        sign = Decimal(1) if o.side == "buy" else Decimal(-1)
        remaining = Decimal(0) if o.status == "filled" else o.remaining
        meta: dict[str, object] = {"$F7": 1} if o.post_only else {}
        return [
            int(o.venue_order_id), None, int(o.client_order_id), o.symbol, o.created_ms,
            o.updated_ms, _num(remaining * sign), _num(o.quantity * sign), self._type(o), None,
            o.expire_at_ms, None, _FLAG_POST_ONLY if o.post_only else 0, self._status(o), None,
            None, _num(o.price) if o.price is not None else 0,
            _num(o.average_price) if o.average_price is not None else 0, 0, 0, None, None, None,
            0, 0, None, None, None, "API>BFX", None, None, meta,
        ]  # fmt: skip

    def trade_array(self, f: SimFill, o: SimOrder, *, fee: bool = True) -> list[Any]:
        """A Bitfinex trade array.

        A trade array `[ID, SYMBOL, MTS, ORDER_ID, EXEC_AMOUNT, EXEC_PRICE, ORDER_TYPE,
        ORDER_PRICE, MAKER, FEE, FEE_CURRENCY, CID]` (fee negative = paid).
        """
        sign = Decimal(1) if f.side == "buy" else Decimal(-1)
        quote = f.symbol[-3:] if ":" not in f.symbol else f.symbol.split(":")[1]
        return [
            int(f.trade_id), f.symbol, f.ts_ms, int(f.venue_order_id), _num(f.qty * sign),
            _num(f.price), self._type(o), _num(o.price) if o.price is not None else None,
            1 if f.liquidity == "maker" else -1, _num(-f.fee) if fee else None,
            quote if fee else None, int(f.client_order_id),
        ]  # fmt: skip

    def _find(self, account: str, body: Mapping[str, Any]) -> SimOrder | None:
        if body.get("id") is not None:
            return self.ex.find(account, venue_order_id=str(body["id"]))
        if body.get("cid") is not None:
            o = self.ex.find(account, client_order_id=str(body["cid"]))
            date = body.get("cid_date")
            if o is not None and date is not None and _day(o.created_ms) != str(date):
                return None
            return o
        return None

    # -- public -----------------------------------------------------------------------------
    async def platform_status(self, request: web.Request) -> web.Response:
        """`GET /v2/platform/status`: `[1]` operative, `[0]` maintenance."""
        limited = self._charge("STATUS")
        if limited is not None:
            return limited
        return _json(200, [0 if self.ctx.maintenance() else 1])

    async def conf(self, request: web.Request) -> web.Response:
        """`GET /v2/conf/{config}`: the configuration listings.

        `GET /v2/conf/{config}` (https://docs.bitfinex.com/reference/rest-public-conf): the
        pair info ccxt reads (`pub:info:pair`: `[PAIR, [_, _, _, MIN_SIZE, MAX_SIZE, ...]]`) and
        empty lists for the other keys.
        """
        limited = self._charge("CONF")
        if limited is not None:
            return limited
        out: list[Any] = []
        for key in request.match_info["config"].split(","):
            if key == "pub:info:pair":
                out.append([
                    [s[1:], [None, None, None, _num(i.lot), "2000.0", None, None, None, None,
                             None, None, None]]
                    for s, i in self.ex.instruments.items()
                    if s.startswith("t")
                ])  # fmt: skip
            elif key == "pub:list:pair:exchange":
                out.append([s[1:] for s in self.ex.instruments if s.startswith("t")])
            elif key == "pub:list:currency":
                cur: set[str] = set()
                for s in self.ex.instruments:
                    p = s[1:]
                    cur.update(p.split(":") if ":" in p else (p[:3], p[3:]))
                out.append(sorted(cur))
            else:
                out.append([])
        return _json(200, out)

    # -- order writes -------------------------------------------------------------------------
    async def submit(self, request: web.Request) -> web.Response:
        """`POST /v2/auth/w/order/submit` (https://docs.bitfinex.com/reference/rest-auth-submit-order)."""
        got = await self._prelude(request, "SUBMIT", new_orders=True)
        if isinstance(got, web.Response):
            return got
        account, body = got
        try:
            typ = str(body.get("type") or "").upper()
            kinds = {
                "EXCHANGE LIMIT": ("limit", "gtc"),
                "EXCHANGE MARKET": ("market", "ioc"),
                "EXCHANGE IOC": ("limit", "ioc"),
                "EXCHANGE FOK": ("limit", "fok"),
            }
            if typ not in kinds:
                raise _Bad(10020, "type: invalid")
            kind, tif = kinds[typ]
            symbol = str(body.get("symbol") or "")
            if symbol not in self.ex.instruments:
                raise _Bad(10020, "symbol: invalid")
            amount = self._dec(body.get("amount"), "amount", signed=True)
            price = self._dec(body.get("price"), "price") if kind == "limit" else None
            flags = int(body.get("flags") or 0)
            expire: int | None = None
            if body.get("tif"):
                try:
                    when = datetime.strptime(str(body["tif"]) + "+0000", "%Y-%m-%d %H:%M:%S%z")
                except ValueError:
                    raise _Bad(10020, "tif: invalid") from None
                expire = int(when.timestamp() * 1000)
                tif = "gtd" if tif == "gtc" else tif
            cid = self._new_cid(body.get("cid"))
            order, _ = self.ex.place(
                account,
                symbol=symbol,
                side="buy" if amount > 0 else "sell",
                type="market" if kind == "market" else "limit",
                quantity=abs(amount),
                client_order_id=cid,
                price=price,
                tif="gtc" if kind == "market" else tif,  # type: ignore[arg-type]
                post_only=bool(flags & _FLAG_POST_ONLY),
                expire_at_ms=expire,
            )
        except _Bad as bad:
            return _err(bad.code, bad.text)
        except SimReject as rej:
            code, text = _REJECT[rej.reason]
            return _err(code, text)
        return await self._after(
            request, self._notify("on-req", [self.order_array(order)], "Submitting 1 orders.")
        )

    async def update(self, request: web.Request) -> web.Response:
        """`POST /v2/auth/w/order/update`.

        `POST /v2/auth/w/order/update` (https://docs.bitfinex.com/reference/rest-auth-update-order):
        by `id`; `price`; `amount` (the new amount still to fill, signed) or `delta` (added to
        it, signed like the order).
        """
        got = await self._prelude(request, "UPDATE", new_orders=True)
        if isinstance(got, web.Response):
            return got
        account, body = got
        try:
            if body.get("id") is None:
                raise _Bad(10020, "id: invalid")
            o = self.ex.find(account, venue_order_id=str(body["id"]))
            if o is None or not o.is_open:
                raise SimReject(RejectReason.UNKNOWN_ORDER)
            sign = 1 if o.side == "buy" else -1
            qty: Decimal | None = None
            if body.get("amount") is not None:
                amount = self._dec(body["amount"], "amount", signed=True)
                if (amount > 0) != (sign > 0):
                    raise _Bad(10020, "amount: invalid")
                qty = o.filled + abs(amount)
            if body.get("delta") is not None:
                delta = Decimal(str(body["delta"]))
                qty = (qty if qty is not None else o.quantity) + delta * sign
            price = self._dec(body["price"], "price") if body.get("price") is not None else None
            order, _ = self.ex.amend(
                account, venue_order_id=o.venue_order_id, quantity=qty, price=price
            )
        except (_Bad, InvalidOperation) as bad:
            code, text = (
                (bad.code, bad.text) if isinstance(bad, _Bad) else (10020, "delta: invalid")
            )
            return _err(code, text)
        except SimReject as rej:
            code, text = _REJECT[rej.reason]
            return _err(code, text)
        return await self._after(
            request,
            self._notify("ou-req", self.order_array(order), "Submitting update to order."),
        )

    async def cancel(self, request: web.Request) -> web.Response:
        """`POST /v2/auth/w/order/cancel`.

        `POST /v2/auth/w/order/cancel` by `id`, or `cid` + `cid_date`
        (https://docs.bitfinex.com/reference/rest-auth-cancel-order).
        """
        got = await self._prelude(request, "CANCEL", new_orders=False)
        if isinstance(got, web.Response):
            return got
        account, body = got
        o = self._find(account, body)
        if o is None or not o.is_open:
            return _err(10001, "Order not found.")
        try:
            order, _ = self.ex.cancel(account, venue_order_id=o.venue_order_id)
        except SimReject as rej:
            code, text = _REJECT[rej.reason]
            return _err(code, text)
        return await self._after(
            request,
            self._notify(
                "oc-req",
                self.order_array(order),
                "Submitted for cancellation; waiting for confirmation "
                f"(ID: {order.venue_order_id}).",
            ),
        )

    async def cancel_multi(self, request: web.Request) -> web.Response:
        """`POST /v2/auth/w/order/cancel/multi`.

        `POST /v2/auth/w/order/cancel/multi` with `all`, `id` or `cid` ([[cid, date]])
        (https://docs.bitfinex.com/reference/rest-auth-cancel-orders-multiple).
        """
        got = await self._prelude(request, "CANCEL_MULTI", new_orders=False)
        if isinstance(got, web.Response):
            return got
        account, body = got
        done: list[SimOrder] = []
        if body.get("all"):
            done = self.ex.cancel_all(account)
        else:
            targets: list[SimOrder | None] = [
                self.ex.find(account, venue_order_id=str(i)) for i in body.get("id") or []
            ]
            for pair in body.get("cid") or []:
                if isinstance(pair, list) and pair:
                    date = pair[1] if len(pair) > 1 else None
                    targets.append(self._find(account, {"cid": pair[0], "cid_date": date}))
            for o in targets:
                if o is not None and o.is_open:
                    done.append(self.ex.cancel(account, venue_order_id=o.venue_order_id)[0])
        return await self._after(
            request,
            self._notify(
                "oc_multi-req",
                [self.order_array(o) for o in done],
                f"Submitting {len(done)} order cancellations.",
            ),
        )

    # -- reads -------------------------------------------------------------------------------
    async def orders(self, request: web.Request) -> web.Response:
        """`POST /v2/auth/r/orders[/{symbol}]`: active orders.

        `POST /v2/auth/r/orders[/{symbol}]`: active orders, filtered by `id` list or `cid` +
        `cid_date` (https://docs.bitfinex.com/reference/rest-auth-retrieve-orders).
        """
        got = await self._prelude(request, "ORDERS", new_orders=None)
        if isinstance(got, web.Response):
            return got
        account, body = got
        if self.ctx.faults.roll(TradeFault.REST_5XX_BEFORE):
            return _json(503, {"code": 503, "error": "temporarily_unavailable"})
        symbol = request.match_info.get("symbol")
        rows = self.ex.open_orders(account, symbol)
        ids = {str(i) for i in body.get("id") or []}
        if ids:
            rows = [o for o in rows if o.venue_order_id in ids]
        if body.get("cid") is not None:
            o = self._find(account, {"cid": body["cid"], "cid_date": body.get("cid_date")})
            rows = [r for r in rows if o is not None and r.venue_order_id == o.venue_order_id]
        return _json(200, [self.order_array(o) for o in rows])

    async def orders_hist(self, request: web.Request) -> web.Response:
        """`POST /v2/auth/r/orders[/{symbol}]/hist`: closed orders.

        `POST /v2/auth/r/orders[/{symbol}]/hist`: closed orders, newest first (`id`, `start`,
        `end`, `limit`) (https://docs.bitfinex.com/reference/rest-auth-orders-history).
        """
        got = await self._prelude(request, "ORDERS_HIST", new_orders=None)
        if isinstance(got, web.Response):
            return got
        account, body = got
        symbol = request.match_info.get("symbol")
        rows = [
            o for o in self.ex.orders(account)
            if not o.is_open and (symbol is None or o.symbol == symbol)
        ]  # fmt: skip
        ids = {str(i) for i in body.get("id") or []}
        if ids:
            rows = [o for o in rows if o.venue_order_id in ids]
        start, end = body.get("start"), body.get("end")
        if start is not None:
            rows = [o for o in rows if o.updated_ms >= int(start)]
        if end is not None:
            rows = [o for o in rows if o.updated_ms <= int(end)]
        rows.sort(key=lambda o: o.updated_ms, reverse=True)
        limit = min(int(body.get("limit") or 25), 2500)
        return _json(200, [self.order_array(o) for o in rows[:limit]])

    async def trades_hist(self, request: web.Request) -> web.Response:
        """`POST /v2/auth/r/trades[/{symbol}]/hist`: our trades.

        `POST /v2/auth/r/trades[/{symbol}]/hist` (`start`, `end`, `limit` ≤ 2500, `sort`
        1 ascending / -1 descending, the default) (https://docs.bitfinex.com/reference/rest-auth-trades).
        """
        got = await self._prelude(request, "TRADES_HIST", new_orders=None)
        if isinstance(got, web.Response):
            return got
        account, body = got
        symbol = request.match_info.get("symbol")
        fills = self.ex.trades(account, symbol, int(body.get("start") or 0))
        if body.get("end") is not None:
            fills = [f for f in fills if f.ts_ms <= int(body["end"])]
        if int(body.get("sort") or -1) != 1:
            fills.reverse()
        limit = min(int(body.get("limit") or 25), 2500)
        out = []
        for f in fills[:limit]:
            o = self.ex.find(account, venue_order_id=f.venue_order_id)
            if o is not None:
                out.append(self.trade_array(f, o))
        return _json(200, out)

    async def order_trades(self, request: web.Request) -> web.Response:
        """`POST /v2/auth/r/order/{symbol}:{id}/trades`.

        `POST /v2/auth/r/order/{symbol}:{id}/trades`
        (https://docs.bitfinex.com/reference/rest-auth-order-trades).
        """
        got = await self._prelude(request, "TRADES_HIST", new_orders=None)
        if isinstance(got, web.Response):
            return got
        account, _ = got
        _, _, oid = request.match_info["key"].rpartition(":")
        o = self.ex.find(account, venue_order_id=oid)
        return _json(200, [self.trade_array(f, o) for f in o.fills] if o is not None else [])

    # -- private WebSocket ------------------------------------------------------------------
    def _ws_auth(self, msg: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
        """Checks an `auth` event (https://docs.bitfinex.com/docs/ws-auth)."""
        key = str(msg.get("apiKey") or "")
        cred = self.ctx.credentials.get(key)
        nonce = str(msg.get("authNonce") or "")
        payload = str(msg.get("authPayload") or "")

        def failed(code: int, text: str) -> tuple[None, dict[str, Any]]:
            return None, {"event": "auth", "status": "FAILED", "chanId": 0, "msg": text,
                          "code": code}  # fmt: skip

        if cred is None:
            return failed(10100, "apikey: invalid")
        expected = hmac.new(cred.secret.encode(), payload.encode(), hashlib.sha384).hexdigest()
        if payload != f"AUTH{nonce}" or not hmac.compare_digest(
            expected, str(msg.get("authSig") or "")
        ):
            return failed(10100, "apikey: digest invalid")
        if not self._nonce_ok(key, nonce):
            return failed(10114, "nonce: small")
        caps = {
            k: {"read": 1, "write": 1}
            for k in ("orders", "account", "funding", "history", "wallets", "positions")
        }
        return key, {
            "event": "auth",
            "status": "OK",
            "chanId": 0,
            "userId": int(hashlib.sha256(key.encode()).hexdigest()[:6], 16),
            "auth_id": hashlib.sha256(nonce.encode()).hexdigest()[:32],
            "caps": caps,
        }

    def encode(self, ev: ExecEvent) -> list[str]:
        """Channel-0 messages for one exchange event."""
        o = ev.order
        arr = self.order_array(o)
        if ev.name == "new":
            return [_dumps([0, "on", arr])]
        if ev.name == "fill" and ev.fill is not None:
            closed = o.status == "filled"
            return [
                _dumps([0, "te", self.trade_array(ev.fill, o, fee=False)]),
                _dumps([0, "oc" if closed else "ou", arr]),
                _dumps([0, "tu", self.trade_array(ev.fill, o)]),
            ]
        if ev.name == "amended":
            return [_dumps([0, "ou", arr])]
        if ev.name in ("canceled", "expired"):
            return [_dumps([0, "oc", arr])]
        return []

    async def private_ws(self, request: web.Request) -> web.WebSocketResponse:
        """`/ws/2`: the authenticated WebSocket.

        `/ws/2`: `info` on connect, then `auth`; afterwards channel 0 (`os` snapshot, order
        and trade events); `dms: 4` cancels the account's orders when the socket closes.
        """
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        platform = {"status": 0 if self.ctx.maintenance() else 1}
        await ws.send_str(
            _dumps({"event": "info", "version": 2, "serverId": "vgsim", "platform": platform})
        )
        account: str | None = None
        dms = False
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                return ws
            try:
                req = json.loads(msg.data)
            except ValueError:
                continue
            if isinstance(req, dict) and req.get("event") == "ping":
                await ws.send_str(_dumps({"event": "pong", "ts": _now_ms(), "cid": req.get("cid")}))
                continue
            if not isinstance(req, dict) or req.get("event") != "auth":
                continue
            account, answer = self._ws_auth(req)
            await ws.send_str(_dumps(answer))
            if account is None:
                await ws.close()
                return ws
            dms = _int(req.get("dms")) == 4
            break
        if account is None:
            return ws
        snapshot = [self.order_array(o) for o in self.ex.open_orders(account)]
        await ws.send_str(_dumps([0, "os", snapshot]))

        def on_message(text: str) -> Sequence[str]:
            with contextlib.suppress(ValueError):
                req = json.loads(text)
                if isinstance(req, dict) and req.get("event") == "ping":
                    return [_dumps({"event": "pong", "ts": _now_ms(), "cid": req.get("cid")})]
            return []

        try:
            await self.hub.serve(ws, account, self.encode, on_message=on_message)
        finally:
            if dms:
                self.ctx.count("dead_man_fired")
                self.ex.cancel_all(account)
        return ws


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
