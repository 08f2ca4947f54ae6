//! Trades and best bid/offer (BBO) of the venue feeds: raw message bytes → compact ticks, prices
//! and sizes as exact `i64` mantissas at the instrument's precisions (see [`to_scale`]); no float
//! ever touches a number, and nothing panics on input: non-tick messages (acks, heartbeats, other
//! channels) are [`Tick::Ignored`], malformed ones are a [`TickError`].
//!
//! One decoder serves one instrument (the session routes by channel / symbol). Channels and the
//! documentation each decoder follows (samples in `tests/fixtures/ticks/`, see its `SOURCES.md`):
//!
//! | venue | trades | BBO |
//! |---|---|---|
//! | Binance spot | `<symbol>@trade`, `<symbol>@aggTrade` | `<symbol>@bookTicker` |
//! | Binance USD-M | `<symbol>@aggTrade` (and `@trade`) | `<symbol>@bookTicker` |
//! | OKX v5 | `trades` (`trades-all`) | `bbo-tbt` |
//! | Kraken WS v2 | `trade` | `ticker` (`bid`/`bid_qty`/`ask`/`ask_qty`) |
//! | Coinbase Advanced Trade | `market_trades` | `ticker` (`best_bid`/`best_ask` + quantities) |
//! | Bitfinex v2 | `trades` (snapshot and `te`) | `ticker` |
//! | HTX spot | `market.$symbol.trade.detail` | `market.$symbol.bbo` |
//!
//! - Binance: <https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams>
//!   (Trade / Aggregate Trade / Individual Symbol Book Ticker Streams) and
//!   <https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams>
//!   (Aggregate Trade Streams, Individual Symbol Book Ticker Streams). `m` ("is the buyer the
//!   market maker") true means the aggressor sold. Spot `bookTicker` carries no time.
//! - OKX: <https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-trades-channel> and
//!   `#order-book-trading-market-data-ws-order-book-channel` (`bbo-tbt`); `side` is the taker's.
//! - Kraken: <https://docs.kraken.com/api/docs/websocket-v2/trade> (`side`: the taker's) and
//!   <https://docs.kraken.com/api/docs/websocket-v2/ticker>; RFC 3339 timestamps.
//! - Coinbase: <https://docs.cdp.coinbase.com/advanced-trade/docs/ws-channels> (`market_trades`,
//!   `ticker`); the BBO time is the message `timestamp`.
//! - Bitfinex: <https://docs.bitfinex.com/reference/ws-public-trades> and
//!   <https://docs.bitfinex.com/reference/ws-public-ticker>. AMOUNT > 0 is a buy, < 0 a sell. Each
//!   trade is published twice, `te` (execution) then `tu` (update, same trade): only `te` and the
//!   snapshot are decoded, `tu` is ignored so no trade is counted twice. Ticker sizes are the
//!   venue's `BID_SIZE` / `ASK_SIZE` (its sum over the top 25 levels); the ticker has no time.
//! - HTX: <https://huobiapi.github.io/docs/spot/v1/en/#trade-detail> and `#best-bid-offer`;
//!   `direction` is the taker's. Frames are gzip (inflated by the transport).

use serde::Deserialize;
use serde_json::value::RawValue;
use thiserror::Error;

use super::json::{is_json, num_text, Pair};
use super::Venue;
use crate::book::{to_scale, Side};
use crate::fixed::FixedError;

/// Why a message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TickError {
    /// Not JSON, or JSON without the fields this channel documents.
    #[error("malformed {venue} message: {detail}")]
    Json {
        /// The venue decoder.
        venue: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A price or size that is not a decimal, or does not fit the precision exactly.
    #[error("{what}: {source}")]
    Number {
        /// "price" or "size".
        what: &'static str,
        /// The fixed-point error.
        #[source]
        source: FixedError,
    },
    /// A negative size.
    #[error("negative {0} size")]
    NegativeSize(&'static str),
    /// A field with a value the venue does not document.
    #[error("bad {field}: {value:?}")]
    Field {
        /// The field.
        field: &'static str,
        /// Its text (truncated).
        value: String,
    },
}

/// A venue trade identifier, kept inline (no allocation): digits or a short string.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TradeId {
    len: u8,
    buf: [u8; TradeId::CAP],
}

