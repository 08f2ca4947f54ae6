"""Fetching fills pages through every one of them, whichever way the venue pages.

OKX lists fills newest first, 100 at most per answer: moving `begin` forward after the first
page (what forward-paging venues need) would skip every fill older than that page's oldest. The
full chaos run found exactly that (orders FILLED with no fill held); these tests pin the fix.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import pytest

from venuegate.oms.engine import OrderManager
from venuegate.oms.types import VenueReport
from venuegate.venues.base import Endpoints, HttpCall, HttpResponse
from venuegate.venues.kraken import Adapter as KrakenAdapter
from venuegate.venues.okx import Adapter as OkxAdapter

T0 = 1_795_000_000_000


def _fetch_all(adapter: object, venue: object, symbol: str, since_ms: int, tmp: Path) -> list[str]:
    """Runs `OrderManager.fetch_fills` against a fake venue; returns every trade id applied."""
    seen: list[str] = []

    async def main() -> None:
        async with OrderManager.open(
            adapter,  # type: ignore[arg-type]
            venue,  # type: ignore[arg-type]
            journal_path=tmp / "j",
            symbols=[symbol],
            private_stream=False,
            reconcile=False,
        ) as om:
            real = om.apply_report

            def spy(r: VenueReport) -> object:
                if r.trade_id is not None:
                    seen.append(r.trade_id)
                return real(r)

            om.apply_report = spy  # type: ignore[method-assign]
            await om.fetch_fills(symbol, since_ms)

    asyncio.run(main())
    return seen


class NewestFirstVenue:
    """OKX's `/api/v5/trade/fills`: `begin` / `end` bounds, newest first, 100 per answer."""

    def __init__(self, n: int, per_ms: int = 3) -> None:
        # `per_ms` fills share each millisecond, so page boundaries fall inside a millisecond.
        self.fills = [(T0 + i // per_ms, str(50_000_000 + i)) for i in range(n)]
        self.calls: list[dict[str, str]] = []

    async def call(self, call: HttpCall) -> HttpResponse:
        params = {k: str(v) for k, v in call.params}
        self.calls.append(params)
        begin, end = int(params["begin"]), int(params.get("end", 10**15))
        sel = [f for f in self.fills if begin <= f[0] < end]
        sel.sort(reverse=True)
        data = [
            {
                "instType": "SPOT",
                "instId": "BTC-USDT",
                "tradeId": tid,
                "ordId": "1",
                "clOrdId": "",
                "side": "buy",
                "fillPx": "100",
                "fillSz": "0.01",
                "fee": "-0.001",
                "feeCcy": "USDT",
                "execType": "T",
                "ts": str(ts),
            }
            for ts, tid in sel[:100]
        ]
        return HttpResponse(200, {}, json.dumps({"code": "0", "msg": "", "data": data}).encode())

    __call__ = call


@pytest.mark.parametrize("n", [0, 99, 100, 101, 250, 1000])
def test_newest_first_fills_are_all_fetched(n: int, tmp_path: Path) -> None:
    venue = NewestFirstVenue(n)
    adapter = OkxAdapter(endpoints=Endpoints("http://x", "ws://x"))
    seen = _fetch_all(adapter, venue, "BTC-USDT", T0, tmp_path)
    assert sorted(set(seen)) == sorted(tid for _, tid in venue.fills)
    assert len(venue.calls) <= n // 100 + 2  # page by page, no wasted sweeps
    assert all(Decimal(p["begin"]) == T0 for p in venue.calls)


class KrakenTradesHistory:
    """Kraken's TradesHistory: `start` exclusive / `end` inclusive, whole seconds compared with
    fill times that have fractions (as the venue's), most recent first, 50 a page, every pair at
    once."""

    def __init__(self, n: int, per_s: int = 7) -> None:
        self.fills = [
            (T0 + (i // per_s) * 1000 + (i % per_s) * (1000 // per_s), 60_000_000 + i)
            for i in range(n)
        ]
        self.calls: list[dict[str, str]] = []

    async def call(self, call: HttpCall) -> HttpResponse:
        params = {k: str(v) for k, v in call.params}
        self.calls.append(params)
        start = int(params["start"]) * 1000
        end = int(params["end"]) * 1000 if "end" in params else 10**15
        sel = sorted((f for f in self.fills if start < f[0] <= end), reverse=True)
        ofs = int(params.get("ofs", "0"))
        sel_page = sel[ofs : ofs + 50]
        trades = {
            f"T{tid}": {
                "ordertxid": "OABC", "pair": "XXBTZUSD", "time": ts / 1000, "type": "buy",
                "ordertype": "limit", "price": "100", "cost": "1", "fee": "0.01",
                "vol": "0.01", "margin": "0", "misc": "", "trade_id": tid, "maker": False,
            }
            for ts, tid in sel_page
        }  # fmt: skip
        body = {"error": [], "result": {"trades": trades, "count": len(sel)}}
        return HttpResponse(200, {}, json.dumps(body).encode())

    __call__ = call


@pytest.mark.parametrize(("n", "per_s"), [(0, 7), (49, 7), (50, 7), (51, 7), (180, 7), (180, 120)])
def test_kraken_most_recent_first_fills_are_all_fetched(n: int, per_s: int, tmp_path: Path) -> None:
    # per_s=120: more than a page of fills inside one second (a sweep through resting orders),
    # which `end` (whole seconds) cannot page through; the offset cursor can.
    venue = KrakenTradesHistory(n, per_s)
    adapter = KrakenAdapter(endpoints=Endpoints("http://x", "ws://x"))
    seen = _fetch_all(adapter, venue, "BTC/USD", T0 - 1000, tmp_path)
    assert sorted(set(seen)) == sorted(f"T{tid}" for _, tid in venue.fills)


class BusyKrakenTradesHistory(KrakenTradesHistory):
    """TradesHistory while the account keeps trading: before the second call a burst of
    `burst` fills lands in the newest fill's second (inside the listing's `end`), and before
    every call after the first `later` fills land in later seconds."""

    def __init__(self, n: int, burst: int, later: int) -> None:
        super().__init__(n)
        self.burst, self.later = burst, later
        self.original = list(self.fills)

    def _add(self, count: int, first_ts: int, step_ms: int) -> None:
        top = max(tid for _, tid in self.fills)
        self.fills += [(first_ts + i * step_ms, top + 1 + i) for i in range(count)]

    async def call(self, call: HttpCall) -> HttpResponse:
        newest = max(ts for ts, _ in self.original)
        if len(self.calls) == 1:
            self._add(self.burst, newest + 1, 5)  # all before the next whole second
        if self.calls:
            self._add(self.later, (newest // 1000 + 2) * 1000 + len(self.calls) * 1000, 1)
        return await super().call(call)

    __call__ = call


@pytest.mark.parametrize(("burst", "later"), [(10, 0), (50, 0), (0, 120), (50, 120)])
def test_kraken_fills_arriving_between_pages_do_not_end_the_listing(
    burst: int, later: int, tmp_path: Path
) -> None:
    # A burst of 50 fills inside the listing's `end` second shifts older fills by a
    # page: the next offset page is a full page of fills already seen, which must not end the
    # listing before the older fills (the chaos run's reconciles stopped there). Fills in later
    # seconds are kept out by `end` and shift nothing.
    venue = BusyKrakenTradesHistory(180, burst, later)
    adapter = KrakenAdapter(endpoints=Endpoints("http://x", "ws://x"))
    seen = set(_fetch_all(adapter, venue, "BTC/USD", T0 - 1000, tmp_path))
    assert {f"T{tid}" for _, tid in venue.original} <= seen


def test_a_fetch_for_missing_fills_stops_once_none_is_missing(tmp_path: Path) -> None:
    # Nothing missing: one page, not all four back to `since_ms` (a gap-driven fetch used to
    # page a busy account's whole history, spending Kraken's API counter for minutes).
    venue = KrakenTradesHistory(180)
    adapter = KrakenAdapter(endpoints=Endpoints("http://x", "ws://x"))

    async def main() -> None:
        async with OrderManager.open(
            adapter,
            venue,  # type: ignore[arg-type]
            journal_path=tmp_path / "j",
            symbols=["BTC/USD"],
            private_stream=False,
            reconcile=False,
        ) as om:
            await om.fetch_fills("BTC/USD", T0 - 1000, for_gaps=True)
            assert len(venue.calls) == 1
            await om.fetch_fills("BTC/USD", T0 - 1000)
            assert len(venue.calls) == 1 + 4  # the full listing: 50 + 50 + 50 + 30

    asyncio.run(main())
