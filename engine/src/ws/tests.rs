//! RFC 6455 and RFC 7692 examples byte for byte, an Autobahn-style conformance set (framing,
//! fragmentation, control frames, close handling, UTF-8, limits), and property tests: no input
//! panics, and encode → split at any read boundary → decode gives the messages back.

use super::*;
use flate2::{Compress, Compression, FlushCompress};
use proptest::prelude::*;
use rstest::rstest;

/// An owned copy of a [`Message`], for comparing sequences.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owned {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
}

impl From<Message<'_>> for Owned {
    fn from(m: Message<'_>) -> Self {
        match m {
            Message::Text(s) => Self::Text(s.to_owned()),
            Message::Binary(b) => Self::Binary(b.to_vec()),
            Message::Ping(b) => Self::Ping(b.to_vec()),
            Message::Pong(b) => Self::Pong(b.to_vec()),
            Message::Close { code, reason } => Self::Close(code, reason.to_owned()),
        }
    }
}

fn text(s: &str) -> Owned {
    Owned::Text(s.to_owned())
}

/// Drains every complete message; the error, if any, ends the list.
fn drain(d: &mut FrameDecoder) -> (Vec<Owned>, Option<WsError>) {
    let mut out = Vec::new();
    loop {
        match d.next_message() {
            Ok(Some(m)) => out.push(m.into()),
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
}

fn decode_with(config: DecoderConfig, chunks: &[&[u8]]) -> (Vec<Owned>, Option<WsError>) {
    let mut d = FrameDecoder::with_config(config);
    let mut all = Vec::new();
    for chunk in chunks {
        d.feed(chunk);
        let (msgs, err) = drain(&mut d);
        all.extend(msgs);
        if err.is_some() {
            return (all, err);
        }
    }
    (all, None)
}

fn decode(role: Role, bytes: &[u8]) -> (Vec<Owned>, Option<WsError>) {
    decode_with(DecoderConfig::new(role), &[bytes])
}

fn deflate_config(no_context_takeover: bool) -> DecoderConfig {
    DecoderConfig {
        inflate: Some(InflateConfig {
            no_context_takeover,
        }),
        ..DecoderConfig::new(Role::Client)
    }
}

/// A frame with a free first byte (FIN, RSV, opcode), for frames `encode_frame` refuses to make.
fn raw(b0: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![b0];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(m | u8::try_from(n).expect("short")),
        n if n <= 0xffff => {
            out.push(m | 0x7e);
            out.extend_from_slice(&u16::try_from(n).expect("16-bit").to_be_bytes());
        }
        n => {
            out.push(m | 0x7f);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
        let start = out.len();
        out.extend_from_slice(payload);
        apply_mask(&mut out[start..], key);
    } else {
        out.extend_from_slice(payload);
    }
    out
}

fn encode(opcode: Opcode, payload: &[u8], fin: bool, mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(&mut out, opcode, payload, fin, mask).expect("valid frame");
    out
}

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

// --- RFC 6455 §5.7 examples --------------------------------------------------------------

const HELLO_UNMASKED: &[u8] = &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
const HELLO_MASKED: &[u8] = &[
    0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
];
const HEL_LO: &[u8] = &[0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
const PING_HELLO: &[u8] = &[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
const PONG_HELLO_MASKED: &[u8] = &[
    0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
];

#[test]
fn rfc6455_single_frame_unmasked_text() {
    assert_eq!(encode(Opcode::Text, b"Hello", true, None), HELLO_UNMASKED);
    assert_eq!(
        decode(Role::Client, HELLO_UNMASKED),
        (vec![text("Hello")], None)
    );
}

#[test]
fn rfc6455_single_frame_masked_text() {
    assert_eq!(
        encode(Opcode::Text, b"Hello", true, Some(KEY)),
        HELLO_MASKED
    );
    assert_eq!(
        decode(Role::Server, HELLO_MASKED),
        (vec![text("Hello")], None)
    );
}

#[test]
fn rfc6455_fragmented_unmasked_text() {
    let mut out = encode(Opcode::Text, b"Hel", false, None);
    out.extend(encode(Opcode::Continuation, b"lo", true, None));
    assert_eq!(out, HEL_LO);
    assert_eq!(decode(Role::Client, HEL_LO), (vec![text("Hello")], None));
}

#[test]
fn rfc6455_ping_and_masked_pong() {
    assert_eq!(encode(Opcode::Ping, b"Hello", true, None), PING_HELLO);
    assert_eq!(
        decode(Role::Client, PING_HELLO),
        (vec![Owned::Ping(b"Hello".to_vec())], None)
    );
    assert_eq!(
        encode(Opcode::Pong, b"Hello", true, Some(KEY)),
        PONG_HELLO_MASKED
    );
    assert_eq!(
        decode(Role::Server, PONG_HELLO_MASKED),
        (vec![Owned::Pong(b"Hello".to_vec())], None)
    );
}

#[rstest]
#[case(256, &[0x82, 0x7e, 0x01, 0x00])]
#[case(65536, &[0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00])]
fn rfc6455_binary_length_headers(#[case] len: usize, #[case] header: &[u8]) {
    let payload: Vec<u8> = (0..len)
        .map(|i| u8::try_from(i % 251).expect("byte"))
        .collect();
    let frame = encode(Opcode::Binary, &payload, true, None);
    assert_eq!(&frame[..header.len()], header);
    assert_eq!(frame.len(), header.len() + len);
    assert_eq!(
        decode(Role::Client, &frame),
        (vec![Owned::Binary(payload)], None)
    );
}

#[rstest]
#[case(0, 2)]
#[case(125, 2)]
#[case(126, 4)]
#[case(127, 4)]
#[case(65535, 4)]
#[case(65536, 10)]
fn length_encoding_boundaries(#[case] len: usize, #[case] header: usize) {
    let payload = vec![b'*'; len];
    let frame = encode(Opcode::Text, &payload, true, None);
    assert_eq!(frame.len(), header + len);
    let masked = encode(Opcode::Text, &payload, true, Some(KEY));
    assert_eq!(masked.len(), header + 4 + len);
    let want = vec![Owned::Text("*".repeat(len))];
    assert_eq!(decode(Role::Client, &frame), (want.clone(), None));
    assert_eq!(decode(Role::Server, &masked), (want, None));
}

#[test]
fn non_minimal_lengths_are_accepted() {
    // "Hello" with a 16-bit and a 64-bit length: RFC 6455 §5.2 says minimal, but nothing is
    // ambiguous about the longer forms.
    let mut f16 = vec![0x81, 126, 0, 5];
    f16.extend_from_slice(b"Hello");
    let mut f64 = vec![0x81, 127, 0, 0, 0, 0, 0, 0, 0, 5];
    f64.extend_from_slice(b"Hello");
    assert_eq!(decode(Role::Client, &f16), (vec![text("Hello")], None));
    assert_eq!(decode(Role::Client, &f64), (vec![text("Hello")], None));
}

// --- handshake -------------------------------------------------------------------------------

#[test]
fn rfc6455_accept_key_example() {
    assert_eq!(
        accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert_eq!(client_key(*b"the sample nonce"), "dGhlIHNhbXBsZSBub25jZQ==");
}

const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

#[test]
fn client_request_bytes() {
    let req = client_request(
        "stream.binance.com:9443",
        "/ws/btcusdt@depth",
        SAMPLE_KEY,
        &[("User-Agent", "venuegate")],
        true,
    )
    .expect("valid request");
    assert_eq!(
        std::str::from_utf8(&req).expect("ascii"),
        "GET /ws/btcusdt@depth HTTP/1.1\r\nHost: stream.binance.com:9443\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
         User-Agent: venuegate\r\n\r\n"
    );
    let parsed = parse_request(&req).expect("valid").expect("complete");
    assert_eq!(parsed.consumed, req.len());
    assert_eq!(parsed.path, "/ws/btcusdt@depth");
    assert_eq!(parsed.key, SAMPLE_KEY);
    assert!(parsed.deflate_offered);
}

#[rstest]
#[case("h\r\nX: y", "/", &[])]
#[case("h", "/a b", &[])]
#[case("h", "noslash", &[])]
#[case("h", "/", &[("X-A", "b\nc")])]
#[case("h", "/", &[("Bad Name", "v")])]
#[case("h", "/", &[("", "v")])]
fn client_request_refuses_injection(
    #[case] host: &str,
    #[case] path: &str,
    #[case] headers: &[(&str, &str)],
) {
    assert!(matches!(
        client_request(host, path, SAMPLE_KEY, headers, false),
        Err(WsError::InvalidHeader { .. })
    ));
}

const RESPONSE: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

#[test]
fn parse_response_waits_for_the_whole_block_and_counts_bytes() {
    let mut buf = RESPONSE.as_bytes().to_vec();
    buf.extend_from_slice(HELLO_UNMASKED);
    for cut in 0..RESPONSE.len() {
        assert_eq!(parse_response(&buf[..cut], SAMPLE_KEY, false), Ok(None));
    }
    let r = parse_response(&buf, SAMPLE_KEY, false)
        .expect("valid")
        .expect("complete");
    assert_eq!(r.consumed, RESPONSE.len());
    assert_eq!(r.deflate, None);
    assert_eq!(r.headers[0], ("Upgrade".to_owned(), "websocket".to_owned()));
    assert_eq!(
        decode(Role::Client, &buf[r.consumed..]),
        (vec![text("Hello")], None)
    );
}

#[test]
fn parse_response_header_names_and_tokens_are_case_insensitive() {
    let resp = "HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nCONNECTION: keep-alive, upgrade\r\n\
        sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    assert!(parse_response(resp.as_bytes(), SAMPLE_KEY, false)
        .expect("valid")
        .is_some());
}

#[rstest]
#[case("HTTP/1.1 200 OK\r\n\r\n", 1002)]
#[case("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\n\r\n", 1002)]
#[case("garbage\r\n\r\n", 1002)]
fn parse_response_refuses_other_statuses(#[case] resp: &str, #[case] code: u16) {
    let err = parse_response(resp.as_bytes(), SAMPLE_KEY, false).expect_err("refused");
    assert_eq!(err.close_code(), code);
    if resp.contains("429") {
        assert_eq!(err, WsError::HandshakeStatus { status: 429 });
    }
}

#[rstest]
#[case::no_upgrade("Upgrade: websocket\r\n", "")]
#[case::wrong_upgrade("Upgrade: websocket", "Upgrade: h2c")]
#[case::no_connection("Connection: Upgrade\r\n", "")]
#[case::wrong_accept("xOo=", "xOp=")]
#[case::no_accept("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", "")]
fn parse_response_refuses_bad_headers(#[case] from: &str, #[case] to: &str) {
    let resp = RESPONSE.replacen(from, to, 1);
    assert!(
        parse_response(resp.as_bytes(), SAMPLE_KEY, false).is_err(),
        "{resp}"
    );
}

fn with_extensions(value: &str) -> String {
    RESPONSE.replacen(
        "\r\n\r\n",
        &format!("\r\nSec-WebSocket-Extensions: {value}\r\n\r\n"),
        1,
    )
}

#[rstest]
#[case("permessage-deflate", DeflateParams::default())]
#[case(
    "permessage-deflate; server_no_context_takeover; client_max_window_bits=15",
    DeflateParams { server_no_context_takeover: true, client_max_window_bits: Some(15), ..DeflateParams::default() }
)]
#[case(
    "permessage-deflate;client_no_context_takeover; server_max_window_bits=\"10\"",
    DeflateParams { client_no_context_takeover: true, server_max_window_bits: Some(10), ..DeflateParams::default() }
)]
fn parse_response_negotiates_deflate(#[case] value: &str, #[case] want: DeflateParams) {
    let r = parse_response(with_extensions(value).as_bytes(), SAMPLE_KEY, true)
        .expect("valid")
        .expect("complete");
    assert_eq!(r.deflate, Some(want));
    assert_eq!(
        want.inflate_config(Role::Client).no_context_takeover,
        want.server_no_context_takeover
    );
}

