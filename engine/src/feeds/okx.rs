//! OKX v5 order book channels `books`, `books-l2-tbt`, `books50-l2-tbt`.
//!
//! <https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel>:
//! `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot"|"update","data":[{"asks":
//! [["8476.98","415","0","13"],..],"bids":[..],"ts":"..","checksum":-855196043,"prevSeqId":-1,
//! "seqId":123456}]}`. Levels: price, size, a deprecated "0", order count. `prevSeqId` chains to the
//! previous `seqId`; the checksum (CRC32 of the top 25 interleaved) is verified only when non-zero.
//! Event replies (`{"event":"subscribe",..}`) and the text `pong` are not book messages.

use serde::Deserialize;

use super::binance::levels;
use super::json::{is_json, Pair};
use super::{Msg, Seq};

#[derive(Deserialize)]
struct Push<'a> {
    #[serde(default, borrow)]
    action: Option<&'a str>,
    #[serde(borrow)]
    data: Vec<Book<'a>>,
}

#[derive(Deserialize)]
struct Book<'a> {
    #[serde(borrow, default)]
    asks: Vec<Pair<'a>>,
    #[serde(borrow, default)]
    bids: Vec<Pair<'a>>,
    #[serde(default)]
    checksum: Option<i64>,
    #[serde(rename = "prevSeqId", default)]
    prev_seq_id: Option<i64>,
    #[serde(rename = "seqId", default)]
    seq_id: Option<i64>,
}

pub(crate) fn parse(msg: &[u8]) -> Result<Msg<'_>, String> {
    if msg == b"pong" {
        return Ok(Msg::Ignore(Seq::default()));
    }
    let push: Push<'_> = match serde_json::from_slice(msg) {
        Ok(p) => p,
        Err(e) => {
            // `{"event":..}` replies and other channels carry no `data` array of books.
            let is_event = msg.windows(8).any(|w| w == b"\"event\":");
            return if is_event && is_json(msg) {
                Ok(Msg::Ignore(Seq::default()))
            } else {
                Err(e.to_string())
            };
        }
    };
    let [book] = <[Book<'_>; 1]>::try_from(push.data)
        .map_err(|d| format!("expected one book in data, got {}", d.len()))?;
    let seq = match (book.prev_seq_id, book.seq_id) {
        (Some(prev), Some(last)) => Seq {
            first: last,
            last,
            prev,
            present: true,
        },
        _ => Seq::default(),
    };
    let bids = levels(&book.bids)?;
    let asks = levels(&book.asks)?;
    match push.action {
        // REST `GET /api/v5/market/books` answers `{"code":"0","msg":"","data":[{asks,bids,ts}]}`:
        // no action, a full book.
        Some("snapshot") | None => Ok(Msg::Snapshot {
            seq,
            bids,
            asks,
            checksum: book.checksum,
        }),
        Some("update") => Ok(Msg::Delta {
            seq,
            bids,
            asks,
            checksum: book.checksum,
        }),
        Some(other) => Err(format!("unknown action {other:?}")),
    }
}
