//! Every venue's documented trade and BBO samples (`tests/fixtures/ticks/`, sources in its
//! `SOURCES.md`), the non-tick messages each venue sends, malformed input, and a fuzz property.

use proptest::prelude::*;
use rstest::rstest;

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/ticks/",
            $name
        ))
        .as_slice()
    };
}

fn trades(venue: Venue, msg: &[u8], ps: u8, ss: u8) -> Vec<Trade> {
    let mut out = Vec::new();
    let tick = decode(venue, msg, ps, ss, &mut out).expect("decodes");
    assert_eq!(tick, Tick::Trades(out.len()));
    out
}

fn bbo(venue: Venue, msg: &[u8], ps: u8, ss: u8) -> Bbo {
    let mut out = Vec::new();
    match decode(venue, msg, ps, ss, &mut out).expect("decodes") {
        Tick::Bbo(b) => {
            assert!(out.is_empty());
            b
        }
        other => panic!("expected a BBO, got {other:?}"),
    }
}

fn one(t: &[Trade]) -> (i64, i64, Option<Side>, i64, &str) {
    assert_eq!(t.len(), 1);
    (
        t[0].price,
        t[0].size,
        t[0].side,
        t[0].ts_ms,
        t[0].trade_id.as_str(),
    )
}

#[rstest]
#[case::spot(Venue::BinanceSpot)]
#[case::usdm(Venue::BinanceUsdm)]
fn binance_trade_and_agg_trade(#[case] venue: Venue) {
    // m = true: the buyer was the maker, so the aggressor sold.
    let t = trades(venue, fixture!("binance_spot_trade.json"), 3, 0);
    assert_eq!(
        one(&t),
        (1, 100, Some(Side::Ask), 1_672_515_782_136, "12345")
    );
    let t = trades(venue, fixture!("binance_spot_agg_trade.json"), 4, 2);
    assert_eq!(
        one(&t),
        (10, 10_000, Some(Side::Ask), 1_672_515_782_136, "12345")
    );
    let t = trades(venue, fixture!("binance_usdm_agg_trade.json"), 3, 0);
    assert_eq!(one(&t), (1, 100, Some(Side::Ask), 123_456_785, "5933014"));
}

#[test]
fn binance_book_tickers() {
    let b = bbo(
        Venue::BinanceSpot,
        fixture!("binance_spot_book_ticker.json"),
        8,
        8,
    );
    assert_eq!(b.bid, Some((2_535_190_000, 3_121_000_000)));
    assert_eq!(b.ask, Some((2_536_520_000, 4_066_000_000)));
    assert_eq!(b.ts_ms, None);
    let b = bbo(
        Venue::BinanceUsdm,
        fixture!("binance_usdm_book_ticker.json"),
        4,
        2,
    );
    assert_eq!(b.bid, Some((253_519, 3121)));
    assert_eq!(b.ask, Some((253_652, 4066)));
    assert_eq!(b.ts_ms, Some(1_568_014_460_891));
}

#[test]
fn binance_combined_stream_and_non_ticks() {
    // Built from the documented wrapper `{"stream":..,"data":<rawPayload>}` (no published frame).
    let mut msg = br#"{"stream":"bnbbtc@trade","data":"#.to_vec();
    msg.extend_from_slice(fixture!("binance_spot_trade.json").trim_ascii());
    msg.push(b'}');
    assert_eq!(trades(Venue::BinanceSpot, &msg, 3, 0).len(), 1);
    let mut out = Vec::new();
    for ignored in [
        &br#"{"result":null,"id":1}"#[..],
        br#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[],"a":[]}"#,
        br#"{"e":"kline","E":1}"#,
    ] {
        assert_eq!(
            decode(Venue::BinanceSpot, ignored, 2, 2, &mut out),
            Ok(Tick::Ignored)
        );
    }
    assert!(out.is_empty());
}

#[test]
fn okx_trades_and_bbo_tbt() {
    let t = trades(Venue::Okx, fixture!("okx_trades.json"), 1, 8);
    assert_eq!(
        one(&t),
        (
            422_199,
            12_060_306,
            Some(Side::Bid),
            1_630_048_897_897,
            "130639474"
        )
    );
    let b = bbo(Venue::Okx, fixture!("okx_bbo_tbt.json"), 2, 0);
    assert_eq!(b.bid, Some((11_105, 57_745)));
    assert_eq!(b.ask, Some((11_106, 55_154)));
    assert_eq!(b.ts_ms, Some(1_670_324_386_802));
    let mut out = Vec::new();
    for ignored in [
        &br#"{"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"a4d3ae55"}"#[..],
        b"pong",
        br#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[]}"#,
    ] {
        assert_eq!(decode(Venue::Okx, ignored, 2, 2, &mut out), Ok(Tick::Ignored));
    }
}