impl TradeId {
    /// The longest identifier kept.
    pub const CAP: usize = 47;

    /// An identifier from its text.
    ///
    /// # Errors
    /// [`TickError::Field`] when longer than [`TradeId::CAP`] bytes or not printable ASCII.
    pub fn new(text: &[u8]) -> Result<Self, TickError> {
        if text.len() > Self::CAP || !text.iter().all(u8::is_ascii_graphic) {
            return Err(field("trade id", text));
        }
        let mut buf = [0; Self::CAP];
        buf[..text.len()].copy_from_slice(text);
        Ok(Self {
            // Bounded by CAP above.
            len: u8::try_from(text.len()).unwrap_or(0),
            buf,
        })
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }
}

impl std::fmt::Debug for TradeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TradeId({:?})", self.as_str())
    }
}

/// One trade, as mantissas at the decoder's scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    /// Price mantissa.
    pub price: i64,
    /// Size mantissa (> 0 for real trades; the venue's absolute amount).
    pub size: i64,
    /// The aggressor's side (`Bid` = a buyer lifted the offer), when the venue says.
    pub side: Option<Side>,
    /// Trade time, Unix milliseconds.
    pub ts_ms: i64,
    /// The venue's trade id.
    pub trade_id: TradeId,
}

/// Best bid and offer, as `(price, size)` mantissas; a side is `None` when the venue sent none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bbo {
    /// Best bid `(price, size)`.
    pub bid: Option<(i64, i64)>,
    /// Best ask `(price, size)`.
    pub ask: Option<(i64, i64)>,
    /// Venue time, Unix milliseconds, when the message carries one.
    pub ts_ms: Option<i64>,
}

/// What one message was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// Trades, appended to the caller's vector (this many; a snapshot may hold none).
    Trades(usize),
    /// A best bid/offer update.
    Bbo(Bbo),
    /// Not a tick for this decoder (ack, heartbeat, other channel, Bitfinex `tu`).
    Ignored,
}

/// Decodes one message of `venue`'s trade or BBO channel.
///
/// Trades are appended to `out` (which is not cleared); a BBO is returned in the [`Tick`].
/// Binance combined-stream envelopes (`{"stream":..,"data":..}`) are unwrapped.
///
/// # Errors
/// [`TickError`] for input that is not JSON, a tick message missing documented fields, or a
/// number that is not exact at `price_scale` / `size_scale`. `out` is left as it was.
pub fn decode(
    venue: Venue,
    msg: &[u8],
    price_scale: u8,
    size_scale: u8,
    out: &mut Vec<Trade>,
) -> Result<Tick, TickError> {
    let scales = Scales {
        price: price_scale,
        size: size_scale,
    };
    let before = out.len();
    let result = match venue {
        Venue::BinanceSpot | Venue::BinanceUsdm => binance(msg, scales, out),
        Venue::Okx => okx(msg, scales, out),
        Venue::Kraken => kraken(msg, scales, out),
        Venue::Coinbase => coinbase(msg, scales, out),
        Venue::Bitfinex => bitfinex(msg, scales, out),
        Venue::Htx => htx(msg, scales, out),
    };
    match result {
        Ok(Kind::Trades) => Ok(Tick::Trades(out.len() - before)),
        Ok(Kind::Bbo(b)) => Ok(Tick::Bbo(b)),
        Ok(Kind::Ignored) => Ok(Tick::Ignored),
        Err(e) => {
            out.truncate(before);
            Err(e)
        }
    }
}

enum Kind {
    Trades,
    Bbo(Bbo),
    Ignored,
}

#[derive(Clone, Copy)]
struct Scales {
    price: u8,
    size: u8,
}

impl Scales {
    fn price(self, raw: &RawValue) -> Result<i64, TickError> {
        let text = num_text(raw).map_err(|_| field("price", raw.get().as_bytes()))?;
        to_scale(text, self.price).map_err(|source| TickError::Number {
            what: "price",
            source,
        })
    }

