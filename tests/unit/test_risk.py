"""venuegate.risk: limits (TOML, environment), pre-trade checks at their boundaries, kill switch."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from venuegate.errors import ConfigError, RiskRejectedError
from venuegate.model import Order, OrderType, Side, TimeInForce
from venuegate.oms.types import Alarm, AlarmKind
from venuegate.risk import KillSwitch, PreTradeRisk, RiskLimits, SymbolLimits

D = Decimal
V, S = "binance", "BTCUSDT"


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 20))  # type: ignore[arg-type]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Book:
    """A settable touch per (venue, symbol)."""

    def __init__(self, bid: str | None = "100", ask: str | None = "101") -> None:
        self.touch: dict[tuple[str, str], tuple[Decimal | None, Decimal | None]] = {}
        self.set(V, S, bid, ask)

    def set(self, venue: str, symbol: str, bid: str | None, ask: str | None) -> None:
        self.touch[venue, symbol] = (
            None if bid is None else D(bid),
            None if ask is None else D(ask),
        )

    def __call__(self, venue: str, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        return self.touch.get((venue, symbol), (None, None))


_IDS = itertools.count(1)


def order(
    qty: str,
    price: str | None = "100",
    side: Side = Side.BUY,
    *,
    type: OrderType = OrderType.LIMIT,
    venue: str = V,
    symbol: str = S,
) -> Order:
    return Order(
        venue=venue,
        symbol=symbol,
        client_order_id=f"c{next(_IDS)}",
        side=side,
        type=type,
        quantity=D(qty),
        price=None if price is None else D(price),
        time_in_force=TimeInForce.GTC,
    )


def risk(
    book: Book | None = None, kill: KillSwitch | None = None, **limits: Any
) -> tuple[PreTradeRisk, FakeClock]:
    clock = FakeClock()
    r = PreTradeRisk(
        RiskLimits.model_validate(limits),
        marks=book if book is not None else Book(),
        kill_switch=kill,
        clock=clock,
    )
    return r, clock


def rejected(r: PreTradeRisk, o: Order) -> str:
    with pytest.raises(RiskRejectedError) as info:
        r.check(o)
    assert info.value.venue == o.venue
    return info.value.check


# -- limits -----------------------------------------------------------------------------------
def test_limits_refuse_floats_and_bad_values() -> None:
    with pytest.raises(ValueError, match="floats are not accepted"):
        SymbolLimits(max_order_qty=0.1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"default\.max_order_qty"):
        RiskLimits.from_mapping({"default": {"max_order_qty": "-1"}})
    with pytest.raises(ConfigError, match="max_open_orders"):
        RiskLimits.from_mapping({"max_open_orders": 0})
    with pytest.raises(ConfigError, match="max_orderqty"):
        RiskLimits.from_mapping({"default": {"max_orderqty": "1"}})


def test_override_inherits_default_fields() -> None:
    limits = RiskLimits.from_mapping(
        {
            "default": {"max_order_qty": "5", "max_position": "10"},
            "symbols": {V: {S: {"max_position": "2"}}},
            "max_orders_per_second": 10,
            "max_orders_per_second_by_venue": {"okx": 3},
        }
    )
    assert limits.for_symbol(V, S) == SymbolLimits(max_order_qty=D(5), max_position=D(2))
    assert limits.for_symbol(V, "ETHUSDT") == limits.default
    assert limits.for_symbol("okx", S) == limits.default
    assert limits.orders_per_second("okx") == 3
    assert limits.orders_per_second(V) == 10


def test_from_toml_reads_floats_exactly(tmp_path: Path) -> None:
    path = tmp_path / "risk.toml"
    path.write_text(
        """
max_gross_exposure = 1_000_000
max_open_orders = 50
max_orders_per_second = 20
kill_on_alarms = ["overfill", "fill_mismatch"]

[default]
max_order_qty = 0.1
price_band_bps = 50

