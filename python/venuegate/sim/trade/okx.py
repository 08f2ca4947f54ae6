"""OKX v5 trading API of the simulator: the real REST paths, envelopes, codes and private stream.

Written from https://www.okx.com/docs-v5/en/ (sections cited at each handler). REST answers are
`{"code": "0", "msg": "", "data": [...]}`; an order refused on its merits answers `code` "1"
("All operations failed") with `data[0].sCode/sMsg`; batch calls answer "2" when some items
failed (#order-book-trading-trade-post-place-multiple-orders). Requests are verified as OKX
verifies them (`venuegate.sim.verify`: 50111/50105/50112/50113, and 50102 for a stale timestamp).

Modelled: spot (`tdMode` cash) limit / market / post_only / ioc / fok orders, place (single and
batch, as ccxt sends), cancel (single and batch), amend, order details, pending orders, fills
(3 days and history), cancel-all-after with its timer, time, status, SPOT instruments, an empty
currencies listing (ccxt's `load_markets` asks for it), the private `orders` channel with
`login`, `subscribe`, "ping"/"pong", and WebSocket order entry on the same connection after
login (`op` order / cancel-order / amend-order, #order-book-trading-trade-ws-place-order: the
REST handlers' exchange calls, sCodes, shared rate limits and faults). Not modelled: margin,
derivatives, algo orders, balances, WebSocket batch operations, the `expTime` header,
per-account fill-ratio limits.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, ClassVar, Final

from aiohttp import WSMsgType, web

from venuegate.sim.trade.exchange import ExecEvent, RejectReason, SimFill, SimOrder, SimReject
from venuegate.sim.trade.faults import TradeFault
from venuegate.sim.trade.limits import SimLimits, SimWindow
from venuegate.sim.trade.server import VenueApi, VenueContext
from venuegate.sim.verify import StaleTimestampError, VerificationError

__all__ = ["Api"]

_WINDOWS: Final = (
    # (name, limit, period_s, per instrument) — each endpoint's "Rate Limit" line in the docs.
    ("PLACE", 60, 2.0, True),
    ("BATCH", 300, 2.0, True),
    ("CANCEL", 60, 2.0, True),
    ("CANCEL_BATCH", 300, 2.0, True),
    ("AMEND", 60, 2.0, True),
    ("SUBACCOUNT_ORDERS", 1000, 2.0, False),
    ("QUERY", 60, 2.0, True),
    ("OPEN_ORDERS", 60, 2.0, False),
    ("FILLS", 60, 2.0, False),
    ("FILLS_HISTORY", 10, 2.0, False),
    ("CANCEL_ALL_AFTER", 1, 1.0, False),
    ("TIME", 10, 2.0, False),
    ("STATUS", 1, 5.0, False),
    ("INSTRUMENTS", 20, 2.0, False),
    ("CURRENCIES", 6, 1.0, False),
)

_REJECT: Final[Mapping[RejectReason, tuple[str, str]]] = {
    RejectReason.DUPLICATE_CLIENT_ID: ("51016", "Duplicated clOrdId"),
    RejectReason.UNKNOWN_SYMBOL: ("51001", "Instrument ID does not exist"),
    RejectReason.BAD_QUANTITY: ("51121", "Order quantity must be a multiple of the lot size"),
    RejectReason.BAD_PRICE: ("51000", "Parameter px error"),
    RejectReason.POST_ONLY_WOULD_TAKE: (
        "51511",
        "Operation failed as the order price did not meet the requirement for Post Only.",
    ),
    RejectReason.BAD_AMEND: ("51000", "Parameter newSz error"),
    RejectReason.MAINTENANCE: ("50001", "Service temporarily unavailable. Try again later"),
}

_ORD_TYPES: Final = frozenset({"limit", "market", "post_only", "ioc", "fok"})


_WS_ORDER_OPS: Final[Mapping[str, str]] = {
    # WebSocket `op` → the REST handler's kind (#order-book-trading-trade-ws-place-order).
    "order": "place",
    "cancel-order": "cancel",
    "amend-order": "amend",
}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _s(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _json(status: int, body: object, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, separators=(",", ":")),
        content_type="application/json",
        headers=dict(headers or {}),
    )


def _err(status: int, code: str, msg: str) -> web.Response:
    return _json(status, {"code": code, "msg": msg, "data": []})


def _ws_error(code: str, msg: str, conn_id: str) -> str:
    return json.dumps({"event": "error", "code": code, "msg": msg, "connId": conn_id})


class _Bad(Exception):
    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


class Api(VenueApi):
    """OKX v5 over a `SimExchange` (account = API key)."""

    venue: ClassVar[str] = "okx"
    private_ws_path: ClassVar[str] = "/ws/v5/private"
    ws_api_path: ClassVar[str | None] = "/ws/v5/private"

    def __init__(self, ctx: VenueContext) -> None:
        super().__init__(ctx)
        # OKX accepts a crossing post_only order and cancels it (cancelSource 31).
        self.ex.post_only_rejects = False
        self._anon = 0
        self._cancel_source: dict[str, str] = {}  # venue order id → cancelSource of its cancel
        self._req_ids: dict[str, str] = {}  # venue order id → reqId of its last amend
        self._caa: dict[str, asyncio.Task[None]] = {}
        self._conn = 0
        self._ws_tasks: set[asyncio.Task[None]] = set()

    def make_limits(self) -> SimLimits:
        """OKX's per-endpoint windows (sliding 2 s windows, per instrument where documented)."""
        return SimLimits(
            [SimWindow(n, lim, per, "sliding", per_key) for n, lim, per, per_key in _WINDOWS]
        )

    def install(self, app: web.Application) -> None:
        """Adds the OKX v5 routes."""
        r = app.router
        r.add_get("/api/v5/public/time", self.time)
        r.add_get("/api/v5/system/status", self.status)
        r.add_get("/api/v5/public/instruments", self.instruments)
        r.add_get("/api/v5/asset/currencies", self.currencies)
        r.add_post("/api/v5/trade/order", self.place)
        r.add_post("/api/v5/trade/batch-orders", self.batch_place)
        r.add_post("/api/v5/trade/cancel-order", self.cancel)
        r.add_post("/api/v5/trade/cancel-batch-orders", self.batch_cancel)
        r.add_post("/api/v5/trade/amend-order", self.amend)
        r.add_post("/api/v5/trade/cancel-all-after", self.cancel_all_after)
        r.add_get("/api/v5/trade/order", self.order)
        r.add_get("/api/v5/trade/orders-pending", self.pending)
        r.add_get("/api/v5/trade/fills", self.fills)
        r.add_get("/api/v5/trade/fills-history", self.fills_history)
        r.add_get(self.private_ws_path, self.private_ws)
        app.on_shutdown.append(self._shutdown)

    async def _shutdown(self, app: web.Application) -> None:
        for task in self._caa.values():
            task.cancel()

    # -- common steps ---------------------------------------------------------------------
    def _ok(self, data: list[dict[str, Any]], code: str = "0", msg: str = "") -> web.Response:
        now = str(_now_ms() * 1000)
        return _json(200, {"code": code, "msg": msg, "data": data, "inTime": now, "outTime": now})

    async def _auth(self, request: web.Request) -> str | web.Response:
        """The account (API key), or OKX's 401 answer (#error-code-rest-api-authentication)."""
        self.ctx.roll_skew()
        try:
            cred = await self.ctx.verify(request, request.headers.get("OK-ACCESS-KEY"))
        except StaleTimestampError:
            return _err(401, "50102", "Timestamp request expired")
        except VerificationError as exc:
            text = str(exc).split(": ", 1)[-1]
            code, _, msg = text.partition(" ")
            return _err(401, code if code.isdigit() else "50113", msg or "Invalid Sign")
        except KeyError:
            return _err(401, "50111", "Invalid OK-ACCESS-KEY")
        return cred.api_key

    def _charge(self, costs: Mapping[str, float], key: str = "") -> web.Response | None:
        """Rate limits: 429 with code 50011 (#overview-rate-limits); faults' spurious 429s."""
        if self.ctx.faults.roll(TradeFault.RATE_429):
            self.limits.limit_for(1.0)
        verdict = self.limits.charge(costs, key)
        if not verdict.ok:
            self.ctx.count("rate_limited")
            return _json(
                429,
                {"msg": "Too Many Requests", "code": "50011"},
                {"Retry-After": f"{max(verdict.retry_after, 0.001):.3f}"},
            )
        return None

    def _before(self, *, new_orders: bool) -> web.Response | None:
        """5xx-before-processing and maintenance faults (cancels still work in maintenance)."""
        if self.ctx.faults.roll(TradeFault.REST_5XX_BEFORE):
            self.ctx.count("5xx_before")
            return _err(503, "50001", "Service temporarily unavailable. Try again later")
        if self.ctx.maintenance() and new_orders:
            return _err(503, "50001", "Service temporarily unavailable. Try again later")
        return None

    async def _after(self, request: web.Request, ok: web.Response) -> web.Response:
        """Faults after the exchange acted: 50004 (outcome unknown) or a dropped connection."""
        outcome = await self.ctx.after_accept(request)
        if outcome == "5xx":
            return _err(
                400,
                "50004",
                "API endpoint request timeout (does not mean that the request was successful "
                "or failed, please check the request result)",
            )
        return ok

    @staticmethod
    async def _body(request: web.Request) -> Any:
        try:
            return json.loads(await request.read() or b"null")
        except ValueError:
            raise _Bad("50002", "JSON syntax error") from None

    def _cid(self, value: object) -> str:
        cid = str(value or "")
        if cid == "":
            self._anon += 1
            return f"~{self._anon}"
        if len(cid) > 32 or not cid.isalnum() or not cid.isascii():
            raise _Bad("51000", "Parameter clOrdId error")
        return cid

    @staticmethod
    def _dec(value: object, name: str) -> Decimal:
        try:
            out = Decimal(str(value))
        except InvalidOperation:
            raise _Bad("51000", f"Parameter {name} error") from None
        if not out.is_finite() or out <= 0:
            raise _Bad("51000", f"Parameter {name} error")
        return out

    # -- public ---------------------------------------------------------------------------
    async def time(self, request: web.Request) -> web.Response:
        """`GET /api/v5/public/time` (#public-data-rest-api-get-system-time)."""
        return self._charge({"TIME": 1}) or self._ok([{"ts": str(self.ctx.now_ms())}])

    async def status(self, request: web.Request) -> web.Response:
        """`GET /api/v5/system/status` (#status-get-status): an "ongoing" event in maintenance."""
        limited = self._charge({"STATUS": 1})
        if limited is not None:
            return limited
        if not self.ctx.maintenance():
            return self._ok([])
        begin = str(self.ctx.now_ms())
        end = str(int(self.ctx.maintenance_until * 1000))
        event = {
            "title": "Trading system upgrade",
            "state": "ongoing",
            "begin": begin,
            "end": end,
            "preOpenBegin": "",
            "href": "",
            "serviceType": "5",
            "system": "unified",
            "scheDesc": "",
            "maintType": "1",
            "env": "1",
        }
        return self._ok([event])

    async def instruments(self, request: web.Request) -> web.Response:
        """`GET /api/v5/public/instruments` (#public-data-rest-api-get-instruments): SPOT."""
        limited = self._charge({"INSTRUMENTS": 1})
        if limited is not None:
            return limited
        inst_type = request.query.get("instType", "")
        if inst_type not in ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"):
            return _err(400, "51000", "Parameter instType error")
        if inst_type != "SPOT":
            return self._ok([])
        data = []
        for inst in self.ex.instruments.values():
            base, quote = inst.symbol.split("-", 1)
            data.append(
                {
                    "instType": "SPOT",
                    "instId": inst.symbol,
                    "uly": "",
                    "instFamily": "",
                    "baseCcy": base,
                    "quoteCcy": quote,
                    "settleCcy": "",
                    "ctVal": "",
                    "ctMult": "",
                    "ctValCcy": "",
                    "ctType": "",
                    "optType": "",
                    "stk": "",
                    "listTime": "1606468572000",
                    "expTime": "",
                    "lever": "",
                    "tickSz": _s(inst.tick),
                    "lotSz": _s(inst.lot),
                    "minSz": _s(inst.lot),
                    "alias": "",
                    "state": "live",
                    "ruleType": "normal",
                    "category": "1",
                    "maxLmtSz": "9999999999",
                    "maxMktSz": "1000000",
                    "maxLmtAmt": "20000000",
                    "maxMktAmt": "1000000",
                    "maxTwapSz": "",
                    "maxIcebergSz": "",
                    "maxTriggerSz": "",
                    "maxStopSz": "",
                }
            )
        return self._ok(data)

    async def currencies(self, request: web.Request) -> web.Response:
        """`GET /api/v5/asset/currencies` (#funding-account-rest-api-get-currencies): empty.

        Deposits and withdrawals are not modelled; ccxt's `load_markets` asks for the list.
        """
        account = await self._auth(request)
        if isinstance(account, web.Response):
            return account
        return self._charge({"CURRENCIES": 1}) or self._ok([])

    # -- orders ---------------------------------------------------------------------------
    def _place_one(self, account: str, p: Mapping[str, Any]) -> dict[str, Any]:
        """Places one order; the `data[]` item (sCode "0" or the refusal)."""
        cid_raw = str(p.get("clOrdId") or "")
        item: dict[str, Any] = {"clOrdId": cid_raw, "ordId": "", "tag": str(p.get("tag") or "")}
        try:
            inst_id = str(p.get("instId") or "")
            if not inst_id:
                raise _Bad("50014", "Parameter instId can not be empty")
            if inst_id not in self.ex.instruments:
                raise _Bad("51001", "Instrument ID does not exist")
            if p.get("tdMode") != "cash":
                raise _Bad("51000", "Parameter tdMode error")
            side = p.get("side")
            if side not in ("buy", "sell"):
                raise _Bad("51000", "Parameter side error")
            ord_type = str(p.get("ordType") or "")
            if ord_type not in _ORD_TYPES:
                raise _Bad("51000", "Parameter ordType error")
            sz = self._dec(p.get("sz"), "sz")
            price: Decimal | None = None
            if ord_type != "market":
                if p.get("px") in (None, ""):
                    raise _Bad("51000", "Parameter px error")
                price = self._dec(p.get("px"), "px")
            elif side == "buy" and p.get("tgtCcy", "quote_ccy") != "base_ccy":
                # A spot market buy's sz is in the quote currency unless tgtCcy is base_ccy.
                inst = self.ex.instruments[inst_id]
                ask = self.ex.touch(inst_id)[1]
                sz = (sz / ask).quantize(inst.lot, rounding=ROUND_DOWN)
                if sz <= 0:
                    raise _Bad("51020", "Your order should meet or exceed the minimum order amount")
            cid = self._cid(cid_raw)
            order, _ = self.ex.place(
                account,
                symbol=inst_id,
                side=side,
                type="market" if ord_type == "market" else "limit",
                quantity=sz,
                price=price,
                client_order_id=cid,
                tif={"ioc": "ioc", "fok": "fok"}.get(ord_type, "gtc"),  # type: ignore[arg-type]
                post_only=ord_type == "post_only",
            )
        except _Bad as bad:
            return item | {"ts": str(_now_ms()), "sCode": bad.code, "sMsg": bad.msg}
        except SimReject as rej:
            code, msg = _REJECT.get(rej.reason, ("51000", str(rej)))
            return item | {"ts": str(_now_ms()), "sCode": code, "sMsg": msg}
        return item | {"ordId": order.venue_order_id, "ts": str(_now_ms()), "sCode": "0",
                       "sMsg": "Order placed"}  # fmt: skip

    def _answer(self, items: list[dict[str, Any]], batch: bool) -> web.Response:
        bad = [i for i in items if i["sCode"] != "0"]
        if not bad:
            return self._ok(items)
        if batch and len(bad) < len(items):
            return self._ok(items, "2", "Batch operation partially succeeded")
        if not batch and bad[0]["sCode"] == "50001":
            return _err(503, "50001", bad[0]["sMsg"])
        return self._ok(items, "1", "All operations failed")

    async def _orders_op(  # noqa: PLR0911 - one answer per refusal
        self, request: web.Request, kind: str, *, batch: bool
    ) -> web.Response:
        account = await self._auth(request)
        if isinstance(account, web.Response):
            return account
        try:
            body = await self._body(request)
        except _Bad as bad:
            return _err(400, bad.code, bad.msg)
        items_in = body if batch else [body]
        if (
            not isinstance(items_in, list)
            or not items_in
            or not all(isinstance(i, dict) for i in items_in)
        ):
            return _err(400, "50000", "Body can not be empty")
        if batch and len(items_in) > 20:
            return _err(400, "51000", "Parameter data error")  # "up to 20 orders"
        window = {
            ("place", False): "PLACE",
            ("place", True): "BATCH",
            ("cancel", False): "CANCEL",
            ("cancel", True): "CANCEL_BATCH",
            ("amend", False): "AMEND",
        }[(kind, batch)]
        costs: dict[str, float] = {window: len(items_in)}
        if kind != "cancel":
            costs["SUBACCOUNT_ORDERS"] = len(items_in)
        limited = self._charge(costs, str(items_in[0].get("instId") or ""))
        if limited is not None:
            return limited
        early = self._before(new_orders=kind != "cancel")
        if early is not None:
            return early
        if kind == "place":
            items = [self._place_one(account, p) for p in items_in]
        elif kind == "cancel":
            items = [self._cancel_one(account, p) for p in items_in]
        else:
            items = [self._amend_one(account, p) for p in items_in]
        return await self._after(request, self._answer(items, batch))

    async def place(self, request: web.Request) -> web.Response:
        """`POST /api/v5/trade/order` (#order-book-trading-trade-post-place-order)."""
        return await self._orders_op(request, "place", batch=False)

    async def batch_place(self, request: web.Request) -> web.Response:
        """`POST /api/v5/trade/batch-orders` (up to 20 orders; ccxt places through it)."""
        return await self._orders_op(request, "place", batch=True)

    def _find(self, account: str, p: Mapping[str, Any]) -> tuple[str | None, str | None]:
        ord_id = str(p.get("ordId") or "") or None
        cid = str(p.get("clOrdId") or "") or None
        if ord_id is None and cid is None:
            raise _Bad("51003", "Either client order ID or order ID is required")
        return cid, ord_id

    def _cancel_one(self, account: str, p: Mapping[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = {"clOrdId": str(p.get("clOrdId") or ""), "ordId": ""}
        item["ordId"] = str(p.get("ordId") or "")
        try:
            cid, oid = self._find(account, p)
            found = self.ex.find(account, client_order_id=cid, venue_order_id=oid)
            if found is not None:
                self._cancel_source[found.venue_order_id] = "1"
            order, _ = self.ex.cancel(account, client_order_id=cid, venue_order_id=oid)
        except _Bad as bad:
            return item | {"ts": str(_now_ms()), "sCode": bad.code, "sMsg": bad.msg}
        except SimReject as rej:
            code, msg = self._closed_code(rej, cancel=True)
            return item | {"ts": str(_now_ms()), "sCode": code, "sMsg": msg}
        return item | {"clOrdId": self._out_cid(order), "ordId": order.venue_order_id,
                       "ts": str(_now_ms()), "sCode": "0", "sMsg": ""}  # fmt: skip

    def _closed_code(  # noqa: PLR0911 - one code per case
        self, rej: SimReject, *, cancel: bool
    ) -> tuple[str, str]:
        if rej.reason is RejectReason.UNKNOWN_ORDER:
            if cancel:
                return "51400", (
                    "Order cancellation failed as the order has been filled, canceled or does "
                    "not exist"
                )
            return "51503", "Order modification failed as the order does not exist"
        if rej.reason is RejectReason.ORDER_CLOSED:
            filled = rej.detail == "filled"
            if cancel:
                if filled:
                    return "51402", "Cancellation failed as the order has been completed"
                return "51401", "Cancellation failed as the order has been canceled"
            if filled:
                return "51510", "Modification failed as the order has been completed"
            return "51509", "Modification failed as the order has been canceled"
        return _REJECT.get(rej.reason, ("51000", str(rej)))

    async def cancel(self, request: web.Request) -> web.Response:
        """`POST /api/v5/trade/cancel-order` (#order-book-trading-trade-post-cancel-order)."""
        return await self._orders_op(request, "cancel", batch=False)

    async def batch_cancel(self, request: web.Request) -> web.Response:
        """`POST /api/v5/trade/cancel-batch-orders`."""
        return await self._orders_op(request, "cancel", batch=True)

    def _amend_one(self, account: str, p: Mapping[str, Any]) -> dict[str, Any]:
        req_id = str(p.get("reqId") or "")
        item: dict[str, Any] = {
            "clOrdId": str(p.get("clOrdId") or ""),
            "ordId": str(p.get("ordId") or ""),
            "reqId": req_id,
        }
        try:
            cid, oid = self._find(account, p)
            new_sz = None if p.get("newSz") in (None, "") else self._dec(p["newSz"], "newSz")
            new_px = None if p.get("newPx") in (None, "") else self._dec(p["newPx"], "newPx")
            if new_sz is None and new_px is None:
                raise _Bad("51000", "Parameter newSz error")
            found = self.ex.find(account, client_order_id=cid, venue_order_id=oid)
            if found is not None:
                self._req_ids[found.venue_order_id] = req_id
            order, _ = self.ex.amend(
                account, client_order_id=cid, venue_order_id=oid, quantity=new_sz, price=new_px
            )
        except _Bad as bad:
            return item | {"ts": str(_now_ms()), "sCode": bad.code, "sMsg": bad.msg}
        except SimReject as rej:
            code, msg = self._closed_code(rej, cancel=False)
            return item | {"ts": str(_now_ms()), "sCode": code, "sMsg": msg}
        return item | {"clOrdId": self._out_cid(order), "ordId": order.venue_order_id,
                       "ts": str(_now_ms()), "sCode": "0", "sMsg": ""}  # fmt: skip

    async def amend(self, request: web.Request) -> web.Response:
        """`POST /api/v5/trade/amend-order` (#order-book-trading-trade-post-amend-order)."""
        return await self._orders_op(request, "amend", batch=False)

    async def cancel_all_after(self, request: web.Request) -> web.Response:
        """`POST /api/v5/trade/cancel-all-after` (#order-book-trading-trade-post-cancel-all-after).

        `timeOut` 0 (disarm) or 10..120 s; when it runs out every order is canceled
        (cancelSource 20).
        """
        account = await self._auth(request)
        if isinstance(account, web.Response):
            return account
        try:
            body = await self._body(request)
        except _Bad as bad:
            return _err(400, bad.code, bad.msg)
        limited = self._charge({"CANCEL_ALL_AFTER": 1})
        if limited is not None:
            return limited
        early = self._before(new_orders=False)
        if early is not None:
            return early
        raw = str((body or {}).get("timeOut", ""))
        if not raw.isdigit() or (int(raw) != 0 and not 10 <= int(raw) <= 120):
            return _err(400, "51000", "Parameter timeOut error")
        secs = int(raw)
        old = self._caa.pop(account, None)
        if old is not None:
            old.cancel()
        now = self.ctx.now_ms()
        if secs:
            self._caa[account] = asyncio.create_task(self._caa_fire(account, secs))
        data = [{"triggerTime": str(now + secs * 1000) if secs else "0", "tag": "",
                 "ts": str(now)}]  # fmt: skip
        return await self._after(request, self._ok(data))

    async def _caa_fire(self, account: str, secs: float) -> None:
        await asyncio.sleep(secs)
        for order in self.ex.open_orders(account):
            self._cancel_source[order.venue_order_id] = "20"
        self.ex.cancel_all(account)
        self._caa.pop(account, None)

    # -- queries ----------------------------------------------------------------------------
    async def order(self, request: web.Request) -> web.Response:  # noqa: PLR0911
        """`GET /api/v5/trade/order` (#order-book-trading-trade-get-order-details).

        Answers 51603 "Order does not exist" when there is no such order.
        """
        account = await self._auth(request)
        if isinstance(account, web.Response):
            return account
        q = request.query
        limited = self._charge({"QUERY": 1}, q.get("instId", ""))
        if limited is not None:
            return limited
        if self.ctx.faults.roll(TradeFault.REST_5XX_BEFORE):
            return _err(503, "50001", "Service temporarily unavailable. Try again later")
        if not q.get("instId"):
            return _err(400, "50014", "Parameter instId can not be empty")
        if not q.get("ordId") and not q.get("clOrdId"):
            return _err(400, "51003", "Either client order ID or order ID is required")
        found = self.ex.find(
            account, client_order_id=q.get("clOrdId") or None, venue_order_id=q.get("ordId")
        )
        if found is None or found.symbol != q["instId"]:
            return _json(200, {"code": "51603", "msg": "Order does not exist", "data": []})
        return self._ok([self.order_json(found)])

    async def pending(self, request: web.Request) -> web.Response:
        """`GET /api/v5/trade/orders-pending` (#order-book-trading-trade-get-order-list)."""
        account = await self._auth(request)
        if isinstance(account, web.Response):
            return account
        limited = self._charge({"OPEN_ORDERS": 1})
        if limited is not None:
            return limited
        if self.ctx.faults.roll(TradeFault.REST_5XX_BEFORE):
            return _err(503, "50001", "Service temporarily unavailable. Try again later")
        inst = request.query.get("instId") or None
        orders = sorted(self.ex.open_orders(account, inst), key=lambda o: -int(o.venue_order_id))
        return self._ok([self.order_json(o) for o in orders[:100]])

    async def fills(self, request: web.Request) -> web.Response:
        """`GET /api/v5/trade/fills` (transaction details of the last 3 days)."""
        return await self._fills(request, "FILLS", 3 * 86_400_000)

    async def fills_history(self, request: web.Request) -> web.Response:
        """`GET /api/v5/trade/fills-history` (last 3 months)."""
        return await self._fills(request, "FILLS_HISTORY", 92 * 86_400_000)

    async def _fills(self, request: web.Request, window: str, span_ms: int) -> web.Response:
        account = await self._auth(request)
        if isinstance(account, web.Response):
            return account
        limited = self._charge({window: 1})
        if limited is not None:
            return limited
        if self.ctx.faults.roll(TradeFault.REST_5XX_BEFORE):
            return _err(503, "50001", "Service temporarily unavailable. Try again later")
        q = request.query
        if window == "FILLS_HISTORY" and not q.get("instType"):
            return _err(400, "50014", "Parameter instType can not be empty")
        now = self.ctx.now_ms()
        try:
            begin = int(q.get("begin") or 0)
            # No `end`: no upper bound. (Not "before now": trades carry the matching engine's
            # time, and a CLOCK_SKEW fault moves `now` behind them, which hid the newest fills.)
            end = int(q["end"]) if q.get("end") else None
            limit = min(int(q.get("limit") or 100), 100)
        except ValueError:
            return _err(400, "51000", "Parameter begin error")
        begin = max(begin, now - span_ms)
        trades = [
            f
            for f in self.ex.trades(account, q.get("instId") or None, begin)
            if (end is None or f.ts_ms < end)
            and (not q.get("ordId") or f.venue_order_id == q["ordId"])
        ]
        trades.reverse()  # newest first
        return self._ok([self.fill_json(f) for f in trades[:limit]])

    # -- wire forms ---------------------------------------------------------------------------
    def _out_cid(self, order: SimOrder) -> str:
        return "" if order.client_order_id.startswith("~") else order.client_order_id

    def _state(self, order: SimOrder) -> str:
        if order.status == "new":
            return "live"
        if order.status == "expired":
            return "canceled"
        return order.status

    def _cancel_src(self, order: SimOrder) -> str:
        if order.status == "expired":
            return "31" if order.post_only else "0"
        if order.status != "canceled":
            return ""
        if order.venue_order_id in self._cancel_source:
            return self._cancel_source[order.venue_order_id]
        return "14" if order.tif == "ioc" or order.type == "market" else "0"

    def order_json(self, order: SimOrder, fill: SimFill | None = None) -> dict[str, Any]:
        """An OKX order object (order details / orders push), with `fill`'s fields if given."""
        quote = order.symbol.split("-", 1)[-1]
        fee = -sum((f.fee for f in order.fills), Decimal(0))
        last = fill or (order.fills[-1] if order.fills else None)
        ord_type: str = order.type
        if order.type == "limit":
            ord_type = (
                "post_only"
                if order.post_only
                else {"ioc": "ioc", "fok": "fok"}.get(order.tif, "limit")
            )
        return {
            "instType": "SPOT",
            "instId": order.symbol,
            "tgtCcy": "base_ccy" if order.type == "market" else "",
            "ccy": "",
            "ordId": order.venue_order_id,
            "clOrdId": self._out_cid(order),
            "tag": "",
            "px": _s(order.price),
            "pxUsd": "",
            "pxVol": "",
            "pxType": "",
            "sz": _s(order.quantity),
            "pnl": "0",
            "ordType": ord_type,
            "side": order.side,
            "posSide": "net",
            "tdMode": "cash",
            "accFillSz": _s(order.filled),
            "fillPx": _s(last.price) if last else "",
            "tradeId": last.trade_id if last else "",
            "fillSz": _s(last.qty) if last else "0",
            "fillTime": str(last.ts_ms) if last else "",
            "fillFee": _s(-fill.fee) if fill else "0",
            "fillFeeCcy": quote if fill else "",
            "execType": ("M" if last.liquidity == "maker" else "T") if last else "",
            "avgPx": _s(order.average_price) if order.filled else "",
            "state": self._state(order),
            "lever": "",
            "feeCcy": quote,
            "fee": _s(fee) if order.fills else "0",
            "rebateCcy": quote,
            "rebate": "0",
            "source": "",
            "category": "normal",
            "reduceOnly": "false",
            "cancelSource": self._cancel_src(order),
            "cancelSourceReason": "",
            "amendSource": "",
            "amendResult": "",
            "reqId": "",
            "code": "0",
            "msg": "",
            "uTime": str(order.updated_ms),
            "cTime": str(order.created_ms),
        }

    def fill_json(self, f: SimFill) -> dict[str, Any]:
        """An OKX fill object (#order-book-trading-trade-get-transaction-details-last-3-days)."""
        quote = f.symbol.split("-", 1)[-1]
        return {
            "instType": "SPOT",
            "instId": f.symbol,
            "tradeId": f.trade_id,
            "ordId": f.venue_order_id,
            "clOrdId": "" if f.client_order_id.startswith("~") else f.client_order_id,
            "billId": str(int(f.trade_id) + 7_000_000_000),
            "subType": "1" if f.side == "buy" else "2",
            "tag": "",
            "fillPx": _s(f.price),
            "fillSz": _s(f.qty),
            "fillIdxPx": "",
            "fillPnl": "0",
            "fillPxVol": "",
            "fillPxUsd": "",
            "fillMarkVol": "",
            "fillFwdPx": "",
            "fillMarkPx": "",
            "side": f.side,
            "posSide": "net",
            "execType": "M" if f.liquidity == "maker" else "T",
            "feeCcy": quote,
            "fee": _s(-f.fee),
            "ts": str(f.ts_ms),
            "fillTime": str(f.ts_ms),
        }

    # -- private stream -------------------------------------------------------------------------
    def _login(self, args: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
        """Checks a WebSocket login as OKX does (#overview-websocket-login)."""
        cred = self.ctx.credentials.get(str(args.get("apiKey") or ""))
        if cred is None:
            return None, {"event": "error", "code": "60005", "msg": "Invalid apiKey"}
        if args.get("passphrase") != cred.passphrase:
            return None, {"event": "error", "code": "60024", "msg": "Wrong passphrase"}
        ts = str(args.get("timestamp") or "")
        try:
            ts_s = float(ts)
        except ValueError:
            return None, {"event": "error", "code": "60004", "msg": "Invalid timestamp"}
        if abs(self.ctx.now_ms() / 1000 - ts_s) > 30:
            return None, {"event": "error", "code": "60006", "msg": "Timestamp request expired"}
        expected = base64.b64encode(
            hmac.new(
                cred.secret.encode(), (ts + "GET/users/self/verify").encode(), hashlib.sha256
            ).digest()
        ).decode()
        if not hmac.compare_digest(expected, str(args.get("sign") or "")):
            return None, {"event": "error", "code": "60007", "msg": "Invalid sign"}
        return cred.api_key, {"event": "login", "code": "0", "msg": ""}

    # -- WebSocket order entry -----------------------------------------------------------------
    def _ws_order(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        account: str,
        req: Mapping[str, Any],
    ) -> list[str]:
        """One `order` / `cancel-order` / `amend-order` operation, as the REST handler does it.

        Refusals before processing (bad args, 50011 rate limit, 50001 unavailable) are answered
        at once; otherwise the exchange acts now and a task answers after the
        after-acceptance faults (a delay, a dropped connection, 50004).
        """
        op = str(req.get("op"))
        kind = _WS_ORDER_OPS[op]
        rid = str(req.get("id") or "")
        args = req.get("args")
        if not isinstance(args, list) or len(args) != 1 or not isinstance(args[0], dict):
            return [self._ws_answer(rid, op, "60013", "Invalid args", [])]
        p: Mapping[str, Any] = args[0]
        window = {"place": "PLACE", "cancel": "CANCEL", "amend": "AMEND"}[kind]
        costs: dict[str, float] = {window: 1}
        if kind != "cancel":
            costs["SUBACCOUNT_ORDERS"] = 1
        early = self._charge(costs, str(p.get("instId") or "")) or self._before(
            new_orders=kind != "cancel"
        )
        if early is not None:
            body = json.loads(early.body) if isinstance(early.body, bytes) else {}
            return [self._ws_answer(rid, op, str(body.get("code")), str(body.get("msg")), [])]
        if kind == "place":
            item = self._place_one(account, p)
        elif kind == "cancel":
            item = self._cancel_one(account, p)
        else:
            item = self._amend_one(account, p)
        ok = item["sCode"] == "0"
        answer = self._ws_answer(rid, op, "0" if ok else "1", "" if ok else
                                 "All operations failed", [item])  # fmt: skip
        task = asyncio.create_task(self._ws_order_finish(ws, request, rid, op, answer))
        self._ws_tasks.add(task)
        task.add_done_callback(self._ws_tasks.discard)
        return []

    async def _ws_order_finish(
        self, ws: web.WebSocketResponse, request: web.Request, rid: str, op: str, answer: str
    ) -> None:
        outcome = await self.ctx.after_accept(request)
        if outcome == "drop":
            return
        if outcome == "5xx":
            answer = self._ws_answer(
                rid,
                op,
                "50004",
                "API endpoint request timeout (does not mean that the request was successful "
                "or failed, please check the request result)",
                [],
            )
        if not ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(answer)

    @staticmethod
    def _ws_answer(rid: str, op: str, code: str, msg: str, data: list[dict[str, Any]]) -> str:
        now = str(_now_ms() * 1000)
        return json.dumps({"id": rid, "op": op, "code": code, "msg": msg, "data": data,
                           "inTime": now, "outTime": now}, separators=(",", ":"))  # fmt: skip

    async def private_ws(  # noqa: PLR0915 - login, then the subscription protocol
        self, request: web.Request
    ) -> web.WebSocketResponse:
        """`/ws/v5/private`: login first, then subscriptions to the `orders` channel."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._conn += 1
        conn_id = f"{self._conn:08x}"
        account: str | None = None
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            if msg.data == "ping":
                await ws.send_str("pong")
                continue
            try:
                req = json.loads(msg.data)
            except ValueError:
                await ws.send_str(_ws_error("60012", "Invalid request", conn_id))
                continue
            if req.get("op") != "login":
                await ws.send_str(_ws_error("60011", "Please log in", conn_id))
                continue
            args = (req.get("args") or [{}])[0]
            account, answer = self._login(args if isinstance(args, dict) else {})
            await ws.send_str(json.dumps(answer | {"connId": conn_id}))
            if account is None:
                await ws.close()
                return ws
            break
        if account is None:
            return ws
        acct: str = account
        subs: list[dict[str, str]] = []

        def wanted(order: SimOrder) -> bool:
            return any(
                s.get("instType") in ("SPOT", "ANY")
                and (not s.get("instId") or s["instId"] == order.symbol)
                for s in subs
            )

        def encode(ev: ExecEvent) -> Sequence[str]:
            if not wanted(ev.order):
                return []
            data = self.order_json(ev.order, ev.fill)
            if ev.name == "amended":
                data["amendResult"] = "0"
                data["reqId"] = self._req_ids.get(ev.order.venue_order_id, "")
                data["amendSource"] = "1"
            arg = {"channel": "orders", "instType": "SPOT", "uid": account[-16:]}
            return [json.dumps({"arg": arg, "data": [data]}, separators=(",", ":"))]

        def on_message(text: str) -> Sequence[str]:
            if text == "ping":
                return ["pong"]
            try:
                req = json.loads(text)
            except ValueError:
                return [_ws_error("60012", "Invalid request", conn_id)]
            op = req.get("op")
            if op in _WS_ORDER_OPS:
                return self._ws_order(ws, request, acct, req)
            out: list[str] = []
            for a in req.get("args") or []:
                if not isinstance(a, dict) or a.get("channel") != "orders":
                    out.append(_ws_error("60018", "Wrong URL or channel doesn't exist", conn_id))
                    continue
                arg = {k: str(v) for k, v in a.items()}
                if op == "subscribe":
                    subs.append(arg)
                elif op == "unsubscribe":
                    with contextlib.suppress(ValueError):
                        subs.remove(arg)
                else:
                    out.append(_ws_error("60012", "Invalid request", conn_id))
                    continue
                out.append(json.dumps({"event": op, "arg": arg, "connId": conn_id}))
            return out

        await self.hub.serve(ws, account, encode, on_message=on_message)
        return ws