    /// A size; `signed` keeps the sign (Bitfinex amounts), otherwise negative is an error.
    fn size(self, raw: &RawValue, signed: bool) -> Result<i64, TickError> {
        let text = num_text(raw).map_err(|_| field("size", raw.get().as_bytes()))?;
        let v = to_scale(text, self.size).map_err(|source| TickError::Number {
            what: "size",
            source,
        })?;
        if v < 0 && !signed {
            return Err(TickError::NegativeSize("trade or quote"));
        }
        Ok(v)
    }

    fn level(self, px: &RawValue, sz: &RawValue) -> Result<(i64, i64), TickError> {
        Ok((self.price(px)?, self.size(sz, false)?))
    }
}

fn field(name: &'static str, value: &[u8]) -> TickError {
    let shown = &value[..value.len().min(64)];
    TickError::Field {
        field: name,
        value: String::from_utf8_lossy(shown).into_owned(),
    }
}

fn json_err(venue: &'static str, e: impl std::fmt::Display) -> TickError {
    TickError::Json {
        venue,
        detail: e.to_string(),
    }
}

/// A JSON string's text without quotes (`None` for other values or escaped strings).
fn str_of(raw: &RawValue) -> Option<&[u8]> {
    match raw.get().as_bytes() {
        [b'"', inner @ .., b'"'] if !inner.contains(&b'\\') => Some(inner),
        _ => None,
    }
}

fn trade_id(raw: &RawValue) -> Result<TradeId, TickError> {
    TradeId::new(num_text(raw).map_err(|_| field("trade id", raw.get().as_bytes()))?)
}

/// Integer milliseconds, as a JSON integer or a string of digits (OKX).
fn int_ms(raw: &RawValue) -> Result<i64, TickError> {
    let text = num_text(raw).map_err(|_| field("timestamp", raw.get().as_bytes()))?;
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| field("timestamp", text))
}

fn rfc3339_field(raw: &RawValue) -> Result<i64, TickError> {
    str_of(raw)
        .and_then(rfc3339_ms)
        .ok_or_else(|| field("timestamp", raw.get().as_bytes()))
}

fn side_of(text: &[u8]) -> Result<Side, TickError> {
    match text {
        b"buy" | b"BUY" | b"Buy" => Ok(Side::Bid),
        b"sell" | b"SELL" | b"Sell" => Ok(Side::Ask),
        _ => Err(field("side", text)),
    }
}

fn side_field(raw: &RawValue) -> Result<Side, TickError> {
    side_of(str_of(raw).ok_or_else(|| field("side", raw.get().as_bytes()))?)
}

/// Classifies a message that is not a tick: valid JSON (or a bare `pong`) is ignored, anything
/// else is malformed.
fn not_a_tick(
    venue: &'static str,
    msg: &[u8],
    e: impl std::fmt::Display,
) -> Result<Kind, TickError> {
    if msg.trim_ascii() == b"pong" || is_json(msg) {
        Ok(Kind::Ignored)
    } else {
        Err(json_err(venue, e))
    }
}

// ---------------------------------------------------------------------------------------------
// Binance

#[derive(Deserialize)]
struct BinanceCombined<'a> {
    #[serde(borrow)]
    data: &'a RawValue,
}

/// Every field the three Binance tick events use (`a` is the aggregate id of `aggTrade` and the
/// ask price of `bookTicker`, so all values stay raw until the event type is known).
#[derive(Deserialize)]
struct BinanceEvent<'a> {
    #[serde(rename = "e", default, borrow)]
    event: Option<&'a RawValue>,
    #[serde(rename = "E", default)]
    event_time: Option<i64>,
    #[serde(rename = "T", default)]
    trade_time: Option<i64>,
    #[serde(rename = "t", default, borrow)]
    t: Option<&'a RawValue>,
    #[serde(rename = "a", default, borrow)]
    a: Option<&'a RawValue>,
    #[serde(rename = "A", default, borrow)]
    ask_qty: Option<&'a RawValue>,
    #[serde(rename = "b", default, borrow)]
    b: Option<&'a RawValue>,
    #[serde(rename = "B", default, borrow)]
    bid_qty: Option<&'a RawValue>,
    #[serde(rename = "p", default, borrow)]
    price: Option<&'a RawValue>,
    #[serde(rename = "q", default, borrow)]
    qty: Option<&'a RawValue>,
    #[serde(rename = "m", default)]
    buyer_is_maker: Option<bool>,
    #[serde(rename = "u", default)]
    update_id: Option<i64>,
}