#[test]
fn kraken_trade_and_ticker() {
    let t = trades(Venue::Kraken, fixture!("kraken_trade.json"), 4, 8);
    assert_eq!(t.len(), 2);
    assert_eq!(
        (t[0].price, t[0].size, t[0].side, t[0].trade_id.as_str()),
        (5147, 642_346_326_000, Some(Side::Bid), "4665846")
    );
    // 2023-09-25T07:48:36.925533Z
    assert_eq!(t[0].ts_ms, 1_695_628_116_925);
    assert_eq!(t[1].size, 113_619_677_815);
    let b = bbo(Venue::Kraken, fixture!("kraken_ticker.json"), 5, 8);
    assert_eq!(b.bid, Some((10_025, 74_000_000_000)));
    assert_eq!(b.ask, Some((10_036, 136_144_813_783)));
    assert_eq!(b.ts_ms, None);
    let mut out = Vec::new();
    for ignored in [
        &br#"{"channel":"heartbeat"}"#[..],
        br#"{"method":"subscribe","result":{"channel":"trade","snapshot":true,"symbol":"MATIC/USD"},"success":true,"time_in":"2023-09-25T09:04:31.742599Z","time_out":"2023-09-25T09:04:31.742648Z"}"#,
        br#"{"channel":"status","type":"update","data":[{"version":"2.0.0","system":"online","api_version":"v2","connection_id":1,"system_version":"x"}]}"#,
    ] {
        assert_eq!(decode(Venue::Kraken, ignored, 2, 2, &mut out), Ok(Tick::Ignored));
    }
}

#[test]
fn coinbase_market_trades_and_ticker() {
    let t = trades(
        Venue::Coinbase,
        fixture!("coinbase_market_trades.json"),
        2,
        8,
    );
    // 2019-08-14T20:42:27.265Z
    assert_eq!(
        one(&t),
        (
            126_001,
            30_000_000,
            Some(Side::Bid),
            1_565_815_347_265,
            "000000000"
        )
    );
    let b = bbo(Venue::Coinbase, fixture!("coinbase_ticker.json"), 2, 8);
    assert_eq!(b.bid, Some((2_193_198, 800_021_000_000)));
    assert_eq!(b.ask, Some((2_193_398, 803_807_770_938)));
    // 2023-02-09T20:30:37.167359596Z
    assert_eq!(b.ts_ms, Some(1_675_974_637_167));
    let mut out = Vec::new();
    for ignored in [
        &br#"{"channel":"heartbeats","client_id":"","timestamp":"2023-06-23T20:31:26.122969572Z","sequence_num":0,"events":[{"current_time":"2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105","heartbeat_counter":"3049"}]}"#[..],
        br#"{"channel":"subscriptions","client_id":"","timestamp":"2023-02-09T20:32:59.744681765Z","sequence_num":0,"events":[{"subscriptions":{"market_trades":["BTC-USD"]}}]}"#,
    ] {
        assert_eq!(decode(Venue::Coinbase, ignored, 2, 2, &mut out), Ok(Tick::Ignored));
    }
}

