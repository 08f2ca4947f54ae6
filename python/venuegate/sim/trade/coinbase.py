"""Coinbase Advanced Trade as the simulator serves it.

REST v3 brokerage paths, the `user` and `heartbeats` WebSocket channels, and the public calls
ccxt makes to load markets.

Written from the venue's documentation (see `venuegate.venues.coinbase` for the pages):

* Authentication is a CDP JWT per request (`Authorization: Bearer`), checked by
  `VenueContext.verify` (`venuegate.sim.verify`). Two forms the venue also accepts but the shared
  verifier does not yet are checked here, with the same key material: the legacy claims ccxt
  sends (`iss: "coinbase-cloud"`, `aud`; and, on loopback, a `uri` naming the simulator's
  `http://host:port`), and WebSocket JWTs (no `uri`). A JWT outside its `nbf`..`exp` window is
  answered `401 {"errors":[{"id":"authentication_error","message":"request timestamp
  expired"}]}` (the venue's words, as ccxt records them); any other failure is `401
  Unauthorized`.
* Rate limits: 30 requests/s per key on private endpoints, 10/s on public ones; excess is
  `429` with `Retry-After` (Advanced Trade sends no usage headers and never bans).
* Order answers: create → `{"success", "success_response" | "error_response"}` (HTTP 200 either
  way); edit → `{"success", "errors": [{"edit_failure_reason", "preview_failure_reason"}]}`;
  batch cancel → `{"results": [{"success", "failure_reason", "order_id"}]}`; unknown order →
  `404 {"error": "NOT_FOUND", "message": "order with this orderID was not found"}`; a
  repeated `client_order_id` returns the existing order ("the order will not be created and the
  order with this ID will be returned instead").
* Faults: 5xx before processing → `503 UNAVAILABLE`; after → `500 INTERNAL`; maintenance →
  create answered `ORDER_ENTRY_DISABLED`, edit `503 UNAVAILABLE`, cancels still served, and
  the product shows `cancel_only: true`.

Not modelled: stop / bracket / TWAP configurations, `quote_size` on anything but market buys,
balances and holds (`INSUFFICIENT_FUND` never happens), portfolios, pagination cursors (one page
holds everything), periodic heartbeats (one heartbeat answers the subscribe), UUID order ids
(the exchange's numeric ids are used).
"""

from __future__ import annotations

import base64
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, ClassVar

from aiohttp import WSMsgType, web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from venuegate.sim.trade.exchange import (
    ExecEvent,
    RejectReason,
    SimFill,
    SimOrder,
    SimReject,
)
from venuegate.sim.trade.faults import TradeFault
from venuegate.sim.trade.limits import SimLimits, SimWindow
from venuegate.sim.trade.server import VenueApi
from venuegate.sim.verify import Credentials, StaleTimestampError, VerificationError

__all__ = ["Api"]

_B = "/api/v3/brokerage"
_NAMES = {"BTC": "Bitcoin", "ETH": "Ethereum", "USD": "US Dollar", "USDT": "Tether"}
_STATUS = {
    "new": "OPEN",
    "partially_filled": "OPEN",
    "filled": "FILLED",
    "canceled": "CANCELLED",
    "expired": "EXPIRED",
    "rejected": "FAILED",
}
_TIF = {
    "gtc": "GOOD_UNTIL_CANCELLED",
    "gtd": "GOOD_UNTIL_DATE_TIME",
    "ioc": "IMMEDIATE_OR_CANCEL",
    "fok": "FILL_OR_KILL",
}
_NEW_REJECT = {
    RejectReason.UNKNOWN_SYMBOL: ("INVALID_PRODUCT_ID", "UNKNOWN_PREVIEW_FAILURE_REASON"),
    RejectReason.BAD_QUANTITY: ("INVALID_SIZE_PRECISION", "PREVIEW_INVALID_SIZE_PRECISION"),
    RejectReason.BAD_PRICE: ("INVALID_PRICE_PRECISION", "PREVIEW_INVALID_PRICE_PRECISION"),
    RejectReason.POST_ONLY_WOULD_TAKE: (
        "INVALID_LIMIT_PRICE_POST_ONLY",
        "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY",
    ),
    RejectReason.MAINTENANCE: ("ORDER_ENTRY_DISABLED", "UNKNOWN_PREVIEW_FAILURE_REASON"),
    RejectReason.BAD_AMEND: ("INVALID_REQUEST", "UNKNOWN_PREVIEW_FAILURE_REASON"),
}
_EDIT_REJECT = {
    RejectReason.UNKNOWN_ORDER: "ORDER_NOT_FOUND",
    RejectReason.ORDER_CLOSED: "ONLY_OPEN_ORDERS_CAN_BE_EDITED",
    RejectReason.BAD_AMEND: "CANNOT_EDIT_TO_BELOW_FILLED_SIZE",
    RejectReason.BAD_QUANTITY: "INVALID_EDITED_SIZE",
    RejectReason.BAD_PRICE: "INVALID_EDITED_PRICE",
    RejectReason.POST_ONLY_WOULD_TAKE: "COMMANDER_REJECTED_EDIT_ORDER",
}

