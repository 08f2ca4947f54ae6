//! HTX (Huobi) spot market-by-price: `market.$symbol.mbp.$levels`.
//!
//! <https://huobiapi.github.io/docs/spot/v1/en/#market-by-price-incremental-update>: incremental
//! `{"ch":"market.btcusdt.mbp.150","ts":..,"tick":{"seqNum":..,"prevSeqNum":..,"bids":[[618.37,
//! 71.594]],"asks":[..]}}` (a side may be absent); the full image comes from a `req` on the same
//! connection: `{"id":"id2","rep":"market.btcusdt.mbp.150","status":"ok","data":{"seqNum":..,
//! "bids":..,"asks":..}}`. Frames arrive gzip-compressed (inflated by the transport); `{"ping":n}`
//! must be answered with `{"pong":n}` by the session.

use serde::Deserialize;

use super::binance::levels;
use super::json::{is_json, Pair};
use super::{Msg, Seq};

#[derive(Deserialize)]
struct Incremental<'a> {
    #[serde(borrow)]
    tick: Tick<'a>,
}

#[derive(Deserialize)]
struct Tick<'a> {
    #[serde(rename = "seqNum")]
    seq_num: i64,
    #[serde(rename = "prevSeqNum", default)]
    prev_seq_num: Option<i64>,
    #[serde(borrow, default)]
    bids: Vec<Pair<'a>>,
    #[serde(borrow, default)]
    asks: Vec<Pair<'a>>,
}

#[derive(Deserialize)]
struct Image<'a> {
    #[serde(borrow)]
    data: Tick<'a>,
}

pub(crate) fn parse(msg: &[u8]) -> Result<Msg<'_>, String> {
    if msg.starts_with(b"{\"ch\"") || msg.windows(7).any(|w| w == b"\"tick\":") {
        let inc: Incremental<'_> = serde_json::from_slice(msg).map_err(|e| e.to_string())?;
        let t = inc.tick;
        return Ok(Msg::Delta {
            seq: Seq {
                first: t.seq_num,
                last: t.seq_num,
                prev: t.prev_seq_num.unwrap_or(t.seq_num - 1),
                present: true,
            },
            bids: levels(&t.bids)?,
            asks: levels(&t.asks)?,
            checksum: None,
        });
    }
    if msg.windows(6).any(|w| w == b"\"rep\":") {
        return parse_snapshot(msg);
    }
    if is_json(msg) {
        // ping, sub/unsub replies, errors
        return Ok(Msg::Ignore(Seq::default()));
    }
    Err("not JSON".to_owned())
}

pub(crate) fn parse_snapshot(msg: &[u8]) -> Result<Msg<'_>, String> {
    let img: Image<'_> = serde_json::from_slice(msg).map_err(|e| e.to_string())?;
    let t = img.data;
    Ok(Msg::Snapshot {
        seq: Seq {
            first: t.seq_num,
            last: t.seq_num,
            prev: t.seq_num,
            present: true,
        },
        bids: levels(&t.bids)?,
        asks: levels(&t.asks)?,
        checksum: None,
    })
}