#[rstest]
#[case("permessage-deflate", false)]
#[case("x-webkit-deflate-frame", true)]
#[case("permessage-deflate; server_max_window_bits=7", true)]
#[case("permessage-deflate; server_max_window_bits", true)]
#[case("permessage-deflate; client_max_window_bits", true)]
#[case("permessage-deflate; server_no_context_takeover=1", true)]
#[case(
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    true
)]
#[case("permessage-deflate; foo", true)]
#[case("permessage-deflate, permessage-deflate", true)]
fn parse_response_refuses_bad_extensions(#[case] value: &str, #[case] offered: bool) {
    let err = parse_response(with_extensions(value).as_bytes(), SAMPLE_KEY, offered)
        .expect_err("refused");
    assert!(matches!(err, WsError::Extension { .. }), "{err}");
}

#[test]
fn parse_response_refuses_an_endless_header_block() {
    let buf = vec![b'a'; MAX_HANDSHAKE];
    assert_eq!(
        parse_response(&buf, SAMPLE_KEY, false),
        Err(WsError::HandshakeTooLarge {
            limit: MAX_HANDSHAKE
        })
    );
    assert_eq!(parse_response(&buf[..100], SAMPLE_KEY, false), Ok(None));
}

#[test]
fn server_response_round_trips_through_parse_response() {
    let params = DeflateParams {
        server_no_context_takeover: true,
        ..DeflateParams::default()
    };
    let resp = server_response(SAMPLE_KEY, Some(&params));
    let r = parse_response(&resp, SAMPLE_KEY, true)
        .expect("valid")
        .expect("complete");
    assert_eq!((r.consumed, r.deflate), (resp.len(), Some(params)));
    let plain = server_response(SAMPLE_KEY, None);
    assert_eq!(plain, RESPONSE.as_bytes());
}

