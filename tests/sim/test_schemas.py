"""Messages the venue sessions emit have the documented shape (compared with the fixtures).

Sans-I/O: sessions are driven directly. A message's keys must equal the fixture's keys, value
types must match, and the numbers must be written the way the venue writes them. Each test
also rebuilds the book from the messages with independent code and checks it against the
simulator's true book and the message's own checksum / sequence fields.
"""

from __future__ import annotations

import gzip
import json
import zlib
from decimal import Decimal
from typing import Any

from tests.sim.conftest import fixture_json
from venuegate.sim.md import MarketSim
from venuegate.sim.md.protocol import Out, SessionOptions
from venuegate.sim.md.venues import (
    BinanceSession,
    BinanceUsdmSession,
    BitfinexSession,
    CoinbaseSession,
    HtxSession,
    KrakenSession,
    OkxSession,
    binance_depth,
)

NOW = 1_700_000_000_123


def texts(outs: list[Out]) -> list[Any]:
    return [json.loads(o.payload) for o in outs]


def same_shape(got: Any, want: Any) -> None:
    """Same keys (recursively, through the first element of lists) and JSON types."""
    if isinstance(want, dict):
        assert isinstance(got, dict)
        assert set(got) == set(want), (sorted(got), sorted(want))
        for key in want:
            same_shape(got[key], want[key])
    elif isinstance(want, list):
        assert isinstance(got, list)
        if want and got:
            same_shape(got[0], want[0])
    elif isinstance(want, bool) or want is None:
        assert got is want or isinstance(got, type(want))
    elif isinstance(want, int | float):
        assert isinstance(got, int | float)
        assert not isinstance(got, bool)
    else:
        assert isinstance(got, type(want)), (got, want)


def run_steps(sim: MarketSim, sessions: list[Any], n: int) -> list[Out]:
    outs: list[Out] = []
    for _ in range(n):
        for upd in sim.step():
            for s in sessions:
                outs += s.update(upd)
    return outs


# ------------------------------------------------------------------------------ Binance


def test_binance_spot_depth_update_and_snapshot() -> None:
    sim = MarketSim(seed=1, symbols={"binance": ["BTCUSDT"]})
    raw_s = BinanceSession(sim, "/ws/btcusdt@depth", SessionOptions(), 1)
    comb = BinanceSession(sim, "/stream?streams=btcusdt@depth@100ms", SessionOptions(), 2)
    snap = binance_depth(sim, "binance", "BTCUSDT", 1000)
    same_shape(snap, fixture_json("binance_spot/rest_snapshot.json"))
    assert all(len(p.split(".")[1]) == 8 for p, _ in snap["bids"])
    outs = run_steps(sim, [raw_s, comb], 30)
    events = [json.loads(o.payload) for o in outs]
    raws = [e for e in events if "stream" not in e]
    wrapped = [e for e in events if "stream" in e]
    assert len(raws) == len(wrapped) == 30
    want = fixture_json("binance_spot/depth_update.json")
    for event, wrap in zip(raws, wrapped, strict=True):
        same_shape(event, want)
        assert wrap == {"stream": "btcusdt@depth@100ms", "data": event}
    # the documented sync: drop u <= lastUpdateId, then U == prev u + 1
    book = {"b": {Decimal(p): Decimal(q) for p, q in snap["bids"]}}
    book["a"] = {Decimal(p): Decimal(q) for p, q in snap["asks"]}
    last = snap["lastUpdateId"]
    for event in raws:
        assert event["U"] == last + 1
        last = event["u"]
        for key in ("b", "a"):
            for p, q in event[key]:
                book[key][Decimal(p)] = Decimal(q)
                if Decimal(q) == 0:
                    del book[key][Decimal(p)]
    bids, asks = sim.book("binance", "BTCUSDT")
    assert sorted(book["b"].items(), reverse=True) == bids
    assert sorted(book["a"].items()) == asks


def test_binance_live_subscribe_and_list() -> None:
    sim = MarketSim(seed=1, symbols={"binance": ["BTCUSDT", "ETHUSDT"]})
    s = BinanceSession(sim, "/ws", SessionOptions(), 1)
    req = fixture_json("binance_spot/subscribe_request.json")
    ack = texts(s.receive(json.dumps(req), NOW))
    assert ack == [fixture_json("binance_spot/subscribe_response.json")]
    listed = texts(s.receive('{"method":"LIST_SUBSCRIPTIONS","id":3}', NOW))
    assert listed == [{"result": ["btcusdt@depth"], "id": 3}]
    assert "code" in texts(s.receive("not json", NOW))[0]