fn binance(msg: &[u8], s: Scales, out: &mut Vec<Trade>) -> Result<Kind, TickError> {
    const V: &str = "binance";
    let mut body = msg;
    if msg.starts_with(b"{\"stream\"") {
        if let Ok(c) = serde_json::from_slice::<BinanceCombined<'_>>(msg) {
            body = c.data.get().as_bytes();
        }
    }
    let ev: BinanceEvent<'_> = match serde_json::from_slice(body) {
        Ok(ev) => ev,
        Err(e) => {
            // A tick event with a mistyped field is malformed, not "another stream".
            let tick_event = [
                &b"\"e\":\"trade\""[..],
                b"\"e\":\"aggTrade\"",
                b"\"e\":\"bookTicker\"",
            ]
            .iter()
            .any(|needle| body.windows(needle.len()).any(|w| w == *needle));
            return if tick_event {
                Err(json_err(V, e))
            } else {
                not_a_tick(V, msg, e)
            };
        }
    };
    let event = ev.event.and_then(str_of);
    let missing = |what: &str| json_err(V, format!("{} without {what}", show(event)));
    match event {
        Some(b"trade" | b"aggTrade") => {
            let id = if event == Some(b"trade") { ev.t } else { ev.a };
            let trade = Trade {
                price: s.price(ev.price.ok_or_else(|| missing("p"))?)?,
                size: s.size(ev.qty.ok_or_else(|| missing("q"))?, false)?,
                side: Some(if ev.buyer_is_maker.ok_or_else(|| missing("m"))? {
                    Side::Ask
                } else {
                    Side::Bid
                }),
                ts_ms: ev
                    .trade_time
                    .or(ev.event_time)
                    .ok_or_else(|| missing("T"))?,
                trade_id: trade_id(id.ok_or_else(|| missing("the trade id"))?)?,
            };
            out.push(trade);
            Ok(Kind::Trades)
        }
        // Spot book tickers have no `e`: recognised by `u` and the four quote fields.
        Some(b"bookTicker") | None
            if ev.update_id.is_some()
                && ev.b.is_some()
                && ev.bid_qty.is_some()
                && ev.a.is_some()
                && ev.ask_qty.is_some() =>
        {
            let level = |p: Option<&RawValue>, q: Option<&RawValue>| match (p, q) {
                (Some(p), Some(q)) => s.level(p, q).map(Some),
                _ => Ok(None),
            };
            Ok(Kind::Bbo(Bbo {
                bid: level(ev.b, ev.bid_qty)?,
                ask: level(ev.a, ev.ask_qty)?,
                ts_ms: ev.trade_time.or(ev.event_time),
            }))
        }
        Some(b"bookTicker") => Err(missing("u, b, B, a, A")),
        _ => Ok(Kind::Ignored),
    }
}

fn show(event: Option<&[u8]>) -> String {
    event.map_or_else(
        || "book ticker".to_owned(),
        |e| String::from_utf8_lossy(e).into_owned(),
    )
}

// ---------------------------------------------------------------------------------------------
// OKX

#[derive(Deserialize)]
struct OkxPush<'a> {
    #[serde(borrow)]
    arg: OkxArg<'a>,
    #[serde(borrow, default)]
    data: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    event: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct OkxArg<'a> {
    #[serde(borrow)]
    channel: &'a RawValue,
}

#[derive(Deserialize)]
struct OkxTrade<'a> {
    #[serde(rename = "tradeId", borrow)]
    trade_id: &'a RawValue,
    #[serde(borrow)]
    px: &'a RawValue,
    #[serde(borrow)]
    sz: &'a RawValue,
    #[serde(borrow)]
    side: &'a RawValue,
    #[serde(borrow)]
    ts: &'a RawValue,
}