#[rstest]
#[case::rfc_example(
    "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
     Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
     Sec-WebSocket-Version: 13\r\n\r\n",
    Ok(false)
)]
#[case::deflate(
    "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
     Sec-WebSocket-Extensions: x-foo, permessage-deflate; client_max_window_bits\r\n\r\n",
    Ok(true)
)]
#[case::post(
    "POST /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    Err(())
)]
#[case::version_8(
    "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    Err(())
)]
#[case::short_key(
    "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
     Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n",
    Err(())
)]
#[case::no_host(
    "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    Err(())
)]
fn parse_request_cases(#[case] req: &str, #[case] want: Result<bool, ()>) {
    match (parse_request(req.as_bytes()), want) {
        (Ok(Some(r)), Ok(deflate)) => {
            assert_eq!(r.key, SAMPLE_KEY);
            assert_eq!(r.deflate_offered, deflate);
            assert_eq!(r.consumed, req.len());
        }
        (Err(e), Err(())) => assert_eq!(e.close_code(), 1002),
        (got, _) => panic!("unexpected {got:?}"),
    }
}

// --- RFC 7692 §7.2.3 examples -----------------------------------------------------------------

const RFC7692_HELLO: &[u8] = &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
const RFC7692_HELLO_AGAIN: &[u8] = &[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00];

#[rstest]
#[case::one_block(RFC7692_HELLO)]
#[case::fragmented(&[0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00])]
#[case::stored_block(&[0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00])]
#[case::bfinal(&[0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00])]
#[case::two_blocks(&[
    0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
])]
fn rfc7692_hello(#[case] frames: &[u8]) {
    for no_context_takeover in [false, true] {
        let config = deflate_config(no_context_takeover);
        assert_eq!(decode_with(config, &[frames]), (vec![text("Hello")], None));
        // Twice: the stream state after each message must allow the next.
        assert_eq!(
            decode_with(config, &[frames, frames]),
            (vec![text("Hello"), text("Hello")], None)
        );
    }
}

#[test]
fn rfc7692_sliding_window_across_messages() {
    // §7.2.3.2: the second "Hello" is a back-reference into the first message.
    let both = [RFC7692_HELLO, RFC7692_HELLO_AGAIN].concat();
    assert_eq!(
        decode_with(deflate_config(false), &[&both]),
        (vec![text("Hello"), text("Hello")], None)
    );
    // Without context takeover the inflater starts each message afresh, so the reference
    // finds nothing: miniz_oxide reads zeros from its empty window where zlib would fail.
    // Either way the message is not "Hello", which proves the window was reset.
    let (msgs, _) = decode_with(deflate_config(true), &[&both]);
    assert_eq!(msgs[0], text("Hello"));
    assert_ne!(msgs.get(1), Some(&text("Hello")));
    assert_eq!(
        decode_with(deflate_config(true), &[RFC7692_HELLO, RFC7692_HELLO]),
        (vec![text("Hello"), text("Hello")], None)
    );
}