#[test]
fn bitfinex_trades_and_ticker() {
    let t = trades(
        Venue::Bitfinex,
        fixture!("bitfinex_trades_snapshot.json"),
        1,
        3,
    );
    assert_eq!(t.len(), 3);
    assert_eq!(
        (
            t[2].price,
            t[2].size,
            t[2].side,
            t[2].ts_ms,
            t[2].trade_id.as_str()
        ),
        (72_449, 5, Some(Side::Bid), 1_574_694_475_039, "401597393")
    );
    let t = trades(Venue::Bitfinex, fixture!("bitfinex_trades_te.json"), 1, 3);
    assert_eq!(
        one(&t),
        (72_453, 5, Some(Side::Bid), 1_574_694_478_808, "401597395")
    );
    let sell = br#"[17470,"te",[401597396,1574694478900,-0.25,7245.1]]"#;
    let t = trades(Venue::Bitfinex, sell, 1, 3);
    assert_eq!((t[0].size, t[0].side), (250, Some(Side::Ask)));
    let mut out = Vec::new();
    // `tu` repeats the `te` trade: ignored so nothing is counted twice.
    for ignored in [
        fixture!("bitfinex_trades_tu.json"),
        br#"[17470,"hb"]"#,
        br#"{"event":"subscribed","channel":"trades","chanId":17470,"symbol":"tBTCUSD","pair":"BTCUSD"}"#,
    ] {
        assert_eq!(decode(Venue::Bitfinex, ignored, 2, 2, &mut out), Ok(Tick::Ignored));
    }
    assert_eq!(trades(Venue::Bitfinex, br"[17470,[]]", 1, 3).len(), 0);
    // The published ticker's ASK_SIZE has 15 fractional digits: exact at 15, refused at 8.
    let b = bbo(Venue::Bitfinex, fixture!("bitfinex_ticker.json"), 1, 15);
    assert_eq!(b.bid, Some((76_165, 31_890_551_710_000_000)));
    assert_eq!(b.ask, Some((76_175, 43_358_118_629_999_986)));
    assert_eq!(b.ts_ms, None);
    assert!(matches!(
        decode(
            Venue::Bitfinex,
            fixture!("bitfinex_ticker.json"),
            1,
            8,
            &mut out
        ),
        Err(TickError::Number { what: "size", .. })
    ));
}

#[test]
fn htx_trade_detail_and_bbo() {
    let t = trades(Venue::Htx, fixture!("htx_trade_detail.json"), 2, 6);
    assert_eq!(
        one(&t),
        (
            5_264_862,
            6754,
            Some(Side::Bid),
            1_630_994_963_173,
            "102523573486"
        )
    );
    let b = bbo(Venue::Htx, fixture!("htx_bbo.json"), 2, 6);
    assert_eq!(b.bid, Some((5_266_568, 32_782)));
    assert_eq!(b.ask, Some((5_266_569, 1_502_181)));
    assert_eq!(b.ts_ms, Some(1_630_994_555_539));
    let mut out = Vec::new();
    for ignored in [
        &br#"{"ping":1492420473027}"#[..],
        br#"{"id":"id1","status":"ok","subbed":"market.btcusdt.bbo","ts":1489474081631}"#,
    ] {
        assert_eq!(
            decode(Venue::Htx, ignored, 2, 2, &mut out),
            Ok(Tick::Ignored)
        );
    }
}

#[rstest]
#[case::binance(Venue::BinanceSpot, &br#"{"e":"trade","E":1,"t":1,"p":"1.5","q":"1","T":1}"#[..])]
#[case::binance_inexact(Venue::BinanceSpot, &br#"{"e":"trade","t":1,"p":"1.555","q":"1","T":1,"m":true}"#[..])]
#[case::binance_negative(Venue::BinanceSpot, &br#"{"e":"trade","t":1,"p":"1.5","q":"-1","T":1,"m":true}"#[..])]
#[case::okx_side(Venue::Okx, &br#"{"arg":{"channel":"trades"},"data":[{"tradeId":"1","px":"1","sz":"1","side":"up","ts":"1"}]}"#[..])]
#[case::okx_ts(Venue::Okx, &br#"{"arg":{"channel":"trades"},"data":[{"tradeId":"1","px":"1","sz":"1","side":"buy","ts":"x"}]}"#[..])]
#[case::kraken_time(Venue::Kraken, &br#"{"channel":"trade","type":"update","data":[{"side":"buy","price":1,"qty":1,"trade_id":1,"timestamp":"yesterday"}]}"#[..])]
#[case::coinbase_missing(Venue::Coinbase, &br#"{"channel":"market_trades","events":[{"trades":[{"price":"1"}]}]}"#[..])]
#[case::bitfinex_short(Venue::Bitfinex, &br#"[1,"te",[1,2]]"#[..])]
#[case::bitfinex_garbage(Venue::Bitfinex, &br#"[1,"te",[1,2,3"#[..])]
#[case::htx_tick(Venue::Htx, &br#"{"ch":"market.btcusdt.trade.detail","tick":{"data":[{"tradeId":1}]}}"#[..])]
#[case::not_json(Venue::Htx, &b"\x1f\x8b\x08"[..])]
fn malformed_is_an_error_and_leaves_out_unchanged(#[case] venue: Venue, #[case] msg: &[u8]) {
    let mut out = trades(Venue::Okx, fixture!("okx_trades.json"), 1, 8);
    assert!(decode(venue, msg, 2, 2, &mut out).is_err());
    assert_eq!(out.len(), 1);
}

