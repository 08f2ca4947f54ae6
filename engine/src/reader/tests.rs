//! Reader thread tests against loopback server threads (plain and TLS).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use super::*;
use crate::feeds::{BookFeed, FeedStatus, Venue};
use crate::ws::{encode_frame, parse_request, server_response, FrameDecoder, Message, Role};

/// Accepts one client on `stream` and completes the handshake; returns the server decoder.
fn accept<S: Read + Write>(stream: &mut S) -> FrameDecoder {
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 4096];
    loop {
        let n = stream.read(&mut chunk).expect("read request");
        assert!(n > 0, "client left during the handshake");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(req) = parse_request(&buf).expect("valid request") {
            stream
                .write_all(&server_response(&req.key, None))
                .expect("respond");
            let mut d = FrameDecoder::new(Role::Server);
            d.feed(&buf[req.consumed..]);
            return d;
        }
    }
}

fn frame(opcode: Opcode, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(&mut out, opcode, payload, true, None).expect("frame");
    out
}

/// Reads client frames until one matches; returns its opcode and payload.
fn next_client_frame<S: Read>(stream: &mut S, d: &mut FrameDecoder) -> (Opcode, Vec<u8>) {
    let mut chunk = [0_u8; 4096];
    loop {
        if let Some(m) = d.next_message().expect("client frames are valid") {
            let payload = match m {
                Message::Text(t) => t.as_bytes().to_vec(),
                Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.to_vec(),
                Message::Close { code, .. } => code.unwrap_or(0).to_be_bytes().to_vec(),
            };
            return (m.opcode(), payload);
        }
        let n = stream.read(&mut chunk).expect("read frame");
        assert!(n > 0, "client left");
        d.feed(&chunk[..n]);
    }
}

/// Drains events until `done` says so (5 s at most); returns everything seen.
fn wait_for(reader: &Reader, done: impl Fn(&[Event]) -> bool) -> Vec<Event> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        seen.extend(reader.drain());
        if done(&seen) {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("timed out; events so far: {seen:?}");
}

fn closed(events: &[Event]) -> bool {
    events.iter().any(|e| matches!(e, Event::Closed { .. }))
}

fn config(url: &str) -> ReaderConfig {
    let mut c = ReaderConfig::new(url);
    c.open_timeout = Duration::from_secs(5);
    c
}

#[test]
fn messages_sends_ping_pong_and_close() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut d = accept(&mut s);
        // Two messages in one write, then a fragmented-by-TCP third.
        let mut burst = frame(Opcode::Text, b"one");
        burst.extend(frame(Opcode::Binary, b"two"));
        s.write_all(&burst).expect("write");
        let third = frame(Opcode::Text, b"three");
        s.write_all(&third[..2]).expect("write");
        s.flush().expect("flush");
        std::thread::sleep(Duration::from_millis(20));
        s.write_all(&third[2..]).expect("write");
        // The client's queued text arrives.
        assert_eq!(
            next_client_frame(&mut s, &mut d),
            (Opcode::Text, b"subscribe".to_vec())
        );
        // Our ping is answered by the thread itself.
        s.write_all(&frame(Opcode::Ping, b"hb")).expect("ping");
        assert_eq!(
            next_client_frame(&mut s, &mut d),
            (Opcode::Pong, b"hb".to_vec())
        );
        let mut close = Vec::new();
        encode_close(&mut close, 1001, "going away", None).expect("close");
        s.write_all(&close).expect("close");
        // The client echoes the code.
        assert_eq!(
            next_client_frame(&mut s, &mut d),
            (Opcode::Close, 1001_u16.to_be_bytes().to_vec())
        );
    });
    let mut cfg = config(&format!("ws://127.0.0.1:{port}/stream?x=1"));
    cfg.clock_base_ns = 1_000_000;
    let reader = Reader::start(cfg, None, None).expect("start");
    let events = wait_for(&reader, |e| {
        e.iter()
            .filter(|e| matches!(e, Event::Message { .. }))
            .count()
            == 3
    });
    assert_eq!(events[0], Event::Open);
    let payloads: Vec<(u8, Vec<u8>)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Message {
                opcode,
                payload,
                recv_ns,
            } => {
                assert!(*recv_ns >= 1_000_000);
                Some((*opcode, payload.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        payloads,
        vec![
            (1, b"one".to_vec()),
            (2, b"two".to_vec()),
            (1, b"three".to_vec())
        ]
    );
    reader.send_text(b"subscribe").expect("send");
    let events = wait_for(&reader, closed);
    assert!(events.contains(&Event::Closed {
        code: 1001,
        reason: "going away".to_owned()
    }));
    server.join().expect("server");
    reader.join();
    assert!(reader.is_finished());
    assert!(!reader.is_open());
    assert_eq!(reader.counters().messages.load(Ordering::Relaxed), 3);
    assert!(reader.send_text(b"late").is_err());
}

fn binance_sink() -> FeedSink {
    FeedSink {
        feed: Arc::new(Mutex::new(BookFeed::new(Venue::BinanceSpot))),
        book: Arc::new(Mutex::new(Book::new(8, 8, None))),
    }
}

fn depth(first: i64, last: i64, bid: &str) -> Vec<u8> {
    format!(
        r#"{{"e":"depthUpdate","E":1,"s":"BNBBTC","U":{first},"u":{last},"b":[["{bid}","1"]],"a":[["0.0030","2"]]}}"#
    )
    .into_bytes()
}

/// A loopback WebSocket server: after the handshake it writes each batch of frames, then waits
/// for the test's go-ahead before the next. Returns the port, the go-ahead and the thread.
fn serve(batches: Vec<Vec<u8>>) -> (u16, Sender<()>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let _d = accept(&mut s);
        for batch in batches {
            s.write_all(&batch).expect("write");
            go_rx.recv().expect("go-ahead");
        }
    });
    (port, go_tx, server)
}