#[test]
fn rsv1_without_deflate_is_a_protocol_error() {
    let (_, err) = decode(Role::Client, RFC7692_HELLO);
    assert_eq!(
        err,
        Some(WsError::ReservedBits {
            bits: 0b100,
            opcode: Opcode::Text
        })
    );
}

#[rstest]
#[case::on_continuation(&[0x41, 0x03, 0xf2, 0x48, 0xcd, 0xc0, 0x04, 0xc9, 0xc9, 0x07, 0x00])]
#[case::on_ping(&[0xc9, 0x00])]
#[case::rsv2(&[0xa1, 0x00])]
fn rsv_misuse_with_deflate(#[case] frames: &[u8]) {
    let (_, err) = decode_with(deflate_config(false), &[frames]);
    assert!(matches!(err, Some(WsError::ReservedBits { .. })), "{err:?}");
}

fn deflate_message(c: &mut Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    let mut input = data;
    loop {
        out.reserve(256);
        let before = c.total_in();
        c.compress_vec(input, &mut out, FlushCompress::Sync)
            .expect("compress");
        input = &input[usize::try_from(c.total_in() - before).expect("fits")..];
        if input.is_empty() && out.len() < out.capacity() {
            break;
        }
    }
    if out.is_empty() {
        // Nothing new since the last sync flush (zlib-rs emits no block for it): RFC 7692
        // §7.2.3.6 sends an empty message as the single byte 0x00.
        return vec![0x00];
    }
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

#[test]
fn inflated_size_is_limited_zip_bomb() {
    let mut c = Compress::new(Compression::best(), false);
    let bomb = deflate_message(&mut c, &vec![b'a'; 10 << 20]);
    assert!(bomb.len() < 20_000, "{}", bomb.len());
    let frame = raw(0xc2, &bomb, None);
    let config = DecoderConfig {
        max_message: 1 << 20,
        ..deflate_config(false)
    };
    let (msgs, err) = decode_with(config, &[&frame]);
    assert!(msgs.is_empty());
    let err = err.expect("too big");
    assert!(
        matches!(err, WsError::MessageTooBig { limit, .. } if limit == 1 << 20),
        "{err}"
    );
    assert_eq!(err.close_code(), 1009);
}

#[test]
fn inflate_gzip_and_raw() {
    use std::io::Write as _;
    let json = br#"{"ch":"market.btcusdt.depth.step0","ts":1630000000000,"tick":{"bids":[]}}"#;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(json).expect("write");
    let gz = gz.finish().expect("finish");
    assert_eq!(inflate_gzip(&gz, 1 << 20).expect("gzip"), json);
    assert!(matches!(
        inflate_gzip(&gz, 10),
        Err(WsError::MessageTooBig { limit: 10, .. })
    ));
    assert!(matches!(
        inflate_gzip(&gz[..gz.len() - 3], 1 << 20),
        Err(WsError::Inflate { .. })
    ));
    let mut bad_crc = gz.clone();
    let n = bad_crc.len();
    bad_crc[n - 8] ^= 1;
    assert!(matches!(
        inflate_gzip(&bad_crc, 1 << 20),
        Err(WsError::Inflate { .. })
    ));
    assert!(matches!(
        inflate_gzip(b"not gzip", 1 << 20),
        Err(WsError::Inflate { .. })
    ));

    let mut raw_deflate = flate2::write::DeflateEncoder::new(Vec::new(), Compression::default());
    raw_deflate.write_all(json).expect("write");
    let raw_deflate = raw_deflate.finish().expect("finish");
    assert_eq!(inflate_raw(&raw_deflate, 1 << 20).expect("raw"), json);
    assert!(matches!(
        inflate_raw(&raw_deflate[..raw_deflate.len() / 2], 1 << 20),
        Err(WsError::Inflate { .. })
    ));
    assert!(matches!(
        inflate_raw(&raw_deflate, 10),
        Err(WsError::MessageTooBig { limit: 10, .. })
    ));
    // Sync-flushed (no BFINAL) is accepted with its tail.
    let mut c = Compress::new(Compression::default(), false);
    let mut flushed = deflate_message(&mut c, json);
    flushed.extend_from_slice(&[0, 0, 0xff, 0xff]);
    assert_eq!(inflate_raw(&flushed, 1 << 20).expect("sync"), json);
}

// --- Autobahn-style conformance ---------------------------------------------------------------

/// Expected outcome of a conformance case: the messages delivered and the close code, if the
/// connection must fail.
type Outcome = (Vec<Owned>, Option<u16>);

fn run(role: Role, bytes: &[u8]) -> Outcome {
    let (msgs, err) = decode(role, bytes);
    (msgs, err.map(|e| e.close_code()))
}

fn cat(frames: &[Vec<u8>]) -> Vec<u8> {
    frames.concat()
}

#[rstest]
// 1.x framing: empty messages.
#[case::empty_text(cat(&[raw(0x81, b"", None)]), (vec![text("")], None))]
#[case::empty_binary(cat(&[raw(0x82, b"", None)]), (vec![Owned::Binary(vec![])], None))]
// 2.x pings and pongs.
#[case::ping_125(cat(&[raw(0x89, &[0xfe; 125], None)]), (vec![Owned::Ping(vec![0xfe; 125])], None))]
#[case::ping_126(cat(&[raw(0x89, &[0xfe; 126], None)]), (vec![], Some(1002)))]
#[case::ping_fragmented(cat(&[raw(0x09, b"a", None), raw(0x80, b"b", None)]), (vec![], Some(1002)))]
#[case::unsolicited_pong(cat(&[raw(0x8a, b"x", None), raw(0x81, b"ok", None)]), (vec![Owned::Pong(b"x".to_vec()), text("ok")], None))]
#[case::ten_pings(cat(&vec![raw(0x89, b"p", None); 10]), (vec![Owned::Ping(b"p".to_vec()); 10], None))]
// 3.x reserved bits.
#[case::rsv1(cat(&[raw(0xc1, b"x", None)]), (vec![], Some(1002)))]
#[case::rsv2(cat(&[raw(0xa1, b"x", None)]), (vec![], Some(1002)))]
#[case::rsv3_after_good(cat(&[raw(0x81, b"ok", None), raw(0x91, b"x", None)]), (vec![text("ok")], Some(1002)))]
#[case::rsv_all_on_ping(cat(&[raw(0xf9, b"", None)]), (vec![], Some(1002)))]
// 4.x reserved opcodes.
#[case::opcode_3(cat(&[raw(0x83, b"", None)]), (vec![], Some(1002)))]
#[case::opcode_7(cat(&[raw(0x87, b"x", None)]), (vec![], Some(1002)))]
#[case::opcode_b(cat(&[raw(0x8b, b"", None)]), (vec![], Some(1002)))]
#[case::opcode_f_after_good(cat(&[raw(0x81, b"a", None), raw(0x8f, b"", None)]), (vec![text("a")], Some(1002)))]
// 5.x fragmentation.
#[case::continuation_first(cat(&[raw(0x80, b"x", None)]), (vec![], Some(1002)))]
#[case::continuation_unfinished_first(cat(&[raw(0x00, b"x", None)]), (vec![], Some(1002)))]
#[case::fragments_with_ping(
    cat(&[raw(0x01, b"frag", None), raw(0x89, b"p", None), raw(0x00, b"ment", None), raw(0x8a, b"q", None), raw(0x80, b"ed", None)]),
    (vec![Owned::Ping(b"p".to_vec()), Owned::Pong(b"q".to_vec()), text("fragmented")], None)
)]
#[case::binary_fragments(
    cat(&[raw(0x02, &[1], None), raw(0x00, &[], None), raw(0x80, &[2, 3], None)]),
    (vec![Owned::Binary(vec![1, 2, 3])], None)
)]
#[case::empty_fragments(cat(&[raw(0x01, b"", None), raw(0x00, b"", None), raw(0x80, b"", None)]), (vec![text("")], None))]
#[case::text_during_fragments(cat(&[raw(0x01, b"a", None), raw(0x81, b"b", None)]), (vec![], Some(1002)))]
#[case::binary_during_fragments(cat(&[raw(0x01, b"a", None), raw(0x02, b"b", None)]), (vec![], Some(1002)))]
#[case::continuation_after_complete(cat(&[raw(0x81, b"a", None), raw(0x80, b"b", None)]), (vec![text("a")], Some(1002)))]
#[case::two_fragmented_in_a_row(
    cat(&[raw(0x01, b"a", None), raw(0x80, b"b", None), raw(0x02, b"c", None), raw(0x80, b"d", None)]),
    (vec![text("ab"), Owned::Binary(b"cd".to_vec())], None)
)]
// 6.x UTF-8.
#[case::utf8_valid(cat(&[raw(0x81, "κόσμε".as_bytes(), None)]), (vec![text("κόσμε")], None))]
#[case::utf8_split_codepoint(
    cat(&[raw(0x01, &[0xce], None), raw(0x00, &[0xba, 0xe1], None), raw(0x80, &[0xbd, 0xb9], None)]),
    (vec![text("\u{3ba}\u{1f79}")], None)
)]
#[case::utf8_four_byte_split(
    cat(&[raw(0x01, &[0xf0, 0x9f], None), raw(0x80, &[0x98, 0x80], None)]),
    (vec![text("\u{1f600}")], None)
)]
#[case::utf8_invalid(cat(&[raw(0x81, &[0xce, 0xba, 0xff], None)]), (vec![], Some(1007)))]
#[case::utf8_surrogate(cat(&[raw(0x81, &[0xed, 0xa0, 0x80], None)]), (vec![], Some(1007)))]
#[case::utf8_overlong(cat(&[raw(0x81, &[0xc0, 0xaf], None)]), (vec![], Some(1007)))]
#[case::utf8_above_max(cat(&[raw(0x81, &[0xf4, 0x90, 0x80, 0x80], None)]), (vec![], Some(1007)))]
#[case::utf8_truncated_at_end(cat(&[raw(0x81, &[0x61, 0xce], None)]), (vec![], Some(1007)))]
#[case::utf8_truncated_fragmented(cat(&[raw(0x01, b"a", None), raw(0x80, &[0xe2, 0x82], None)]), (vec![], Some(1007)))]
#[case::utf8_fail_fast(cat(&[raw(0x01, &[0x61, 0xff], None)]), (vec![], Some(1007)))]
#[case::utf8_binary_is_not_checked(cat(&[raw(0x82, &[0xff], None)]), (vec![Owned::Binary(vec![0xff])], None))]
// 7.x close handling.
#[case::close_empty(cat(&[raw(0x88, b"", None)]), (vec![Owned::Close(None, String::new())], None))]
#[case::close_normal(cat(&[raw(0x88, &[0x03, 0xe8], None)]), (vec![Owned::Close(Some(1000), String::new())], None))]
#[case::close_reason(cat(&[raw(0x88, b"\x03\xe9bye", None)]), (vec![Owned::Close(Some(1001), "bye".to_owned())], None))]
#[case::close_one_byte(cat(&[raw(0x88, &[0x03], None)]), (vec![], Some(1002)))]
#[case::close_max_reason(cat(&[raw(0x88, &[&[0x03, 0xe8][..], &[b'r'; 123]].concat(), None)]), (vec![Owned::Close(Some(1000), "r".repeat(123))], None))]
#[case::close_too_long(cat(&[raw(0x88, &[&[0x03, 0xe8][..], &[b'r'; 124]].concat(), None)]), (vec![], Some(1002)))]
#[case::close_bad_reason(cat(&[raw(0x88, &[0x03, 0xe8, 0xff], None)]), (vec![], Some(1007)))]
#[case::close_fragmented(cat(&[raw(0x08, &[0x03, 0xe8], None)]), (vec![], Some(1002)))]
#[case::close_then_ignored(
    cat(&[raw(0x88, &[0x03, 0xe8], None), raw(0x81, b"late", None), raw(0x8f, b"", None)]),
    (vec![Owned::Close(Some(1000), String::new())], None)
)]
#[case::close_in_fragments(
    cat(&[raw(0x01, b"a", None), raw(0x88, &[0x03, 0xe8], None), raw(0x80, b"b", None)]),
    (vec![Owned::Close(Some(1000), String::new())], None)
)]
// Masking and lengths.
#[case::masked_from_server(cat(&[raw(0x81, b"x", Some(KEY))]), (vec![], Some(1002)))]
#[case::length_msb(cat(&[vec![0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0]]), (vec![], Some(1002)))]
#[case::huge_frame(cat(&[vec![0x82, 0x7f, 0x00, 0x10, 0, 0, 0, 0, 0, 0]]), (vec![], Some(1009)))]
fn conformance_client(#[case] bytes: Vec<u8>, #[case] want: Outcome) {
    assert_eq!(run(Role::Client, &bytes), want);
    // The same outcome whatever the read boundaries: byte by byte.
    let mut d = FrameDecoder::new(Role::Client);
    let mut msgs = Vec::new();
    let mut code = None;
    for b in &bytes {
        d.feed(std::slice::from_ref(b));
        let (m, e) = drain(&mut d);
        msgs.extend(m);
        if let Some(e) = e {
            code = Some(e.close_code());
            break;
        }
    }
    assert_eq!((msgs, code), want);
}

