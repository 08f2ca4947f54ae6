//! Unit tests of the FIX codec. Published vectors:
//! - QuickFIX's `MessagesTestCase::setString` / `ParserTestCase::readBadFixMessage` (QuickFIX
//!   C++ test suite, `src/C++/test/`): a FIX 4.2 Heartbeat with `9=45` and `10=218`, and the
//!   same preceded by a message whose BodyLength (15) is wrong.
//! - The ExecutionReport of Wikipedia's "Financial Information eXchange" article (body and
//!   trailer example): `9=178` and `10=128`.

use super::dict::Dictionary;
use super::fuzz::{fix_dictionary, fix_parse, frame_all, mutate, seed_corpus, Lcg};
use super::*;
use crate::Fixed;

pub(crate) fn soh(s: &str) -> Vec<u8> {
    s.replace('|', "\x01").into_bytes()
}

const QF_GOOD: &str = "8=FIX.4.2|9=45|35=0|34=3|49=TW|52=20000426-12:05:06|56=ISLD|10=218|";
const QF_BAD_LEN: &str = "8=FIX.4.2|9=15|35=0|34=2|49=TW|52=20000426-12:05:06|56=ISLD|10=217|";
const WIKI_ER: &str = "8=FIX.4.2|9=178|35=8|49=PHLX|56=PERS|52=20071123-05:30:00.000|\
    11=ATOMNOCCC9990900|20=3|150=E|39=E|55=MSFT|167=CS|54=1|38=15|40=2|44=15|\
    58=PHLX EQUITY TESTING|59=0|47=C|32=0|31=0|151=15|14=0|6=0|10=128|";

fn err(data: &str) -> FixError {
    match parse(&soh(data), true) {
        Ok(_) => panic!("parsed: {data}"),
        Err(e) => e,
    }
}

#[test]
fn fix_parses_published_messages() {
    let raw = soh(QF_GOOD);
    let m = Message::parse(raw, true).expect("QuickFIX vector");
    assert_eq!(m.begin_string(), b"FIX.4.2");
    assert_eq!(m.msg_type(), b"0");
    assert_eq!(m.index.seq_num, 3);
    assert_eq!(m.get(56), Some(&b"ISLD"[..]));
    let m = Message::parse(soh(WIKI_ER), true).expect("Wikipedia vector");
    assert_eq!(m.get(58), Some(&b"PHLX EQUITY TESTING"[..]));
    assert_eq!(m.index.fields.len(), 25);
}

#[test]
fn fix_parse_errors() {
    let cases: &[(&str, FixErrorKind)] = &[
        (
            "9=5|8=FIX.4.2|35=0|10=000|",
            FixErrorKind::MissingBeginString,
        ),
        (
            "8=FIX.4.2|35=0|9=5|10=000|",
            FixErrorKind::MissingBodyLength,
        ),
        (
            "8=FIX.4.2|9=5|34=1|35=0|10=000|",
            FixErrorKind::MissingMsgType,
        ),
        ("8=XYZ|9=5|35=0|10=000|", FixErrorKind::BadBeginString),
        ("8=FIX.4.2|9=x|35=0|10=000|", FixErrorKind::BadBodyLength),
        ("8=FIX.4.2|9=5|35=0|34=1|", FixErrorKind::MissingChecksum),
        ("8=FIX.4.2|9=5|35=0|10=1|", FixErrorKind::BadChecksumFormat),
        (
            "8=FIX.4.2|9=5|35=0|10=000|34=1|",
            FixErrorKind::ChecksumNotLast,
        ),
        ("8=FIX.4.2|9=5|35=0|x4=1|10=000|", FixErrorKind::InvalidTag),
        ("8=FIX.4.2|9=5|35=0|34|10=000|", FixErrorKind::InvalidTag),
        ("8=FIX.4.2|9=5|35=0|58=|10=000|", FixErrorKind::EmptyValue),
        (
            "8=FIX.4.2|9=5|35=0|95=x|96=a|10=000|",
            FixErrorKind::IncorrectDataFormat,
        ),
        (
            "8=FIX.4.2|9=5|35=0|95=99|96=a|10=000|",
            FixErrorKind::DataLengthMismatch,
        ),
    ];
    for (data, kind) in cases {
        assert_eq!(err(data).kind, *kind, "{data}");
    }
    // Published: QuickFIX's wrong BodyLength, and the good message with its CheckSum changed.
    assert_eq!(err(QF_BAD_LEN).kind, FixErrorKind::BodyLengthMismatch);
    let e = err(&QF_GOOD.replace("10=218", "10=219"));
    assert_eq!(
        (e.kind, e.tag, e.seq_num),
        (FixErrorKind::BadChecksum, Some(10), Some(3))
    );
    assert_eq!(e.to_string(), "bad checksum (tag 10) (MsgSeqNum 3)");
    assert_eq!(
        err(&format!("{QF_GOOD} ")).kind,
        FixErrorKind::ChecksumNotLast
    );
    // Without verify, only the structure is checked.
    let bad = soh(&QF_GOOD.replace("10=218", "10=219"));
    assert!(parse(&bad, false).is_ok());
}