fn frames(payloads: &[Vec<u8>]) -> Vec<u8> {
    payloads
        .iter()
        .flat_map(|p| frame(Opcode::Text, p))
        .collect()
}

/// The owner applies a Binance REST snapshot through the shared mutexes, as Python does.
fn apply_snapshot(sink: &FeedSink, last_update_id: i64) {
    let mut feed = lock(&sink.feed);
    let mut book = lock(&sink.book);
    let snap = format!(r#"{{"lastUpdateId":{last_update_id},"bids":[["0.0010","1"]],"asks":[]}}"#);
    assert_eq!(
        feed.apply_snapshot(&mut book, snap.as_bytes()),
        FeedStatus::Applied
    );
}

#[test]
fn applies_to_the_shared_feed_and_reports_only_status_changes() {
    let (port, go_tx, server) = serve(vec![
        // Buffered before the snapshot.
        frames(&[depth(100, 101, "0.0020")]),
        frames(
            &(0..10)
                .map(|i| depth(102 + i, 102 + i, "0.0021"))
                .collect::<Vec<_>>(),
        ),
        // A gap, then garbage.
        frames(&[depth(200, 201, "0.0022")]),
        frames(&[b"{not json".to_vec()]),
    ]);
    let sink = binance_sink();
    let reader = Reader::start(
        config(&format!("ws://localhost:{port}/ws")),
        Some(sink.clone()),
        None,
    )
    .expect("start");
    wait_for(&reader, |_| {
        reader.counters().messages.load(Ordering::Relaxed) == 1
    });
    apply_snapshot(&sink, 100);
    assert_eq!(lock(&sink.feed).last_seq(), Some(101));
    go_tx.send(()).expect("go");
    let events = wait_for(&reader, |_| {
        reader.counters().messages.load(Ordering::Relaxed) == 11
    });
    // Already synced by the owner's snapshot: no event for ten applied messages.
    assert!(
        !events.iter().any(|e| matches!(e, Event::Status { .. })),
        "{events:?}"
    );
    assert_eq!(lock(&sink.feed).last_seq(), Some(111));
    assert_eq!(lock(&sink.book).best_bid().map(|l| l.price), Some(210_000));
    assert_eq!(reader.latency().count(), 11);
    assert!(reader.latency().quantile(0.5).is_some());
    go_tx.send(()).expect("go");
    let events = wait_for(&reader, |e| {
        e.iter().any(|e| matches!(e, Event::Status { .. }))
    });
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Status {
            status: FeedStatus::Gap,
            ..
        }
    )));
    // Resynced by the owner again; then a malformed message makes it stale with a reason.
    apply_snapshot(&sink, 200);
    go_tx.send(()).expect("go");
    let events = wait_for(&reader, |e| {
        e.iter().any(|e| matches!(e, Event::Status { .. }))
    });
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Status {
            status: FeedStatus::Malformed,
            ..
        }
    )));
    assert!(lock(&sink.feed).reason().is_some());
    go_tx.send(()).expect("go");
    server.join().expect("server");
    wait_for(&reader, closed);
    reader.join();
}

