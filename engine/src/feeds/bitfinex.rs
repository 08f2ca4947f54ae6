//! Bitfinex v2 WebSocket `book` channel (P0–P4 precision books).
//!
//! <https://docs.bitfinex.com/reference/ws-public-books>: snapshot `[CHAN_ID, [[PRICE, COUNT,
//! AMOUNT], ..]]`, update `[CHAN_ID, [PRICE, COUNT, AMOUNT]]`, heartbeat `[CHAN_ID, "hb"]`; with
//! the `OB_CHECKSUM` conf flag (131072) `[CHAN_ID, "cs", CHECKSUM]`
//! (<https://docs.bitfinex.com/docs/ws-websocket-checksum>); with `SEQ_ALL` (65536) every message
//! ends with a connection-wide sequence number. AMOUNT > 0 is a bid, < 0 an ask; COUNT 0 deletes
//! the level (AMOUNT 1: from the bids, -1: from the asks). Numbers are JSON numbers, read here as
//! their exact text. The session routes messages by `CHAN_ID`; events (`{"event":..}`) are skipped.

use serde_json::value::RawValue;

use super::json::{is_json, num_text};
use super::{Levels, Msg, Seq};

type Triple<'a> = (&'a RawValue, &'a RawValue, &'a RawValue);

fn split_level<'a>(
    (price, count, amount): Triple<'a>,
    bids: &mut Levels<'a>,
    asks: &mut Levels<'a>,
) -> Result<(), String> {
    let price = num_text(price)?;
    let count = num_text(count)?;
    let amount = num_text(amount)?;
    let (side_is_ask, size): (bool, &[u8]) = match amount {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, amount),
    };
    let size: &[u8] = if count == b"0" { b"0" } else { size };
    if side_is_ask {
        asks.push((price, size));
    } else {
        bids.push((price, size));
    }
    Ok(())
}

fn seq_of(parts: &[&RawValue], index: usize) -> Result<Seq, String> {
    match parts.get(index) {
        None => Ok(Seq::default()),
        Some(raw) => {
            let n: i64 = serde_json::from_str(raw.get()).map_err(|e| format!("sequence: {e}"))?;
            Ok(Seq {
                first: n,
                last: n,
                prev: n - 1,
                present: true,
            })
        }
    }
}

pub(crate) fn parse(msg: &[u8]) -> Result<Msg<'_>, String> {
    if msg.first() == Some(&b'{') {
        return if is_json(msg) {
            Ok(Msg::Ignore(Seq::default()))
        } else {
            Err("not JSON".to_owned())
        };
    }
    let parts: Vec<&RawValue> = serde_json::from_slice(msg).map_err(|e| e.to_string())?;
    let payload = parts.get(1).ok_or("message without payload")?;
    let text = payload.get();
    if text == "\"hb\"" {
        return Ok(Msg::Ignore(seq_of(&parts, 2)?));
    }
    if text == "\"cs\"" {
        let value: i64 = parts
            .get(2)
            .ok_or("checksum message without a value")
            .and_then(|r| {
                serde_json::from_str(r.get()).map_err(|_| "checksum is not an integer")
            })?;
        return Ok(Msg::Checksum {
            seq: seq_of(&parts, 3)?,
            value,
        });
    }
    let seq = seq_of(&parts, 2)?;
    let mut bids = Vec::new();
    let mut asks = Vec::new();
    if text.starts_with("[[") || text == "[]" {
        let levels: Vec<Triple<'_>> = serde_json::from_str(text).map_err(|e| e.to_string())?;
        for l in levels {
            split_level(l, &mut bids, &mut asks)?;
        }
        Ok(Msg::Snapshot {
            seq,
            bids,
            asks,
            checksum: None,
        })
    } else {
        let level: Triple<'_> = serde_json::from_str(text).map_err(|e| e.to_string())?;
        split_level(level, &mut bids, &mut asks)?;
        Ok(Msg::Delta {
            seq,
            bids,
            asks,
            checksum: None,
        })
    }
}