#[test]
fn a_bad_trade_in_a_batch_drops_the_batch() {
    let msg = br#"{"arg":{"channel":"trades"},"data":[{"tradeId":"1","px":"1","sz":"1","side":"buy","ts":"1"},{"tradeId":"2","px":"1.234","sz":"1","side":"buy","ts":"1"}]}"#;
    let mut out = Vec::new();
    assert!(decode(Venue::Okx, msg, 2, 2, &mut out).is_err());
    assert!(out.is_empty());
}

#[rstest]
#[case(&b"1970-01-01T00:00:00Z"[..], Some(0))]
#[case(&b"2019-08-14T20:42:27.265Z"[..], Some(1_565_815_347_265))]
#[case(&b"2019-08-14T20:42:27.2Z"[..], Some(1_565_815_347_200))]
#[case(&b"2019-08-14T22:42:27+02:00"[..], Some(1_565_815_347_000))]
#[case(&b"2000-02-29T00:00:00Z"[..], Some(951_782_400_000))]
#[case(&b"2019-08-14T20:42:27."[..], None)]
#[case(&b"2019-13-14T20:42:27Z"[..], None)]
#[case(&b"2019-08-14T20:42:27"[..], None)]
#[case(&b"2019-08-14"[..], None)]
fn rfc3339(#[case] text: &[u8], #[case] ms: Option<i64>) {
    assert_eq!(rfc3339_ms(text), ms);
}

#[test]
fn trade_ids_are_bounded() {
    assert_eq!(
        TradeId::new(b"abc-123").map(|t| t.as_str().to_owned()),
        Ok("abc-123".to_owned())
    );
    assert!(TradeId::new(&[b'1'; 48]).is_err());
    assert!(TradeId::new(b"a b").is_err());
}

const VENUES: [Venue; 7] = [
    Venue::BinanceSpot,
    Venue::BinanceUsdm,
    Venue::Okx,
    Venue::Kraken,
    Venue::Coinbase,
    Venue::Bitfinex,
    Venue::Htx,
];

const SAMPLES: [&[u8]; 17] = [
    fixture!("binance_spot_trade.json"),
    fixture!("binance_spot_agg_trade.json"),
    fixture!("binance_spot_book_ticker.json"),
    fixture!("binance_usdm_agg_trade.json"),
    fixture!("binance_usdm_book_ticker.json"),
    fixture!("okx_trades.json"),
    fixture!("okx_bbo_tbt.json"),
    fixture!("kraken_trade.json"),
    fixture!("kraken_ticker.json"),
    fixture!("coinbase_market_trades.json"),
    fixture!("coinbase_ticker.json"),
    fixture!("bitfinex_trades_snapshot.json"),
    fixture!("bitfinex_trades_te.json"),
    fixture!("bitfinex_trades_tu.json"),
    fixture!("bitfinex_ticker.json"),
    fixture!("htx_trade_detail.json"),
    fixture!("htx_bbo.json"),
];

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), v in 0_usize..7, ps in 0_u8..20, ss in 0_u8..20) {
        let mut out = Vec::new();
        let _ = decode(VENUES[v], &bytes, ps, ss, &mut out);
    }

    #[test]
    fn mutated_samples_never_panic(v in 0_usize..7, i in 0_usize..17, pos in 0_usize..400, byte in any::<u8>(), cut in any::<bool>()) {
        let mut msg = SAMPLES[i].to_vec();
        let at = pos % msg.len();
        if cut { msg.truncate(at) } else { msg[at] = byte }
        let mut out = Vec::new();
        let before = out.len();
        if decode(VENUES[v], &msg, 8, 8, &mut out).is_err() {
            prop_assert_eq!(out.len(), before);
        }
    }
}

#[test]
fn mistyped_binance_tick_is_an_error() {
    let mut out = Vec::new();
    let msg = br#"{"e":"trade","t":1,"p":"1.5","q":"1","T":1,"m":"yes"}"#;
    assert!(decode(Venue::BinanceSpot, msg, 2, 2, &mut out).is_err());
}