#[derive(Deserialize)]
struct OkxBbo<'a> {
    #[serde(borrow, default)]
    bids: Vec<Pair<'a>>,
    #[serde(borrow, default)]
    asks: Vec<Pair<'a>>,
    #[serde(borrow)]
    ts: &'a RawValue,
}

fn okx(msg: &[u8], s: Scales, out: &mut Vec<Trade>) -> Result<Kind, TickError> {
    const V: &str = "okx";
    let push: OkxPush<'_> = match serde_json::from_slice(msg) {
        Ok(p) => p,
        Err(e) => return not_a_tick(V, msg, e),
    };
    // Subscription acks echo `arg` with an `event`.
    let (Some(data), None) = (push.data, push.event) else {
        return Ok(Kind::Ignored);
    };
    match str_of(push.arg.channel) {
        Some(b"trades" | b"trades-all") => {
            for raw in data {
                let t: OkxTrade<'_> =
                    serde_json::from_str(raw.get()).map_err(|e| json_err(V, e))?;
                out.push(Trade {
                    price: s.price(t.px)?,
                    size: s.size(t.sz, false)?,
                    side: Some(side_field(t.side)?),
                    ts_ms: int_ms(t.ts)?,
                    trade_id: trade_id(t.trade_id)?,
                });
            }
            Ok(Kind::Trades)
        }
        Some(b"bbo-tbt") => {
            let raw = data
                .last()
                .ok_or_else(|| json_err(V, "bbo-tbt push without data"))?;
            let b: OkxBbo<'_> = serde_json::from_str(raw.get()).map_err(|e| json_err(V, e))?;
            let top = |levels: &[Pair<'_>]| levels.first().map(|p| s.level(p.0, p.1)).transpose();
            Ok(Kind::Bbo(Bbo {
                bid: top(&b.bids)?,
                ask: top(&b.asks)?,
                ts_ms: Some(int_ms(b.ts)?),
            }))
        }
        _ => Ok(Kind::Ignored),
    }
}

// ---------------------------------------------------------------------------------------------
// Kraken WS v2

#[derive(Deserialize)]
struct KrakenPush<'a> {
    #[serde(default, borrow)]
    channel: Option<&'a RawValue>,
    #[serde(default, borrow)]
    data: Option<Vec<&'a RawValue>>,
    #[serde(default, borrow)]
    method: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct KrakenTrade<'a> {
    #[serde(borrow)]
    side: &'a RawValue,
    #[serde(borrow)]
    price: &'a RawValue,
    #[serde(borrow)]
    qty: &'a RawValue,
    #[serde(borrow)]
    trade_id: &'a RawValue,
    #[serde(borrow)]
    timestamp: &'a RawValue,
}

#[derive(Deserialize)]
struct KrakenTicker<'a> {
    #[serde(borrow)]
    bid: &'a RawValue,
    #[serde(borrow)]
    bid_qty: &'a RawValue,
    #[serde(borrow)]
    ask: &'a RawValue,
    #[serde(borrow)]
    ask_qty: &'a RawValue,
    #[serde(default, borrow)]
    timestamp: Option<&'a RawValue>,
}