#[test]
fn protocol_violation_closes_with_its_code() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut d = accept(&mut s);
        s.write_all(&[0x83, 0x00]).expect("reserved opcode");
        next_client_frame(&mut s, &mut d)
    });
    let reader =
        Reader::start(config(&format!("ws://127.0.0.1:{port}/")), None, None).expect("start");
    let events = wait_for(&reader, closed);
    assert!(events.iter().any(|e| matches!(e, Event::Error(_))));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Closed { code: 1002, .. })));
    assert_eq!(
        server.join().expect("server"),
        (Opcode::Close, 1002_u16.to_be_bytes().to_vec())
    );
}

#[test]
fn refuses_a_wrong_accept_key() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut buf = [0_u8; 4096];
        let _ = s.read(&mut buf).expect("request");
        s.write_all(&server_response("dGhlIHNhbXBsZSBub25jZQ==", None))
            .expect("respond");
        std::thread::sleep(Duration::from_millis(50));
    });
    let reader =
        Reader::start(config(&format!("ws://127.0.0.1:{port}/")), None, None).expect("start");
    let events = wait_for(&reader, closed);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Error(m) if m.contains("Accept"))),
        "{events:?}"
    );
    assert!(!events.contains(&Event::Open));
    server.join().expect("server");
}

#[test]
fn abort_unblocks_the_read_and_joins() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let _d = accept(&mut s);
        let mut buf = [0_u8; 64];
        // Until the client drops TCP.
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
    });
    let reader =
        Reader::start(config(&format!("ws://127.0.0.1:{port}/")), None, None).expect("start");
    wait_for(&reader, |e| e.contains(&Event::Open));
    assert!(reader.is_open());
    reader.abort();
    let events = wait_for(&reader, closed);
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Closed { code: 1006, .. })));
    reader.join();
    server.join().expect("server");
}

#[test]
fn connection_refused_is_an_event() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let reader =
        Reader::start(config(&format!("ws://127.0.0.1:{port}/")), None, None).expect("start");
    let events = wait_for(&reader, closed);
    assert!(matches!(events[0], Event::Error(_)));
}

fn tls_server(listener: TcpListener) -> (String, std::thread::JoinHandle<Option<Vec<u8>>>) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let pem = cert.pem();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(cert.der().to_vec())], key)
        .expect("server config");
    let config = Arc::new(config);
    let handle = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().expect("accept");
        let conn = ServerConnection::new(config).expect("conn");
        let mut s = StreamOwned::new(conn, tcp);
        let mut buf = Vec::new();
        let mut chunk = [0_u8; 4096];
        // A client that refuses our certificate fails the TLS handshake here.
        let req = loop {
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if let Some(r) = parse_request(&buf).expect("request") {
                break r;
            }
        };
        s.write_all(&server_response(&req.key, None))
            .expect("respond");
        let mut burst = frame(Opcode::Text, b"secure hello");
        burst.extend(frame(Opcode::Ping, b"p"));
        s.write_all(&burst).expect("write");
        let mut d = FrameDecoder::new(Role::Server);
        let (op, payload) = next_client_frame(&mut s, &mut d);
        assert_eq!(op, Opcode::Pong);
        assert_eq!(payload, b"p");
        let (_, text) = next_client_frame(&mut s, &mut d);
        let mut close = Vec::new();
        encode_close(&mut close, 1000, "", None).expect("close");
        s.write_all(&close).expect("close");
        let _ = next_client_frame(&mut s, &mut d);
        Some(text)
    });
    (pem, handle)
}

#[test]
fn tls_with_a_trusted_self_signed_certificate() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (pem, server) = tls_server(listener);
    let mut cfg = config(&format!("wss://localhost:{port}/secure"));
    cfg.extra_roots_pem = Some(pem.into_bytes());
    let reader = Reader::start(cfg, None, None).expect("start");
    let events = wait_for(&reader, |e| {
        e.iter().any(|e| matches!(e, Event::Message { .. }))
    });
    assert!(events.contains(&Event::Open), "{events:?}");
    assert!(events.iter().any(
        |e| matches!(e, Event::Message { payload, .. } if payload.as_slice() == b"secure hello")
    ));
    reader.send_text(b"over tls").expect("send");
    let events = wait_for(&reader, closed);
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Closed { code: 1000, .. })));
    assert_eq!(
        server.join().expect("server").as_deref(),
        Some(b"over tls".as_slice())
    );
    reader.join();
}