type Handler = Callable[[web.Request], Any]


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_iso_ms(text: str) -> int:
    value = text.replace("Z", "+00:00")
    return int(datetime.fromisoformat(value).timestamp() * 1000)


def _s(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f") if value else "0"


def _json(
    data: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=json.dumps(data, separators=(",", ":")),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def _grpc(status: int, code: str, message: str) -> web.Response:
    return _json({"error": code, "error_details": message, "message": message}, status)


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class Api(VenueApi):
    """Coinbase Advanced Trade over a `SimExchange`."""

    venue: ClassVar[str] = "coinbase"
    private_ws_path: ClassVar[str] = "/ws/user"

    def make_limits(self) -> SimLimits:
        """30 private requests/s per key, 10 public requests/s per IP.

        Sliding one-second windows; Advanced Trade has no bans.
        """
        return SimLimits(
            [
                SimWindow("PRIVATE", 30, 1.0, "sliding"),
                SimWindow("PUBLIC", 10, 1.0, "sliding"),
            ]
        )

    def install(self, app: web.Application) -> None:
        """Adds the REST routes and the user-data WebSocket."""
        r = app.router
        r.add_get(f"{_B}/time", self._public(self.time))
        r.add_get(f"{_B}/market/products", self._public(self.products))
        r.add_get(f"{_B}/market/products/{{product_id}}", self._public(self.product))
        r.add_get("/v2/time", self._public(self.time_v2))
        r.add_get("/v2/currencies", self._public(self.currencies_fiat))
        r.add_get("/v2/currencies/crypto", self._public(self.currencies_crypto))
        r.add_get("/v2/exchange-rates", self._public(self.exchange_rates))
        r.add_post(f"{_B}/orders", self._private(self.create_order, changes=True))
        r.add_post(f"{_B}/orders/edit", self._private(self.edit_order, changes=True))
        r.add_post(f"{_B}/orders/batch_cancel", self._private(self.batch_cancel, changes=True))
        r.add_get(f"{_B}/orders/historical/batch", self._private(self.list_orders))
        r.add_get(f"{_B}/orders/historical/fills", self._private(self.list_fills))
        r.add_get(f"{_B}/orders/historical/{{order_id}}", self._private(self.get_order))
        r.add_get(f"{_B}/transaction_summary", self._private(self.transaction_summary))
        r.add_get(self.private_ws_path, self.user_ws)

    # -- plumbing ------------------------------------------------------------------------
    def _limited(self, window: str) -> web.Response | None:
        verdict = self.limits.charge({window: 1})
        if verdict.ok:
            return None
        self.ctx.count("rate_limited")
        return self._too_many(verdict.retry_after)

    def _too_many(self, seconds: float) -> web.Response:
        return _json(
            {"error": "rate_limit_exceeded", "message": "Too many requests"},
            429,
            {"Retry-After": str(max(1, math.ceil(seconds)))},
        )

    def _public(self, handler: Callable[[web.Request], Any]) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            limited = self._limited("PUBLIC")
            if limited is not None:
                return limited
            result: web.StreamResponse = await handler(request)
            return result

        return wrapped

    def _private(
        self, handler: Callable[[web.Request, str], Any], *, changes: bool = False
    ) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            self.ctx.roll_skew()
            try:
                cred = await self._verify(request)
            except StaleTimestampError:
                return _json(
                    {
                        "errors": [
                            {"id": "authentication_error", "message": "request timestamp expired"}
                        ]
                    },
                    401,
                )
            except VerificationError:
                return web.Response(status=401, text="Unauthorized")
            limited = self._limited("PRIVATE")
            if limited is not None:
                return limited
            if changes:
                faults = self.ctx.faults
                if faults.roll(TradeFault.RATE_429):
                    self.limits.limit_for(1.0)
                    self.ctx.count("rate_429")
                    return self._too_many(1.0)
                if faults.roll(TradeFault.REST_5XX_BEFORE):
                    self.ctx.count("5xx_before")
                    return _grpc(503, "UNAVAILABLE", "service unavailable")
            result: web.StreamResponse = await handler(request, cred.api_key)
            return result

        return wrapped

    async def _after(self, request: web.Request, ok: web.Response) -> web.Response:
        outcome = await self.ctx.after_accept(request)
        if outcome == "5xx":
            return _grpc(500, "INTERNAL", "internal error")
        return ok  # "drop": the transport is already aborted; "ok"

    async def _verify(self, request: web.Request) -> Credentials:
        """The shared verifier first; then the legacy / loopback JWT forms the venue accepts."""
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        self._check_window(token)
        try:
            return await self.ctx.verify(request)
        except StaleTimestampError:
            raise
        except Exception as exc:
            first = exc
        hosts = ("api.coinbase.com", self.ctx.host, f"http://{self.ctx.host}")
        uris = {f"{request.method} {h}{request.path}" for h in hosts}
        cred = self._verify_jwt(token, uris)
        if cred is None:
            if isinstance(first, VerificationError):
                raise first
            raise VerificationError("coinbase: JWT refused", venue="coinbase")
        return cred

    def _check_window(self, token: str) -> None:
        """Raises StaleTimestampError for a JWT outside its validity window."""
        try:
            claims = json.loads(_b64url(token.split(".")[1]))
            nbf, exp = int(claims["nbf"]), int(claims["exp"])
        except (ValueError, IndexError, KeyError, TypeError):
            return
        now = self.ctx.now_ms() // 1000
        if not nbf - 5 <= now <= exp:
            raise StaleTimestampError(
                f"coinbase: JWT valid {nbf}..{exp}, server time {now}", venue="coinbase"
            )

    def _verify_jwt(  # noqa: PLR0911 - one exit per refusal reason
        self, token: str, uris: set[str] | None
    ) -> Credentials | None:
        """The key of a CDP JWT (`iss` "cdp" or the legacy "coinbase-cloud"), or None.

        With `uris`, its `uri` (or `uris`) claim must name this request.
        """
        try:
            h64, c64, s64 = token.split(".")
            header = json.loads(_b64url(h64))
            claims = json.loads(_b64url(c64))
            sig = _b64url(s64)
        except ValueError:
            return None
        cred = self.ctx.credentials.get(str(header.get("kid")))
        if cred is None or claims.get("sub") != cred.api_key:
            return None
        if claims.get("iss") not in ("cdp", "coinbase-cloud") or not header.get("nonce"):
            return None
        nbf, exp = claims.get("nbf"), claims.get("exp")
        if not isinstance(nbf, int) or not isinstance(exp, int) or not 0 < exp - nbf <= 120:
            return None
        now = self.ctx.now_ms() // 1000
        if not nbf - 5 <= now <= exp:
            raise StaleTimestampError("coinbase: JWT expired", venue="coinbase")
        if uris is not None:
            named = {claims.get("uri")} | set(claims.get("uris") or [])
            if not named & uris:
                return None
        signing_input = f"{h64}.{c64}".encode()
        text = cred.secret.replace("\\n", "\n").strip()
        try:
            if header.get("alg") == "ES256":
                key = load_pem_private_key(text.encode(), password=None)
                if not isinstance(key, ec.EllipticCurvePrivateKey) or len(sig) != 64:
                    return None
                der = encode_dss_signature(
                    int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
                )
                key.public_key().verify(der, signing_input, ec.ECDSA(SHA256()))
            elif header.get("alg") == "EdDSA":
                seed = base64.b64decode(text)[:32]
                ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().verify(
                    sig, signing_input
                )
            else:
                return None
        except (InvalidSignature, ValueError):
            return None
        return cred

    # -- wire formats --------------------------------------------------------------------
    def _configuration(self, o: SimOrder) -> dict[str, dict[str, object]]:
        size = _s(o.quantity)
        if o.type == "market":
            key = "market_market_fok" if o.tif == "fok" else "market_market_ioc"
            return {key: {"base_size": size}}
        price = _s(o.price)
        if o.tif == "ioc":
            return {"sor_limit_ioc": {"base_size": size, "limit_price": price}}
        if o.tif == "fok":
            return {"limit_limit_fok": {"base_size": size, "limit_price": price}}
        if o.tif == "gtd":
            return {
                "limit_limit_gtd": {
                    "base_size": size,
                    "limit_price": price,
                    "end_time": _iso(o.expire_at_ms or 0),
                    "post_only": o.post_only,
                }
            }
        return {
            "limit_limit_gtc": {"base_size": size, "limit_price": price, "post_only": o.post_only}
        }

    def _order(self, o: SimOrder) -> dict[str, object]:
        fees = sum((f.fee for f in o.fills), Decimal(0))
        avg = o.average_price
        pct = (o.filled / o.quantity * 100) if o.quantity else Decimal(0)
        return {
            "order_id": o.venue_order_id,
            "product_id": o.symbol,
            "user_id": "sim-user",
            "order_configuration": self._configuration(o),
            "side": o.side.upper(),
            "client_order_id": o.client_order_id,
            "status": _STATUS[o.status],
            "time_in_force": _TIF[o.tif],
            "created_time": _iso(o.created_ms),
            "completion_percentage": _s(pct.quantize(Decimal("0.01"))),
            "filled_size": _s(o.filled),
            "average_filled_price": _s(avg.quantize(Decimal("0.00000001")) if avg else None) or "0",
            "fee": "",
            "number_of_fills": str(len(o.fills)),
            "filled_value": _s(o.notional),
            "pending_cancel": False,
            "size_in_quote": False,
            "total_fees": _s(fees),
            "size_inclusive_of_fees": False,
            "total_value_after_fees": _s(
                o.notional + fees if o.side == "buy" else o.notional - fees
            ),
            "trigger_status": "INVALID_ORDER_TYPE",
            "order_type": o.type.upper(),
            "reject_reason": "REJECT_REASON_UNSPECIFIED",
            "settled": not o.is_open,
            "product_type": "SPOT",
            "reject_message": "",
            "cancel_message": "User requested cancel" if o.status == "canceled" else "",
            "order_placement_source": "RETAIL_ADVANCED",
            "outstanding_hold_amount": "0",
            "is_liquidation": False,
            "last_fill_time": _iso(o.fills[-1].ts_ms) if o.fills else None,
            "edit_history": [],
            "leverage": "",
            "margin_type": "UNKNOWN_MARGIN_TYPE",
            "retail_portfolio_id": "",
        }

    def _fill(self, f: SimFill) -> dict[str, object]:
        return {
            "entry_id": f"entry-{f.trade_id}",
            "trade_id": f.trade_id,
            "order_id": f.venue_order_id,
            "trade_time": _iso(f.ts_ms),
            "trade_type": "FILL",
            "price": _s(f.price),
            "size": _s(f.qty),
            "commission": _s(f.fee),
            "product_id": f.symbol,
            "sequence_timestamp": _iso(f.ts_ms),
            "liquidity_indicator": f.liquidity.upper(),
            "size_in_quote": False,
            "user_id": "sim-user",
            "side": f.side.upper(),
            "retail_portfolio_id": "",
        }

    def _ws_order(self, o: SimOrder) -> dict[str, object]:
        avg = o.average_price
        fees = sum((f.fee for f in o.fills), Decimal(0))
        return {
            "order_id": o.venue_order_id,
            "client_order_id": o.client_order_id,
            "cumulative_quantity": _s(o.filled),
            "leaves_quantity": _s(o.remaining if o.is_open else Decimal(0)),
            "avg_price": _s(avg.quantize(Decimal("0.00000001")) if avg else None) or "0",
            "total_fees": _s(fees),
            "status": _STATUS[o.status],
            "product_id": o.symbol,
            "product_type": "SPOT",
            "creation_time": _iso(o.created_ms),
            "order_side": o.side.upper(),
            "order_type": "Limit" if o.type == "limit" else "Market",
            "limit_price": _s(o.price),
            "time_in_force": _TIF[o.tif],
            "post_only": o.post_only,
            "number_of_fills": str(len(o.fills)),
            "filled_value": _s(o.notional),
            "completion_percentage": _s(
                (o.filled / o.quantity * 100).quantize(Decimal("0.01")) if o.quantity else None
            ),
            "cancel_reason": "User requested cancel" if o.status == "canceled" else "",
            "reject_reason": "",
            "total_value_after_fees": _s(o.notional),
            "contract_expiry_type": "UNKNOWN_CONTRACT_EXPIRY_TYPE",
            "risk_managed_by": "UNKNOWN_RISK_MANAGEMENT_TYPE",
            "trigger_status": "INVALID_ORDER_TYPE",
        }

    # -- public --------------------------------------------------------------------------
    async def time(self, request: web.Request) -> web.Response:
        """`GET /api/v3/brokerage/time`."""
        now = self.ctx.now_ms()
        return _json(
            {"iso": _iso(now)[:19] + "Z", "epochSeconds": str(now // 1000), "epochMillis": str(now)}
        )

    async def time_v2(self, request: web.Request) -> web.Response:
        """`GET /v2/time` (ccxt's default fetchTime)."""
        now = self.ctx.now_ms()
        return _json({"data": {"epoch": now // 1000, "iso": _iso(now)[:19] + "Z"}})

    def _product(self, symbol: str) -> dict[str, object]:
        inst = self.ex.instruments[symbol]
        base, _, quote = symbol.partition("-")
        bid, ask = self.ex.touch(symbol)
        cancel_only = time.time() < self.ctx.maintenance_until
        return {
            "product_id": symbol,
            "price": _s((bid + ask) / 2),
            "price_percentage_change_24h": "0",
            "volume_24h": "0",
            "volume_percentage_change_24h": "0",
            "base_increment": _s(inst.lot),
            "quote_increment": _s(inst.tick),
            "quote_min_size": "1",
            "quote_max_size": "150000000",
            "base_min_size": _s(inst.lot),
            "base_max_size": "3400",
            "base_name": _NAMES.get(base, base),
            "quote_name": _NAMES.get(quote, quote),
            "watched": False,
            "is_disabled": False,
            "new": False,
            "status": "online",
            "cancel_only": cancel_only,
            "limit_only": False,
            "post_only": False,
            "trading_disabled": False,
            "auction_mode": False,
            "product_type": "SPOT",
            "quote_currency_id": quote,
            "base_currency_id": base,
            "fcm_trading_session_details": None,
            "mid_market_price": "",
            "alias": "",
            "alias_to": [],
            "base_display_symbol": base,
            "quote_display_symbol": quote,
            "view_only": False,
            "price_increment": _s(inst.tick),
            "display_name": symbol,
            "product_venue": "CBE",
        }

    async def products(self, request: web.Request) -> web.Response:
        """`GET /api/v3/brokerage/market/products` (spot only; FUTURE lists are empty)."""
        self.ctx.maintenance()
        if request.query.get("product_type", "SPOT").upper() != "SPOT":
            return _json({"products": [], "num_products": 0})
        wanted = request.query.getall("product_ids", [])
        rows = [self._product(s) for s in self.ex.instruments if not wanted or s in wanted]
        return _json({"products": rows, "num_products": len(rows)})

    async def product(self, request: web.Request) -> web.Response:
        """`GET /api/v3/brokerage/market/products/{product_id}`."""
        self.ctx.maintenance()
        symbol = request.match_info["product_id"]
        if symbol not in self.ex.instruments:
            return _grpc(404, "NOT_FOUND", "ProductID is invalid")
        return _json(self._product(symbol))

    def _assets(self) -> tuple[set[str], set[str]]:
        bases = {s.partition("-")[0] for s in self.ex.instruments}
        quotes = {s.partition("-")[2] for s in self.ex.instruments}
        return bases, quotes - bases

    async def currencies_fiat(self, request: web.Request) -> web.Response:
        """`GET /v2/currencies` (fiat)."""
        _, fiat = self._assets()
        rows = [{"id": c, "name": _NAMES.get(c, c), "min_size": "0.01"} for c in sorted(fiat)]
        return _json({"data": rows})

    async def currencies_crypto(self, request: web.Request) -> web.Response:
        """`GET /v2/currencies/crypto`."""
        crypto, _ = self._assets()
        rows = [
            {
                "asset_id": f"sim-{c.lower()}",
                "code": c,
                "name": _NAMES.get(c, c),
                "color": "#000000",
                "sort_index": str(i),
                "exponent": 8,
                "type": "crypto",
                "address_regex": ".*",
            }
            for i, c in enumerate(sorted(crypto))
        ]
        return _json({"data": rows})

    async def exchange_rates(self, request: web.Request) -> web.Response:
        """`GET /v2/exchange-rates` (rates against USD)."""
        rates: dict[str, str] = {"USD": "1"}
        for symbol in self.ex.instruments:
            base, _, quote = symbol.partition("-")
            if quote == "USD":
                bid, ask = self.ex.touch(symbol)
                rates[base] = _s((2 / (bid + ask)).quantize(Decimal("1E-12")))
        return _json({"data": {"currency": "USD", "rates": rates}})

    # -- private -------------------------------------------------------------------------
    async def transaction_summary(self, request: web.Request, account: str) -> web.Response:
        """`GET /api/v3/brokerage/transaction_summary` (the fee tier ccxt reads)."""
        return _json(
            {
                "total_volume": 0,
                "total_fees": 0,
                "fee_tier": {
                    "pricing_tier": "sim",
                    "usd_from": "0",
                    "usd_to": "10000",
                    "taker_fee_rate": _s(self.ex.taker_fee),
                    "maker_fee_rate": _s(self.ex.maker_fee),
                },
                "margin_rate": None,
                "goods_and_services_tax": None,
                "advanced_trade_only_volume": 0,
                "advanced_trade_only_fees": 0,
                "coinbase_pro_volume": 0,
                "coinbase_pro_fees": 0,
            }
        )

    def _new_reject(self, reason: RejectReason, detail: str, config: object) -> web.Response:
        error, preview = _NEW_REJECT.get(reason, ("UNKNOWN_FAILURE_REASON", ""))
        return _json(
            {
                "success": False,
                "failure_reason": "UNKNOWN_FAILURE_REASON",
                "order_id": "",
                "error_response": {
                    "error": error,
                    "message": detail or error,
                    "error_details": detail,
                    "preview_failure_reason": preview,
                    "new_order_failure_reason": error,
                },
                "order_configuration": config,
            }
        )

    def _accepted(self, o: SimOrder, config: object) -> web.Response:
        return _json(
            {
                "success": True,
                "success_response": {
                    "order_id": o.venue_order_id,
                    "product_id": o.symbol,
                    "side": o.side.upper(),
                    "client_order_id": o.client_order_id,
                },
                "order_configuration": config,
            }
        )

    async def create_order(  # noqa: PLR0911 - one answer per refusal
        self, request: web.Request, account: str
    ) -> web.Response:
        """`POST /api/v3/brokerage/orders`."""
        try:
            body = json.loads(await request.read())
            cid = str(body["client_order_id"])
            symbol = str(body["product_id"])
            side = str(body["side"]).lower()
            config = body["order_configuration"]
            (key, spec), *rest = config.items()
        except (ValueError, KeyError, TypeError, AttributeError):
            return _grpc(400, "INVALID_ARGUMENT", "invalid request body")
        if side not in ("buy", "sell") or rest:
            return self._new_reject(RejectReason.BAD_AMEND, "invalid side or configuration", config)
        existing = self.ex.find(account, client_order_id=cid)
        if existing is not None:
            # "the order will not be created and the order with this ID will be returned"
            return await self._after(request, self._accepted(existing, config))
        if self.ctx.maintenance():
            return self._new_reject(RejectReason.MAINTENANCE, "order entry disabled", config)
        try:
            kwargs = self._parse_config(key, spec, symbol, side)
        except (InvalidOperation, ValueError, KeyError, TypeError):
            return _json(
                {
                    "success": False,
                    "failure_reason": "UNKNOWN_FAILURE_REASON",
                    "order_id": "",
                    "error_response": {
                        "error": "UNSUPPORTED_ORDER_CONFIGURATION",
                        "message": f"unsupported order configuration {key}",
                        "error_details": "",
                        "preview_failure_reason": "UNKNOWN_PREVIEW_FAILURE_REASON",
                    },
                    "order_configuration": config,
                }
            )
        try:
            order, _ = self.ex.place(
                account, symbol=symbol, side=side, client_order_id=cid, **kwargs  # type: ignore[arg-type]
            )
        except SimReject as rej:
            if rej.reason is RejectReason.DUPLICATE_CLIENT_ID:
                found = self.ex.find(account, client_order_id=cid)
                if found is not None:
                    return await self._after(request, self._accepted(found, config))
            return self._new_reject(rej.reason, rej.detail, config)
        return await self._after(request, self._accepted(order, config))

    def _parse_config(
        self, key: str, spec: Mapping[str, Any], symbol: str, side: str
    ) -> dict[str, Any]:
        def dec(name: str) -> Decimal:
            return Decimal(str(spec[name]))

        post_only = bool(spec.get("post_only", False))
        if key in ("market_market_ioc", "market_market_fok"):
            tif = "fok" if key.endswith("fok") else "ioc"
            if spec.get("base_size") not in (None, ""):
                qty = dec("base_size")
            else:
                inst = self.ex.instruments[symbol]
                bid, ask = self.ex.touch(symbol)
                qty = (dec("quote_size") / (ask if side == "buy" else bid)).quantize(
                    inst.lot, rounding=ROUND_DOWN
                )
            return {"type": "market", "quantity": qty, "tif": tif}
        limit = {"type": "limit", "quantity": dec("base_size"), "price": dec("limit_price")}
        if key == "limit_limit_gtc":
            return {**limit, "tif": "gtc", "post_only": post_only}
        if key == "limit_limit_gtd":
            end = _parse_iso_ms(str(spec["end_time"]))
            return {**limit, "tif": "gtd", "post_only": post_only, "expire_at_ms": end}
        if key == "sor_limit_ioc":
            return {**limit, "tif": "ioc"}
        if key == "limit_limit_fok":
            return {**limit, "tif": "fok"}
        raise ValueError(key)

    async def edit_order(self, request: web.Request, account: str) -> web.Response:
        """`POST /api/v3/brokerage/orders/edit` (GTC limit orders; ids kept)."""
        try:
            body = json.loads(await request.read())
            vid = str(body["order_id"])
            price = Decimal(str(body["price"])) if body.get("price") not in (None, "") else None
            size = Decimal(str(body["size"])) if body.get("size") not in (None, "") else None
        except (ValueError, KeyError, TypeError, InvalidOperation):
            return _grpc(400, "INVALID_ARGUMENT", "invalid request body")
        if self.ctx.maintenance():
            return _grpc(503, "UNAVAILABLE", "order entry disabled for maintenance")

        def failed(reason: str, preview: str = "UNKNOWN_PREVIEW_FAILURE_REASON") -> web.Response:
            return _json(
                {
                    "success": False,
                    "errors": [{"edit_failure_reason": reason, "preview_failure_reason": preview}],
                }
            )

        order = self.ex.find(account, venue_order_id=vid)
        if order is not None and (order.type != "limit" or order.tif != "gtc"):
            return failed("ONLY_LIMIT_ORDER_EDITS_SUPPORTED")
        if order is not None and price == order.price and size == order.quantity:
            return failed("EDIT_REQUEST_EQUAL_TO_ORIGINAL_REQUEST")
        try:
            self.ex.amend(account, venue_order_id=vid, quantity=size, price=price)
        except SimReject as rej:
            preview = (
                "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY"
                if rej.reason is RejectReason.POST_ONLY_WOULD_TAKE
                else "UNKNOWN_PREVIEW_FAILURE_REASON"
            )
            return failed(
                _EDIT_REJECT.get(rej.reason, "UNKNOWN_EDIT_ORDER_FAILURE_REASON"), preview
            )
        return await self._after(request, _json({"success": True, "errors": []}))

    async def batch_cancel(self, request: web.Request, account: str) -> web.Response:
        """`POST /api/v3/brokerage/orders/batch_cancel` (cancels are served in maintenance)."""
        try:
            ids = [str(i) for i in json.loads(await request.read())["order_ids"]]
        except (ValueError, KeyError, TypeError):
            return _grpc(400, "INVALID_ARGUMENT", "order_ids required")
        results: list[dict[str, object]] = []
        for vid in ids:
            try:
                self.ex.cancel(account, venue_order_id=vid)
                reason = "UNKNOWN_CANCEL_FAILURE_REASON"
                ok = True
            except SimReject as rej:
                ok = False
                if rej.reason is RejectReason.UNKNOWN_ORDER:
                    reason = "UNKNOWN_CANCEL_ORDER"
                elif rej.detail == "filled":
                    reason = "ORDER_IS_FILLED"
                else:
                    reason = "INVALID_CANCEL_REQUEST"
            results.append({"success": ok, "failure_reason": reason, "order_id": vid})
        return await self._after(request, _json({"results": results}))

    async def get_order(self, request: web.Request, account: str) -> web.Response:
        """`GET /api/v3/brokerage/orders/historical/{order_id}`."""
        order = self.ex.find(account, venue_order_id=request.match_info["order_id"])
        if order is None:
            return _grpc(404, "NOT_FOUND", "order with this orderID was not found")
        return _json({"order": self._order(order)})

    @staticmethod
    def _multi(request: web.Request, *names: str) -> list[str]:
        out: list[str] = []
        for name in names:
            for value in request.query.getall(name, []):
                out.extend(v for v in value.split(",") if v)
        return out

    async def list_orders(self, request: web.Request, account: str) -> web.Response:
        """`GET /api/v3/brokerage/orders/historical/batch` (newest first, one page)."""
        statuses = set(self._multi(request, "order_status"))
        products = set(self._multi(request, "product_ids", "product_id"))
        order_ids = set(self._multi(request, "order_ids"))
        start = request.query.get("start_date")
        start_ms = _parse_iso_ms(start) if start else 0
        limit = int(request.query.get("limit", "100") or 100)
        rows = [
            o
            for o in self.ex.orders(account)
            if (not statuses or _STATUS[o.status] in statuses)
            and (not products or o.symbol in products)
            and (not order_ids or o.venue_order_id in order_ids)
            and o.created_ms >= start_ms
        ]
        rows.sort(key=lambda o: (o.created_ms, int(o.venue_order_id)), reverse=True)
        page = [self._order(o) for o in rows[:limit]]
        return _json({"orders": page, "sequence": "0", "has_next": False, "cursor": ""})

    async def list_fills(self, request: web.Request, account: str) -> web.Response:
        """`GET /api/v3/brokerage/orders/historical/fills` (newest first, one page)."""
        products = set(self._multi(request, "product_ids", "product_id"))
        order_ids = set(self._multi(request, "order_ids", "order_id"))
        start = request.query.get("start_sequence_timestamp")
        end = request.query.get("end_sequence_timestamp")
        start_ms = _parse_iso_ms(start) if start else 0
        end_ms = _parse_iso_ms(end) if end else None
        limit = int(request.query.get("limit", "100") or 100)
        rows = [
            f
            for f in self.ex.trades(account, None, start_ms)
            if (not products or f.symbol in products)
            and (not order_ids or f.venue_order_id in order_ids)
            and (end_ms is None or f.ts_ms <= end_ms)
        ]
        rows.sort(key=lambda f: (f.ts_ms, int(f.trade_id)), reverse=True)
        return _json({"fills": [self._fill(f) for f in rows[:limit]], "cursor": ""})

    # -- private WebSocket ---------------------------------------------------------------
    async def user_ws(  # noqa: PLR0915 - the protocol reads best in one place
        self, request: web.Request
    ) -> web.StreamResponse:
        """The user-data WebSocket: `subscribe` to `user` with a JWT, `heartbeats` without."""
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        seq = [0]
        subscribed: dict[str, list[str]] = {}

        def envelope(channel: str, events: Sequence[object]) -> str:
            msg = {
                "channel": channel,
                "client_id": "",
                "timestamp": _iso(self.ctx.now_ms()),
                "sequence_num": seq[0],
                "events": events,
            }
            seq[0] += 1
            return json.dumps(msg, separators=(",", ":"))

        def subscriptions() -> str:
            return envelope("subscriptions", [{"subscriptions": dict(subscribed)}])

        def heartbeat() -> str:
            now = self.ctx.now_ms()
            return envelope(
                "heartbeats",
                [{"current_time": _iso(now), "heartbeat_counter": seq[0]}],
            )

        def error(text: str) -> str:
            return json.dumps({"type": "error", "message": text})

        def encode(ev: ExecEvent) -> list[str]:
            products = subscribed.get("user", [])
            if products and ev.order.symbol not in products:
                return []
            return [envelope("user", [{"type": "update", "orders": [self._ws_order(ev.order)]}])]

        def handle(text: str, account: str | None) -> tuple[list[str], str | None, bool]:
            """(replies, the account a user subscribe authenticated, fatal)."""
            try:
                msg = json.loads(text)
                kind = msg["type"]
                channel = str(msg["channel"])
                products = [str(p) for p in msg.get("product_ids") or []]
            except (ValueError, KeyError, TypeError):
                return [error("malformed subscribe message")], None, False
            if kind == "unsubscribe":
                subscribed.pop(channel, None)
                return [subscriptions()], None, False
            if kind != "subscribe":
                return [error(f"unknown message type {kind}")], None, False
            replies: list[str] = []
            authed: str | None = None
            if channel == "user":
                try:
                    cred = self._verify_jwt(str(msg.get("jwt", "")), None)
                except StaleTimestampError:
                    cred = None
                if cred is None:
                    return [error("authentication failure")], None, True
                authed = cred.api_key
                subscribed["user"] = products
                opened = [
                    o
                    for o in self.ex.open_orders(cred.api_key)
                    if not products or o.symbol in products
                ]
                replies.append(
                    envelope(
                        "user",
                        [
                            {
                                "type": "snapshot",
                                "orders": [self._ws_order(o) for o in opened],
                                "positions": {
                                    "perpetual_futures_positions": [],
                                    "expiring_futures_positions": [],
                                },
                            }
                        ],
                    )
                )
            elif channel == "heartbeats":
                subscribed["heartbeats"] = products
                replies.append(heartbeat())
            else:
                return [error(f"channel {channel} is not served here")], None, False
            replies.append(subscriptions())
            return replies, authed, False

        account: str | None = None
        async for raw in ws:
            if raw.type != WSMsgType.TEXT:
                break
            replies, authed, fatal = handle(raw.data, account)
            for reply in replies:
                await ws.send_str(reply)
            if fatal:
                await ws.close()
                return ws
            if authed is not None:
                account = authed
                break
        if account is not None and not ws.closed:

            def on_message(text: str) -> Sequence[str]:
                return handle(text, account)[0]

            await self.hub.serve(ws, account, encode, on_message=on_message)
        return ws
