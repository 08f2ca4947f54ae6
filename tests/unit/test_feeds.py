"""venuegate.feeds: the book_feed contract over every venue's published sample messages; bad input
never raises, marks the feed stale with a logged reason, and a snapshot resyncs it."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest

from venuegate.feeds import VENUES, FeedStatus, book_feed

FIXTURES = Path(__file__).parent.parent / "fixtures" / "feeds"


def fx(path: str) -> bytes:
    return (FIXTURES / path).read_bytes()


def test_binance_contract() -> None:
    f = book_feed("binance", "BNBBTC", price_precision=8, size_precision=8)
    assert f.snapshot_out_of_band
    assert f.apply(fx("binance_spot/depth_update.json")) is FeedStatus.BUFFERED
    snap = b'{"lastUpdateId":158,"bids":[["0.0024","5"]],"asks":[["0.0026","1"]]}'
    assert f.apply_snapshot(snap) is FeedStatus.APPLIED
    assert f.book.best_bid() == (Decimal("0.0024"), Decimal(10))
    assert f.book.best_ask() == (Decimal("0.0026"), Decimal(100))
    assert f.last_seq == 160
    assert not f.stale


@pytest.mark.parametrize(
    ("venue", "pp", "ss", "messages", "best_bid"),
    [
        ("okx", 2, 0, ["okx/books_update.json"], None),
        (
            "kraken",
            4,
            8,
            ["kraken/book_snapshot.json", "kraken/book_update.json"],
            ("0.5666", "4831.75496356"),
        ),
        ("coinbase", 2, 8, ["coinbase/level2_snapshot.json"], ("21921.73", "0.06317902")),
        ("bitfinex", 8, 8, ["bitfinex/book_snapshot_txrpbtc.json"], ("0.0000886", "1060.55466114")),
    ],
)
def test_in_band_snapshot_venues(
    venue: str, pp: int, ss: int, messages: list[str], best_bid: tuple[str, str] | None
) -> None:
    f = book_feed(venue, "X", price_precision=pp, size_precision=ss)
    statuses = [f.apply(fx(m)) for m in messages]
    if best_bid is None:
        # An update before any snapshot is not applied.
        assert statuses == [FeedStatus.SKIPPED]
        assert f.state == "awaiting_snapshot"
    else:
        assert statuses == [FeedStatus.APPLIED] * len(messages)
        assert f.book.best_bid() == (Decimal(best_bid[0]), Decimal(best_bid[1]))


def test_htx_req_image() -> None:
    f = book_feed("htx", "btcusdt", price_precision=2, size_precision=15)
    assert f.apply_snapshot(fx("htx/mbp_req_response.json")) is FeedStatus.APPLIED
    assert f.book.best_bid() == (Decimal("618.37"), Decimal("71.594"))
    assert f.apply(fx("htx/ping.json")) is FeedStatus.SKIPPED


BAD_INPUTS = [
    b"",
    b"{",
    b"\xff\xfe",
    b"null",
    b"[]",
    b'{"e":"depthUpdate","U":"x"}',
    b"[1,[[1,2]]]",
]


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("bad", BAD_INPUTS)
def test_bad_input_never_raises(venue: str, bad: bytes, caplog: pytest.LogCaptureFixture) -> None:
    f = book_feed(venue, "X", price_precision=4, size_precision=4)
    status = f.apply(bad)
    assert isinstance(status, FeedStatus)
    assert status in (FeedStatus.MALFORMED, FeedStatus.SKIPPED)
    if status is FeedStatus.MALFORMED:
        assert f.stale
        assert f.reason
        assert "MALFORMED" in caplog.text


def test_gap_is_logged_and_resync_recovers(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    f = book_feed("okx", "BTC-USDT", price_precision=1, size_precision=0)

    def msg(action: str, prev: int, seq: int) -> bytes:
        return (
            f'{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"{action}","data":[{{'
            f'"asks":[["10","1","0","1"]],"bids":[["9","1","0","1"]],"ts":"1","checksum":0,'
            f'"prevSeqId":{prev},"seqId":{seq}}}]}}'
        ).encode()

    assert f.apply(msg("snapshot", -1, 1)) is FeedStatus.APPLIED
    assert f.apply(msg("update", 5, 6)) is FeedStatus.GAP
    assert f.stale
    assert "GAP" in caplog.text
    assert "sequence gap" in caplog.text
    # Updates while stale are not applied; a fresh snapshot resyncs.
    assert f.apply(msg("update", 6, 7)) is FeedStatus.SKIPPED
    assert f.apply(msg("snapshot", -1, 20)) is FeedStatus.APPLIED
    assert not f.stale
    assert f.stats()["gaps"] == 1
    assert f.stats()["snapshots"] == 2