fn kraken(msg: &[u8], s: Scales, out: &mut Vec<Trade>) -> Result<Kind, TickError> {
    const V: &str = "kraken";
    let push: KrakenPush<'_> = match serde_json::from_slice(msg) {
        Ok(p) => p,
        Err(e) => return not_a_tick(V, msg, e),
    };
    // Method replies (`subscribe` acks, pong) carry `method`; heartbeats and status have no data.
    let (Some(channel), Some(data), None) = (push.channel, push.data, push.method) else {
        return Ok(Kind::Ignored);
    };
    match str_of(channel) {
        Some(b"trade") => {
            for raw in data {
                let t: KrakenTrade<'_> =
                    serde_json::from_str(raw.get()).map_err(|e| json_err(V, e))?;
                out.push(Trade {
                    price: s.price(t.price)?,
                    size: s.size(t.qty, false)?,
                    side: Some(side_field(t.side)?),
                    ts_ms: rfc3339_field(t.timestamp)?,
                    trade_id: trade_id(t.trade_id)?,
                });
            }
            Ok(Kind::Trades)
        }
        Some(b"ticker") => {
            // One entry per message and symbol; the latest wins if several come.
            let raw = data
                .last()
                .ok_or_else(|| json_err(V, "ticker without data"))?;
            let t: KrakenTicker<'_> =
                serde_json::from_str(raw.get()).map_err(|e| json_err(V, e))?;
            Ok(Kind::Bbo(Bbo {
                bid: Some(s.level(t.bid, t.bid_qty)?),
                ask: Some(s.level(t.ask, t.ask_qty)?),
                ts_ms: t.timestamp.map(rfc3339_field).transpose()?,
            }))
        }
        _ => Ok(Kind::Ignored),
    }
}

// ---------------------------------------------------------------------------------------------
// Coinbase Advanced Trade

#[derive(Deserialize)]
struct CoinbasePush<'a> {
    #[serde(default, borrow)]
    channel: Option<&'a RawValue>,
    #[serde(default, borrow)]
    timestamp: Option<&'a RawValue>,
    #[serde(default, borrow)]
    events: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct CoinbaseEvent<'a> {
    #[serde(default, borrow)]
    trades: Vec<CoinbaseTrade<'a>>,
    #[serde(default, borrow)]
    tickers: Vec<CoinbaseTicker<'a>>,
}

#[derive(Deserialize)]
struct CoinbaseTrade<'a> {
    #[serde(borrow)]
    trade_id: &'a RawValue,
    #[serde(borrow)]
    price: &'a RawValue,
    #[serde(borrow)]
    size: &'a RawValue,
    #[serde(borrow)]
    side: &'a RawValue,
    #[serde(borrow)]
    time: &'a RawValue,
}

#[derive(Deserialize)]
struct CoinbaseTicker<'a> {
    #[serde(rename = "best_bid", default, borrow)]
    bid: Option<&'a RawValue>,
    #[serde(rename = "best_bid_quantity", default, borrow)]
    bid_qty: Option<&'a RawValue>,
    #[serde(rename = "best_ask", default, borrow)]
    ask: Option<&'a RawValue>,
    #[serde(rename = "best_ask_quantity", default, borrow)]
    ask_qty: Option<&'a RawValue>,
}

fn coinbase(msg: &[u8], s: Scales, out: &mut Vec<Trade>) -> Result<Kind, TickError> {
    const V: &str = "coinbase";
    let push: CoinbasePush<'_> = match serde_json::from_slice(msg) {
        Ok(p) => p,
        Err(e) => return not_a_tick(V, msg, e),
    };
    let channel = push.channel.and_then(str_of);
    if !matches!(channel, Some(b"market_trades" | b"ticker")) {
        return Ok(Kind::Ignored);
    }
    // Tick channels are parsed strictly: a missing field is an error, not "another message".
    let events = push
        .events
        .iter()
        .map(|raw| serde_json::from_str::<CoinbaseEvent<'_>>(raw.get()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| json_err(V, e))?;
    match channel {
        Some(b"market_trades") => {
            for t in events.iter().flat_map(|e| &e.trades) {
                out.push(Trade {
                    price: s.price(t.price)?,
                    size: s.size(t.size, false)?,
                    side: Some(side_field(t.side)?),
                    ts_ms: rfc3339_field(t.time)?,
                    trade_id: trade_id(t.trade_id)?,
                });
            }
            Ok(Kind::Trades)
        }
        Some(b"ticker") => {
            let t = events
                .iter()
                .flat_map(|e| &e.tickers)
                .last()
                .ok_or_else(|| json_err(V, "ticker without tickers"))?;
            // A side needs both price and quantity (older messages had no quantities).
            let level = |p: Option<&RawValue>, q: Option<&RawValue>| match (p, q) {
                (Some(p), Some(q)) => s.level(p, q).map(Some),
                _ => Ok(None),
            };
            Ok(Kind::Bbo(Bbo {
                bid: level(t.bid, t.bid_qty)?,
                ask: level(t.ask, t.ask_qty)?,
                ts_ms: push.timestamp.map(rfc3339_field).transpose()?,
            }))
        }
        _ => Ok(Kind::Ignored),
    }
}