def test_binance_usdm_depth_update_and_snapshot() -> None:
    sim = MarketSim(seed=1, symbols={"binanceusdm": ["BTCUSDT"]})
    s = BinanceUsdmSession(sim, "/public/ws/btcusdt@depth", SessionOptions(), 1)
    same_shape(
        binance_depth(sim, "binanceusdm", "BTCUSDT", 5),
        fixture_json("binance_usdm/rest_snapshot.json"),
    )
    events = texts(run_steps(sim, [s], 20))
    prev = None
    for event in events:
        same_shape(event, fixture_json("binance_usdm/depth_update.json"))
        assert prev is None or event["pu"] == prev
        prev = event["u"]
        assert all(len(p.split(".")[1]) == 1 for p, _ in event["b"] + event["a"])


# ------------------------------------------------------------------------------ OKX


def okx_crc(bids: list[list[str]], asks: list[list[str]]) -> int:
    parts: list[str] = []
    for i in range(25):
        if i < len(bids):
            parts += bids[i][:2]
        if i < len(asks):
            parts += asks[i][:2]
    v = zlib.crc32(":".join(parts).encode())
    return v - 2**32 if v >= 2**31 else v


def test_okx_books_snapshot_updates_checksum() -> None:
    sim = MarketSim(seed=1, symbols={"okx": ["BTC-USDT"]})
    s = OkxSession(sim, "/ws/v5/public", SessionOptions(), 1)
    assert s.receive("ping", NOW) == [Out("pong")]
    msgs = texts(
        s.receive('{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}', NOW)
    )
    assert msgs[0]["event"] == "subscribe"
    assert msgs[0]["arg"]["instId"] == "BTC-USDT"
    same_shape(msgs[1], fixture_json("okx/books_snapshot.json"))
    msgs += texts(run_steps(sim, [s], 40))
    book: dict[str, dict[Decimal, list[str]]] = {"bids": {}, "asks": {}}
    seq = None
    for msg in msgs[1:]:
        data = msg["data"][0]
        same_shape(msg, fixture_json("okx/books_update.json" if seq else "okx/books_snapshot.json"))
        assert data["prevSeqId"] == (seq if seq is not None else -1)
        seq = data["seqId"]
        for key in ("bids", "asks"):
            for level in data[key]:
                assert len(level) == 4
                assert level[2] == "0"
                if level[1] == "0":
                    book[key].pop(Decimal(level[0]))
                else:
                    book[key][Decimal(level[0])] = level
        bids = [book["bids"][p] for p in sorted(book["bids"], reverse=True)]
        asks = [book["asks"][p] for p in sorted(book["asks"])]
        assert data["checksum"] == okx_crc(bids, asks)
    true_bids, _ = sim.book("okx", "BTC-USDT")
    assert [(Decimal(lv[0]), Decimal(lv[1])) for lv in bids] == true_bids


def test_okx_checksum_zero_option_and_errors() -> None:
    sim = MarketSim(seed=1, symbols={"okx": ["BTC-USDT"]})
    s = OkxSession(sim, "/ws/v5/public", SessionOptions(okx_checksum_zero=True), 1)
    msgs = texts(
        s.receive('{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}', NOW)
    )
    msgs += texts(run_steps(sim, [s], 5))
    assert all(m["data"][0]["checksum"] == 0 for m in msgs[1:])
    err = texts(s.receive('{"op":"subscribe","args":[{"channel":"books","instId":"NOPE"}]}', NOW))
    assert err[0]["event"] == "error"
    assert err[0]["code"] == "60018"
    assert texts(s.receive("{", NOW))[0]["code"] == "60012"


# ------------------------------------------------------------------------------ Kraken


