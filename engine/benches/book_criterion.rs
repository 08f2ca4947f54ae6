//! Criterion benches for the book and the venue feeds: one real unit of work each (a 20-level
//! Binance depth update applied from its bytes; a Kraken update with its checksum verified).
#![allow(missing_docs)]

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use engine::book::Book;
use engine::feeds::{BookFeed, FeedStatus, Venue};

/// `n` levels from `base` cents, one tick apart (`sign` = -1 for bids), as Binance writes them.
fn levels(base: i64, n: i64, sign: i64, salt: i64) -> String {
    let mut s = String::from("[");
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let cents = base + sign * i;
        let size = (i * 7919 + salt * 104_729) % 500_000 + 100;
        let _ = write!(
            s,
            "[\"{}.{:02}\",\"{}.{:08}\"]",
            cents / 100,
            cents % 100,
            size / 100_000_000,
            size % 100_000_000
        );
    }
    s.push(']');
    s
}

fn binance_messages(count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|k| {
            let k = i64::try_from(k).unwrap_or(0);
            let u = 1000 + k * 10;
            format!(
                r#"{{"e":"depthUpdate","E":{},"s":"BTCUSDT","U":{},"u":{},"b":{},"a":{}}}"#,
                1_672_515_782_136_i64 + k,
                u + 1,
                u + 10,
                levels(6_700_000, 10, -1, k),
                levels(6_700_001, 10, 1, k + 1)
            )
            .into_bytes()
        })
        .collect()
}

fn feeds(c: &mut Criterion) {
    let msgs = binance_messages(4096);
    c.bench_function("binance_depth_20_levels_apply", |b| {
        let mut book = Book::new(2, 8, None);
        let mut feed = BookFeed::new(Venue::BinanceSpot);
        let snap = format!(
            r#"{{"lastUpdateId":1000,"bids":{},"asks":{}}}"#,
            levels(6_699_950, 50, -1, 0),
            levels(6_700_050, 50, 1, 0)
        );
        assert_eq!(
            feed.apply_snapshot(&mut book, snap.as_bytes()),
            FeedStatus::Applied
        );
        let mut i = 0;
        b.iter(|| {
            // Restart the sequence when the prepared messages run out.
            if i == msgs.len() {
                i = 0;
                feed.apply_snapshot(&mut book, snap.as_bytes());
            }
            let s = feed.apply(&mut book, black_box(&msgs[i]));
            i += 1;
            s
        });
    });
    let mut book = Book::new(2, 8, None);
    let mut feed = BookFeed::new(Venue::BinanceSpot);
    let snap = format!(
        r#"{{"lastUpdateId":1000,"bids":{},"asks":{}}}"#,
        levels(6_699_950, 50, -1, 0),
        levels(6_700_050, 50, 1, 0)
    );
    feed.apply_snapshot(&mut book, snap.as_bytes());
    c.bench_function("okx_checksum_25", |b| {
        b.iter(|| black_box(&book).checksum_okx());
    });
    c.bench_function("kraken_checksum_10", |b| {
        b.iter(|| black_box(&book).checksum_kraken());
    });
}

criterion_group!(benches, feeds);
criterion_main!(benches);