#[test]
fn fix_data_fields_may_hold_soh() {
    let body = soh("35=A|34=1|95=5|96=a|b|c|98=0|");
    let msg = Body::default();
    let mut out = Vec::new();
    let mut b = msg.clone();
    for (tag, v) in [
        (35, &b"A"[..]),
        (34, b"1"),
        (95, b"5"),
        (96, b"a\x01b\x01c"),
        (98, b"0"),
    ] {
        b.field(tag, v).expect("field");
    }
    assert_eq!(b.as_bytes(), &body[..]);
    b.finish_into(b"FIX.4.4", &mut out).expect("finish");
    let m = Message::parse(out, true).expect("parse");
    assert_eq!(m.get(96), Some(&b"a\x01b\x01c"[..]));
    assert_eq!(m.get(98), Some(&b"0"[..]));
    // The encoder refuses SOH elsewhere, a wrong length and a data field without its length.
    let mut b = Body::default();
    assert_eq!(
        b.field(58, b"a\x01b").map_err(|e| e.kind),
        Err(FixErrorKind::ValueContainsSoh)
    );
    b.field(95, b"2").expect("length");
    assert_eq!(
        b.field(96, b"abc").map_err(|e| e.kind),
        Err(FixErrorKind::DataLengthMismatch)
    );
    let mut b = Body::default();
    assert_eq!(
        b.field(96, b"a\x01").map_err(|e| e.kind),
        Err(FixErrorKind::DataWithoutLength)
    );
}

#[test]
fn fix_encoder_matches_published_checksum() {
    // Re-encoding the QuickFIX Heartbeat gives the same bytes (9=45, 10=218).
    let fields = [
        (35, Value::Bytes(b"0")),
        (34, Value::Int(3)),
        (49, Value::Bytes(b"TW")),
        (52, Value::Bytes(b"20000426-12:05:06")),
        (56, Value::Bytes(b"ISLD")),
    ];
    assert_eq!(
        encode_message(b"FIX.4.2", &fields).expect("encode"),
        soh(QF_GOOD)
    );
    let mut enc = Encoder::new("FIX.4.4", "S", "T", &[(57, b"DESK")]).expect("encoder");
    let body = enc
        .start(
            b"D",
            7,
            Some(b"20240102-03:04:05.678"),
            true,
            Some(b"20240102-03:04:00.000"),
        )
        .expect("start");
    body.value(44, Value::Fixed(Fixed::parse(b"101.50").expect("fixed")))
        .expect("price");
    let wire = enc.finish().expect("finish");
    let m = Message::parse(wire, true).expect("parse");
    let tags: Vec<u32> = m.index.fields.iter().map(|f| f.tag).collect();
    assert_eq!(tags, [8, 9, 35, 49, 56, 34, 43, 122, 52, 57, 44, 10]);
    assert_eq!(m.get(44), Some(&b"101.50"[..]));
    assert_eq!(m.index.seq_num, 7);
}

#[test]
fn fix_framer_published_bad_then_good() {
    // QuickFIX ParserTestCase::readBadFixMessage: the wrong-length message is reported, the
    // good one after it is framed.
    let stream = soh(&format!("{QF_BAD_LEN}{QF_GOOD}"));
    let items = frame_all([&stream[..]]);
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0],
        Err("body length mismatch (tag 9) (MsgSeqNum 2)".to_owned())
    );
    assert_eq!(items[1], Ok(soh(QF_GOOD)));
    assert_eq!(frame_all(stream.chunks(1)), items);
}

#[test]
fn fix_framer_garbage_and_limits() {
    let good = soh(QF_GOOD);
    let stream = [&b"\r\nnoise8=FI"[..], &good, b"xx", &good, &good[..20]].concat();
    let items = frame_all([&stream[..]]);
    assert_eq!(
        items,
        vec![
            Err("garbage before 8=FIX".to_owned()),
            Ok(good.clone()),
            Err("garbage before 8=FIX".to_owned()),
            Ok(good.clone()),
        ]
    );
    let mut f = Framer::new(64);
    f.feed(&soh("8=FIX.4.2|9=999999|35=0|"));
    assert_eq!(
        f.next_item(),
        Some(FramerItem::Error(FixError::at(FixErrorKind::TooLarge, 9)))
    );
    assert_eq!(f.next_item(), None);
    let mut f = Framer::default();
    f.feed(&good[..30]);
    assert_eq!(f.next_item(), None);
    assert_eq!(f.buffered(), 30);
}

