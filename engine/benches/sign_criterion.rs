//! Criterion benches for the signing primitives on real request payloads.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use engine::encode::{push_pair, Escape};
use engine::sign::{Ed25519Key, Encoding, HashAlg, HmacKey};
use std::hint::black_box;

fn binance_order(c: &mut Criterion) {
    let key = HmacKey::new(
        HashAlg::Sha256,
        b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
    );
    let params: [(&[u8], &[u8]); 8] = [
        (b"symbol", b"LTCBTC"),
        (b"side", b"BUY"),
        (b"type", b"LIMIT"),
        (b"timeInForce", b"GTC"),
        (b"quantity", b"1"),
        (b"price", b"0.1"),
        (b"recvWindow", b"5000"),
        (b"timestamp", b"1499827319559"),
    ];
    // One unit of work: encode the params, sign them, append the signature.
    c.bench_function("binance_order_query_sign", |b| {
        b.iter(|| {
            let mut q = Vec::with_capacity(256);
            for (k, v) in black_box(&params) {
                push_pair(&mut q, k, v, Escape::FormPlus);
            }
            let mac = key.sign(&q);
            q.extend_from_slice(b"&signature=");
            mac.push_hex(&mut q);
            q
        });
    });
    let kraken = HmacKey::new(HashAlg::Sha512, &[9_u8; 64]);
    c.bench_function("hmac_sha512_b64_150B", |b| {
        b.iter(|| {
            kraken
                .sign(black_box(&[b'x'; 150]))
                .encode(Encoding::Base64)
        });
    });
    let ed = Ed25519Key::from_raw(&[3_u8; 32]).expect("seed");
    c.bench_function("ed25519_sign_150B", |b| {
        b.iter(|| ed.sign(black_box(&[b'x'; 150])));
    });
}

criterion_group!(benches, binance_order);
criterion_main!(benches);