// ---------------------------------------------------------------------------------------------
// Bitfinex v2

/// `[ID, MTS, AMOUNT, PRICE, ...]` (trading pairs).
type BfxTrade<'a> = (&'a RawValue, &'a RawValue, &'a RawValue, &'a RawValue);

fn bitfinex(msg: &[u8], s: Scales, out: &mut Vec<Trade>) -> Result<Kind, TickError> {
    const V: &str = "bitfinex";
    if msg.trim_ascii_start().first() == Some(&b'{') {
        // Events: info, subscribed, error, conf.
        return not_a_tick(V, msg, "not JSON");
    }
    let parts: Vec<&RawValue> = serde_json::from_slice(msg).map_err(|e| json_err(V, e))?;
    let payload = parts
        .get(1)
        .ok_or_else(|| json_err(V, "message without payload"))?;
    let push_trade = |raw: &RawValue, out: &mut Vec<Trade>| -> Result<(), TickError> {
        let (id, mts, amount, price): BfxTrade<'_> =
            tuple4(raw.get()).map_err(|e| json_err(V, e))?;
        let signed = s.size(amount, true)?;
        out.push(Trade {
            price: s.price(price)?,
            size: signed
                .checked_abs()
                .ok_or_else(|| field("size", amount.get().as_bytes()))?,
            side: match signed.signum() {
                1 => Some(Side::Bid),
                -1 => Some(Side::Ask),
                _ => None,
            },
            ts_ms: int_ms(mts)?,
            trade_id: trade_id(id)?,
        });
        Ok(())
    };
    match payload.get().as_bytes() {
        b"\"hb\"" | b"\"tu\"" | b"\"fte\"" | b"\"ftu\"" | b"\"cs\"" => Ok(Kind::Ignored),
        b"\"te\"" => {
            let raw = parts
                .get(2)
                .ok_or_else(|| json_err(V, "te without a trade"))?;
            push_trade(raw, out)?;
            Ok(Kind::Trades)
        }
        text if text.starts_with(b"[[") || text == b"[]" => {
            let items: Vec<&RawValue> =
                serde_json::from_str(payload.get()).map_err(|e| json_err(V, e))?;
            for raw in items {
                push_trade(raw, out)?;
            }
            Ok(Kind::Trades)
        }
        text if text.starts_with(b"[") => {
            // Ticker: [BID, BID_SIZE, ASK, ASK_SIZE, DAILY_CHANGE, ...].
            let (bid, bid_size, ask, ask_size): BfxTrade<'_> =
                tuple4(payload.get()).map_err(|e| json_err(V, e))?;
            Ok(Kind::Bbo(Bbo {
                bid: Some(s.level(bid, bid_size)?),
                ask: Some(s.level(ask, ask_size)?),
                ts_ms: None,
            }))
        }
        _ => Err(field("payload", payload.get().as_bytes())),
    }
}

