//! Binance spot and USD-M futures diff depth.
//!
//! Stream: <https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#diff-depth-stream>
//! `{"e":"depthUpdate","E":..,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[...]}`;
//! futures (<https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Diff-Book-Depth-Streams>)
//! add `"pu"` (previous event's `u`). Combined streams wrap it as `{"stream":..,"data":{..}}`.
//! Snapshot: `GET /api/v3/depth` / `GET /fapi/v1/depth` → `{"lastUpdateId":..,"bids":..,"asks":..}`.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::json::{is_json, num_text, Pair};
use super::{Levels, Msg, Seq};

#[derive(Deserialize)]
struct Depth<'a> {
    #[serde(rename = "U")]
    first: i64,
    #[serde(rename = "u")]
    last: i64,
    #[serde(rename = "pu", default)]
    prev: Option<i64>,
    #[serde(rename = "b", borrow)]
    bids: Vec<Pair<'a>>,
    #[serde(rename = "a", borrow)]
    asks: Vec<Pair<'a>>,
}

#[derive(Deserialize)]
struct Combined<'a> {
    #[serde(borrow)]
    data: &'a RawValue,
}

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(rename = "e", default, borrow)]
    event: Option<&'a str>,
}

#[derive(Deserialize)]
struct Snapshot<'a> {
    #[serde(rename = "lastUpdateId")]
    last_update_id: i64,
    #[serde(borrow)]
    bids: Vec<Pair<'a>>,
    #[serde(borrow)]
    asks: Vec<Pair<'a>>,
}

pub(crate) fn levels<'a>(pairs: &[Pair<'a>]) -> Result<Levels<'a>, String> {
    pairs
        .iter()
        .map(|p| Ok((num_text(p.0)?, num_text(p.1)?)))
        .collect()
}

pub(crate) fn unwrap_combined(msg: &[u8]) -> &[u8] {
    // `{"stream":"btcusdt@depth","data":{...}}`: only then is the envelope worth parsing. The
    // common shape (a plain stream name, then `data` last) is cut without a parse: the strict
    // scanner then checks that the inner part is exactly one object.
    if let Some(rest) = msg.strip_prefix(b"{\"stream\":\"") {
        if let Some(end) = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        {
            if rest[end] == b'"' {
                if let Some(body) = rest[end + 1..].strip_prefix(b",\"data\":") {
                    if let Some(inner) = body.trim_ascii_end().strip_suffix(b"}") {
                        return inner;
                    }
                }
            }
        }
    }
    if msg.starts_with(b"{\"stream\"") {
        if let Ok(c) = serde_json::from_slice::<Combined<'_>>(msg) {
            return c.data.get().as_bytes();
        }
    }
    msg
}

pub(crate) fn parse(msg: &[u8]) -> Result<Msg<'_>, String> {
    // Depth updates normally take the feed's scanning fast path (`scan::binance_depth`); this
    // is the full parser for everything that path declines.
    let body = unwrap_combined(msg);
    match serde_json::from_slice::<Depth<'_>>(body) {
        Ok(d) => Ok(Msg::Delta {
            seq: Seq {
                first: d.first,
                last: d.last,
                prev: d.prev.unwrap_or(d.first - 1),
                present: true,
            },
            bids: levels(&d.bids)?,
            asks: levels(&d.asks)?,
            checksum: None,
        }),
        Err(e) => {
            // A depth update that fails to parse is malformed; anything else that is JSON
            // (subscription acks, other streams) is not for this feed.
            match serde_json::from_slice::<Probe<'_>>(body) {
                Ok(p) if p.event != Some("depthUpdate") && is_json(body) => {
                    Ok(Msg::Ignore(Seq::default()))
                }
                _ => Err(e.to_string()),
            }
        }
    }
}

pub(crate) fn parse_snapshot(msg: &[u8]) -> Result<Msg<'_>, String> {
    let s: Snapshot<'_> = serde_json::from_slice(msg).map_err(|e| e.to_string())?;
    Ok(Msg::Snapshot {
        seq: Seq {
            first: s.last_update_id,
            last: s.last_update_id,
            prev: s.last_update_id,
            present: true,
        },
        bids: levels(&s.bids)?,
        asks: levels(&s.asks)?,
        checksum: None,
    })
}