#[rstest]
#[case(1000, true)]
#[case(1001, true)]
#[case(1002, true)]
#[case(1003, true)]
#[case(1007, true)]
#[case(1008, true)]
#[case(1009, true)]
#[case(1010, true)]
#[case(1011, true)]
#[case(1012, true)]
#[case(1013, true)]
#[case(1014, true)]
#[case(3000, true)]
#[case(3999, true)]
#[case(4000, true)]
#[case(4999, true)]
#[case(0, false)]
#[case(999, false)]
#[case(1004, false)]
#[case(1005, false)]
#[case(1006, false)]
#[case(1015, false)]
#[case(1016, false)]
#[case(1100, false)]
#[case(2000, false)]
#[case(2999, false)]
#[case(5000, false)]
#[case(65535, false)]
fn close_codes(#[case] code: u16, #[case] valid: bool) {
    let frame = raw(0x88, &code.to_be_bytes(), None);
    let want = if valid {
        (vec![Owned::Close(Some(code), String::new())], None)
    } else {
        (vec![], Some(1002))
    };
    assert_eq!(run(Role::Client, &frame), want);
    let mut out = Vec::new();
    assert_eq!(encode_close(&mut out, code, "", None).is_ok(), valid);
}

#[test]
fn server_role_requires_masking_and_unmasks() {
    assert_eq!(
        run(Role::Server, &raw(0x81, b"x", None)),
        (vec![], Some(1002))
    );
    let frames = cat(&[
        raw(0x01, "frag".as_bytes(), Some([1, 2, 3, 4])),
        raw(0x89, b"ping", Some([9, 9, 9, 9])),
        raw(0x80, "ment€".as_bytes(), Some([0xff, 0, 0xff, 0])),
        raw(0x88, b"\x03\xe8done", Some(KEY)),
    ]);
    assert_eq!(
        run(Role::Server, &frames),
        (
            vec![
                Owned::Ping(b"ping".to_vec()),
                text("fragment€"),
                Owned::Close(Some(1000), "done".to_owned())
            ],
            None
        )
    );
}