#[test]
fn fix_timestamps() {
    let mut out = Vec::new();
    // 2000-04-26 12:05:06 UTC = 956750706 s.
    let ns = 956_750_706_i128 * 1_000_000_000 + 123_456_789;
    utc_timestamp(ns, TimePrecision::Millis, &mut out);
    assert_eq!(out, b"20000426-12:05:06.123");
    for (p, text) in [
        (TimePrecision::Seconds, &b"20000426-12:05:06"[..]),
        (TimePrecision::Micros, b"20000426-12:05:06.123456"),
        (TimePrecision::Nanos, b"20000426-12:05:06.123456789"),
    ] {
        out.clear();
        utc_timestamp(ns, p, &mut out);
        assert_eq!(out, text);
        let back = parse_utc_timestamp(&out).expect("parse");
        assert!(ns - back < 1_000_000_000 && back <= ns);
    }
    assert_eq!(parse_utc_timestamp(b"20000426-12:05:06.123456789"), Ok(ns));
    for bad in [
        &b"20000230-12:05:06"[..],
        b"20000426-24:00:00",
        b"20000426 12:05:06",
        b"20000426-12:05:06.12",
        b"2000042-12:05:06.123",
    ] {
        assert!(parse_utc_timestamp(bad).is_err());
    }
    assert_eq!(
        parse_utc_timestamp(b"20240229-00:00:00"),
        Ok(1_709_164_800 * 1_000_000_000)
    );
}

#[test]
fn fix_group_heuristic() {
    let m = Message::parse(
        encode_message(
            b"FIX.4.4",
            &[
                (35, Value::Bytes(b"D")),
                (453, Value::Int(2)),
                (448, Value::Bytes(b"A")),
                (447, Value::Bytes(b"D")),
                (452, Value::Int(1)),
                (448, Value::Bytes(b"B")),
                (447, Value::Bytes(b"D")),
                (452, Value::Int(3)),
                (54, Value::Int(1)),
            ],
        )
        .expect("encode"),
        true,
    )
    .expect("parse");
    let g = group_heuristic(&m.index.fields, &m.raw, 453, 448);
    assert_eq!(g.len(), 2);
    assert_eq!(
        g[1].iter().map(|f| f.tag).collect::<Vec<_>>(),
        [448, 447, 452]
    );
}

fn spec(name: &str) -> String {
    format!(
        "{}/../python/venuegate/fix/spec/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn fix_dictionaries_load_and_validate() {
    let d44 = Dictionary::load(&spec("FIX44.xml"), None).expect("FIX44");
    let d42 = Dictionary::load(&spec("FIX42.xml"), None).expect("FIX42");
    let d50 = Dictionary::load(&spec("FIXT11.xml"), Some(&spec("FIX50SP2.xml"))).expect("FIX50");
    assert_eq!(d44.begin_string(), "FIX.4.4");
    assert_eq!(d50.begin_string(), "FIXT.1.1");
    assert!(d50.is_admin("A") && !d50.is_admin("D"));
    assert_eq!(d50.message_name("8"), Some("ExecutionReport"));
    let er = Message::parse(soh(WIKI_ER), true).expect("parse");
    // Wikipedia's example ER has no MsgSeqNum, and uses 20 (ExecTransType) and 47 (Rule80A),
    // FIX 4.2 fields.
    let v = d42.validate(&er.raw, &er.index).expect_err("no 34");
    assert_eq!((v.reason, v.tag), (1, Some(34)));
    let v = d44
        .validate(&er.raw, &er.index)
        .expect_err("20 is not FIX 4.4");
    assert_eq!((v.reason, v.tag), (3, Some(20)));
}

#[test]
fn fix_fuzz_targets_over_mutations() {
    let d44 = Dictionary::load(&spec("FIX44.xml"), None).expect("FIX44");
    let mut rng = Lcg(0x5eed);
    let mut corpus = seed_corpus();
    // The cargo-fuzz seeds (engine/fuzz/seeds) too.
    let seeds = format!("{}/fuzz/seeds", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(seeds).expect("seeds").flatten() {
        corpus.push(std::fs::read(entry.path()).expect("seed"));
    }
    assert!(corpus.len() >= 8);
    for seed in &corpus {
        fix_parse(seed);
        fix_dictionary(&d44, seed);
    }
    let rounds = if cfg!(debug_assertions) { 5000 } else { 20_000 };
    for i in 0..rounds {
        let seed = &corpus[i % corpus.len()];
        let data = mutate(&mut rng, seed);
        fix_parse(&data);
        fix_dictionary(&d44, &data);
    }
}
