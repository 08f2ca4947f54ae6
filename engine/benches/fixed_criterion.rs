//! Criterion benches for fixed-point parse and format of venue price strings.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use engine::Fixed;
use std::hint::black_box;

fn parse_format(c: &mut Criterion) {
    let prices: [&[u8]; 4] = [b"0.00012300", b"67123.45000000", b"-5.1", b"1e-8"];
    c.bench_function("fixed_parse_4_prices", |b| {
        b.iter(|| {
            for p in black_box(&prices) {
                black_box(Fixed::parse(p).ok());
            }
        });
    });
    let v = Fixed::parse(b"67123.45000000").expect("valid");
    c.bench_function("fixed_write_to", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(24);
            black_box(v).write_to(&mut out);
            out
        });
    });
}

criterion_group!(benches, parse_format);
criterion_main!(benches);
