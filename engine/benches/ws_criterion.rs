//! Criterion benches for the WebSocket codec on real units of work: one socket read holding many
//! small market-data frames, one larger frame, a client frame to send, and a compressed
//! message (permessage-deflate, HTX gzip).
#![allow(missing_docs)]

use std::hint::black_box;
use std::io::Write as _;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engine::ws::{
    encode_frame, inflate_gzip, DecoderConfig, FrameDecoder, InflateConfig, Message, Opcode, Role,
};
use flate2::{Compress, Compression, FlushCompress};

/// A JSON market-data message padded to exactly `len` bytes.
fn json_message(len: usize, seq: usize) -> Vec<u8> {
    let mut s = format!(
        r#"{{"e":"depthUpdate","E":1700000000{seq:03},"s":"BTCUSDT","U":{seq},"u":{seq},"b":[["67123.45000000","0.01200000"]],"a":[["67123.46000000","1.50000000"]],"pad":""#
    )
    .into_bytes();
    while s.len() < len - 2 {
        s.push(b'x');
    }
    s.extend_from_slice(b"\"}");
    assert_eq!(s.len(), len);
    s
}

/// Decodes every message of one read, touching each payload.
fn drain(d: &mut FrameDecoder, read: &[u8]) -> usize {
    d.feed(read);
    let mut total = 0;
    while let Ok(Some(m)) = d.next_message() {
        total += match m {
            Message::Text(s) => s.len(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.len(),
            Message::Close { .. } => 0,
        };
    }
    total
}

fn decode(c: &mut Criterion) {
    let mut read = Vec::new();
    for i in 0..32 {
        encode_frame(&mut read, Opcode::Text, &json_message(238, i), true, None).expect("frame");
    }
    let mut group = c.benchmark_group("ws_decode");
    group.throughput(Throughput::Bytes(read.len() as u64));
    let mut d = FrameDecoder::new(Role::Client);
    group.bench_function("read_32x238B_text", |b| {
        b.iter(|| drain(&mut d, black_box(&read)));
    });

    let mut one = Vec::new();
    encode_frame(&mut one, Opcode::Text, &json_message(719, 1), true, None).expect("frame");
    group.throughput(Throughput::Bytes(one.len() as u64));
    let mut d = FrameDecoder::new(Role::Client);
    group.bench_function("frame_719B_text", |b| {
        b.iter(|| drain(&mut d, black_box(&one)));
    });

    // The simulator's side: 32 masked client frames, unmasked in place.
    let mut masked = Vec::new();
    for i in 0..32 {
        let key = [0x37, 0xfa, 0x21, u8::try_from(i).expect("small")];
        encode_frame(
            &mut masked,
            Opcode::Text,
            &json_message(238, i),
            true,
            Some(key),
        )
        .expect("frame");
    }
    group.throughput(Throughput::Bytes(masked.len() as u64));
    let mut d = FrameDecoder::new(Role::Server);
    group.bench_function("read_32x238B_text_masked", |b| {
        b.iter(|| drain(&mut d, black_box(&masked)));
    });

    // permessage-deflate with context takeover: 32 compressed messages in one read.
    let mut compress = Compress::new(Compression::default(), false);
    let mut deflated = Vec::new();
    for i in 0..32 {
        let mut payload = Vec::with_capacity(512);
        compress
            .compress_vec(&json_message(238, i), &mut payload, FlushCompress::Sync)
            .expect("compress");
        payload.truncate(payload.len() - 4);
        deflated.push(0xc1);
        deflated.push(u8::try_from(payload.len()).expect("short"));
        deflated.extend_from_slice(&payload);
    }
    // Context takeover means the stream must be decoded from its start: a fresh decoder each
    // iteration (its setup is part of the measured work, as it is once per connection).
    group.throughput(Throughput::Bytes(deflated.len() as u64));
    group.bench_function("read_32x238B_deflate", |b| {
        b.iter(|| {
            let mut d = FrameDecoder::with_config(DecoderConfig {
                inflate: Some(InflateConfig::default()),
                ..DecoderConfig::new(Role::Client)
            });
            drain(&mut d, black_box(&deflated))
        });
    });
    group.finish();
}

fn encode(c: &mut Criterion) {
    let payload = json_message(238, 7);
    let mut out = Vec::with_capacity(512);
    c.bench_function("ws_encode_238B_masked", |b| {
        b.iter(|| {
            out.clear();
            encode_frame(
                &mut out,
                Opcode::Text,
                black_box(&payload),
                true,
                Some([1, 2, 3, 4]),
            )
            .expect("frame");
            out.len()
        });
    });
}

fn gzip(c: &mut Criterion) {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&json_message(719, 3)).expect("write");
    let gz = gz.finish().expect("finish");
    c.bench_function("inflate_gzip_719B", |b| {
        b.iter(|| inflate_gzip(black_box(&gz), 1 << 20).expect("gzip").len());
    });
}

criterion_group!(benches, decode, encode, gzip);
criterion_main!(benches);