#[test]
fn frame_and_message_limits() {
    let config = DecoderConfig {
        max_frame: 100,
        max_message: 150,
        ..DecoderConfig::new(Role::Client)
    };
    let ok = raw(0x82, &[0; 100], None);
    assert_eq!(decode_with(config, &[&ok]).1, None);
    let (_, err) = decode_with(config, &[&raw(0x82, &[0; 101], None)[..4]]);
    assert_eq!(
        err,
        Some(WsError::FrameTooBig {
            len: 101,
            limit: 100
        })
    );
    let fragmented = cat(&[raw(0x02, &[0; 100], None), raw(0x80, &[0; 51], None)]);
    let (_, err) = decode_with(config, &[&fragmented]);
    assert_eq!(
        err,
        Some(WsError::MessageTooBig {
            len: 151,
            limit: 150
        })
    );
    assert_eq!(err.map(|e| e.close_code()), Some(1009));
    let single = DecoderConfig {
        max_frame: 1000,
        max_message: 10,
        ..DecoderConfig::new(Role::Client)
    };
    assert!(matches!(
        decode_with(single, &[&raw(0x81, &[b'a'; 11], None)]).1,
        Some(WsError::MessageTooBig { .. })
    ));
}

#[test]
fn failed_decoder_stays_failed() {
    let mut d = FrameDecoder::new(Role::Client);
    d.feed(&raw(0x83, b"", None));
    let err = d.next_message().expect_err("reserved opcode");
    assert_eq!(err, WsError::ReservedOpcode { opcode: 3 });
    d.feed(HELLO_UNMASKED);
    assert_eq!(d.next_message(), Err(err.clone()));
    assert_eq!(d.next_message(), Err(err.clone()));
    assert_eq!(d.error(), Some(&err));
}