[symbols.kraken."BTC/USD"]
max_order_notional = 25000.10
""",
        encoding="utf-8",
    )
    limits = RiskLimits.from_toml(path)
    assert limits.default.max_order_qty == D("0.1")
    assert limits.for_symbol("kraken", "BTC/USD").max_order_notional == D("25000.10")
    assert limits.for_symbol("kraken", "BTC/USD").max_order_qty == D("0.1")
    assert limits.max_gross_exposure == D(1_000_000)
    assert limits.kill_on_alarms == {AlarmKind.OVERFILL, AlarmKind.FILL_MISMATCH}


def test_from_toml_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        RiskLimits.from_toml(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("max_open_orders = = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        RiskLimits.from_toml(bad)
    invalid = tmp_path / "invalid.toml"
    invalid.write_text('[default]\nmax_position = "lots"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"invalid\.toml.*\n.*default\.max_position"):
        RiskLimits.from_toml(invalid)


def test_from_env() -> None:
    env = {
        "VENUEGATE_RISK_ENABLED": "true",
        "VENUEGATE_RISK_MAX_OPEN_ORDERS": "50",
        "VENUEGATE_RISK_DEFAULT__MAX_ORDER_QTY": "0.1",
        "VENUEGATE_RISK_SYMBOLS__BINANCE__BTCUSDT__MAX_POSITION": "0.5",
        "VENUEGATE_RISK_SYMBOLS__htx__btcusdt__MAX_POSITION": "7",
        "VENUEGATE_RISK_MAX_ORDERS_PER_SECOND_BY_VENUE__OKX": "20",
        "VENUEGATE_RISK_KILL_ON_ALARMS": "overfill, unknown_trade",
        "OTHER_MAX_OPEN_ORDERS": "1",
    }
    limits = RiskLimits.from_env(environ=env)
    assert limits.max_open_orders == 50
    assert limits.default.max_order_qty == D("0.1")
    assert limits.for_symbol("binance", "BTCUSDT").max_position == D("0.5")
    assert limits.for_symbol("htx", "btcusdt").max_position == D(7)
    assert limits.orders_per_second("okx") == 20
    assert limits.kill_on_alarms == {AlarmKind.OVERFILL, AlarmKind.UNKNOWN_TRADE}
    assert RiskLimits.from_env(environ={}) == RiskLimits()
    other = RiskLimits.from_env("MY_", environ={"MY_KILL_ON_ALARMS": '["overfill"]'})
    assert other.kill_on_alarms == {AlarmKind.OVERFILL}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"VENUEGATE_RISK_DEFAULT__MAX_ORDER_QTY": "abc"},
            r"VENUEGATE_RISK_DEFAULT__MAX_ORDER_QTY \(default\.max_order_qty\)",
        ),
        ({"VENUEGATE_RISK_MAX_OPEN_ORDER": "5"}, "VENUEGATE_RISK_MAX_OPEN_ORDER"),
        ({"VENUEGATE_RISK_DEFAULT__": "1"}, "empty path segment"),
        (
            {"VENUEGATE_RISK_DEFAULT": "1", "VENUEGATE_RISK_DEFAULT__MAX_ORDER_QTY": "1"},
            "conflicts",
        ),
        ({"VENUEGATE_RISK_KILL_ON_ALARMS": "[overfill"}, "not a JSON list"),
        ({"VENUEGATE_RISK_KILL_ON_ALARMS": "meltdown"}, "VENUEGATE_RISK_KILL_ON_ALARMS"),
    ],
)
def test_from_env_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RiskLimits.from_env(environ=env)


def test_bands_need_marks() -> None:
    limits = RiskLimits.model_validate({"symbols": {V: {S: {"price_band_bps": "10"}}}})
    with pytest.raises(ConfigError, match="marks"):
        PreTradeRisk(limits)
    PreTradeRisk(RiskLimits())  # no band: no book needed


# -- checks at their boundaries ---------------------------------------------------------------
def test_max_order_qty_boundary() -> None:
    r, _ = risk(default={"max_order_qty": "1.5"})
    r.check(order("1.5"))
    assert rejected(r, order("1.50000001")) == "max_order_qty"


def test_max_order_notional_boundary() -> None:
    r, _ = risk(default={"max_order_notional": "1000"})
    r.check(order("10", "100"))
    assert rejected(r, order("10", "100.00001")) == "max_order_notional"
    # A market buy is valued at the ask, a market sell at the bid.
    r2, _ = risk(Book("100", "125"), default={"max_order_notional": "1000"})
    r2.check(order("8", None, type=OrderType.MARKET))  # 8 * 125 = 1000
    assert rejected(r2, order("8.01", None, type=OrderType.MARKET)) == "max_order_notional"
    r2.check(order("10", None, Side.SELL, type=OrderType.MARKET))  # 10 * 100
    assert rejected(r2, order("10.1", None, Side.SELL, type=OrderType.MARKET)) == (
        "max_order_notional"
    )


def test_market_order_without_book() -> None:
    r, _ = risk(Book(None, None), default={"max_order_notional": "1000"})
    assert rejected(r, order("1", None, type=OrderType.MARKET)) == "no_market_data"


def test_price_band_boundary() -> None:
    # mid 100.5; 100 bps = 1.005
    r, _ = risk(Book("100", "101"), default={"price_band_bps": "100"})
    r.check(order("1", "101.505"))
    r.check(order("1", "99.495", Side.SELL))
    assert rejected(r, order("1", "101.5050001")) == "price_band"
    assert rejected(r, order("1", "99.4949999", Side.SELL)) == "price_band"


def test_price_band_one_sided_and_no_book() -> None:
    book = Book("100", None)
    r, _ = risk(book, default={"price_band_bps": "100"})
    r.check(order("1", "101"))  # against the bid alone
    assert rejected(r, order("1", "101.01")) == "price_band"
    book.set(V, S, None, None)
    assert rejected(r, order("1", "100")) == "price_band"
    # Stops are not band-checked (their price is where the market may go).
    r.check(order("1", "150", type=OrderType.STOP_LIMIT))


def test_price_band_market_orders_against_the_touch() -> None:
    # mid 100.5, 100 bps = 1.005: ask 101 is 0.5 away.
    book = Book("100", "101")
    r, _ = risk(book, default={"price_band_bps": "100"})
    r.check(order("1", None, type=OrderType.MARKET))
    book.set(V, S, "98", "100.01")  # mid 99.005, band 0.99005; ask 1.005 away
    assert rejected(r, order("1", None, type=OrderType.MARKET)) == "price_band"
    book.set(V, S, "100", None)
    assert rejected(r, order("1", None, type=OrderType.MARKET)) == "price_band"  # no ask
    r.check(order("1", None, Side.SELL, type=OrderType.MARKET))  # the bid alone


def test_max_position_counts_open_orders_worst_case() -> None:
    r, _ = risk(default={"max_position": "10"})
    r.on_fill(V, S, Side.BUY, D(4), D(100), open_order=False)
    resting = order("3")
    r.check(resting)
    r.on_order_open(resting)
    r.check(order("3"))  # 4 + 3 + 3 = 10
    assert rejected(r, order("3.0001")) == "max_position"
    # Sells: 4 - 14 = -10 at the limit; open buys do not help a sell.
    r.check(order("14", side=Side.SELL))
    assert rejected(r, order("14.0001", side=Side.SELL)) == "max_position"
    # A fill of the resting order moves position and open qty together: no change.
    r.on_fill(V, S, Side.BUY, D(2), D(100))
    assert r.position(V, S) == D(6)
    assert r.open_quantity(V, S) == (D(1), D(0))
    assert rejected(r, order("3.0001")) == "max_position"
    # Closing the rest frees it.
    r.on_order_closed(resting, D(1))
    assert r.open_quantity(V, S) == (D(0), D(0))
    r.check(order("4"))
    assert rejected(r, order("4.0001")) == "max_position"


def test_open_sells_count_against_short_limit() -> None:
    r, _ = risk(default={"max_position": "5"})
    o = order("5", side=Side.SELL)
    r.check(o)
    r.on_order_open(o)
    assert rejected(r, order("0.00000001", side=Side.SELL)) == "max_position"
    r.check(order("5"))  # open sells do not help a buy either
    assert rejected(r, order("5.00000001")) == "max_position"


def test_reducing_orders_pass_over_the_position_limit() -> None:
    r, _ = risk(default={"max_position": "5"})
    r.set_position(V, S, D(8))
    assert rejected(r, order("0.1")) == "max_position"
    r.check(order("3", side=Side.SELL))


def test_amend_counts_only_the_added_quantity() -> None:
    r, _ = risk(default={"max_position": "10", "max_order_qty": "8"})
    o = order("6")
    r.check(o)
    r.on_order_open(o)
    r.check_amend(o, quantity=D(8))  # worst 10
    with pytest.raises(RiskRejectedError) as info:
        r.check_amend(o, quantity=D("8.1"))
    assert info.value.check == "max_order_qty"
    r.on_amend(o, D(8))
    assert r.open_quantity(V, S) == (D(8), D(0))
    r.check_amend(o.evolve(quantity=D(8)), quantity=D(2))  # a reduction always passes
    with pytest.raises(TypeError, match="floats"):
        r.check_amend(o, quantity=1.0)  # type: ignore[arg-type]


def test_max_open_orders_total_and_per_symbol() -> None:
    r, _ = risk(max_open_orders=3, max_open_orders_per_symbol=2)
    a, b = order("1"), order("1")
    for o in (a, b):
        r.check(o)
        r.on_order_open(o)
    assert rejected(r, order("1")) == "max_open_orders_per_symbol"
    c = order("1", symbol="ETHUSDT")
    r.check(c)
    r.on_order_open(c)
    assert r.open_orders == 3
    assert rejected(r, order("1", symbol="SOLUSDT")) == "max_open_orders"
    r.on_order_closed(a, D(0))
    r.check(order("1", symbol="SOLUSDT"))
    r.check(order("1"))


def test_gross_exposure_boundary_and_reducing_orders() -> None:
    book = Book("99", "101")  # mid 100
    book.set(V, "ETHUSDT", "9", "11")  # mid 10
    r, _ = risk(book, max_gross_exposure="1000")
    r.set_position(V, "ETHUSDT", D(-30))  # 300
    o = order("5")  # 500
    r.check(o)
    r.on_order_open(o)
    assert r.gross_exposure == D(800)
    r.check(order("2"))  # 300 + 700 = 1000
    assert rejected(r, order("2.00001")) == "max_gross_exposure"
    # A sell does not raise the worst case while the open buy dominates: |0 - 5| = 5.
    r.check(order("5", side=Side.SELL))
    # Over the limit after a mark move: exposure-reducing orders still pass.
    book.set(V, S, "199", "201")
    assert r.revalue() == D(1300)
    assert rejected(r, order("0.1")) == "max_gross_exposure"
    r.check(order("30", symbol="ETHUSDT"))  # buys back the short: worst |0| vs |-30|


def test_gross_exposure_needs_a_mark() -> None:
    r, _ = risk(Book(None, None), max_gross_exposure="1000")
    assert rejected(r, order("1", None, type=OrderType.MARKET)) == "no_market_data"
    r.check(order("10", "100"))  # a limit order is valued at its price when there is no book
    assert rejected(r, order("10.01", "100")) == "max_gross_exposure"


def test_order_rate_rolling_window() -> None:
    r, clock = risk(max_orders_per_second=3, max_orders_per_second_by_venue={"okx": 1})
    for t in (0.0, 0.25, 0.5):
        clock.now = 1000.0 + t
        r.check(order("1"))
    clock.now = 1000.75
    assert rejected(r, order("1")) == "max_orders_per_second"
    r.check(order("1", venue="okx"))  # per venue
    assert rejected(r, order("1", venue="okx")) == "max_orders_per_second"
    clock.now = 1001.0  # the first stamp leaves the window exactly one second later
    r.check(order("1"))
    assert rejected(r, order("1")) == "max_orders_per_second"
    clock.now = 1001.25
    r.check(order("1"))
    assert rejected(r, order("1")) == "max_orders_per_second"
    # Rejected orders are not counted.
    clock.now = 1002.5
    for _ in range(3):
        r.check(order("1"))
    assert rejected(r, order("1")) == "max_orders_per_second"


def test_rate_counts_only_orders_that_pass_every_check() -> None:
    r, _ = risk(max_orders_per_second=1, default={"max_order_qty": "1"})
    assert rejected(r, order("2")) == "max_order_qty"
    r.check(order("1"))
    assert rejected(r, order("1")) == "max_orders_per_second"


def test_disabled_limits_still_honour_the_kill_switch() -> None:
    kill = KillSwitch()
    r, _ = risk(kill=kill, enabled=False, default={"max_order_qty": "1"})
    r.check(order("100"))
    run(kill.trigger("test"))
    assert rejected(r, order("1")) == "kill_switch"


def test_counters_never_go_negative(caplog: pytest.LogCaptureFixture) -> None:
    r, _ = risk()
    o = order("1")
    with caplog.at_level(logging.ERROR, logger="venuegate.risk"):
        r.on_order_closed(o, D(1))
        r.on_fill(V, S, Side.SELL, D(1), D(100))
    assert r.open_orders == 0
    assert r.open_quantity(V, S) == (D(0), D(0))
    assert r.position(V, S) == D(-1)
    assert len(caplog.records) == 3


# -- kill switch ------------------------------------------------------------------------------
class Venue:
    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls = 0

    async def cancel_all(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"down {self.calls}")


def test_kill_switch_blocks_cancels_and_alerts() -> None:
    sleeps: list[float] = []

    async def sleep(s: float) -> None:
        sleeps.append(s)

    alerts: list[str] = []

    async def async_alert(msg: str) -> None:
        alerts.append("async " + msg)

    def broken_alert(msg: str) -> None:
        raise RuntimeError("pager down")

    kill = KillSwitch(max_attempts=4, backoff_s=0.1, max_backoff_s=0.25, sleep=sleep)
    ok, flaky, dead = Venue(), Venue(failures=2), Venue(failures=99)
    kill.register_cancel_all("okx", ok.cancel_all)
    kill.register_cancel_all("kraken", flaky.cancel_all)
    kill.register_cancel_all("htx", dead.cancel_all)
    kill.register_alert(alerts.append)
    kill.register_alert(broken_alert)
    kill.register_alert(async_alert)
    r, _ = risk(kill=kill)
    r.check(order("1"))

    report = run(kill.trigger("fat finger"))
    assert kill.triggered
    assert kill.reason == "fat finger"
    assert rejected(r, order("1")) == "kill_switch"
    assert sorted(report.canceled) == ["kraken", "okx"]
    assert list(report.failed) == ["htx"]
    assert not report.ok
    assert report.attempts == {"okx": 1, "kraken": 3, "htx": 4}
    assert (ok.calls, flaky.calls, dead.calls) == (1, 3, 4)
    assert sorted(sleeps) == sorted([0.1, 0.2, 0.1, 0.2, 0.25])  # capped backoff
    assert alerts[0] == "kill switch triggered: fat finger"
    assert any("FAILED at htx" in a for a in alerts)
    assert any(a.startswith("async kill switch triggered") for a in alerts)

    # A second trigger keeps the first reason and cancels again.
    run(kill.trigger("again"))
    assert kill.reason == "fat finger"
    assert ok.calls == 2

    kill.reset(by="ops")
    assert not kill.triggered
    assert kill.reason is None
    assert "kill switch reset by ops" in alerts
    r.check(order("1"))


def test_kill_switch_on_alarm() -> None:
    async def main() -> None:
        kill = KillSwitch(trigger_on={AlarmKind.OVERFILL})
        venue = Venue()
        kill.register_cancel_all("okx", venue.cancel_all)
        assert kill.on_alarm(Alarm(AlarmKind.UNKNOWN_ORDER, "okx", "c1", "adopted")) is None
        assert not kill.triggered
        task = kill.on_alarm(Alarm(AlarmKind.OVERFILL, "okx", "c2", "filled 2 of 1"))
        assert task is not None
        assert kill.triggered  # blocked before any await
        assert kill.reason is not None
        assert "overfill" in kill.reason
        report = await task
        assert report.canceled == ["okx"]
        assert venue.calls == 1

        async def alert(msg: str) -> None:
            raise RuntimeError(msg)

        kill.register_alert(alert)
        kill.reset()
        await asyncio.sleep(0)

    run(main())


def test_kill_switch_config_errors() -> None:
    with pytest.raises(ConfigError):
        KillSwitch(max_attempts=0)
    with pytest.raises(ConfigError):
        KillSwitch(backoff_s=-1)
