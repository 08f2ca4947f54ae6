"""`MarketSim`: deterministic, realistic, self-consistent books and venue ids."""

from __future__ import annotations

from decimal import Decimal

import pytest

from venuegate.sim.md import CATALOG, VENUES, Instrument, MarketSim
from venuegate.sim.md.book import L2Book
from venuegate.sim.md.market import window_key


def test_same_seed_same_updates_and_books() -> None:
    a, b = MarketSim(seed=5), MarketSim(seed=5)
    for _ in range(100):
        assert a.step() == b.step()
    for venue in VENUES:
        for symbol in a.symbols(venue):
            assert a.book(venue, symbol) == b.book(venue, symbol)


def test_other_seed_other_books() -> None:
    a, b = MarketSim(seed=5), MarketSim(seed=6)
    assert a.book("binance", "BTCUSDT") != b.book("binance", "BTCUSDT")


@pytest.mark.parametrize("venue", VENUES)
def test_books_stay_realistic(venue: str) -> None:
    sim = MarketSim(seed=3, symbols={venue: list(CATALOG[venue])}, levels=60)
    for _ in range(1500):
        sim.step()
    for symbol in sim.symbols(venue):
        inst = sim.feed(venue, symbol).instrument
        bids, asks = sim.book(venue, symbol)
        assert bids[0][0] < asks[0][0]
        assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
        assert [p for p, _ in asks] == sorted(p for p, _ in asks)
        for side in (bids, asks):
            assert 60 <= len(side) <= 68
            for price, size in side:
                assert price > 0
                assert size > 0
                assert price % inst.tick == 0
                assert size % inst.lot == 0


@pytest.mark.parametrize("venue", VENUES)
def test_updates_replay_to_the_true_book(venue: str) -> None:
    sim = MarketSim(seed=9, symbols={venue: [CATALOG[venue][0]]})
    symbol = CATALOG[venue][0].symbol
    replica = sim.feed(venue, symbol).book.copy()
    for _ in range(300):
        (upd,) = sim.step()
        assert upd.changes
        assert len({(side, price) for side, price, _ in upd.changes}) == len(upd.changes)
        for side, price, size in upd.changes:
            replica.apply(side, price, size)
    assert (replica.levels("bid"), replica.levels("ask")) == sim.book(venue, symbol)


def test_binance_spot_ids_are_contiguous() -> None:
    sim = MarketSim(seed=1, symbols={"binance": ["BTCUSDT"]})
    last = sim.feed("binance", "BTCUSDT").last_id
    for _ in range(200):
        (upd,) = sim.step()
        assert upd.first_id == last + 1
        assert upd.last_id == upd.first_id + len(upd.changes) - 1
        last = upd.last_id


def test_binance_futures_ids_chain_by_pu_and_jump() -> None:
    sim = MarketSim(seed=1, symbols={"binanceusdm": ["BTCUSDT"]})
    last, jumps = sim.feed("binanceusdm", "BTCUSDT").last_id, 0
    for _ in range(200):
        (upd,) = sim.step()
        assert upd.prev_id == last
        assert upd.first_id > last
        jumps += upd.first_id > last + 1
        last = upd.last_id
    assert jumps > 50


@pytest.mark.parametrize("venue", ["okx", "htx"])
def test_seq_ids_increase_and_chain(venue: str) -> None:
    sim = MarketSim(seed=1, symbols={venue: [CATALOG[venue][0]]})
    last = sim.feed(venue, CATALOG[venue][0].symbol).last_id
    for _ in range(200):
        (upd,) = sim.step()
        assert upd.prev_id == last < upd.last_id
        last = upd.last_id


@pytest.mark.parametrize("evict", [True, False])
def test_window_views_reproduce_the_top_of_book(evict: bool) -> None:
    sim = MarketSim(seed=2, symbols={"kraken": ["BTC/USD"]})
    feed = sim.feed("kraken", "BTC/USD")
    view = feed.view(10, evict=evict)
    client = L2Book()
    for side in ("bid", "ask"):
        for price, size in view.levels(side):
            client.apply(side, price, size)
    last_id = view.last_id
    for _ in range(400):
        (upd,) = sim.step()
        delta = upd.windows.get(window_key(10, evict=evict))
        if delta is None:
            continue
        assert delta.prev_id == last_id
        last_id = delta.last_id
        for side, price, size in delta.changes:
            client.apply(side, price, size)
        if not evict:  # Kraken: clients truncate to the subscribed depth
            for side in ("bid", "ask"):
                levels = client.bids if side == "bid" else client.asks
                for price, _ in client.levels(side)[10:]:
                    del levels[price]
        assert client.levels("bid") == feed.book.levels("bid", 10)
        assert client.levels("ask") == feed.book.levels("ask", 10)


def test_instrument_precisions_and_custom_symbols() -> None:
    inst = Instrument("FOO-BAR", Decimal("0.0001"), Decimal(1), Decimal(2), Decimal(50))
    assert (inst.price_precision, inst.qty_precision) == (4, 0)
    sim = MarketSim(seed=1, symbols={"okx": [inst]})
    bids, _ = sim.book("okx", "FOO-BAR", 3)
    assert len(bids) == 3


def test_unknown_venue_or_symbol_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown venue"):
        MarketSim(symbols={"ftx": ["BTC-PERP"]})
    with pytest.raises(ValueError, match="no default instrument"):
        MarketSim(symbols={"okx": ["DOGE-USDT"]})
    with pytest.raises(KeyError):
        MarketSim(symbols={"okx": ["BTC-USDT"]}).book("okx", "ETH-USDT")
