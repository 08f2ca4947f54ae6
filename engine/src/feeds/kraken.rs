//! Kraken spot WebSocket v2 `book` channel.
//!
//! <https://docs.kraken.com/api/docs/websocket-v2/book>: `{"channel":"book","type":"snapshot"|
//! "update","data":[{"symbol":"BTC/USD","bids":[{"price":45283.5,"qty":0.1}],"asks":[..],
//! "checksum":3310070434,"timestamp":".."}]}`. Prices and quantities are JSON numbers (read here as
//! their exact text); every message carries a CRC32 checksum of the top 10 levels at the
//! instrument's precision (<https://docs.kraken.com/api/docs/guides/spot-ws-book-v2>). There are no
//! sequence numbers. Heartbeats, status and subscription acks are not book messages.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::json::{is_json, num_text};
use super::{Levels, Msg, Seq};

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    channel: Option<&'a str>,
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a str>,
    #[serde(borrow, default)]
    data: Option<Vec<BookData<'a>>>,
}

#[derive(Deserialize)]
struct BookData<'a> {
    #[serde(borrow, default)]
    bids: Vec<Level<'a>>,
    #[serde(borrow, default)]
    asks: Vec<Level<'a>>,
    checksum: Option<i64>,
}

#[derive(Deserialize)]
struct Level<'a> {
    #[serde(borrow)]
    price: &'a RawValue,
    #[serde(borrow)]
    qty: &'a RawValue,
}

fn levels<'a>(levels: &[Level<'a>]) -> Result<Levels<'a>, String> {
    levels
        .iter()
        .map(|l| Ok((num_text(l.price)?, num_text(l.qty)?)))
        .collect()
}

pub(crate) fn parse(msg: &[u8]) -> Result<Msg<'_>, String> {
    let env: Envelope<'_> = serde_json::from_slice(msg).map_err(|e| {
        if is_json(msg) {
            format!("not a Kraken v2 message: {e}")
        } else {
            e.to_string()
        }
    })?;
    if env.channel != Some("book") {
        return Ok(Msg::Ignore(Seq::default()));
    }
    let data = env.data.ok_or("book message without data")?;
    let [book] = <[BookData<'_>; 1]>::try_from(data)
        .map_err(|d| format!("expected one book, got {}", d.len()))?;
    let bids = levels(&book.bids)?;
    let asks = levels(&book.asks)?;
    match env.kind {
        Some("snapshot") => Ok(Msg::Snapshot {
            seq: Seq::default(),
            bids,
            asks,
            checksum: book.checksum,
        }),
        Some("update") => Ok(Msg::Delta {
            seq: Seq::default(),
            bids,
            asks,
            checksum: book.checksum,
        }),
        other => Err(format!("unknown book message type {other:?}")),
    }
}