#[test]
fn error_is_reported_before_the_payload_arrives() {
    // A fragmented ping is refused on its first two bytes, not after 125 more.
    let mut d = FrameDecoder::new(Role::Client);
    d.feed(&[0x09, 0x7d]);
    assert!(matches!(
        d.next_message(),
        Err(WsError::FragmentedControl { .. })
    ));
}

#[test]
fn unfragmented_frames_are_borrowed_from_the_buffer() {
    let mut d = FrameDecoder::new(Role::Client);
    d.feed(&cat(&[raw(0x81, b"one", None), raw(0x82, b"two", None)]));
    let base = d.buf.as_ptr() as usize;
    let Ok(Some(Message::Text(s))) = d.next_message() else {
        panic!("text expected")
    };
    assert_eq!(s.as_ptr() as usize, base + 2);
    let Ok(Some(Message::Binary(b))) = d.next_message() else {
        panic!("binary expected")
    };
    assert_eq!(b.as_ptr() as usize, base + 7);
}

#[test]
fn buffer_compacts_partial_frames() {
    let frame = raw(0x81, &[b'x'; 200], None);
    let mut d = FrameDecoder::new(Role::Client);
    let mut got = 0;
    // 1000 frames fed in 77-byte reads: the buffer must stay small.
    let stream: Vec<u8> = frame
        .iter()
        .copied()
        .cycle()
        .take(frame.len() * 1000)
        .collect();
    for chunk in stream.chunks(77) {
        d.feed(chunk);
        while let Some(m) = d.next_message().expect("valid") {
            assert_eq!(m, Message::Text(&"x".repeat(200)));
            got += 1;
        }
        assert!(d.buf.capacity() < 4 * frame.len(), "{}", d.buf.capacity());
    }
    assert_eq!(got, 1000);
    assert_eq!(d.buffered(), 0);
}

#[test]
fn encode_refuses_bad_control_frames() {
    let mut out = Vec::new();
    assert!(matches!(
        encode_frame(&mut out, Opcode::Ping, &[0; 126], true, None),
        Err(WsError::ControlTooLong { len: 126, .. })
    ));
    assert!(matches!(
        encode_frame(&mut out, Opcode::Close, b"", false, None),
        Err(WsError::FragmentedControl { .. })
    ));
    assert!(matches!(
        encode_close(&mut out, 1000, &"r".repeat(124), None),
        Err(WsError::ControlTooLong { len: 126, .. })
    ));
    assert!(out.is_empty());
    encode_close(&mut out, 1000, &"r".repeat(123), Some(KEY)).expect("fits");
    assert_eq!(
        run(Role::Server, &out),
        (vec![Owned::Close(Some(1000), "r".repeat(123))], None)
    );
}

#[test]
fn mask_is_an_involution_at_every_length() {
    for len in 0..40 {
        let data: Vec<u8> = (0..len)
            .map(|i| u8::try_from(i * 7 % 256).expect("byte"))
            .collect();
        let mut masked = data.clone();
        apply_mask(&mut masked, KEY);
        for (i, (m, d)) in masked.iter().zip(&data).enumerate() {
            assert_eq!(*m, d ^ KEY[i % 4]);
        }
        apply_mask(&mut masked, KEY);
        assert_eq!(masked, data);
    }
}

#[test]
fn role_and_opcode_parse() {
    assert_eq!("client".parse(), Ok(Role::Client));
    assert_eq!("server".parse(), Ok(Role::Server));
    assert_eq!("peer".parse::<Role>(), Err(()));
    assert_eq!(Opcode::try_from(0xa), Ok(Opcode::Pong));
    assert!(Opcode::Close.is_control() && !Opcode::Text.is_control());
    assert_eq!(Message::Ping(b"").opcode(), Opcode::Ping);
}

// --- properties -----------------------------------------------------------------------------

/// Splits `bytes` at the given cut points (taken modulo the length, sorted).
fn split_at_points<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|c| {
            if bytes.is_empty() {
                0
            } else {
                c % (bytes.len() + 1)
            }
        })
        .collect();
    points.push(0);
    points.push(bytes.len());
    points.sort_unstable();
    points.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
}

fn arb_message() -> impl Strategy<Value = Owned> {
    prop_oneof![
        3 => ".{0,300}".prop_map(Owned::Text),
        2 => proptest::collection::vec(any::<u8>(), 0..300).prop_map(Owned::Binary),
        1 => proptest::collection::vec(any::<u8>(), 0..=125).prop_map(Owned::Ping),
        1 => proptest::collection::vec(any::<u8>(), 0..=125).prop_map(Owned::Pong),
    ]
}