/// The first four elements of a JSON array, ignoring any more (fields get appended over time).
fn tuple4(text: &str) -> Result<BfxTrade<'_>, serde_json::Error> {
    let items: Vec<&RawValue> = serde_json::from_str(text)?;
    match items[..] {
        [first, second, third, fourth, ..] => Ok((first, second, third, fourth)),
        _ => Err(serde::de::Error::invalid_length(
            items.len(),
            &"at least 4 elements",
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// HTX

#[derive(Deserialize)]
struct HtxPush<'a> {
    #[serde(default, borrow)]
    ch: Option<&'a RawValue>,
    #[serde(default, borrow)]
    tick: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct HtxTradeTick<'a> {
    #[serde(borrow)]
    data: Vec<HtxTrade<'a>>,
}

#[derive(Deserialize)]
struct HtxTrade<'a> {
    #[serde(rename = "tradeId", borrow)]
    trade_id: &'a RawValue,
    #[serde(borrow)]
    ts: &'a RawValue,
    #[serde(borrow)]
    amount: &'a RawValue,
    #[serde(borrow)]
    price: &'a RawValue,
    #[serde(borrow)]
    direction: &'a RawValue,
}

#[derive(Deserialize)]
struct HtxBbo<'a> {
    #[serde(default, borrow)]
    bid: Option<&'a RawValue>,
    #[serde(rename = "bidSize", default, borrow)]
    bid_size: Option<&'a RawValue>,
    #[serde(default, borrow)]
    ask: Option<&'a RawValue>,
    #[serde(rename = "askSize", default, borrow)]
    ask_size: Option<&'a RawValue>,
    #[serde(rename = "quoteTime", default, borrow)]
    quote_time: Option<&'a RawValue>,
}

fn htx(msg: &[u8], s: Scales, out: &mut Vec<Trade>) -> Result<Kind, TickError> {
    const V: &str = "htx";
    let push: HtxPush<'_> = match serde_json::from_slice(msg) {
        Ok(p) => p,
        Err(e) => return not_a_tick(V, msg, e),
    };
    let (Some(ch), Some(tick)) = (push.ch.and_then(str_of), push.tick) else {
        // ping, sub replies, errors
        return Ok(Kind::Ignored);
    };
    if ch.ends_with(b".trade.detail") {
        let t: HtxTradeTick<'_> = serde_json::from_str(tick.get()).map_err(|e| json_err(V, e))?;
        for d in t.data {
            out.push(Trade {
                price: s.price(d.price)?,
                size: s.size(d.amount, false)?,
                side: Some(side_field(d.direction)?),
                ts_ms: int_ms(d.ts)?,
                trade_id: trade_id(d.trade_id)?,
            });
        }
        Ok(Kind::Trades)
    } else if ch.ends_with(b".bbo") {
        let b: HtxBbo<'_> = serde_json::from_str(tick.get()).map_err(|e| json_err(V, e))?;
        let level = |p: Option<&RawValue>, q: Option<&RawValue>| match (p, q) {
            (Some(p), Some(q)) => s.level(p, q).map(Some),
            _ => Ok(None),
        };
        Ok(Kind::Bbo(Bbo {
            bid: level(b.bid, b.bid_size)?,
            ask: level(b.ask, b.ask_size)?,
            ts_ms: b.quote_time.map(int_ms).transpose()?,
        }))
    } else {
        Ok(Kind::Ignored)
    }
}

// ---------------------------------------------------------------------------------------------
// RFC 3339

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` to Unix milliseconds (the fraction is
/// truncated to milliseconds); `None` for anything else.
pub fn rfc3339_ms(s: &[u8]) -> Option<i64> {
    fn num(s: &[u8], from: usize, len: usize) -> Option<i64> {
        let part = s.get(from..from + len)?;
        part.iter().try_fold(0_i64, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
        })
    }
    let sep = |i: usize, c: &[u8]| s.get(i).is_some_and(|b| c.contains(b));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(s, 0, 4)?, num(s, 5, 2)?, num(s, 8, 2)?);
    let (hour, minute, second) = (num(s, 11, 2)?, num(s, 14, 2)?, num(s, 17, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // 60 is a leap second: counted as the next second's start would be; keep it as 59.999.
    if second > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0_i64;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 3 {
                millis = millis * 10 + i64::from(s[i] - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..3 {
            millis *= 10;
        }
    }
    let offset_min = match s.get(i..)? {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), ..] if s.len() == i + 6 && s[i + 3] == b':' => {
            let m = num(s, i + 1, 2)? * 60 + num(s, i + 4, 2)?;
            if *sign == b'-' {
                -m
            } else {
                m
            }
        }
        _ => return None,
    };
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second.min(59) - offset_min * 60;
    let leap = if second == 60 { 999 } else { millis };
    Some(secs * 1_000 + leap)
}

#[cfg(test)]
mod tests;