def test_kraken_book_subscribe_snapshot_updates() -> None:
    sim = MarketSim(seed=1, symbols={"kraken": ["BTC/USD"]})
    s = KrakenSession(sim, "/v2", SessionOptions(heartbeat_ms=10), 1)
    assert texts(s.open(NOW))[0]["channel"] == "status"
    req = {"method": "subscribe", "params": {"channel": "book", "symbol": ["BTC/USD"], "depth": 10}}
    msgs = texts(s.receive(json.dumps(req), NOW))
    same_shape(msgs[0], fixture_json("kraken/book_subscribe_ack.json"))
    assert msgs[0]["result"]["symbol"] == "BTC/USD"
    outs = s.receive(json.dumps(req), NOW)[1:] + run_steps(sim, [s], 60)
    book: dict[str, dict[Decimal, Decimal]] = {"bids": {}, "asks": {}}
    for out in outs:
        text = out.payload.decode() if isinstance(out.payload, bytes) else out.payload
        msg = json.loads(text, parse_float=str, parse_int=str)  # numbers keep their text
        kind = "book_snapshot" if msg["type"] == "snapshot" else "book_update"
        same_shape(json.loads(text), fixture_json(f"kraken/{kind}.json"))
        data = msg["data"][0]
        assert f'"price":{data["bids"][0]["price"]}' in text if data["bids"] else True
        if msg["type"] == "snapshot":
            book = {"bids": {}, "asks": {}}
        for key in ("bids", "asks"):
            for lv in data[key]:
                book[key][Decimal(lv["price"])] = Decimal(lv["qty"])
                if Decimal(lv["qty"]) == 0:
                    del book[key][Decimal(lv["price"])]
        bids = sorted(book["bids"].items(), reverse=True)[:10]
        asks = sorted(book["asks"].items())[:10]
        book = {"bids": dict(bids), "asks": dict(asks)}  # truncate to the subscribed depth
        payload = "".join(
            f"{p:.1f}".replace(".", "").lstrip("0") + f"{q:.8f}".replace(".", "").lstrip("0")
            for p, q in asks + bids
        )
        assert int(data["checksum"]) == zlib.crc32(payload.encode())
    assert (bids, asks) == sim.book("kraken", "BTC/USD", 10)
    assert texts(s.timer(NOW + 100)) == [{"channel": "heartbeat"}]
    pong = texts(s.receive('{"method":"ping","req_id":7}', NOW))[0]
    assert pong["method"] == "pong"
    assert pong["req_id"] == 7
    bad = texts(s.receive(json.dumps(req | {"params": req["params"] | {"depth": 7}}), NOW))
    assert bad[0]["success"] is False


# ------------------------------------------------------------------------------ Coinbase


def test_coinbase_level2_and_heartbeats() -> None:
    sim = MarketSim(seed=1, symbols={"coinbase": ["BTC-USD"]})
    s = CoinbaseSession(sim, "/", SessionOptions(heartbeat_ms=10), 1)
    s.open(NOW)
    sub = fixture_json("coinbase/level2_subscribe.json") | {"product_ids": ["BTC-USD"]}
    msgs = texts(s.receive(json.dumps(sub), NOW))
    msgs += texts(s.receive(json.dumps(fixture_json("coinbase/heartbeats_subscribe.json")), NOW))
    msgs += texts(run_steps(sim, [s], 30))
    msgs += texts(s.timer(NOW + 50))
    assert [m["sequence_num"] for m in msgs] == list(range(len(msgs)))
    assert msgs[1]["channel"] == "subscriptions"
    same_shape(msgs[-1], fixture_json("coinbase/heartbeats.json"))
    book: dict[str, dict[Decimal, Decimal]] = {"bid": {}, "offer": {}}
    for msg in msgs:
        if msg["channel"] != "l2_data":
            continue
        same_shape(msg, fixture_json("coinbase/level2_snapshot.json"))
        for u in msg["events"][0]["updates"]:
            book[u["side"]][Decimal(u["price_level"])] = Decimal(u["new_quantity"])
            if Decimal(u["new_quantity"]) == 0:
                del book[u["side"]][Decimal(u["price_level"])]
    types = [m["events"][0]["type"] for m in msgs if m["channel"] == "l2_data"]
    assert types[0] == "snapshot"
    assert set(types[1:]) == {"update"}
    assert (sorted(book["bid"].items(), reverse=True), sorted(book["offer"].items())) == sim.book(
        "coinbase", "BTC-USD"
    )


# ------------------------------------------------------------------------------ Bitfinex


def test_bitfinex_book_with_checksums_and_sequence_numbers() -> None:
    sim = MarketSim(seed=1, symbols={"bitfinex": ["tBTCUSD"]})
    s = BitfinexSession(sim, "/ws/2", SessionOptions(heartbeat_ms=10), 1)
    assert texts(s.open(NOW))[0]["event"] == "info"
    conf = texts(s.receive(json.dumps({"event": "conf", "flags": 131072 + 65536}), NOW))
    assert conf == [{"event": "conf", "status": "OK", "flags": 196608}]
    req = fixture_json("bitfinex/book_subscribe.json") | {"symbol": "tBTCUSD"}
    outs = s.receive(json.dumps(req), NOW)
    subscribed = json.loads(outs[0].payload)
    same_shape(subscribed, fixture_json("bitfinex/book_subscribed.json"))
    chan = subscribed["chanId"]
    outs = outs[1:] + run_steps(sim, [s], 40) + s.timer(NOW + 50)
    book: dict[str, tuple[str, str]] = {}
    seqs: list[int] = []
    checked = 0
    for out in outs:
        msg = json.loads(out.payload, parse_float=str, parse_int=str)
        assert int(msg[0]) == chan
        seqs.append(int(msg[-1]))
        if msg[1] == "hb":
            continue
        if msg[1] == "cs":
            bids = sorted(
                (v for v in book.values() if Decimal(v[1]) > 0), key=lambda v: -Decimal(v[0])
            )
            asks = sorted(
                (v for v in book.values() if Decimal(v[1]) < 0), key=lambda v: Decimal(v[0])
            )
            parts: list[str] = []
            for i in range(25):
                parts += list(bids[i]) if i < len(bids) else []
                parts += list(asks[i]) if i < len(asks) else []
            crc = zlib.crc32(":".join(parts).encode())
            assert int(msg[2]) == (crc - 2**32 if crc >= 2**31 else crc)
            checked += 1
            continue
        levels = msg[1] if isinstance(msg[1][0], list) else [msg[1]]
        for price, count, amount in levels:
            if count == "0":
                del book[price]
            else:
                book[price] = (price, amount)
    assert checked == 41
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(book) == 50
    err = texts(s.receive(json.dumps(req), NOW))[0]
    assert err["event"] == "error"
    assert err["code"] == 10301


