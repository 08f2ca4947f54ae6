"""venuegate.feeds.ticks: every venue's published trade and BBO samples decode to exact Decimals;
non-tick messages are None; malformed input raises ProtocolError."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from venuegate.errors import ProtocolError
from venuegate.feeds.ticks import Bbo, Trade, tick_decoder

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ticks"


def fx(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.mark.parametrize(
    ("venue", "fixture", "pp", "sp", "expected"),
    [
        (
            "binance",
            "binance_spot_trade.json",
            3,
            0,
            Trade(Decimal("0.001"), Decimal(100), "sell", 1672515782136, "12345"),
        ),
        (
            "binance",
            "binance_spot_agg_trade.json",
            3,
            0,
            Trade(Decimal("0.001"), Decimal(100), "sell", 1672515782136, "12345"),
        ),
        (
            "binance-usdm",
            "binance_usdm_agg_trade.json",
            3,
            0,
            Trade(Decimal("0.001"), Decimal(100), "sell", 123456785, "5933014"),
        ),
        (
            "okx",
            "okx_trades.json",
            1,
            8,
            Trade(Decimal("42219.9"), Decimal("0.12060306"), "buy", 1630048897897, "130639474"),
        ),
        (
            "coinbase",
            "coinbase_market_trades.json",
            2,
            8,
            Trade(Decimal("1260.01"), Decimal("0.3"), "buy", 1565815347265, "000000000"),
        ),
        (
            "bitfinex",
            "bitfinex_trades_te.json",
            1,
            3,
            Trade(Decimal("7245.3"), Decimal("0.005"), "buy", 1574694478808, "401597395"),
        ),
        (
            "htx",
            "htx_trade_detail.json",
            2,
            6,
            Trade(Decimal("52648.62"), Decimal("0.006754"), "buy", 1630994963173, "102523573486"),
        ),
    ],
)
def test_single_trade_samples(venue: str, fixture: str, pp: int, sp: int, expected: Trade) -> None:
    d = tick_decoder(venue, price_precision=pp, size_precision=sp)
    assert d.decode(fx(fixture)) == [expected]


def test_batched_trades() -> None:
    kraken = tick_decoder("kraken", price_precision=4, size_precision=8).decode(
        fx("kraken_trade.json")
    )
    assert isinstance(kraken, list)
    assert [(t.price, t.size, t.trade_id) for t in kraken] == [
        (Decimal("0.5147"), Decimal("6423.46326"), "4665846"),
        (Decimal("0.5147"), Decimal("1136.19677815"), "4665847"),
    ]
    assert kraken[0].ts_ms == 1695628116925
    snapshot = tick_decoder("bitfinex", price_precision=1, size_precision=3).decode(
        fx("bitfinex_trades_snapshot.json")
    )
    assert isinstance(snapshot, list)
    assert [t.trade_id for t in snapshot] == ["401597395", "401597394", "401597393"]
    assert snapshot[1].size == Decimal("0.02")


@pytest.mark.parametrize(
    ("venue", "fixture", "pp", "sp", "expected"),
    [
        (
            "binance",
            "binance_spot_book_ticker.json",
            8,
            8,
            Bbo(Decimal("25.3519"), Decimal("31.21"), Decimal("25.3652"), Decimal("40.66"), None),
        ),
        (
            "binance-usdm",
            "binance_usdm_book_ticker.json",
            4,
            2,
            Bbo(
                Decimal("25.3519"),
                Decimal("31.21"),
                Decimal("25.3652"),
                Decimal("40.66"),
                1568014460891,
            ),
        ),
        (
            "okx",
            "okx_bbo_tbt.json",
            2,
            0,
            Bbo(
                Decimal("111.05"), Decimal(57745), Decimal("111.06"), Decimal(55154), 1670324386802
            ),
        ),
        (
            "kraken",
            "kraken_ticker.json",
            5,
            8,
            Bbo(
                Decimal("0.10025"),
                Decimal(740),
                Decimal("0.10036"),
                Decimal("1361.44813783"),
                None,
            ),
        ),
        (
            "coinbase",
            "coinbase_ticker.json",
            2,
            8,
            Bbo(
                Decimal("21931.98"),
                Decimal("8000.21"),
                Decimal("21933.98"),
                Decimal("8038.07770938"),
                1675974637167,
            ),
        ),
        (
            "bitfinex",
            "bitfinex_ticker.json",
            1,
            15,
            Bbo(
                Decimal("7616.5"),
                Decimal("31.89055171"),
                Decimal("7617.5"),
                Decimal("43.358118629999986"),
                None,
            ),
        ),
        (
            "htx",
            "htx_bbo.json",
            2,
            6,
            Bbo(
                Decimal("52665.68"),
                Decimal("0.032782"),
                Decimal("52665.69"),
                Decimal("1.502181"),
                1630994555539,
            ),
        ),
    ],
)
def test_bbo_samples(venue: str, fixture: str, pp: int, sp: int, expected: Bbo) -> None:
    assert (
        tick_decoder(venue, price_precision=pp, size_precision=sp).decode(fx(fixture)) == expected
    )


def test_decode_raw_passes_the_native_tuple_through() -> None:
    d = tick_decoder("okx", price_precision=1, size_precision=8)
    assert d.decode_raw(fx("okx_trades.json")) == (
        "trades",
        [(422199, 12060306, 1, 1630048897897, "130639474")],
    )
    bbo = tick_decoder("binance", price_precision=8, size_precision=8)
    assert bbo.decode_raw(fx("binance_spot_book_ticker.json")) == (
        "bbo",
        (2535190000, 3121000000, 2536520000, 4066000000, None),
    )
    assert d.decode_raw(b"pong") == ("ignored", None)


@pytest.mark.parametrize(
    ("venue", "message"),
    [
        ("binance", b'{"result":null,"id":1}'),
        ("okx", b'{"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"}}'),
        ("kraken", b'{"channel":"heartbeat"}'),
        ("coinbase", b'{"channel":"heartbeats","events":[{"heartbeat_counter":"3049"}]}'),
        ("bitfinex", b'[17470,"hb"]'),
        ("bitfinex", b'[17470,"tu",[401597395,1574694478808,0.005,7245.3]]'),
        ("htx", b'{"ping":1492420473027}'),
    ],
)
def test_non_ticks_are_none(venue: str, message: bytes) -> None:
    assert tick_decoder(venue, price_precision=2, size_precision=2).decode(message) is None


@pytest.mark.parametrize(
    ("venue", "message", "match"),
    [
        ("binance", b"{not json", "malformed binance"),
        ("okx", fx("okx_trades.json"), "price"),  # 42219.9 is not exact at precision 0
        ("htx", b'{"ch":"market.btcusdt.bbo","tick":{"bid":1,"bidSize":-1}}', "negative"),
        ("bitfinex", b'[1,"te",[1,2]]', "malformed bitfinex"),
    ],
)
def test_malformed_raises_protocol_error(venue: str, message: bytes, match: str) -> None:
    d = tick_decoder(venue, price_precision=0, size_precision=8)
    with pytest.raises(ProtocolError, match=match):
        d.decode(message)


def test_accepts_buffers_and_reports_itself() -> None:
    d = tick_decoder("htx", price_precision=2, size_precision=6)
    msg = fx("htx_bbo.json")
    assert d.decode(bytearray(msg)) == d.decode(memoryview(msg)) == d.decode(msg.decode())
    assert d.venue == "htx"
    assert repr(d) == "VenueTickDecoder('htx', 2, 6)"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="no tick decoder"):
        tick_decoder("ftx", price_precision=2, size_precision=2)
    with pytest.raises(ValueError, match="precision"):
        tick_decoder("okx", price_precision=19, size_precision=2)