#[test]
fn tls_refuses_an_untrusted_certificate() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (_pem, server) = tls_server(listener);
    let reader =
        Reader::start(config(&format!("wss://localhost:{port}/")), None, None).expect("start");
    let events = wait_for(&reader, closed);
    assert!(
        events.iter().any(
            |e| matches!(e, Event::Error(m) if m.contains("tls") && m.contains("certificate"))
        ),
        "{events:?}"
    );
    assert!(!events.contains(&Event::Open));
    assert_eq!(server.join().expect("server"), None);
}

#[test]
fn urls_parse() {
    let t = Target::parse("wss://stream.binance.com:9443/ws/btcusdt@depth").expect("url");
    assert!(t.secure);
    assert_eq!((t.host.as_str(), t.port), ("stream.binance.com", 9443));
    assert_eq!(t.authority, "stream.binance.com:9443");
    assert_eq!(t.path, "/ws/btcusdt@depth");
    let t = Target::parse("ws://[::1]:8080?a=b").expect("url");
    assert_eq!(
        (t.host.as_str(), t.port, t.path.as_str()),
        ("::1", 8080, "/?a=b")
    );
    let t = Target::parse("wss://ws.okx.com").expect("url");
    assert_eq!((t.port, t.path.as_str()), (443, "/"));
    for bad in [
        "http://x/",
        "ws://",
        "ws://host:notaport/",
        "ws://user@host/",
    ] {
        assert!(Target::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn latency_histogram_quantiles() {
    let h = Latency::default();
    assert_eq!(h.quantile(0.5), None);
    for v in 1..=1000_u64 {
        h.record(v * 1000);
    }
    let p50 = h.quantile(0.5).expect("p50");
    assert!((480_000..=520_000).contains(&p50), "{p50}");
    let p99 = h.quantile(0.99).expect("p99");
    assert!((960_000..=1_000_000).contains(&p99), "{p99}");
    assert_eq!(h.quantile(1.0), Some(1_000_000));
    assert_eq!(h.max(), 1_000_000);
    for v in [0, 1, 63, 64, 65, u64::MAX] {
        let i = Latency::index(v);
        assert!(i < BUCKETS);
        if v < 64 {
            assert_eq!(Latency::value(i), v);
        }
    }
    h.reset();
    assert_eq!(h.count(), 0);
}

/// Spins until `done` (5 s at most) without draining events.
fn spin(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn queued_messages(reader: &Reader) -> usize {
    lock(&reader.shared.events)
        .iter()
        .filter(|e| matches!(e, Event::Message { .. }))
        .count()
}

#[test]
fn enable_fused_applies_the_queued_messages_once_in_order_then_the_thread_applies() {
    let (port, go_tx, server) = serve(vec![
        // Drained and applied by the owner.
        frames(&[depth(100, 101, "0.0020")]),
        // Still queued when the owner switches.
        frames(&[depth(102, 102, "0.0021"), depth(103, 103, "0.0022")]),
        // Applied by the thread.
        frames(&[depth(104, 104, "0.0023"), depth(105, 105, "0.0024")]),
        // Queued again.
        frames(&[depth(106, 106, "0.0025")]),
    ]);
    let sink = binance_sink();
    let mut cfg = config(&format!("ws://127.0.0.1:{port}/ws"));
    cfg.fused = false;
    let reader = Reader::start(cfg, Some(sink.clone()), None).expect("start");
    assert!(!reader.is_fused());
    // The owner drains the first message and applies it after the snapshot, as a session
    // replaying held messages does.
    let events = wait_for(&reader, |e| {
        e.iter().any(|e| matches!(e, Event::Message { .. }))
    });
    let first = events
        .iter()
        .find_map(|e| match e {
            Event::Message { payload, .. } => Some(payload.clone()),
            _ => None,
        })
        .expect("a message");
    apply_snapshot(&sink, 100);
    {
        let mut feed = lock(&sink.feed);
        let mut book = lock(&sink.book);
        assert_eq!(feed.apply(&mut book, &first), FeedStatus::Applied);
        assert_eq!(feed.last_seq(), Some(101));
    }
    go_tx.send(()).expect("go");
    spin("two queued messages", || queued_messages(&reader) == 2);
    // Not applied by the thread while unfused.
    assert_eq!(lock(&sink.feed).last_seq(), Some(101));
    assert_eq!(reader.counters().applied.load(Ordering::Relaxed), 0);
    assert_eq!(reader.enable_fused(), 2);
    assert!(reader.is_fused());
    assert_eq!(reader.enable_fused(), 0, "a second switch applies nothing");
    assert_eq!(queued_messages(&reader), 0);
    assert_eq!(lock(&sink.feed).last_seq(), Some(103));
    assert_eq!(lock(&sink.book).best_bid().map(|l| l.price), Some(220_000));
    go_tx.send(()).expect("go");
    spin("the thread applies", || {
        reader.counters().applied.load(Ordering::Relaxed) == 4
    });
    assert_eq!(lock(&sink.feed).last_seq(), Some(105));
    assert_eq!(lock(&sink.book).best_bid().map(|l| l.price), Some(240_000));
    let events = reader.drain();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Message { .. } | Event::Status { .. })),
        "{events:?}"
    );
    {
        let feed = lock(&sink.feed);
        let stats = feed.stats();
        // Each message passed to the feed exactly once: 101 by the owner, 102..=105 natively.
        assert_eq!(stats.messages, 5);
        assert_eq!(stats.gaps, 0);
        assert_eq!(feed.state(), SyncState::Synced);
    }
    // Only the thread's own applies are timed (the two enable_fused applied waited for the
    // bridge, not for the thread).
    assert_eq!(reader.latency().count(), 2);
    // Retired: later messages are queued again and the feed is left alone.
    assert!(reader.disable_fused());
    assert!(!reader.is_fused());
    go_tx.send(()).expect("go");
    let events = wait_for(&reader, |e| {
        e.iter().any(|e| matches!(e, Event::Message { .. }))
    });
    let queued: Vec<&[u8]> = events
        .iter()
        .filter_map(|e| match e {
            Event::Message { payload, .. } => Some(payload.as_slice()),
            _ => None,
        })
        .collect();
    assert_eq!(queued, vec![depth(106, 106, "0.0025").as_slice()]);
    assert_eq!(lock(&sink.feed).last_seq(), Some(105));
    assert_eq!(reader.counters().applied.load(Ordering::Relaxed), 4);
    assert_eq!(reader.counters().messages.load(Ordering::Relaxed), 6);
    go_tx.send(()).expect("go");
    server.join().expect("server");
    wait_for(&reader, closed);
    reader.join();
}

#[test]
fn enable_fused_keeps_other_events_and_puts_statuses_in_place() {
    // After the snapshot (lastUpdateId 100): applied, then a gap.
    let (port, go_tx, server) = serve(vec![frames(&[
        depth(101, 101, "0.0020"),
        depth(150, 150, "0.0021"),
    ])]);
    let sink = binance_sink();
    apply_snapshot(&sink, 100);
    let mut cfg = config(&format!("ws://127.0.0.1:{port}/ws"));
    cfg.fused = false;
    let reader = Reader::start(cfg, Some(sink.clone()), None).expect("start");
    spin("two queued messages", || queued_messages(&reader) == 2);
    assert_eq!(reader.enable_fused(), 2);
    let events = reader.drain();
    // Open stays first; the gap is reported where its message was.
    assert_eq!(events.first(), Some(&Event::Open));
    assert!(
        matches!(
            events.get(1),
            Some(Event::Status {
                status: FeedStatus::Gap,
                ..
            })
        ),
        "{events:?}"
    );
    assert_eq!(events.len(), 2, "{events:?}");
    go_tx.send(()).expect("go");
    server.join().expect("server");
    wait_for(&reader, closed);
    reader.join();
}

#[test]
fn without_a_feed_enable_fused_does_nothing() {
    let reader = Reader::start(config("ws://127.0.0.1:1/ws"), None, None).expect("start");
    assert_eq!(reader.enable_fused(), 0);
    assert!(!reader.is_fused());
    assert!(!reader.disable_fused());
    wait_for(&reader, closed);
    reader.join();
}