def test_bitfinex_snapshot_shape_matches_the_sdk_frames() -> None:
    sim = MarketSim(seed=1, symbols={"bitfinex": ["tBTCUSD"]})
    s = BitfinexSession(sim, "/ws/2", SessionOptions(), 1)
    outs = s.receive('{"event":"subscribe","channel":"book","symbol":"tBTCUSD"}', NOW)
    snap = json.loads(outs[1].payload)
    want = fixture_json("bitfinex/book_snapshot_txrpbtc.json")
    assert len(snap) == len(want) == 2
    assert len(snap[1]) == len(want[1]) == 50
    assert all(len(lv) == 3 and isinstance(lv[1], int) for lv in snap[1])
    assert all(lv[2] > 0 for lv in snap[1][:25])
    assert all(lv[2] < 0 for lv in snap[1][25:])


# ------------------------------------------------------------------------------ HTX


def unzip(outs: list[Out]) -> list[Any]:
    for out in outs:
        assert isinstance(out.payload, bytes)
        assert not out.text
    return [json.loads(gzip.decompress(o.payload)) for o in outs]  # type: ignore[arg-type]


def test_htx_mbp_sub_req_and_incrementals() -> None:
    sim = MarketSim(seed=1, symbols={"htx": ["btcusdt"]})
    s = HtxSession(sim, "/feed", SessionOptions(htx_ping_ms=10), 1)
    ack = unzip(s.receive('{"sub":"market.btcusdt.mbp.5","id":"id1"}', NOW))[0]
    same_shape(ack, fixture_json("htx/mbp_subscribed.json"))
    incs = unzip(run_steps(sim, [s], 40))
    rep = unzip(s.receive('{"req":"market.btcusdt.mbp.5","id":"id2"}', NOW))[0]
    same_shape(rep, fixture_json("htx/mbp_req_response.json"))
    assert len(rep["data"]["bids"]) == len(rep["data"]["asks"]) == 5
    prev = None
    for inc in incs:
        assert set(inc) == set(fixture_json("htx/mbp_incremental.json"))
        assert {"seqNum", "prevSeqNum"} <= set(inc["tick"])
        assert len(inc["tick"]) >= 3
        assert prev is None or inc["tick"]["prevSeqNum"] == prev
        prev = inc["tick"]["seqNum"]
    assert rep["data"]["seqNum"] == prev
    ping = unzip(s.timer(NOW + 20))[0]
    same_shape(ping, fixture_json("htx/ping.json"))
    assert s.receive(json.dumps({"pong": ping["ping"]}), NOW) == []
    bad = unzip(s.receive('{"sub":"market.nope.mbp.5","id":"x"}', NOW))[0]
    assert bad["status"] == "error"
    assert bad["err-code"] == "bad-request"


def test_htx_150_levels_send_both_sides() -> None:
    sim = MarketSim(seed=1, symbols={"htx": ["btcusdt"]})
    s = HtxSession(sim, "/ws", SessionOptions(), 1)
    s.receive('{"sub":"market.btcusdt.mbp.150","id":"1"}', NOW)
    for inc in unzip(run_steps(sim, [s], 20)):
        (
            same_shape(inc, fixture_json("htx/mbp_incremental_150.json"))
            if inc["tick"]["bids"]
            else None
        )
        assert set(inc["tick"]) == {"seqNum", "prevSeqNum", "bids", "asks"}


def test_htx_closes_after_two_unanswered_pings() -> None:
    sim = MarketSim(seed=1, symbols={"htx": ["btcusdt"]})
    s = HtxSession(sim, "/ws", SessionOptions(htx_ping_ms=10), 1)
    s.open(NOW)
    assert "ping" in unzip(s.timer(NOW + 10))[0]
    assert "ping" in unzip(s.timer(NOW + 20))[0]
    (out,) = s.timer(NOW + 30)
    assert out.close is not None