/// Encodes `msg`; data messages are cut into fragments at `cuts`, with a ping between the first
/// two fragments when `interleave` is set (that ping is returned first by the decoder).
fn encode_message(
    out: &mut Vec<u8>,
    msg: &Owned,
    cuts: &[usize],
    interleave: bool,
    mask: Option<[u8; 4]>,
    expected: &mut Vec<Owned>,
) {
    let (opcode, payload) = match msg {
        Owned::Text(s) => (Opcode::Text, s.as_bytes()),
        Owned::Binary(b) => (Opcode::Binary, b.as_slice()),
        Owned::Ping(b) => (Opcode::Ping, b.as_slice()),
        Owned::Pong(b) => (Opcode::Pong, b.as_slice()),
        Owned::Close(..) => unreachable!("not generated"),
    };
    if opcode.is_control() {
        encode_frame(out, opcode, payload, true, mask).expect("control");
        expected.push(msg.clone());
        return;
    }
    let pieces = split_at_points(payload, cuts);
    for (i, piece) in pieces.iter().enumerate() {
        let op = if i == 0 { opcode } else { Opcode::Continuation };
        encode_frame(out, op, piece, i + 1 == pieces.len(), mask).expect("data");
        if i == 0 && interleave && pieces.len() > 1 {
            encode_frame(out, Opcode::Ping, b"mid", true, mask).expect("ping");
            expected.push(Owned::Ping(b"mid".to_vec()));
        }
    }
    expected.push(msg.clone());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        server in any::<bool>(),
        deflate in any::<bool>(),
        small in any::<bool>(),
    ) {
        let mut config = DecoderConfig::new(if server { Role::Server } else { Role::Client });
        if deflate {
            config.inflate = Some(InflateConfig { no_context_takeover: small });
        }
        if small {
            config.max_frame = 64;
            config.max_message = 100;
        }
        let (_, err) = decode_with(config, &split_at_points(&bytes, &cuts));
        if let Some(e) = err {
            prop_assert!(matches!(e.close_code(), 1002 | 1007 | 1009));
        }
        let _ = parse_response(&bytes, SAMPLE_KEY, deflate);
        let _ = parse_request(&bytes);
        let _ = inflate_gzip(&bytes, 1000);
        let _ = inflate_raw(&bytes, 1000);
    }

    #[test]
    fn frames_that_parse_never_panic(
        head in proptest::collection::vec(any::<u8>(), 2..14),
        body in proptest::collection::vec(any::<u8>(), 0..200),
        deflate in any::<bool>(),
    ) {
        // Mostly-valid headers reach deeper than uniform random bytes.
        let mut bytes = head;
        bytes[1] &= 0x7f;
        bytes.extend(body);
        let mut config = DecoderConfig::new(Role::Client);
        if deflate {
            config.inflate = Some(InflateConfig::default());
        }
        let _ = decode_with(config, &[&bytes]);
    }

    #[test]
    fn round_trip_at_any_read_boundary(
        msgs in proptest::collection::vec(
            (arb_message(), proptest::collection::vec(any::<usize>(), 0..4), any::<bool>()),
            0..12,
        ),
        reads in proptest::collection::vec(any::<usize>(), 0..20),
        server in any::<bool>(),
        key in any::<[u8; 4]>(),
    ) {
        let role = if server { Role::Server } else { Role::Client };
        let mask = server.then_some(key);
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for (msg, cuts, interleave) in &msgs {
            encode_message(&mut wire, msg, cuts, *interleave, mask, &mut expected);
        }
        encode_close(&mut wire, 1000, "bye", mask).expect("close");
        expected.push(Owned::Close(Some(1000), "bye".to_owned()));
        let (got, err) = decode_with(DecoderConfig::new(role), &split_at_points(&wire, &reads));
        prop_assert_eq!(err, None);
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn deflate_round_trip_at_any_read_boundary(
        msgs in proptest::collection::vec(
            (prop_oneof![".{0,200}".prop_map(Owned::Text),
                         proptest::collection::vec(0_u8..4, 0..400).prop_map(Owned::Binary)],
             proptest::collection::vec(any::<usize>(), 0..3)),
            1..8,
        ),
        reads in proptest::collection::vec(any::<usize>(), 0..12),
        no_context_takeover in any::<bool>(),
    ) {
        let mut c = Compress::new(Compression::default(), false);
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for (msg, cuts) in &msgs {
            let (opcode, payload) = match msg {
                Owned::Text(s) => (0x1, s.as_bytes()),
                Owned::Binary(b) => (0x2, b.as_slice()),
                _ => unreachable!("data only"),
            };
            let compressed = deflate_message(&mut c, payload);
            if no_context_takeover {
                c.reset();
            }
            let pieces = split_at_points(&compressed, cuts);
            for (i, piece) in pieces.iter().enumerate() {
                let fin = if i + 1 == pieces.len() { 0x80 } else { 0 };
                let first = if i == 0 { 0x40 | opcode } else { 0 };
                wire.extend(raw(fin | first, piece, None));
            }
            expected.push(msg.clone());
        }
        let config = deflate_config(no_context_takeover);
        let (got, err) = decode_with(config, &split_at_points(&wire, &reads));
        prop_assert_eq!(err, None);
        prop_assert_eq!(got, expected);
    }
}
