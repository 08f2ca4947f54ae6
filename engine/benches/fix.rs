//! Criterion benches for the FIX codec on its two hot units of work: parsing (and verifying) an
//! `ExecutionReport`, and encoding a `NewOrderSingle` with the per-session encoder. The messages are
//! those of `benches/test_fix_bench.py`.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engine::fix::{encode_message, parse, Encoder, Framer, FramerItem, Value};

const TS: &[u8] = b"20240102-03:04:05.678";

fn execution_report() -> Vec<u8> {
    let fields: &[(u32, &[u8])] = &[
        (35, b"8"),
        (49, b"VENUE"),
        (56, b"CLIENT"),
        (34, b"1042"),
        (52, TS),
        (37, b"OID-9876543210"),
        (11, b"vg-1700000000-000001"),
        (17, b"EXEC-1234567890"),
        (150, b"F"),
        (39, b"2"),
        (1, b"ACC-1"),
        (55, b"BTC-USD"),
        (54, b"1"),
        (38, b"0.50000000"),
        (40, b"2"),
        (44, b"42000.10"),
        (59, b"1"),
        (32, b"0.50000000"),
        (31, b"42000.10"),
        (151, b"0"),
        (14, b"0.50000000"),
        (6, b"42000.10"),
        (60, TS),
        (12, b"0.21"),
        (13, b"3"),
        (479, b"USD"),
        (58, b"filled"),
    ];
    let values: Vec<(u32, Value<'_>)> = fields.iter().map(|&(t, v)| (t, Value::Bytes(v))).collect();
    encode_message(b"FIX.4.4", &values).expect("valid message")
}

fn bench_parse(c: &mut Criterion) {
    let er = execution_report();
    let mut g = c.benchmark_group("fix");
    g.throughput(Throughput::Bytes(er.len() as u64));
    g.bench_function("parse_execution_report", |b| {
        b.iter(|| {
            let idx = parse(black_box(&er), true).expect("parses");
            black_box(idx.find(14).map(|f| f.value(&er)));
        });
    });
    let stream: Vec<u8> = std::iter::repeat_n(er.as_slice(), 64)
        .flatten()
        .copied()
        .collect();
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("frame_64_execution_reports", |b| {
        let mut f = Framer::default();
        b.iter(|| {
            f.feed(black_box(&stream));
            let mut n = 0;
            while let Some(item) = f.next_item() {
                n += usize::from(matches!(item, FramerItem::Message(..)));
            }
            f.compact();
            assert_eq!(n, 64);
        });
    });
    g.finish();
}

fn bench_encode(c: &mut Criterion) {
    let mut enc = Encoder::new("FIX.4.4", "CLIENT", "VENUE", &[]).expect("encoder");
    let body: &[(u32, &[u8])] = &[
        (11, b"vg-1700000000-000001"),
        (1, b"ACC-1"),
        (55, b"BTC-USD"),
        (54, b"1"),
        (60, TS),
        (38, b"0.50000000"),
        (40, b"2"),
        (44, b"42000.10"),
        (59, b"1"),
    ];
    c.bench_function("fix/encode_new_order_single", |b| {
        b.iter(|| {
            let msg = enc.start(b"D", 1043, Some(TS), false, None).expect("start");
            for &(tag, v) in body {
                msg.field(tag, v).expect("field");
            }
            black_box(enc.finish().expect("finish"))
        });
    });
}

criterion_group!(benches, bench_parse, bench_encode);
criterion_main!(benches);
