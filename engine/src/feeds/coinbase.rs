//! Coinbase Advanced Trade WebSocket `level2` channel.
//!
//! <https://docs.cdp.coinbase.com/advanced-trade/docs/ws-channels#level2-channel>:
//! `{"channel":"l2_data","client_id":"","timestamp":"..","sequence_num":0,"events":[{"type":
//! "snapshot"|"update","product_id":"BTC-USD","updates":[{"side":"bid"|"offer","event_time":"..",
//! "price_level":"21921.73","new_quantity":"0.06317902"}]}]}`. `sequence_num` counts every message
//! on the connection (heartbeats and other channels too): a jump means messages were lost.

use serde::Deserialize;

use super::json::is_json;
use super::{Levels, Msg, Seq};

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    channel: &'a str,
    sequence_num: Option<i64>,
    #[serde(borrow, default)]
    events: Vec<Event<'a>>,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a str>,
    #[serde(borrow, default)]
    updates: Vec<Update<'a>>,
}

#[derive(Deserialize)]
struct Update<'a> {
    #[serde(borrow)]
    side: &'a str,
    #[serde(borrow)]
    price_level: &'a str,
    #[serde(borrow)]
    new_quantity: &'a str,
}

pub(crate) fn parse(msg: &[u8]) -> Result<Msg<'_>, String> {
    let env: Envelope<'_> = serde_json::from_slice(msg).map_err(|e| {
        if is_json(msg) {
            format!("not an Advanced Trade message: {e}")
        } else {
            e.to_string()
        }
    })?;
    let seq = env.sequence_num.map_or_else(Seq::default, |n| Seq {
        first: n,
        last: n,
        prev: n - 1,
        present: true,
    });
    if env.channel != "l2_data" {
        return Ok(Msg::Ignore(seq));
    }
    let mut bids: Levels<'_> = Vec::new();
    let mut asks: Levels<'_> = Vec::new();
    let mut snapshot = false;
    for event in &env.events {
        match event.kind {
            Some("snapshot") => snapshot = true,
            Some("update") => {}
            other => return Err(format!("unknown level2 event type {other:?}")),
        }
        for u in &event.updates {
            let level = (u.price_level.as_bytes(), u.new_quantity.as_bytes());
            match u.side {
                "bid" => bids.push(level),
                "offer" | "ask" => asks.push(level),
                other => return Err(format!("unknown side {other:?}")),
            }
        }
    }
    Ok(if snapshot {
        Msg::Snapshot {
            seq,
            bids,
            asks,
            checksum: None,
        }
    } else {
        Msg::Delta {
            seq,
            bids,
            asks,
            checksum: None,
        }
    })
}
